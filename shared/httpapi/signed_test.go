package httpapi

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"bubble-twilio-voice/shared/metrics"
	"bubble-twilio-voice/shared/tenant"
	"bubble-twilio-voice/shared/twiliosig"
	"bubble-twilio-voice/test/kit"
)

const (
	testHost    = "71f2c0c6c7.execute-api.us-east-1.amazonaws.com"
	testAccount = "AC92763834fe1288c9c1dcbdd3f8f9d1db"
	testToken   = "70676e43e91ae1bfce5b2ab4db1b016a"
	testPrev    = "1b016a70676e43e91ae1bfce5b2ab4db"
	otherAcct   = "AC0123456789abcdef0123456789abcdef"
	otherToken  = "abcdef0123456789abcdef0123456789"
	testCallSID = "CA55d317c90291722c0896f0a7ee33c225"
)

func testStore() tenant.Store {
	return tenant.NewMemoryStore(
		&tenant.Tenant{AccountSID: testAccount, AuthToken: testToken, PreviousAuthToken: testPrev},
		&tenant.Tenant{AccountSID: otherAcct, AuthToken: otherToken},
	)
}

// rejectedReasons returns the Reason of each SignatureRejected EMF line.
func rejectedReasons(t *testing.T, emf string) []string {
	t.Helper()
	var out []string
	for _, line := range strings.Split(strings.TrimSpace(emf), "\n") {
		var m struct {
			Reason            string
			SignatureRejected *int
		}
		if line == "" {
			continue
		}
		if err := json.Unmarshal([]byte(line), &m); err != nil {
			t.Fatalf("EMF line %q: %v", line, err)
		}
		if m.SignatureRejected != nil {
			out = append(out, m.Reason)
		}
	}
	return out
}

func voiceForm(account string) url.Values {
	return url.Values{
		"AccountSid": {account},
		"ApiVersion": {"2010-04-01"},
		"CallSid":    {testCallSID},
		"CallStatus": {"ringing"},
		"From":       {"client:alice"},
		"To":         {"+14155550123"},
	}
}

// apigwRequest builds a request the way the API Gateway adapter does: the
// stage is in RequestURI but not in URL.Path.
func apigwRequest(method, calledPath, body string) *http.Request {
	r := httptest.NewRequest(method, strings.TrimPrefix(calledPath, "/prod"), strings.NewReader(body))
	r.Host = testHost
	r.RequestURI = calledPath
	r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	return r
}

