package twiliosig

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha1"
	"encoding/base64"
	"encoding/json"
	"net/url"
	"os"
	"reflect"
	"strings"
	"testing"
)

// vectors is the form cases of testdata/signatures.json, made by Twilio's
// Node library (its JSON body cases are for a path no route takes).
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
	if len(v.FormCases) == 0 {
		tb.Fatal("no vectors")
	}
	return v
}

// vectorForm is the vector's body parsed as the middleware parses it,
// checked against the parameters twilio-node was given.
func vectorForm(t *testing.T, body string, params [][]string) url.Values {
	t.Helper()
	form, err := url.ParseQuery(body)
	if err != nil {
		t.Fatal(err)
	}
	fromParams := url.Values{}
	for _, kv := range params {
		fromParams.Add(kv[0], kv[1])
	}
	if !reflect.DeepEqual(form, fromParams) {
		t.Fatalf("body parses to %v, vector params are %v", form, fromParams)
	}
	return form
}

func TestNodeVectorsForm(t *testing.T) {
	for _, tc := range loadVectors(t).FormCases {
		t.Run(tc.Name, func(t *testing.T) {
			form := vectorForm(t, tc.Body, tc.Params)
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

// TestSignNodeVectors checks that Sign computes twilio-node's signatures,
// given the URL that was signed (which for one vector is not the URL the
// request was received at).
func TestSignNodeVectors(t *testing.T) {
	signedURL := map[string]string{
		"voice webhook, HTTP API default stage":                      "",
		"voice webhook, named stage in path":                         "",
		"signed with :443, received without":                         "https://71f2c0c6c7.execute-api.us-east-1.amazonaws.com:443/voice",
		"received with :443, signed without":                         "https://71f2c0c6c7.execute-api.us-east-1.amazonaws.com/voice",
		"custom domain with query string kept in order":              "",
		"incoming PSTN call, all fields":                             "",
		"custom Device.connect params with spaces, plus and unicode": "",
		"repeated key":                         "",
		"empty value and empty body key order": "",
		"key sort is by key, not key+value":    "",
	}
	seen := 0
	for _, tc := range loadVectors(t).FormCases {
		u, ok := signedURL[tc.Name]
		if !ok {
			continue
		}
		seen++
		if u == "" {
			u = tc.URL
		}
		t.Run(tc.Name, func(t *testing.T) {
			if got := Sign(u, vectorForm(t, tc.Body, tc.Params), tc.AuthToken); got != tc.Signature {
				t.Errorf("Sign(%q) = %s, twilio-node signed %s", u, got, tc.Signature)
			}
		})
	}
	if seen != len(signedURL) {
		t.Errorf("found %d of the %d vectors named", seen, len(signedURL))
	}
}

// refSign is the signature computed as Twilio documents it.
func refSign(signedURL, params, token string) string {
	m := hmac.New(sha1.New, []byte(token))
	m.Write([]byte(signedURL + params))
	return base64.StdEncoding.EncodeToString(m.Sum(nil))
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
	// The last base64 character of a 20-byte MAC carries two unused bits:
	// setting one gives a header that Go's decoder reads as the same MAC.
	nonCanonical := sig[:26] + string(sig[26]+1) + "="
	if a, b := mustDecode(t, sig), mustDecode(t, nonCanonical); !bytes.Equal(a, b) {
		t.Fatalf("%s and %s decode differently", sig, nonCanonical)
	}

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
		{"signature with trailing newline", u, form, sig + "\n", []string{token}, false},
		{"signature unpadded", u, form, strings.TrimRight(sig, "="), []string{token}, false},
		{"signature non-canonical base64", u, form, nonCanonical, []string{token}, false},
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

func mustDecode(t *testing.T, s string) []byte {
	t.Helper()
	b, err := base64.StdEncoding.DecodeString(s)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// TestParams checks the string signed after the URL against the Node rule:
// keys sorted, each repeated key's values as Array.from(new Set(values)).sort().
func TestParams(t *testing.T) {
	const u, token = "https://h.example.com/voice", "tok"
	tests := []struct {
		name   string
		form   url.Values
		params string // what twilio-node appends to the URL
	}{
		{"none", nil, ""},
		{"keys sorted", url.Values{"b": {"1"}, "a": {"2"}, "B": {"3"}}, "B3a2b1"},
		{"empty value", url.Values{"To": {""}, "From": {"x"}}, "FromxTo"},
		{"repeated key sorted", url.Values{"Tag": {"b", "a"}}, "TagaTagb"},
		{"repeated key duplicates once", url.Values{"Tag": {"a", "b", "a"}}, "TagaTagb"},
		{"repeated key all the same", url.Values{"Tag": {"a", "a"}}, "Taga"},
		{"keys sorted, not key+value", url.Values{"Reason": {"P"}, "ReasonConferenceEnded": {"t"}}, "ReasonPReasonConferenceEndedt"},
		{"empty values slice", url.Values{"K": {}, "L": {"1"}}, "L1"},
		{"UTF-8 as sent", url.Values{"CallerName": {"José ☎"}}, "CallerNameJosé ☎"},
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

// TestURLForms checks the URL forms tried: a request received at "received"
// validates with a signature over "signed" only if that is the received URL
// as it is, or with its port toggled.
func TestURLForms(t *testing.T) {
	tests := []struct {
		name, received, signed string
		want                   bool
	}{
		{"same", "https://h.example.com/v", "https://h.example.com/v", true},
		{"signed with :443", "https://h.example.com/v", "https://h.example.com:443/v", true},
		{"received with :443", "https://h.example.com:443/v", "https://h.example.com/v", true},
		{"http signed with :80", "http://localhost/v", "http://localhost:80/v", true},
		{"http is not :443", "http://localhost/v", "http://localhost:443/v", false},
		{"https is not :80", "https://h.example.com/v", "https://h.example.com:80/v", false},
		{"other port, signed without", "https://h.example.com:8443/v", "https://h.example.com/v", true},
		{"other port, signed with", "https://h.example.com:8443/v", "https://h.example.com:8443/v", true},
		{"other port, signed with another", "https://h.example.com:8443/v", "https://h.example.com:9443/v", false},
		{"other port, signed with the default", "https://h.example.com:8443/v", "https://h.example.com:443/v", false},
		{"no path, signed with port", "https://h.example.com", "https://h.example.com:443", true},
		{"no path, query, signed with port", "https://h.example.com?a=1", "https://h.example.com:443?a=1", true},
		{"query kept, signed with port", "https://h.example.com/v?a=1&b=2", "https://h.example.com:443/v?a=1&b=2", true},
		{"query reordered", "https://h.example.com/v?a=1&b=2", "https://h.example.com/v?b=2&a=1", false},
		{"query as received", "https://h.example.com/v?n=O'Hara+x", "https://h.example.com/v?n=O'Hara+x", true},
		{"empty query kept", "https://h.example.com/v?", "https://h.example.com:443/v?", true},
		{"empty query not dropped", "https://h.example.com/v?", "https://h.example.com/v", false},
		{"path case kept", "https://h.example.com/V", "https://h.example.com/v", false},
		{"path not normalized", "https://h.example.com/a/../v", "https://h.example.com/v", false},
		{"userinfo", "https://u:p@h.example.com/v", "https://u:p@h.example.com:443/v", true},
		{"ipv6 with port", "http://[::1]:8080/v", "http://[::1]/v", true},
		{"ipv6 without port", "http://[::1]/v", "http://[::1]:80/v", true},
		{"upper-case scheme", "HTTPS://h.example.com/v", "HTTPS://h.example.com:443/v", true},
		{"other scheme refused", "ftp://h.example.com/v", "ftp://h.example.com/v", false},
		{"relative URL refused", "/v", "/v", false},
		{"no host refused", "https:///v", "https:///v", false},
		{"empty port refused", "https://h.example.com:/v", "https://h.example.com:/v", false},
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
