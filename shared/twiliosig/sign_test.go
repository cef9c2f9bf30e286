package twiliosig

import (
	"crypto/hmac"
	"crypto/sha1"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/url"
	"os"
	"reflect"
	"strings"
	"testing"
)

// vectors is testdata/signatures.json, made by Twilio's Node library.
type vectors struct {
	Generator string `json:"generator"`
	FormCases []struct {
		Name      string     `json:"name"`
		URL       string     `json:"url"`
		AuthToken string     `json:"auth_token"`
		Params    [][]string `json:"params"`
		Body      string     `json:"body"`
		Signature string     `json:"signature"`
		Valid     bool       `json:"valid"`
	} `json:"form_cases"`
	BodyCases []struct {
		Name      string `json:"name"`
		URL       string `json:"url"`
		AuthToken string `json:"auth_token"`
		Body      string `json:"body"`
		Signature string `json:"signature"`
		Valid     bool   `json:"valid"`
	} `json:"body_cases"`
}

func loadVectors(tb testing.TB) vectors {
	tb.Helper()
	data, err := os.ReadFile("testdata/signatures.json")
	if err != nil {
		tb.Fatal(err)
	}
	var v vectors
	if err := json.Unmarshal(data, &v); err != nil {
		tb.Fatal(err)
	}
	if len(v.FormCases) == 0 || len(v.BodyCases) == 0 {
		tb.Fatal("no vectors")
	}
	return v
}

func TestNodeVectorsForm(t *testing.T) {
	for _, tc := range loadVectors(t).FormCases {
		t.Run(tc.Name, func(t *testing.T) {
			form, err := url.ParseQuery(tc.Body)
			if err != nil {
				t.Fatal(err)
			}
			fromParams := url.Values{}
			for _, kv := range tc.Params {
				fromParams.Add(kv[0], kv[1])
			}
			if !reflect.DeepEqual(form, fromParams) {
				t.Fatalf("body parses to %v, vector params are %v", form, fromParams)
			}
			if got := ValidateForm(tc.URL, form, tc.Signature, tc.AuthToken); got != tc.Valid {
				t.Errorf("ValidateForm = %v, twilio-node says %v", got, tc.Valid)
			}
			// The previous-token slot must not change the decision.
			if got := ValidateForm(tc.URL, form, tc.Signature, "0123456789abcdef0123456789abcdef", tc.AuthToken); got != tc.Valid {
				t.Errorf("ValidateForm with token as previous = %v, want %v", got, tc.Valid)
			}
		})
	}
}

func TestNodeVectorsBody(t *testing.T) {
	for _, tc := range loadVectors(t).BodyCases {
		t.Run(tc.Name, func(t *testing.T) {
			if got := ValidateBody(tc.URL, []byte(tc.Body), tc.Signature, tc.AuthToken); got != tc.Valid {
				t.Errorf("ValidateBody = %v, twilio-node says %v", got, tc.Valid)
			}
		})
	}
}

// refSign is the signature computed the plain way, with crypto/hmac.
func refSign(signedURL, params, token string) string {
	m := hmac.New(sha1.New, []byte(token))
	m.Write([]byte(signedURL + params))
	return base64.StdEncoding.EncodeToString(m.Sum(nil))
}

func TestHMACMatchesStdlib(t *testing.T) {
	for _, token := range []string{"", "k", "70676e43e91ae1bfce5b2ab4db1b016a", strings.Repeat("x", 64), strings.Repeat("y", 65), strings.Repeat("z", 200)} {
		t.Run(fmt.Sprintf("token len %d", len(token)), func(t *testing.T) {
			for _, u := range []string{"", "https://h/", strings.Repeat("a", 3000)} {
				if got, want := Sign(u, nil, token), refSign(u, "", token); got != want {
					t.Errorf("Sign(len %d, token len %d) = %s, want %s", len(u), len(token), got, want)
				}
			}
		})
	}
}