func TestMiddleware(t *testing.T) {
	logs := &kit.LogBuffer{}
	log := slog.New(slog.NewJSONHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	const signedURL = "https://" + testHost + "/prod/voice"
	var secrets []string // must never reach the log

	signedReq := func(form url.Values, token string) *http.Request {
		body := form.Encode()
		r := apigwRequest(http.MethodPost, "/prod/voice", body)
		sig := twiliosig.Sign(signedURL, form, token)
		secrets = append(secrets, sig)
		r.Header.Set(twiliosig.Header, sig)
		return r
	}
	unavailable := tenant.StoreFunc(func(context.Context, string) (*tenant.Tenant, error) {
		return nil, fmt.Errorf("get secret: %w", tenant.ErrUnavailable)
	})
	huge := url.Values{"AccountSid": {testAccount}, "Pad": {strings.Repeat("x", MaxWebhookBody)}}
	hugeChunked := signedReq(huge, testToken)
	hugeChunked.ContentLength = -1

	// A JSON webhook signed as Twilio signs one (the body's SHA-256 in the
	// URL, no parameters): no route takes one, so it finds no AccountSid.
	jsonBody := `{"AccountSid":"` + testAccount + `","CallSid":"` + testCallSID + `"}`
	jsonSum := sha256.Sum256([]byte(jsonBody))
	jsonURL := "http://localhost:8080/status?bodySHA256=" + hex.EncodeToString(jsonSum[:])
	jsonReq := httptest.NewRequest(http.MethodPost, jsonURL, strings.NewReader(jsonBody))
	jsonReq.Header.Set("Content-Type", "application/json")
	jsonReq.Header.Set(twiliosig.Header, twiliosig.Sign(jsonURL, nil, testToken))
	secrets = append(secrets, jsonReq.Header.Get(twiliosig.Header))

	tests := []struct {
		name       string
		req        *http.Request
		store      tenant.Store
		wantStatus int
		wantBody   string
		wantReason string
		check      func(t *testing.T, r *http.Request)
	}{
		{
			name: "valid", req: signedReq(voiceForm(testAccount), testToken), wantStatus: http.StatusOK,
			check: func(t *testing.T, r *http.Request) {
				if got := tenant.FromContext(r.Context()); got == nil || got.AccountSID != testAccount {
					t.Errorf("tenant in context = %v", got)
				}
				if got := r.PostFormValue("To"); got != "+14155550123" {
					t.Errorf("PostFormValue(To) = %q", got)
				}
				if got := r.FormValue("CallSid"); got != testCallSID {
					t.Errorf("FormValue(CallSid) = %q", got)
				}
				if b, _ := io.ReadAll(r.Body); string(b) != voiceForm(testAccount).Encode() {
					t.Errorf("body = %q", b)
				}
				if r.URL.Path != "/voice" {
					t.Errorf("path = %q, want the routed path", r.URL.Path)
				}
			},
		},
		{name: "previous token accepted during rotation", req: signedReq(voiceForm(testAccount), testPrev), wantStatus: http.StatusOK},
		{
			name: "repeated keys", req: signedReq(url.Values{"AccountSid": {testAccount}, "Tag": {"b", "a"}}, testToken), wantStatus: http.StatusOK,
			check: func(t *testing.T, r *http.Request) {
				if got := r.PostForm["Tag"]; len(got) != 2 || got[0] != "b" || got[1] != "a" {
					t.Errorf("PostForm[Tag] = %q, want [b a] as sent", got)
				}
			},
		},
		{
			name: "unsigned", req: apigwRequest(http.MethodPost, "/prod/voice", voiceForm(testAccount).Encode()),
			wantStatus: http.StatusForbidden, wantBody: forbidden, wantReason: ReasonMissingSignature,
		},
		{name: "another tenant's token", req: signedReq(voiceForm(testAccount), otherToken), wantStatus: http.StatusForbidden, wantBody: forbidden, wantReason: ReasonBadSignature},
		{
			name: "tampered after signing",
			req: func() *http.Request {
				r := signedReq(voiceForm(testAccount), testToken)
				f := voiceForm(testAccount)
				f.Set("To", "+19005550100")
				r.Body = io.NopCloser(strings.NewReader(f.Encode()))
				r.ContentLength = int64(len(f.Encode()))
				return r
			}(),
			wantStatus: http.StatusForbidden, wantBody: forbidden, wantReason: ReasonBadSignature,
		},
		{
			name: "stage missing from the URL the server rebuilt",
			req: func() *http.Request {
				r := signedReq(voiceForm(testAccount), testToken)
				r.RequestURI = "/voice"
				return r
			}(),
			wantStatus: http.StatusForbidden, wantBody: forbidden, wantReason: ReasonBadSignature,
		},
		{name: "unknown account", req: signedReq(voiceForm("AC00000000000000000000000000000000"), testToken), wantStatus: http.StatusForbidden, wantBody: forbidden, wantReason: ReasonUnknownAccount},
		{name: "malformed account", req: signedReq(voiceForm("AC<script>"), testToken), wantStatus: http.StatusForbidden, wantBody: forbidden, wantReason: ReasonMalformedAccount},
		{name: "missing account", req: signedReq(url.Values{"To": {"+14155550123"}}, testToken), wantStatus: http.StatusForbidden, wantBody: forbidden, wantReason: ReasonMissingAccount},
		{
			name: "malformed form body",
			req: func() *http.Request {
				r := apigwRequest(http.MethodPost, "/prod/voice", "AccountSid="+testAccount+"&To=%zz")
				r.Header.Set(twiliosig.Header, "AAAAAAAAAAAAAAAAAAAAAAAAAAA=")
				return r
			}(),
			wantStatus: http.StatusForbidden, wantBody: forbidden, wantReason: ReasonMalformedBody,
		},
		{name: "store unavailable", req: signedReq(voiceForm(testAccount), testToken), store: unavailable, wantStatus: http.StatusServiceUnavailable},
		{name: "oversize body", req: signedReq(huge, testToken), wantStatus: http.StatusRequestEntityTooLarge, wantReason: ReasonBodyTooLarge},
		{name: "oversize body without length", req: hugeChunked, wantStatus: http.StatusRequestEntityTooLarge, wantReason: ReasonBodyTooLarge},
		{name: "GET", req: apigwRequest(http.MethodGet, "/prod/voice", ""), wantStatus: http.StatusMethodNotAllowed, wantReason: ReasonMethod},
		{name: "JSON body with bodySHA256", req: jsonReq, wantStatus: http.StatusForbidden, wantBody: forbidden, wantReason: ReasonMissingAccount},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			store := tc.store
			if store == nil {
				store = testStore()
			}
			var emf kit.LogBuffer
			called := false
			next := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				called = true
				if tc.check != nil {
					tc.check(t, r)
				}
				w.WriteHeader(http.StatusOK)
			})
			h := signed(store, "", log, metrics.New(&emf, "voice", time.Now))(next)
			w := httptest.NewRecorder()
			h.ServeHTTP(w, tc.req)

			if w.Code != tc.wantStatus {
				t.Fatalf("status = %d, want %d (body %q)", w.Code, tc.wantStatus, w.Body)
			}
			if called != (tc.wantStatus == http.StatusOK) {
				t.Errorf("next called = %v", called)
			}
			if tc.wantBody != "" && w.Body.String() != tc.wantBody {
				t.Errorf("body = %q, want %q", w.Body, tc.wantBody)
			}
			if tc.wantStatus != http.StatusOK && !strings.HasPrefix(w.Header().Get("Content-Type"), "text/plain") {
				t.Errorf("Content-Type = %q", w.Header().Get("Content-Type"))
			}
			if tc.wantStatus == http.StatusMethodNotAllowed && w.Header().Get("Allow") != http.MethodPost {
				t.Errorf("Allow = %q", w.Header().Get("Allow"))
			}
			reasons := rejectedReasons(t, emf.String())
			switch {
			case tc.wantReason == "" && len(reasons) > 0:
				t.Errorf("SignatureRejected%v on success", reasons)
			case tc.wantReason != "" && (len(reasons) != 1 || reasons[0] != tc.wantReason):
				t.Errorf("SignatureRejected reasons = %v, want [%s]", reasons, tc.wantReason)
			}
		})
	}

	out := logs.String()
	if !strings.Contains(out, ReasonBadSignature) || !strings.Contains(out, testAccount) || !strings.Contains(out, testCallSID) {
		t.Errorf("log lacks reason, account or CallSid:\n%s", out)
	}
	if strings.Contains(out, "<script>") {
		t.Error("log contains a malformed AccountSid")
	}
	for _, s := range append(secrets, testToken, testPrev, otherToken, "+14155550123", "client:alice") {
		if strings.Contains(out, s) {
			t.Errorf("log contains a secret or body value %q", s)
		}
	}
}

