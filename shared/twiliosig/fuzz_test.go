package twiliosig_test

import (
	"cmp"
	"encoding/json"
	"net/url"
	"os"
	"regexp"
	"slices"
	"strings"
	"testing"

	"bubble-twilio-voice/shared/twiliosig"
)

// FuzzValidate signs a (url, form body) with a token, mutates the body with
// the edits the fuzzer chooses, and checks that ValidateForm accepts the
// mutated body only if it signs the same string. A canonical URL (as Twilio
// signs it) must also validate unmutated.
//
// Twilio signs URL + each key and value concatenated with no separator, so
// different requests are indistinguishable by design, and the check allows
// exactly those: inside the parameters ({"a":"bc"} and {"ab":"c"}; "a=1&a=1"
// and "a=1"), and across the URL and the parameters, since the URL may be
// checked in another form (see urlForms) whose end the parameters make up
// for: "http://a:80" + "0" is "http://a" + ":800". The seed in
// testdata/fuzz/FuzzValidate/url_param_boundary is another: "http://a/ " +
// "0" is "http://a/" + " 0", which twilio-node accepts (its URL parser drops
// the trailing space).
func FuzzValidate(f *testing.F) {
	data, err := os.ReadFile("testdata/signatures.json")
	if err != nil {
		f.Fatal(err)
	}
	var vec struct {
		FormCases []struct{ URL, Body, AuthToken string } `json:"form_cases"`
	}
	if err := json.Unmarshal(data, &vec); err != nil {
		f.Fatal(err)
	}
	edits := [][]byte{nil, {0, 3, 'x'}, {1, 0, 0}, {2, 10, '='}, {3, 4, 0}, {2, 0, '&', 0, 5, '%'}}
	for i, c := range vec.FormCases {
		f.Add(c.URL, c.Body, c.AuthToken, edits[i%len(edits)])
	}
	f.Add("https://voice.example.com/prod/voice?x=1", "a=bc&d=1", "tok", []byte{3, 1, 0})    // a=bc -> ab=c: the scheme's own ambiguity
	f.Add("https://voice.example.com/voice", "a=1&a=2&a=1", "tok", []byte{1, 7, 0, 1, 7, 0}) // duplicate values
	f.Add("https://h.example/v", "k=%FF%FE&k2=%E2%82", "tok", []byte{2, 4, 'e'})
	f.Add("https://h.example:8443/v?b=2&a=1", "", "tok", []byte{0, 0, 'a'})
	f.Add("http://a:80", "0", "0", []byte{0, 0, ':', 0, 1, '8', 0, 2, '0'}) // "0" -> ":800": the port moves into a key

	f.Fuzz(func(t *testing.T, rawURL, body, authToken string, edit []byte) {
		form, err := url.ParseQuery(body)
		if err != nil {
			return
		}
		sig := twiliosig.Sign(rawURL, form, authToken)
		if authToken != "" && canonicalURL.MatchString(rawURL) && !twiliosig.ValidateForm(rawURL, form, sig, authToken) {
			t.Fatalf("ValidateForm refuses its own signature of %q %q", rawURL, body)
		}
		mutated := applyEdits(body, edit)
		form2, err := url.ParseQuery(mutated)
		if err != nil || !twiliosig.ValidateForm(rawURL, form2, sig, authToken, "other-token") {
			return
		}
		signed, params := rawURL+refParams(form), refParams(form2)
		prefix, ok := strings.CutSuffix(signed, params)
		if !ok || !slices.Contains(urlForms(rawURL), prefix) {
			t.Fatalf("ValidateForm accepted %q, a mutation of the signed body %q (url %q): %q is not a form of the URL followed by %q",
				mutated, body, rawURL, signed, params)
		}
	})
}

// canonicalURL matches URLs that no parser rewrites (lower-case DNS host,
// no dot segments, nothing to percent-encode), which is how Twilio's
// console keeps a webhook URL.
var canonicalURL = regexp.MustCompile(`^https?://([a-z0-9-]+\.)*[a-z][a-z0-9-]*(:[1-9][0-9]{0,3})?(/[A-Za-z0-9_~-]*)+(\?[A-Za-z0-9_.~=&-]*)?$`)

// authority splits a URL into what comes before its port, the port with
// its colon (if any), and the rest from the first '/', '?' or '#' on.
var authority = regexp.MustCompile(`^([A-Za-z][A-Za-z0-9+.-]*)(://[^/?#]*?)(:[0-9]+)?([/?#].*)?$`)

// urlForms is the URLs that Twilio's libraries may take a webhook received
// at u to have been signed with: u as it is or as a URL parser trims it
// (leading and trailing controls and spaces), each also without its port,
// or with the scheme's default port if it has none.
func urlForms(u string) []string {
	var forms []string
	for _, s := range []string{u, strings.TrimFunc(u, func(r rune) bool { return r <= ' ' })} {
		forms = append(forms, s)
		m := authority.FindStringSubmatch(s)
		if m == nil {
			continue
		}
		scheme, host, port, rest := m[1], m[2], m[3], m[4]
		if port == "" {
			port = map[string]string{"http": ":80", "https": ":443"}[strings.ToLower(scheme)]
		} else {
			port = ""
		}
		forms = append(forms, scheme+host+port+rest)
	}
	return forms
}

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

// refParams is the parameter string Twilio signs for form, written the slow
// and obvious way: the set of distinct (key, value) pairs, sorted by key and
// then by value, each written as key then value.
func refParams(form url.Values) string {
	type pair struct{ k, v string }
	set := map[pair]bool{}
	for k, vs := range form {
		for _, v := range vs {
			set[pair{k, v}] = true
		}
	}
	pairs := make([]pair, 0, len(set))
	for p := range set {
		pairs = append(pairs, p)
	}
	slices.SortFunc(pairs, func(a, b pair) int {
		return cmp.Or(strings.Compare(a.k, b.k), strings.Compare(a.v, b.v))
	})
	var sb strings.Builder
	for _, p := range pairs {
		sb.WriteString(p.k + p.v)
	}
	return sb.String()
}