func TestValidateForm(t *testing.T) {
	const (
		u     = "https://71f2c0c6c7.execute-api.us-east-1.amazonaws.com/prod/voice"
		token = "70676e43e91ae1bfce5b2ab4db1b016a"
		prev  = "5b2ab4db1b016a70676e43e91ae1bfce"
		other = "ffffffffffffffffffffffffffffffff"
	)
	form := url.Values{"AccountSid": {"AC92763834fe1288c9c1dcbdd3f8f9d1db"}, "To": {"+14155550123"}, "From": {"client:alice"}}
	sig := Sign(u, form, token)
	tampered := url.Values{"AccountSid": {"AC92763834fe1288c9c1dcbdd3f8f9d1db"}, "To": {"+19005550123"}, "From": {"client:alice"}}
	extra := url.Values{"AccountSid": {"AC92763834fe1288c9c1dcbdd3f8f9d1db"}, "To": {"+14155550123"}, "From": {"client:alice"}, "X": {""}}

	tests := []struct {
		name   string
		url    string
		form   url.Values
		sig    string
		tokens []string
		want   bool
	}{
		{"valid", u, form, sig, []string{token}, true},
		{"tampered param", u, tampered, sig, []string{token}, false},
		{"added empty param", u, extra, sig, []string{token}, false},
		{"another tenant's token", u, form, sig, []string{other}, false},
		{"previous token during rotation", u, form, Sign(u, form, prev), []string{token, prev}, true},
		{"previous token after rotation ended", u, form, Sign(u, form, prev), []string{token}, false},
		{"stage prefix missing from rebuilt URL", "https://71f2c0c6c7.execute-api.us-east-1.amazonaws.com/voice", form, sig, []string{token}, false},
		{"http instead of https", "http://71f2c0c6c7.execute-api.us-east-1.amazonaws.com/prod/voice", form, sig, []string{token}, false},
		{"no tokens", u, form, sig, nil, false},
		{"empty token ignored", u, form, Sign(u, form, ""), []string{""}, false},
		{"empty signature", u, form, "", []string{token}, false},
		{"signature with trailing space", u, form, sig + " ", []string{token}, false},
		{"signature unpadded", u, form, strings.TrimRight(sig, "="), []string{token}, false},
		{"not a URL", "::", form, sig, []string{token}, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := ValidateForm(tc.url, tc.form, tc.sig, tc.tokens...); got != tc.want {
				t.Errorf("ValidateForm = %v, want %v", got, tc.want)
			}
		})
	}
}

// TestRepeatedKeys checks the Node rule Array.from(new Set(values)).sort().
func TestRepeatedKeys(t *testing.T) {
	const u, token = "https://h.example.com/voice", "tok"
	tests := []struct {
		name   string
		form   url.Values
		params string // what twilio-node appends to the URL
	}{
		{"sorted", url.Values{"Tag": {"b", "a"}}, "TagaTagb"},
		{"duplicates once", url.Values{"Tag": {"a", "b", "a"}}, "TagaTagb"},
		{"all the same", url.Values{"Tag": {"a", "a"}}, "Taga"},
		{"keys sorted, not key+value", url.Values{"Reason": {"P"}, "ReasonConferenceEnded": {"t"}}, "ReasonPReasonConferenceEndedt"},
		{"UTF-16 order", url.Values{"\uffff": {"1"}, "\U00010000": {"2"}}, "\U000100002\uffff1"},
		{"invalid UTF-8 read as U+FFFD", url.Values{"K": {"a\xffb"}}, "Ka\ufffdb"},
		{"empty values slice", url.Values{"K": {}, "L": {"1"}}, "L1"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			want := refSign(u, tc.params, token)
			if got := Sign(u, tc.form, token); got != want {
				t.Errorf("Sign = %s, want %s (params %q)", got, want, tc.params)
			}
			if !ValidateForm(u, tc.form, want, token) {
				t.Error("ValidateForm rejected the Node signature")
			}
		})
	}
}

