package twiml_test

import (
	"bytes"
	"encoding/json"
	"encoding/xml"
	"os"
	"strings"
	"testing"
	"unicode/utf8"

	"bubble-twilio-voice/shared/twiml"
)

// vectorBuilders rebuild each case of testdata/twiml.json (made by Twilio's
// Node library) by name.
var vectorBuilders = map[string]func(b *twiml.Builder){
	"dial a number with caller id": func(b *twiml.Builder) {
		b.Start("Dial", "callerId", "+14155550100", "answerOnBridge", "true")
		b.Text("Number", "+14155550123")
		b.End()
	},
	"ring three clients at once with timeout and action": func(b *twiml.Builder) {
		b.Start("Dial")
		b.AttrInt("timeout", 20)
		b.Attr("action", "/incoming/after-dial?x=1&y=2")
		b.Attr("method", "POST")
		for _, c := range []string{"alice", "bob_2", "carol"} {
			b.Text("Client", c)
		}
		b.End()
	},
	"say with characters that need escaping": func(b *twiml.Builder) {
		b.Text("Say", `Tom & Jerry <say> "hi" it's José`, "voice", "Polly.Joanna")
		b.Empty("Hangup")
	},
	"voicemail": func(b *twiml.Builder) {
		b.Text("Say", "Please leave a message after the tone.")
		b.Empty("Record", "maxLength", "120", "playBeep", "true",
			"action", "/incoming/voicemail", "recordingStatusCallback", "/incoming/recording")
		b.Empty("Hangup")
	},
	"client dial with custom parameter": func(b *twiml.Builder) {
		b.Start("Dial", "callerId", "client:alice")
		b.Start("Client")
		b.Text("Identity", "bob")
		b.Empty("Parameter", "name", "origin", "value", "web app")
		// Both left open: Bytes closes them.
	},
	"reject": func(b *twiml.Builder) {
		b.Empty("Reject", "reason", "busy")
	},
}

func TestVectors(t *testing.T) {
	data, err := os.ReadFile("testdata/twiml.json")
	if err != nil {
		t.Fatal(err)
	}
	var file struct {
		Cases []struct{ Name, XML string }
	}
	if err := json.Unmarshal(data, &file); err != nil {
		t.Fatal(err)
	}
	if len(file.Cases) != len(vectorBuilders) {
		t.Errorf("%d vectors, %d builders: keep them in step", len(file.Cases), len(vectorBuilders))
	}
	var b twiml.Builder
	buf := make([]byte, 0, 512)
	for _, tc := range file.Cases {
		t.Run(tc.Name, func(t *testing.T) {
			build, ok := vectorBuilders[tc.Name]
			if !ok {
				t.Fatalf("no builder for vector %q", tc.Name)
			}
			b.Reset(buf[:0])
			build(&b)
			if got := string(b.Bytes()); got != tc.XML {
				t.Errorf("\n got %s\nwant %s", got, tc.XML)
			}
		})
	}
}

func TestBuilder(t *testing.T) {
	const h = twiml.Header
	tests := []struct {
		name  string
		build func(b *twiml.Builder)
		want  string
	}{
		{"zero builder is an empty response", func(*twiml.Builder) {}, h + "<Response/>"},
		{"empty text is self-closing", func(b *twiml.Builder) { b.Text("Say", "") }, h + "<Response><Say/></Response>"},
		{"start then end is self-closing", func(b *twiml.Builder) { b.Start("Dial", "a", "1"); b.End() }, h + `<Response><Dial a="1"/></Response>`},
		{"attributes keep their order", func(b *twiml.Builder) {
			b.Start("Dial", "z", "1", "a", "2")
			b.Attr("m", "3")
			b.AttrInt("b", -4)
			b.Text("Number", "+1")
		}, h + `<Response><Dial z="1" a="2" m="3" b="-4"><Number>+1</Number></Dial></Response>`},
		{"text attributes", func(b *twiml.Builder) { b.Text("Number", "+1", "sendDigits", "ww1") }, h + `<Response><Number sendDigits="ww1">+1</Number></Response>`},
		{"siblings after end", func(b *twiml.Builder) {
			b.Start("Dial")
			b.Text("Client", "a")
			b.End()
			b.Empty("Hangup")
		}, h + "<Response><Dial><Client>a</Client></Dial><Hangup/></Response>"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var b twiml.Builder
			tc.build(&b)
			got := string(b.Bytes())
			if got != tc.want {
				t.Errorf("\n got %s\nwant %s", got, tc.want)
			}
			if again := string(b.Bytes()); again != got {
				t.Errorf("second Bytes = %s", again)
			}
		})
	}
}

func TestResetAppends(t *testing.T) {
	var b twiml.Builder
	b.Reset([]byte("HTTP body: "))
	b.Empty("Hangup")
	if got, want := string(b.Bytes()), "HTTP body: "+twiml.Header+"<Response><Hangup/></Response>"; got != want {
		t.Errorf("got %s, want %s", got, want)
	}
	b.Reset(nil)
	if got, want := string(b.Bytes()), twiml.Header+"<Response/>"; got != want {
		t.Errorf("after Reset got %s, want %s", got, want)
	}
}

