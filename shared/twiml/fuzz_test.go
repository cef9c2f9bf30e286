package twiml_test

import (
	"bytes"
	"encoding/xml"
	"io"
	"strconv"
	"strings"
	"testing"

	"bubble-twilio-voice/shared/twiml"
)

// FuzzRenderDocument drives the Builder with a fuzzed sequence of calls
// (nested elements, text, attributes added at start and later, integer
// attributes) over fuzzed strings, and checks that the whole document always
// parses with encoding/xml and gives back exactly the tree that was written:
// every element, every attribute in order, every text, with only the
// documented replacement of what XML cannot carry (sanitize). FuzzRender
// covers one string in one element; this covers documents.
func FuzzRenderDocument(f *testing.F) {
	f.Add([]byte{2, 0, 3, 1, 0, 5, 1}, "+14155550100", "Tom & Jerry <say> \"hi\"", "a\tb\nc\rd")
	f.Add([]byte{0, 1, 2, 2, 4, 0, 0, 5, 5}, "\x00\xff\uFFFE", "]]>", "&#xD;")
	f.Add([]byte{2, 2, 2, 2, 2, 2, 2, 2, 2, 0}, "", "José ☎ 😀", "\xed\xa0\x80")
	f.Add([]byte{1, 4, 3, 0}, "x", "", "\r\n")

	names := []string{"Say", "Dial", "Number", "Client", "Record", "Hangup", "Gather", "Play"}
	f.Fuzz(func(t *testing.T, ops []byte, s0, s1, s2 string) {
		strs := [3]string{s0, s1, s2}
		var b twiml.Builder
		var want []string // expected events: "<Name", "@attr=value", ">", "#text", "</Name>"
		var open []string // elements started and not yet ended, Response excluded
		attrs := 0
		tagOpen := false // the last Start has had no child yet, so Attr is allowed
		for i, op := range ops {
			s := strs[i%3]
			name := names[(int(op>>3)+i)%len(names)]
			switch op % 6 {
			case 0:
				b.Text(name, s, "voice", strs[(i+1)%3])
				want = append(want, "<"+name, "@voice="+sanitize(strs[(i+1)%3]), ">")
				if s != "" {
					want = append(want, "#"+sanitize(s))
				}
				want = append(want, "</"+name+">")
				tagOpen = false
			case 1:
				b.Empty(name, "url", s)
				want = append(want, "<"+name, "@url="+sanitize(s), ">", "</"+name+">")
				tagOpen = false
			case 2:
				if len(open) == 7 { // the Builder's limit is 8 open elements
					continue
				}
				b.Start(name, "action", s)
				want = append(want, "<"+name, "@action="+sanitize(s), ">")
				open = append(open, name)
				tagOpen = true
			case 3:
				if !tagOpen {
					continue
				}
				attrs++
				a := "a" + strconv.Itoa(attrs)
				b.Attr(a, s)
				want = insertAttr(want, "@"+a+"="+sanitize(s))
			case 4:
				if !tagOpen {
					continue
				}
				attrs++
				a := "n" + strconv.Itoa(attrs)
				b.AttrInt(a, int(op)-100)
				want = insertAttr(want, "@"+a+"="+strconv.Itoa(int(op)-100))
			case 5:
				if len(open) == 0 {
					continue
				}
				b.End()
				want = append(want, "</"+open[len(open)-1]+">")
				open = open[:len(open)-1]
				tagOpen = false
			}
		}
		doc := b.Bytes()
		got, err := events(doc)
		if err != nil {
			t.Fatalf("encoding/xml cannot parse %q: %v", doc, err)
		}
		// Bytes closes what is still open, then Response.
		for n := len(open) - 1; n >= 0; n-- {
			want = append(want, "</"+open[n]+">")
		}
		want = append(append([]string{"<Response", ">"}, want...), "</Response>")
		if strings.Join(got, "\n") != strings.Join(want, "\n") {
			t.Fatalf("document %q parsed as\n%q\nwant\n%q", doc, got, want)
		}
	})
}

// insertAttr puts an attribute event before the ">" that closes the
// most recent start tag, which is the last ">" in events.
func insertAttr(events []string, attr string) []string {
	for i := len(events) - 1; i >= 0; i-- {
		if events[i] == ">" {
			events = append(events[:i+1], events[i:]...)
			events[i] = attr
			return events
		}
	}
	panic("no open tag")
}

// events parses doc into the same event strings FuzzRenderDocument expects.
func events(doc []byte) ([]string, error) {
	if !bytes.HasPrefix(doc, []byte(twiml.Header)) {
		return nil, io.ErrUnexpectedEOF
	}
	d := xml.NewDecoder(bytes.NewReader(doc))
	var out []string
	for {
		tok, err := d.Token()
		if err == io.EOF {
			return out, nil
		}
		if err != nil {
			return out, err
		}
		switch tok := tok.(type) {
		case xml.StartElement:
			out = append(out, "<"+tok.Name.Local)
			for _, a := range tok.Attr {
				out = append(out, "@"+a.Name.Local+"="+a.Value)
			}
			out = append(out, ">")
		case xml.EndElement:
			out = append(out, "</"+tok.Name.Local+">")
		case xml.CharData:
			if n := len(out); n > 0 && strings.HasPrefix(out[n-1], "#") {
				out[n-1] += string(tok)
			} else {
				out = append(out, "#"+string(tok))
			}
		case xml.ProcInst, xml.Comment, xml.Directive:
			if _, ok := tok.(xml.ProcInst); !ok || len(out) > 0 {
				return out, io.ErrUnexpectedEOF
			}
		}
	}
}