// TestURLForms checks the URL forms twilio-node accepts: a request received
// at "received" validates with a signature over "signed" only as Node says.
func TestURLForms(t *testing.T) {
	tests := []struct {
		name, received, signed string
		want                   bool
	}{
		{"same", "https://h.example.com/v", "https://h.example.com/v", true},
		{"signed with :443", "https://h.example.com/v", "https://h.example.com:443/v", true},
		{"received with :443", "https://h.example.com:443/v", "https://h.example.com/v", true},
		{"received with :0443", "https://h.example.com:0443/v", "https://h.example.com/v", true},
		{"http signed with :80", "http://localhost/v", "http://localhost:80/v", true},
		{"http is not :443", "http://localhost/v", "http://localhost:443/v", false},
		{"other port, signed without", "https://h.example.com:8443/v", "https://h.example.com/v", true},
		{"other port, signed with", "https://h.example.com:8443/v", "https://h.example.com:8443/v", true},
		{"other port, signed with another", "https://h.example.com:8443/v", "https://h.example.com:9443/v", false},
		{"host case folded", "HTTPS://H.Example.COM/v", "https://h.example.com/v", true},
		{"path case kept", "https://h.example.com/V", "https://h.example.com/v", false},
		{"empty path is /", "https://h.example.com", "https://h.example.com/", true},
		{"empty path before query", "https://h.example.com?a=1", "https://h.example.com/?a=1", true},
		{"dot segments", "https://h.example.com/a/./b/../v", "https://h.example.com/a/v", true},
		{"encoded dot segment", "https://h.example.com/a/%2E%2e/v", "https://h.example.com/v", true},
		{"backslash", "https://h.example.com/a\\v", "https://h.example.com/a/v", true},
		{"path space encoded", "https://h.example.com/a b", "https://h.example.com/a%20b", true},
		{"query quote encoded", "https://h.example.com/v?n=O'Hara", "https://h.example.com/v?n=O%27Hara", true},
		{"query quote, legacy form", "https://h.example.com/v?n=O'Hara", "https://h.example.com/v?n=O'Hara", true},
		{"legacy plus to %20", "https://h.example.com/v?n=a+b", "https://h.example.com/v?n=a%20b", true},
		{"legacy with port", "https://h.example.com:8443/v?n=a+b", "https://h.example.com:8443/v?n=a%20b", true},
		{"legacy groups repeated keys", "https://h.example.com/v?a=1&b=2&a=3", "https://h.example.com/v?a=1&a=3&b=2", true},
		{"legacy puts integer keys first", "https://h.example.com/v?b=1&10=x&2=y", "https://h.example.com/v?2=y&10=x&b=1", true},
		{"legacy adds = to bare keys", "https://h.example.com/v?flag&a=1", "https://h.example.com/v?flag=&a=1", true},
		{"legacy drops empty pairs", "https://h.example.com/v?a=1&&b=2", "https://h.example.com/v?a=1&b=2", true},
		{"reordered query", "https://h.example.com/v?a=1&b=2", "https://h.example.com/v?b=2&a=1", false},
		{"empty query kept", "https://h.example.com/v?", "https://h.example.com/v?", true},
		{"empty query, port form drops ?", "https://h.example.com/v?", "https://h.example.com:443/v", true},
		{"empty query, port form with ?", "https://h.example.com/v?", "https://h.example.com:443/v?", false},
		{"userinfo", "https://u:p@h.example.com/v", "https://u:p@h.example.com:443/v", true},
		{"dotted quad", "http://127.0.0.1:8080/v", "http://127.0.0.1/v", true},
		{"ipv6 compressed", "http://[0:0::1]:8080/v", "http://[::1]:8080/v", true},
		{"fragment refused", "https://h.example.com/v#x", "https://h.example.com/v#x", false},
		{"other scheme refused", "ftp://h.example.com/v", "ftp://h.example.com/v", false},
		{"IPv4 shorthand refused", "http://127.1/v", "http://127.1/v", false},
		{"bad port", "https://h.example.com:99999/v", "https://h.example.com:99999/v", false},
	}
	const token = "70676e43e91ae1bfce5b2ab4db1b016a"
	form := url.Values{"AccountSid": {"AC92763834fe1288c9c1dcbdd3f8f9d1db"}}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			sig := Sign(tc.signed, form, token)
			if got := ValidateForm(tc.received, form, sig, token); got != tc.want {
				t.Errorf("ValidateForm(%q) with signature over %q = %v, want %v", tc.received, tc.signed, got, tc.want)
			}
		})
	}
}

