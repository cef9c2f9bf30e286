package twiliosig_test

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"net/url"
	"os"
	"regexp"
	"slices"
	"strings"
	"testing"
	"unicode/utf16"
	"unicode/utf8"

	"bubble-twilio-voice/shared/twiliosig"
)

// FuzzValidate signs a (url, form body) with a token, mutates the body with
// the edits the fuzzer chooses, and checks that ValidateForm never accepts a
// body whose parameters differ from the signed ones in what Twilio's scheme
// signs, and that ValidateBody never accepts any other body for a signed
// bodySHA256 URL. A canonical URL (as Twilio signs it) must also validate
// unmutated.
//
// Twilio signs URL + each key and value concatenated with no separator,
// repeated values deduplicated and sorted, strings as JavaScript holds them.
// So some different forms are indistinguishable by design ({"a":"bc"} and
// {"ab":"c"}; "a=1&a=1" and "a=1"): the check allows exactly those, using
// refSigned, an independent slow rendering of that string.
func FuzzValidate(f *testing.F) {
	data, err := os.ReadFile("testdata/signatures.json")
	if err != nil {
		f.Fatal(err)
	}
	var vec struct {
		FormCases []struct{ URL, Body, AuthToken string } `json:"form_cases"`
		BodyCases []struct{ URL, Body, AuthToken string } `json:"body_cases"`
	}
	if err := json.Unmarshal(data, &vec); err != nil {
		f.Fatal(err)
	}
	edits := [][]byte{nil, {0, 3, 'x'}, {1, 0, 0}, {2, 10, '='}, {3, 4, 0}, {2, 0, '&', 0, 5, '%'}}
	for i, c := range append(vec.FormCases, vec.BodyCases...) {
		f.Add(c.URL, c.Body, c.AuthToken, edits[i%len(edits)])
	}
	f.Add("https://voice.example.com/prod/voice?x=1", "a=bc&d=1", "tok", []byte{3, 1, 0})    // a=bc -> ab=c: the scheme's own ambiguity
	f.Add("https://voice.example.com/voice", "a=1&a=2&a=1", "tok", []byte{1, 7, 0, 1, 7, 0}) // duplicate values
	f.Add("https://h.example/v", "k=%FF%FE&k2=%E2%82", "tok", []byte{2, 4, 'e'})
	f.Add("https://h.example:8443/v?b=2&a=1", "", "tok", []byte{0, 0, 'a'})
	f.Add("http://a/?bodySHA256", "0", "0", []byte("0")) // a bodySHA256 already in the URL wins

	f.Fuzz(func(t *testing.T, rawURL, body, authToken string, edit []byte) {
		mutated := applyEdits(body, edit)

		if form, err := url.ParseQuery(body); err == nil {
			sig := twiliosig.Sign(rawURL, form, authToken)
			if authToken != "" && canonicalURL.MatchString(rawURL) && !twiliosig.ValidateForm(rawURL, form, sig, authToken) {
				t.Fatalf("ValidateForm refuses its own signature of %q %q", rawURL, body)
			}
			if form2, err := url.ParseQuery(mutated); err == nil &&
				twiliosig.ValidateForm(rawURL, form2, sig, authToken, "other-token") &&
				refSigned(form) != refSigned(form2) {
				t.Fatalf("ValidateForm accepted %q, a mutation of the signed body %q (url %q)", mutated, body, rawURL)
			}
		}

		sum := sha256.Sum256([]byte(body))
		sep := "?"
		if strings.Contains(rawURL, "?") {
			sep = "&"
		}
		bodyURL := rawURL + sep + "bodySHA256=" + hex.EncodeToString(sum[:])
		sig := twiliosig.Sign(bodyURL, nil, authToken)
		// A URL that already has a bodySHA256 is checked against its first
		// one, as URLSearchParams.get reads it, so only a fresh one must pass.
		fresh := !strings.Contains(rawURL, "bodySHA256")
		if authToken != "" && fresh && canonicalURL.MatchString(bodyURL) && !twiliosig.ValidateBody(bodyURL, []byte(body), sig, authToken) {
			t.Fatalf("ValidateBody refuses its own signature of %q %q", bodyURL, body)
		}
		if mutated != body && twiliosig.ValidateBody(bodyURL, []byte(mutated), sig, authToken) {
			t.Fatalf("ValidateBody accepted %q, a mutation of the signed body %q", mutated, body)
		}
	})
}

