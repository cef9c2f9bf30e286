package httpapi

import (
	"net/http/httptest"
	"testing"
)

// TestCallsBase: the webhooks call control writes into TwiML point back at
// this API as it was reached: the public base when set, else the host and
// the stage prefix the request came through (RequestURI keeps it, the
// routed path has it stripped).
func TestCallsBase(t *testing.T) {
	cases := []struct {
		name, public, host, requestURI, path, want string
	}{
		{"public base", "https://voice.example.com/calls/", "x.execute-api.us-east-1.amazonaws.com", "/calls/hold", "/calls/hold", "https://voice.example.com/calls"},
		{"named stage", "", "x.execute-api.us-east-1.amazonaws.com", "/prod/calls/hold", "/calls/hold", "https://x.execute-api.us-east-1.amazonaws.com/prod"},
		{"default stage", "", "x.execute-api.us-east-1.amazonaws.com", "/calls/transfer/complete?x=1", "/calls/transfer/complete", "https://x.execute-api.us-east-1.amazonaws.com"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r := httptest.NewRequest("POST", tc.path, nil)
			r.Host, r.RequestURI = tc.host, tc.requestURI
			if got := callsBase(r, tc.public); got != tc.want {
				t.Errorf("callsBase = %q, want %q", got, tc.want)
			}
			if u := callURLs(callsBase(r, tc.public)); u.DialComplete != tc.want+PathDialComplete || u.ConferenceEvents != tc.want+PathConferenceEvents {
				t.Errorf("URLs %+v", u)
			}
		})
	}
}

// TestParseCallsBody covers the decoder's refusals one by one.
func TestParseCallsBody(t *testing.T) {
	const sid = `"call_sid":"CA0123456789abcdef0123456789abcdef"`
	cases := []struct {
		body    string
		needsTo bool
		code    string // "" for accepted
	}{
		{`{` + sid + `}`, false, ""},
		{`{` + sid + `,"to":" client:bob ","mode":"warm"}`, true, ""},
		{`{` + sid + `,"to":null}`, false, ""},
		{`{` + sid + `,"extra":{"nested":[1,2]}}`, false, ""},
		{`{` + sid + `}`, true, "invalid_request"},
		{`{` + sid + `,"to":"bob","mode":"hot"}`, true, "invalid_request"},
		{`{` + sid + `,` + sid + `}`, false, "invalid_request"},
		{`{"Call_Sid":"CA0123456789abcdef0123456789abcdef"}`, false, "invalid_request"},
		{`{"call_sid":42}`, false, "invalid_request"},
		{`{"call_sid":"CA123"}`, false, "invalid_request"},
		{`{}`, false, "invalid_request"},
		{`[` + sid + `]`, false, "invalid_request"},
		{`{` + sid + `} {}`, false, "invalid_request"},
		{`{` + sid + `,"identity":"alice"}`, false, "invalid_request"},
		{`{` + sid + `,"account_sid":"AC0123456789abcdef0123456789abcdef"}`, false, "invalid_identity"},
		{`{` + sid + `,"account_sid":"AC1","identity":"alice"}`, false, "invalid_request"},
	}
	for _, tc := range cases {
		_, err := parseCallsBody([]byte(tc.body), tc.needsTo)
		code := ""
		if e, ok := err.(*apiError); ok {
			code = e.code
		} else if err != nil {
			code = "?"
		}
		if code != tc.code {
			t.Errorf("%s (needsTo %v): %v, want %q", tc.body, tc.needsTo, err, tc.code)
		}
	}
}