func TestValidateBody(t *testing.T) {
	const token = "70676e43e91ae1bfce5b2ab4db1b016a"
	body := []byte(`{"AccountSid":"AC92763834fe1288c9c1dcbdd3f8f9d1db"}`)
	const hash = "5d3f1e4bb0d5e6f70c1f19f8ab2bd5b0b1e9f4b1a2b1c9d8e7f6a5b4c3d2e1f0" // not the body's
	good := "https://h.example.com/status?bodySHA256=" + sha256Hex(body)
	upper := "https://h.example.com/status?bodySHA256=" + strings.ToUpper(sha256Hex(body))
	tests := []struct {
		name, url, sig string
		body           []byte
		want           bool
	}{
		{"valid", good, Sign(good, nil, token), body, true},
		{"body changed", good, Sign(good, nil, token), []byte(`{}`), false},
		{"hash not the body's", "https://h.example.com/status?bodySHA256=" + hash, Sign("https://h.example.com/status?bodySHA256="+hash, nil, token), body, false},
		{"upper-case hash", upper, Sign(upper, nil, token), body, false},
		{"no bodySHA256", "https://h.example.com/status", Sign("https://h.example.com/status", nil, token), body, false},
		{"signed with params", good, Sign(good, url.Values{"a": {"1"}}, token), body, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := ValidateBody(tc.url, tc.body, tc.sig, token); got != tc.want {
				t.Errorf("ValidateBody = %v, want %v", got, tc.want)
			}
		})
	}
}

func sha256Hex(b []byte) string {
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:])
}

func TestCompareUTF16(t *testing.T) {
	tests := []struct {
		a, b string
		want int // sign
	}{
		{"a", "b", -1},
		{"a", "a", 0},
		{"a", "ab", -1},
		{"\U00010000", "\uffff", -1}, // surrogate pair sorts before U+FFFF in JS
		{"\U00010000", "\ud7ff", 1},
		{"\U00010001", "\U00010000", 1},
		{"é", "z", 1},
	}
	for _, tc := range tests {
		t.Run(tc.a+"|"+tc.b, func(t *testing.T) {
			got := compareUTF16(tc.a, tc.b)
			if sign(got) != tc.want {
				t.Errorf("compareUTF16(%q, %q) = %d, want sign %d", tc.a, tc.b, got, tc.want)
			}
		})
	}
}

func sign(n int) int {
	switch {
	case n < 0:
		return -1
	case n > 0:
		return 1
	}
	return 0
}

func TestDecodeUTF8(t *testing.T) {
	tests := []struct{ in, want string }{
		{"abc", "abc"},
		{"\xe2\x82\xac", "€"},
		{"\xe2\x82A", "\ufffdA"},               // truncated sequence: one U+FFFD
		{"\xf0\x80\x80", "\ufffd\ufffd\ufffd"}, // F0 80 is never valid
		{"\xed\xa0\x80", "\ufffd\ufffd\ufffd"}, // surrogate
		{"\xff", "\ufffd"},
		{"\xc3", "\ufffd"},
	}
	for _, tc := range tests {
		t.Run(tc.in, func(t *testing.T) {
			if got := string(decodeUTF8([]byte(tc.in))); got != tc.want {
				t.Errorf("decodeUTF8(%q) = %q, want %q", tc.in, got, tc.want)
			}
		})
	}
}

func TestLegacyQueryString(t *testing.T) {
	tests := []struct{ in, want string }{
		{"a=1&b=2", "a=1&b=2"},
		{"n=a+b", "n=a%20b"},
		{"n=O%27Hara", "n=O'Hara"},
		{"n=%zz", "n=%25zz"},
		{"n=%E2%82%AC", "n=%E2%82%AC"},
		{"n=%FF", "n=%EF%BF%BD"},
		{"=&=v", "=&=v"},
		{"a&&b", "a=&b="},
		{"x=1&4294967294=a&4294967295=b&01=c&0=d", "0=d&4294967294=a&x=1&4294967295=b&01=c"},
		{"a=1=2", "a=1%3D2"},
	}
	for _, tc := range tests {
		t.Run(tc.in, func(t *testing.T) {
			if got := legacyQueryString(tc.in); got != tc.want {
				t.Errorf("legacyQueryString(%q) = %q, want %q", tc.in, got, tc.want)
			}
		})
	}
}