func TestSignedURL(t *testing.T) {
	tests := []struct {
		name, base, target, host, requestURI, want string
	}{
		{"API Gateway, stage kept", "", "/voice?x=1", testHost, "/prod/voice?x=1", "https://" + testHost + "/prod/voice?x=1"},
		{"RequestURI empty", "", "/voice?x=1", testHost, "", "https://" + testHost + "/voice?x=1"},
		{"public base", "https://voice.example.com/", "/incoming?b=2&a=1", "internal:8080", "/incoming?b=2&a=1", "https://voice.example.com/incoming?b=2&a=1"},
		{"public base, escaped path", "http://localhost:8080", "/a%20b", "x", "/a%20b", "http://localhost:8080/a%20b"},
		{"public base, no query", "https://voice.example.com", "/incoming", "x", "/incoming", "https://voice.example.com/incoming"},
		{"public base with a base path", "https://calls.example.org/calls", "/voice?a=1", "calls.example.org", "/voice?a=1", "https://calls.example.org/calls/voice?a=1"},
		{"custom domain, stage left out by the adapter", "", "/voice", "voice.example.com", "/voice", "https://voice.example.com/voice"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := httptest.NewRequest(http.MethodPost, tc.target, nil)
			r.Host = tc.host
			r.RequestURI = tc.requestURI
			if got := signedURL(tc.base, r); got != tc.want {
				t.Errorf("signedURL with base %q = %q, want %q", tc.base, got, tc.want)
			}
		})
	}
}

// TestSignatureDuringDomainMove: with a custom domain as the public base
// URL, a webhook Twilio signed for the domain passes, and so does one a
// subaccount not yet repointed sends to the execute-api URL, signed for
// that URL; a signature for any other URL is refused.
func TestSignatureDuringDomainMove(t *testing.T) {
	const domain = "https://voice.example.com/calls"
	form := voiceForm(testAccount)
	mw := signed(testStore(), domain, slog.New(slog.DiscardHandler), nil)
	for _, tc := range []struct {
		name, host, signedFor string
		want                  int
	}{
		{"signed for the domain, called there", "voice.example.com", domain + "/voice", http.StatusOK},
		{"signed for execute-api, called there", testHost, "https://" + testHost + "/voice", http.StatusOK},
		{"signed for execute-api, called on the domain", "voice.example.com", "https://" + testHost + "/voice", http.StatusForbidden},
		{"signed for another host", testHost, "https://evil.example.com/voice", http.StatusForbidden},
		{"signed for another path", testHost, "https://" + testHost + "/incoming", http.StatusForbidden},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := httptest.NewRequest(http.MethodPost, "/voice", strings.NewReader(form.Encode()))
			r.Host, r.RequestURI = tc.host, "/voice"
			r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			r.Header.Set(twiliosig.Header, twiliosig.Sign(tc.signedFor, form, testToken))
			rec := httptest.NewRecorder()
			mw(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {})).ServeHTTP(rec, r)
			if rec.Code != tc.want {
				t.Errorf("status %d, want %d", rec.Code, tc.want)
			}
		})
	}
}