// canonicalURL matches URLs that the WHATWG parser serializes unchanged
// (lower-case DNS host, no dot segments, nothing to percent-encode), which
// is how Twilio's console keeps a webhook URL.
var canonicalURL = regexp.MustCompile(`^https?://([a-z0-9-]+\.)*[a-z][a-z0-9-]*(:[1-9][0-9]{0,3})?(/[A-Za-z0-9_~-]*)+(\?[A-Za-z0-9_.~=&-]*)?$`)

// applyEdits applies edits, three bytes each (op, position, byte), to s:
// insert, delete, replace, or swap with the next byte.
func applyEdits(s string, edits []byte) string {
	b := []byte(s)
	for len(edits) >= 3 {
		op, pos, c := edits[0]%4, int(edits[1]), edits[2]
		edits = edits[3:]
		if len(b) > 0 {
			pos %= len(b) + 1
		} else {
			pos = 0
		}
		switch {
		case op == 0:
			b = slices.Insert(b, pos, c)
		case op == 1 && pos < len(b):
			b = slices.Delete(b, pos, pos+1)
		case op == 2 && pos < len(b):
			b[pos] = c
		case op == 3 && pos+1 < len(b):
			b[pos], b[pos+1] = b[pos+1], b[pos]
		}
	}
	return string(b)
}

// refSigned is the parameter string Twilio signs for form, written the slow
// and obvious way: JavaScript strings, keys merged by their JavaScript value
// and sorted by UTF-16 code units, each key then each distinct value in
// sorted order.
func refSigned(form url.Values) string {
	merged := map[string][]string{}
	for k, vs := range form {
		for _, v := range vs {
			merged[jsString(k)] = append(merged[jsString(k)], jsString(v))
		}
	}
	keys := make([]string, 0, len(merged))
	for k := range merged {
		keys = append(keys, k)
	}
	byUnits := func(a, b string) int {
		return slices.Compare(utf16.Encode([]rune(a)), utf16.Encode([]rune(b)))
	}
	slices.SortFunc(keys, byUnits)
	var sb strings.Builder
	for _, k := range keys {
		vs := merged[k]
		slices.SortFunc(vs, byUnits)
		for _, v := range slices.Compact(vs) {
			sb.WriteString(k)
			sb.WriteString(v)
		}
	}
	return sb.String()
}

// jsString is s decoded as the WHATWG UTF-8 decoder (Node's Buffer) does:
// a sequence cut short becomes one U+FFFD for its longest valid prefix
// (Unicode's "maximal subpart"), any other invalid byte one U+FFFD each.
func jsString(s string) string {
	var sb strings.Builder
	for i := 0; i < len(s); {
		r, n := utf8.DecodeRuneInString(s[i:])
		if r != utf8.RuneError || n > 1 {
			sb.WriteString(s[i : i+n])
			i += n
			continue
		}
		sb.WriteRune(utf8.RuneError)
		i += maximalSubpart(s[i:])
	}
	return sb.String()
}

// maximalSubpart is how many bytes of the invalid sequence at the start of
// s one U+FFFD replaces: the lead byte and the continuation bytes that could
// still have completed it (Unicode Table 3-7).
func maximalSubpart(s string) int {
	need, lo, hi := 0, byte(0x80), byte(0xBF)
	switch c := s[0]; {
	case c >= 0xC2 && c <= 0xDF:
		need = 2
	case c == 0xE0:
		need, lo = 3, 0xA0
	case c == 0xED:
		need, hi = 3, 0x9F
	case c >= 0xE1 && c <= 0xEF:
		need = 3
	case c == 0xF0:
		need, lo = 4, 0x90
	case c == 0xF4:
		need, hi = 4, 0x8F
	case c >= 0xF1 && c <= 0xF3:
		need = 4
	default:
		return 1
	}
	k := 1
	for k < need && k < len(s) && s[k] >= lo && s[k] <= hi {
		k++
		lo, hi = 0x80, 0xBF
	}
	return k
}