func TestMisusePanics(t *testing.T) {
	tests := []struct {
		name  string
		build func(b *twiml.Builder)
	}{
		//lint:ignore SA5012 an odd attribute list is the misuse under test
		{"odd attributes", func(b *twiml.Builder) { b.Start("Dial", "callerId") }},
		{"attr after child", func(b *twiml.Builder) { b.Start("Dial"); b.Text("Number", "+1"); b.Attr("x", "y") }},
		{"attr before any element", func(b *twiml.Builder) { b.Attr("x", "y") }},
		{"end of response", func(b *twiml.Builder) { b.End() }},
		{"write after bytes", func(b *twiml.Builder) { b.Bytes(); b.Empty("Hangup") }},
		{"too deep", func(b *twiml.Builder) {
			for range 10 {
				b.Start("X")
			}
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			defer func() {
				if recover() == nil {
					t.Error("no panic")
				}
			}()
			var b twiml.Builder
			tc.build(&b)
		})
	}
}

func TestEscape(t *testing.T) {
	const fffd = twiml.Replacement
	tests := []struct {
		name, in, text, attr string
	}{
		{"plain", "hello", "hello", "hello"},
		{"empty", "", "", ""},
		{"markup", `a&b<c>d"e'f`, `a&amp;b&lt;c&gt;d"e'f`, `a&amp;b&lt;c>d&quot;e'f`},
		{"whitespace", "a\tb\nc\rd", "a\tb\nc&#xD;d", "a&#x9;b&#xA;c&#xD;d"},
		{"entity-looking text is escaped again", "&amp;", "&amp;amp;", "&amp;amp;"},
		{"cdata end", "]]>", "]]&gt;", "]]>"},
		{"non-ASCII kept", "José ☎ 😀", "José ☎ 😀", "José ☎ 😀"},
		{"DEL and C1 kept", "\x7f\u0085", "\x7f\u0085", "\x7f\u0085"},
		{"C0 controls replaced", "a\x00b\x1bc\x0c", "a" + fffd + "b" + fffd + "c" + fffd, "a" + fffd + "b" + fffd + "c" + fffd},
		{"noncharacters replaced", "\uFFFE\uFFFF\uFFFD", fffd + fffd + fffd, fffd + fffd + fffd},
		{"invalid UTF-8 byte by byte", "a\xff\xfeb\xe2\x98", "a" + fffd + fffd + "b" + fffd + fffd, "a" + fffd + fffd + "b" + fffd + fffd},
		{"surrogate encoding replaced", "\xed\xa0\x80", fffd + fffd + fffd, fffd + fffd + fffd},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := string(twiml.AppendText(nil, tc.in)); got != tc.text {
				t.Errorf("AppendText(%q) = %q, want %q", tc.in, got, tc.text)
			}
			if got := string(twiml.AppendAttr(nil, tc.in)); got != tc.attr {
				t.Errorf("AppendAttr(%q) = %q, want %q", tc.in, got, tc.attr)
			}
			checkRoundTrip(t, tc.in)
		})
	}
}

// parsed is a document holding one string as an attribute and as text.
type parsed struct {
	XMLName xml.Name `xml:"Response"`
	Say     struct {
		Voice string `xml:"voice,attr"`
		Text  string `xml:",chardata"`
	}
}

// checkRoundTrip renders s as text and as an attribute, parses the document
// with encoding/xml and expects s back, with unrepresentable bytes and code
// points replaced.
func checkRoundTrip(t *testing.T, s string) {
	t.Helper()
	var b twiml.Builder
	b.Text("Say", s, "voice", s)
	doc := b.Bytes()
	var p parsed
	if err := xml.Unmarshal(doc, &p); err != nil {
		t.Fatalf("encoding/xml cannot parse %q: %v", doc, err)
	}
	want := sanitize(s)
	if p.Say.Text != want {
		t.Errorf("text %q came back as %q, want %q", s, p.Say.Text, want)
	}
	if p.Say.Voice != want {
		t.Errorf("attribute %q came back as %q, want %q", s, p.Say.Voice, want)
	}
}

// sanitize is the reference for what survives rendering: XML 1.0's Char
// production, with each invalid byte or code point replaced.
func sanitize(s string) string {
	var sb strings.Builder
	for i := 0; i < len(s); {
		r, n := utf8.DecodeRuneInString(s[i:])
		ok := !(r == utf8.RuneError && n == 1) &&
			(r == '\t' || r == '\n' || r == '\r' || r >= 0x20 && r <= 0xD7FF ||
				r >= 0xE000 && r <= 0xFFFD || r >= 0x10000 && r <= 0x10FFFF)
		if ok {
			sb.WriteString(s[i : i+n])
		} else {
			sb.WriteString(twiml.Replacement)
		}
		i += n
	}
	return sb.String()
}

// FuzzRender checks that any string renders to a document encoding/xml
// parses back to the sanitized string, and that the escapers never produce
// bytes that would need escaping themselves.
func FuzzRender(f *testing.F) {
	for _, s := range []string{"", "Tom & Jerry <say> \"hi\" it's José", "\r\n\t", "\x00\xff", "]]>", "\uFFFE", "&#xD;"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		checkRoundTrip(t, s)
		text := twiml.AppendText(nil, s)
		if bytes.ContainsAny(text, "<>\r") || !utf8.Valid(text) {
			t.Errorf("AppendText(%q) = %q", s, text)
		}
		attr := twiml.AppendAttr(nil, s)
		if bytes.ContainsAny(attr, "<\"\t\n\r") || !utf8.Valid(attr) {
			t.Errorf("AppendAttr(%q) = %q", s, attr)
		}
	})
}
