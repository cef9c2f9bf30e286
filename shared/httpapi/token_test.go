package httpapi_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"bubble-twilio-voice/shared/httpapi"
	"bubble-twilio-voice/shared/metrics"
	"bubble-twilio-voice/shared/ratelimit"
	"bubble-twilio-voice/shared/tenant"
	"bubble-twilio-voice/shared/token"
)

const (
	sid     = "AC0123456789abcdef0123456789abcdef"
	unknown = "ACffffffffffffffffffffffffffffffff"
	key1    = "bearer-key-one-0123456789"
	key2    = "bearer-key-two-0123456789"
	secret  = "api-key-secret-for-tests"
)

var testNow = time.Date(2026, 11, 19, 8, 26, 40, 0, time.UTC)

func testTenant(t testing.TB) *tenant.Tenant {
	t.Helper()
	tn, err := tenant.Parse([]byte(`{
		"account_sid": "` + sid + `",
		"auth_token": "auth-token-for-tests",
		"api_key_sid": "SK0123456789abcdef0123456789abcdef",
		"api_key_secret": "` + secret + `",
		"twiml_app_sid": "AP0123456789abcdef0123456789abcdef",
		"caller_id": "+14155550100",
		"token_api_keys": ["` + key1 + `", "` + key2 + `"],
		"token_ttl_seconds": 1800
	}`))
	if err != nil {
		t.Fatal(err)
	}
	return tn
}

// tokenHarness is a handler with recorded side effects.
type tokenHarness struct {
	h       http.Handler
	store   *fakeStore
	logs    *bytes.Buffer
	metrics *bytes.Buffer // EMF lines: one TokenIssued line per token
}

// issued returns the AccountSid of each TokenIssued metric line.
func (hs *tokenHarness) issued() []string {
	var out []string
	for _, line := range strings.Split(strings.TrimSpace(hs.metrics.String()), "\n") {
		var m struct{ AccountSid string }
		if strings.Contains(line, `"TokenIssued"`) && json.Unmarshal([]byte(line), &m) == nil {
			out = append(out, m.AccountSid)
		}
	}
	return out
}

func newTokenHarness(t testing.TB, edit func(*httpapi.Deps)) *tokenHarness {
	t.Helper()
	tn := testTenant(t)
	hs := &tokenHarness{logs: &bytes.Buffer{}, metrics: &bytes.Buffer{}}
	hs.store = &fakeStore{lookup: func(_ context.Context, s string) (*tenant.Tenant, error) {
		if s == tn.AccountSID {
			return tn, nil
		}
		return nil, fmt.Errorf("lookup %s: %w", s, tenant.ErrNotFound)
	}}
	o := httpapi.Deps{
		Store:              hs.store,
		Now:                func() time.Time { return testNow },
		Log:                slog.New(slog.NewJSONHandler(hs.logs, nil)),
		CORSAllowedOrigins: []string{"https://app.example.com"},
		Metrics:            metrics.New(hs.metrics, "token", func() time.Time { return testNow }),
	}
	if edit != nil {
		edit(&o)
	}
	hs.h = httpapi.Token(o)
	return hs
}

func (hs *tokenHarness) do(r *http.Request) *httptest.ResponseRecorder {
	w := httptest.NewRecorder()
	hs.h.ServeHTTP(w, r)
	return w
}

func jsonReq(body string) *http.Request {
	r := httptest.NewRequest(http.MethodPost, "/token", strings.NewReader(body))
	r.Header.Set("Content-Type", "application/json")
	r.Header.Set("Authorization", "Bearer "+key1)
	return r
}

func formReq(vals url.Values) *http.Request {
	r := httptest.NewRequest(http.MethodPost, "/token", strings.NewReader(vals.Encode()))
	r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	r.Header.Set("Authorization", "Bearer "+key1)
	return r
}

func getReq(vals url.Values) *http.Request {
	r := httptest.NewRequest(http.MethodGet, "/token?"+vals.Encode(), nil)
	r.Header.Set("Authorization", "Bearer "+key1)
	return r
}

func withHeader(r *http.Request, k, v string) *http.Request {
	if v == "" {
		r.Header.Del(k)
	} else {
		r.Header.Set(k, v)
	}
	return r
}

func TestTokenOK(t *testing.T) {
	tests := []struct {
		name     string
		req      *http.Request
		identity string
		ttl      int
	}{
		{"json", jsonReq(`{"account_sid":"` + sid + `","identity":"alice"}`), "alice", 1800},
		{"json ttl number", jsonReq(`{"account_sid":"` + sid + `","identity":"alice","ttl_seconds":600}`), "alice", 600},
		{"json ttl string", jsonReq(`{"account_sid":"` + sid + `","identity":"alice","ttl_seconds":"86400"}`), "alice", 86400},
		{"json ttl null", jsonReq(`{"account_sid":"` + sid + `","identity":"alice","ttl_seconds":null}`), "alice", 1800},
		{"json charset and padding", withHeader(jsonReq("\n  {\"account_sid\":\""+sid+"\",\"identity\":\"bob_2\"}\n"), "Content-Type", "application/json; charset=utf-8"), "bob_2", 1800},
		{"json without content type", withHeader(jsonReq(`{"account_sid":"`+sid+`","identity":"alice"}`), "Content-Type", ""), "alice", 1800},
		{"json unknown fields ignored", jsonReq(`{"account_sid":"` + sid + `","identity":"alice","extra":[1]}`), "alice", 1800},
		{"form", formReq(url.Values{"account_sid": {sid}, "identity": {"carol"}, "ttl_seconds": {"60"}}), "carol", 60},
		{"get query", getReq(url.Values{"account_sid": {sid}, "identity": {"dave"}, "ttl_seconds": {" 120 "}}), "dave", 120},
		{"post with empty body reads query", func() *http.Request {
			r := httptest.NewRequest(http.MethodPost, "/token?account_sid="+sid+"&identity=erin", nil)
			r.Header.Set("Authorization", "Bearer "+key1)
			return r
		}(), "erin", 1800},
		{"a body ignores the query string", func() *http.Request {
			r := jsonReq(`{"account_sid":"` + sid + `","identity":"frank"}`)
			r.URL.RawQuery = "identity=mallory&ttl_seconds=60"
			return r
		}(), "frank", 1800},
		// Bubble sends an empty dynamic value as "", in JSON and in forms alike.
		{"json ttl empty string is the default", jsonReq(`{"account_sid":"` + sid + `","identity":"alice","ttl_seconds":""}`), "alice", 1800},
		{"json ttl null is the default", jsonReq(`{"account_sid":"` + sid + `","identity":"alice","ttl_seconds":null}`), "alice", 1800},
		{"form ttl empty is the default", formReq(url.Values{"account_sid": {sid}, "identity": {"alice"}, "ttl_seconds": {""}}), "alice", 1800},
		{"unknown json fields are ignored", jsonReq(`{"account_sid":"` + sid + `","identity":"alice","app":{"v":[1,2]}}`), "alice", 1800},
		{"second key, lower-case scheme", withHeader(jsonReq(`{"account_sid":"`+sid+`","identity":"alice"}`), "Authorization", "bearer  "+key2+" "), "alice", 1800},
		{"identity 121 chars", jsonReq(`{"account_sid":"` + sid + `","identity":"` + strings.Repeat("z", 121) + `"}`), strings.Repeat("z", 121), 1800},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			hs := newTokenHarness(t, nil)
			w := hs.do(tc.req)
			if w.Code != http.StatusOK {
				t.Fatalf("status %d, body %s", w.Code, w.Body)
			}
			if cc := w.Header().Get("Cache-Control"); cc != "no-store" {
				t.Errorf("Cache-Control = %q", cc)
			}
			if ct := w.Header().Get("Content-Type"); ct != "application/json" {
				t.Errorf("Content-Type = %q", ct)
			}
			var resp map[string]any
			if err := json.Unmarshal(w.Body.Bytes(), &resp); err != nil {
				t.Fatal(err)
			}
			exp := testNow.Add(time.Duration(tc.ttl) * time.Second)
			want := map[string]any{
				"identity": tc.identity, "account_sid": sid, "ttl_seconds": float64(tc.ttl),
				"expires_at": exp.Format("2006-01-02T15:04:05Z"), "expires_at_unix": float64(exp.Unix()),
			}
			for k, v := range want {
				if resp[k] != v {
					t.Errorf("%s = %#v, want %#v", k, resp[k], v)
				}
			}
			if len(resp) != 6 {
				t.Errorf("response has %d fields, want 6: %v", len(resp), resp)
			}
			tok, _ := resp["token"].(string)
			c, err := token.Verify(tok, secret, testNow)
			if err != nil {
				t.Fatalf("token does not verify: %v", err)
			}
			if !c.ExpiresAt.Equal(exp) || c.Identity != tc.identity || c.AccountSID != sid {
				t.Errorf("claims = %+v", c)
			}
			if len(hs.issued()) != 1 || hs.issued()[0] != sid {
				t.Errorf("OnIssued calls = %q, want [%s]", hs.issued(), sid)
			}
		})
	}
}

func TestTokenErrors(t *testing.T) {
	okJSON := `{"account_sid":"` + sid + `","identity":"alice"}`
	big := `{"account_sid":"` + sid + `","identity":"alice"}` + strings.Repeat(" ", httpapi.MaxTokenBody)
	tests := []struct {
		name       string
		req        func() *http.Request
		store      func(context.Context, string) (*tenant.Tenant, error) // nil: the default
		limiter    *ratelimit.Limiter
		status     int
		code       string
		header     map[string]string // headers that must be set exactly
		noLookup   bool              // the store must not be asked
		notContain string            // text that must appear nowhere in the response
	}{
		{name: "bad json", req: func() *http.Request { return jsonReq(`{"account_sid":`) }, status: 400, code: "invalid_request", noLookup: true},
		{name: "json array", req: func() *http.Request { return jsonReq(`[1]`) }, status: 400, code: "invalid_request", noLookup: true},
		{name: "json identity number", req: func() *http.Request { return jsonReq(`{"account_sid":"` + sid + `","identity":7}`) }, status: 400, code: "invalid_request", noLookup: true},
		{name: "json trailing data", req: func() *http.Request { return jsonReq(okJSON + `{}`) }, status: 400, code: "invalid_request", noLookup: true},
		{name: "missing account_sid", req: func() *http.Request { return jsonReq(`{"identity":"alice"}`) }, status: 400, code: "invalid_request", noLookup: true},
		{name: "malformed account_sid", req: func() *http.Request { return jsonReq(`{"account_sid":"AC123","identity":"alice"}`) }, status: 400, code: "invalid_request", noLookup: true},
		{name: "missing identity", req: func() *http.Request { return jsonReq(`{"account_sid":"` + sid + `"}`) }, status: 400, code: "invalid_request", noLookup: true},
		{name: "no input at all", req: func() *http.Request { return getReq(nil) }, status: 400, code: "invalid_request", noLookup: true},
		{name: "identity with space", req: func() *http.Request { return jsonReq(`{"account_sid":"` + sid + `","identity":"bob smith"}`) }, status: 400, code: "invalid_identity", noLookup: true},
		{name: "identity with dash", req: func() *http.Request { return formReq(url.Values{"account_sid": {sid}, "identity": {"a-b"}}) }, status: 400, code: "invalid_identity", noLookup: true},
		{name: "identity 122 chars", req: func() *http.Request {
			return getReq(url.Values{"account_sid": {sid}, "identity": {strings.Repeat("a", 122)}})
		}, status: 400, code: "invalid_identity", noLookup: true},
		{name: "identity unicode", req: func() *http.Request { return jsonReq(`{"account_sid":"` + sid + `","identity":"jos\u00e9"}`) }, status: 400, code: "invalid_identity", noLookup: true},
		{name: "ttl 59", req: func() *http.Request {
			return jsonReq(`{"account_sid":"` + sid + `","identity":"alice","ttl_seconds":59}`)
		}, status: 400, code: "invalid_ttl", noLookup: true},
		{name: "ttl 86401", req: func() *http.Request {
			return jsonReq(`{"account_sid":"` + sid + `","identity":"alice","ttl_seconds":86401}`)
		}, status: 400, code: "invalid_ttl", noLookup: true},
		{name: "ttl 0", req: func() *http.Request {
			return getReq(url.Values{"account_sid": {sid}, "identity": {"alice"}, "ttl_seconds": {"0"}})
		}, status: 400, code: "invalid_ttl", noLookup: true},
		{name: "ttl negative", req: func() *http.Request {
			return formReq(url.Values{"account_sid": {sid}, "identity": {"alice"}, "ttl_seconds": {"-600"}})
		}, status: 400, code: "invalid_ttl", noLookup: true},
		{name: "ttl fraction", req: func() *http.Request {
			return jsonReq(`{"account_sid":"` + sid + `","identity":"alice","ttl_seconds":600.5}`)
		}, status: 400, code: "invalid_ttl", noLookup: true},
		{name: "json ttl words", req: func() *http.Request {
			return jsonReq(`{"account_sid":"` + sid + `","identity":"alice","ttl_seconds":"ten"}`)
		}, status: 400, code: "invalid_ttl", noLookup: true},
		{name: "json field missing from the body is not taken from the query", req: func() *http.Request {
			r := jsonReq(`{"identity":"frank"}`)
			r.URL.RawQuery = "account_sid=" + sid
			return r
		}, status: 400, code: "invalid_request", noLookup: true},
		{name: "json sent as a form", req: func() *http.Request {
			r := jsonReq(okJSON)
			r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			return r
		}, status: 400, code: "invalid_request", noLookup: true},
		{name: "json duplicate key", req: func() *http.Request {
			return jsonReq(`{"account_sid":"` + sid + `","identity":"alice","identity":"bob"}`)
		}, status: 400, code: "invalid_request", noLookup: true},
		{name: "json case variant", req: func() *http.Request {
			return jsonReq(`{"account_sid":"` + sid + `","identity":"alice","IDENTITY":"bob"}`)
		}, status: 400, code: "invalid_request", noLookup: true},
		{name: "json upper-case field alone", req: func() *http.Request {
			return jsonReq(`{"ACCOUNT_SID":"` + sid + `","identity":"alice"}`)
		}, status: 400, code: "invalid_request", noLookup: true},
		{name: "json duplicate unknown key", req: func() *http.Request {
			return jsonReq(`{"account_sid":"` + sid + `","identity":"alice","x":1,"x":2}`)
		}, status: 400, code: "invalid_request", noLookup: true},
		{name: "form duplicate key", req: func() *http.Request {
			return formReq(url.Values{"account_sid": {sid}, "identity": {"alice", "bob"}})
		}, status: 400, code: "invalid_request", noLookup: true},
		{name: "query case variant", req: func() *http.Request {
			return getReq(url.Values{"account_sid": {sid}, "identity": {"alice"}, "Identity": {"bob"}})
		}, status: 400, code: "invalid_request", noLookup: true},
		{name: "json ttl bool", req: func() *http.Request {
			return jsonReq(`{"account_sid":"` + sid + `","identity":"alice","ttl_seconds":true}`)
		}, status: 400, code: "invalid_ttl", noLookup: true},
		{name: "json ttl object", req: func() *http.Request {
			return jsonReq(`{"account_sid":"` + sid + `","identity":"alice","ttl_seconds":{"s":60}}`)
		}, status: 400, code: "invalid_ttl", noLookup: true},
		{name: "json ttl exponent", req: func() *http.Request {
			return jsonReq(`{"account_sid":"` + sid + `","identity":"alice","ttl_seconds":6e2}`)
		}, status: 400, code: "invalid_ttl", noLookup: true},
		{name: "ttl words", req: func() *http.Request {
			return getReq(url.Values{"account_sid": {sid}, "identity": {"alice"}, "ttl_seconds": {"ten"}})
		}, status: 400, code: "invalid_ttl", noLookup: true},
		{name: "body over 64 KiB", req: func() *http.Request { return jsonReq(big) }, status: 413, code: "too_large", noLookup: true},
		{name: "body over 64 KiB, unknown length", req: func() *http.Request {
			r := jsonReq(big)
			r.ContentLength = -1
			return r
		}, status: 413, code: "too_large", noLookup: true},
		{name: "unsupported media type", req: func() *http.Request { return withHeader(jsonReq(okJSON), "Content-Type", "text/plain") }, status: 415, code: "unsupported_media_type", noLookup: true},
		{name: "missing key", req: func() *http.Request { return withHeader(jsonReq(okJSON), "Authorization", "") }, status: 401, code: "unauthorized"},
		{name: "wrong key", req: func() *http.Request { return withHeader(jsonReq(okJSON), "Authorization", "Bearer "+key1+"x") }, status: 401, code: "unauthorized"},
		{name: "key prefix", req: func() *http.Request { return withHeader(jsonReq(okJSON), "Authorization", "Bearer "+key1[:10]) }, status: 401, code: "unauthorized"},
		{name: "basic scheme", req: func() *http.Request { return withHeader(jsonReq(okJSON), "Authorization", "Basic "+key1) }, status: 401, code: "unauthorized"},
		{name: "bearer without key", req: func() *http.Request { return withHeader(jsonReq(okJSON), "Authorization", "Bearer ") }, status: 401, code: "unauthorized"},
		{name: "unknown account", req: func() *http.Request { return jsonReq(`{"account_sid":"` + unknown + `","identity":"alice"}`) }, status: 401, code: "unauthorized"},
		{name: "store unavailable", req: func() *http.Request { return jsonReq(okJSON) },
			store: func(context.Context, string) (*tenant.Tenant, error) {
				return nil, fmt.Errorf("GetSecretValue: SECRET-INTERNAL-TEXT: %w", tenant.ErrUnavailable)
			},
			status: 503, code: "unavailable", header: map[string]string{"Retry-After": "5"}, notContain: "SECRET-INTERNAL-TEXT"},
		{name: "store fails otherwise", req: func() *http.Request { return jsonReq(okJSON) },
			store: func(context.Context, string) (*tenant.Tenant, error) {
				return nil, errors.New("SECRET-INTERNAL-TEXT")
			},
			status: 503, code: "unavailable", notContain: "SECRET-INTERNAL-TEXT"},
		{name: "rate limited", req: func() *http.Request { return jsonReq(okJSON) },
			limiter: func() *ratelimit.Limiter {
				l := ratelimit.New(1, time.Minute)
				l.AllowIdentity(sid, "alice", testNow) // spend the only token
				return l
			}(),
			status: 429, code: "rate_limited"},
		{name: "method not allowed", req: func() *http.Request {
			r := jsonReq(okJSON)
			r.Method = http.MethodPut
			return r
		}, status: 405, code: "method_not_allowed", header: map[string]string{"Allow": "GET, POST, OPTIONS"}, noLookup: true},
		{name: "delete not allowed", req: func() *http.Request { return httptest.NewRequest(http.MethodDelete, "/token", nil) },
			status: 405, code: "method_not_allowed", header: map[string]string{"Allow": "GET, POST, OPTIONS"}, noLookup: true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			hs := newTokenHarness(t, func(o *httpapi.Deps) { o.Limiter = tc.limiter })
			if tc.store != nil {
				hs.store.lookup = tc.store
			}
			w := hs.do(tc.req())
			if w.Code != tc.status {
				t.Errorf("status %d, want %d (body %s)", w.Code, tc.status, w.Body)
			}
			var body struct {
				Error struct{ Code, Message string }
				Token string
			}
			if err := json.Unmarshal(w.Body.Bytes(), &body); err != nil {
				t.Fatalf("body %q: %v", w.Body, err)
			}
			if body.Error.Code != tc.code || body.Error.Message == "" {
				t.Errorf("error = %+v, want code %q and a message", body.Error, tc.code)
			}
			if body.Token != "" {
				t.Error("error response carries a token")
			}
			for k, v := range tc.header {
				if got := w.Header().Get(k); got != v {
					t.Errorf("%s = %q, want %q", k, got, v)
				}
			}
			if tc.status == 429 {
				ra, err := strconv.Atoi(w.Header().Get("Retry-After"))
				// One token a minute, just spent: the next one is 60s away.
				if err != nil || ra != 60 {
					t.Errorf("Retry-After = %q, want 60", w.Header().Get("Retry-After"))
				}
			}
			if cc := w.Header().Get("Cache-Control"); cc != "no-store" {
				t.Errorf("Cache-Control = %q", cc)
			}
			if len(hs.issued()) != 0 {
				t.Errorf("OnIssued called %d times for a refused request", len(hs.issued()))
			}
			if tc.noLookup && hs.store.lookups.Load() != 0 {
				t.Errorf("store asked %d times for a request refused before lookup", hs.store.lookups.Load())
			}
			if tc.notContain != "" {
				if strings.Contains(w.Body.String(), tc.notContain) || strings.Contains(fmt.Sprint(w.Header()), tc.notContain) {
					t.Errorf("response echoes internal text: %v %s", w.Header(), w.Body)
				}
				// It is logged, for the operator.
				if !strings.Contains(hs.logs.String(), tc.notContain) {
					t.Errorf("internal cause not logged: %s", hs.logs)
				}
			}
		})
	}
}

// TestTokenUnauthorizedIdentical checks that an unknown account cannot be
// told apart from a wrong or missing key.
func TestTokenUnauthorizedIdentical(t *testing.T) {
	reqs := map[string]*http.Request{
		"unknown account": jsonReq(`{"account_sid":"` + unknown + `","identity":"alice"}`),
		"wrong key":       withHeader(jsonReq(`{"account_sid":"`+sid+`","identity":"alice"}`), "Authorization", "Bearer nope-nope-nope-nope"),
		"missing key":     withHeader(jsonReq(`{"account_sid":"`+sid+`","identity":"alice"}`), "Authorization", ""),
		"unknown, no key": withHeader(jsonReq(`{"account_sid":"`+unknown+`","identity":"alice"}`), "Authorization", ""),
	}
	var first *httptest.ResponseRecorder
	for name, r := range reqs {
		w := newTokenHarness(t, nil).do(r)
		if w.Code != http.StatusUnauthorized {
			t.Errorf("%s: status %d", name, w.Code)
		}
		if first == nil {
			first = w
			continue
		}
		if !bytes.Equal(w.Body.Bytes(), first.Body.Bytes()) || fmt.Sprint(w.Header()) != fmt.Sprint(first.Header()) {
			t.Errorf("%s: response differs:\n%v %s\n%v %s", name, w.Header(), w.Body, first.Header(), first.Body)
		}
	}
}

// TestTokenSuspended checks a suspended tenant: 403 tenant_suspended with
// its key, but the same 401 as an unknown account without it, so the
// answer cannot be used to find out which tenants exist or are suspended.
func TestTokenSuspended(t *testing.T) {
	tn := testTenant(t)
	suspended := *tn
	suspended.Status, suspended.SuspendedAt = tenant.StatusSuspended, "2026-11-19T08:00:00Z"
	hs := newTokenHarness(t, nil)
	hs.store.lookup = func(_ context.Context, s string) (*tenant.Tenant, error) {
		if s == sid {
			return &suspended, nil
		}
		return nil, tenant.ErrNotFound
	}
	w := hs.do(jsonReq(`{"account_sid":"` + sid + `","identity":"alice"}`))
	var body struct {
		Error struct{ Code, Message string }
		Token string
	}
	_ = json.Unmarshal(w.Body.Bytes(), &body)
	if w.Code != http.StatusForbidden || body.Error.Code != "tenant_suspended" || !strings.Contains(body.Error.Message, "suspended") || body.Token != "" {
		t.Errorf("suspended tenant: %d %s", w.Code, w.Body)
	}
	if len(hs.issued()) != 0 {
		t.Error("a token was counted for a suspended tenant")
	}
	wrong := hs.do(withHeader(jsonReq(`{"account_sid":"`+sid+`","identity":"alice"}`), "Authorization", "Bearer nope-nope-nope-nope"))
	unknownAcct := hs.do(withHeader(jsonReq(`{"account_sid":"`+unknown+`","identity":"alice"}`), "Authorization", "Bearer nope-nope-nope-nope"))
	if wrong.Code != http.StatusUnauthorized || !bytes.Equal(wrong.Body.Bytes(), unknownAcct.Body.Bytes()) {
		t.Errorf("wrong key for a suspended tenant: %d %s (unknown account: %d %s)", wrong.Code, wrong.Body, unknownAcct.Code, unknownAcct.Body)
	}
}

func TestTokenBodyAtLimit(t *testing.T) {
	body := `{"account_sid":"` + sid + `","identity":"alice"}`
	body += strings.Repeat(" ", httpapi.MaxTokenBody-len(body))
	w := newTokenHarness(t, nil).do(jsonReq(body))
	if w.Code != http.StatusOK {
		t.Errorf("a body of exactly %d bytes: status %d, body %s", httpapi.MaxTokenBody, w.Code, w.Body)
	}
}

func TestTokenRateLimitPerIdentity(t *testing.T) {
	now := testNow
	hs := newTokenHarness(t, func(o *httpapi.Deps) {
		o.Limiter = ratelimit.New(2, time.Minute)
		o.Now = func() time.Time { return now }
	})
	req := func(identity string) int {
		return hs.do(jsonReq(`{"account_sid":"` + sid + `","identity":"` + identity + `"}`)).Code
	}
	for i, want := range []int{200, 200, 429} {
		if got := req("alice"); got != want {
			t.Errorf("alice request %d: status %d, want %d", i, got, want)
		}
	}
	if got := req("bob"); got != 200 {
		t.Errorf("bob is limited by alice's bucket: status %d", got)
	}
	w := hs.do(jsonReq(`{"account_sid":"` + sid + `","identity":"alice"}`))
	ra, err := strconv.Atoi(w.Header().Get("Retry-After"))
	if w.Code != 429 || err != nil || ra != 30 { // one token back every 30s at 2 per minute
		t.Fatalf("status %d Retry-After %q, want 429 and 30", w.Code, w.Header().Get("Retry-After"))
	}
	now = now.Add(time.Duration(ra)*time.Second - time.Millisecond)
	if got := req("alice"); got != 429 {
		t.Errorf("alice before Retry-After: status %d", got)
	}
	now = now.Add(time.Millisecond)
	if got := req("alice"); got != 200 {
		t.Errorf("alice after Retry-After: status %d", got)
	}
	if len(hs.issued()) != 4 {
		t.Errorf("OnIssued called %d times, want 4", len(hs.issued()))
	}
}

func TestTokenCORS(t *testing.T) {
	const allowed, other = "https://app.example.com", "https://evil.example.com"
	tests := []struct {
		name     string
		origins  []string
		method   string
		origin   string
		status   int
		wantACAO string
	}{
		{"allowed origin", []string{allowed}, http.MethodPost, allowed, 200, allowed},
		{"other origin", []string{allowed}, http.MethodPost, other, 200, ""},
		{"no origin header", []string{allowed}, http.MethodPost, "", 200, ""},
		{"wildcard", []string{"*"}, http.MethodPost, other, 200, other},
		{"no CORS configured", nil, http.MethodPost, allowed, 200, ""},
		{"error keeps CORS so the browser can read it", []string{allowed}, http.MethodPut, allowed, 405, allowed},
		{"preflight", []string{allowed}, http.MethodOptions, allowed, 204, allowed},
		{"preflight other origin", []string{allowed}, http.MethodOptions, other, 204, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			hs := newTokenHarness(t, func(o *httpapi.Deps) { o.CORSAllowedOrigins = tc.origins })
			r := jsonReq(`{"account_sid":"` + sid + `","identity":"alice"}`)
			r.Method = tc.method
			if tc.origin != "" {
				r.Header.Set("Origin", tc.origin)
			}
			if tc.method == http.MethodOptions {
				r.Header.Set("Access-Control-Request-Method", "POST")
			}
			w := hs.do(r)
			if w.Code != tc.status {
				t.Errorf("status %d, want %d", w.Code, tc.status)
			}
			if got := w.Header().Get("Access-Control-Allow-Origin"); got != tc.wantACAO {
				t.Errorf("Access-Control-Allow-Origin = %q, want %q", got, tc.wantACAO)
			}
			if tc.wantACAO != "" && w.Header().Get("Vary") != "Origin" {
				t.Errorf("Vary = %q, want Origin", w.Header().Get("Vary"))
			}
			if tc.method == http.MethodOptions {
				if w.Body.Len() != 0 || len(hs.issued()) != 0 || hs.store.lookups.Load() != 0 {
					t.Errorf("preflight did work: body %q, issued %d, lookups %d", w.Body, len(hs.issued()), hs.store.lookups.Load())
				}
				if m := w.Header().Get("Access-Control-Allow-Methods"); !strings.Contains(m, "POST") {
					t.Errorf("Access-Control-Allow-Methods = %q", m)
				}
				if h := w.Header().Get("Access-Control-Allow-Headers"); !strings.Contains(h, "Authorization") {
					t.Errorf("Access-Control-Allow-Headers = %q", h)
				}
			}
		})
	}
}

// TestTokenConcurrent runs the handler from many goroutines for the race
// detector: the handler shares the tenant, limiter and options.
func TestTokenConcurrent(t *testing.T) {
	var emf bytes.Buffer
	h := httpapi.Token(httpapi.Deps{
		Store:   tenant.NewMemoryStore(testTenant(t)),
		Now:     func() time.Time { return testNow },
		Limiter: ratelimit.New(1000, time.Minute),
		Metrics: metrics.New(&emf, "token", func() time.Time { return testNow }),
	})
	var wg sync.WaitGroup
	for i := range 16 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			w := httptest.NewRecorder()
			h.ServeHTTP(w, jsonReq(fmt.Sprintf(`{"account_sid":"%s","identity":"user_%d"}`, sid, i%4)))
			if w.Code != 200 {
				t.Errorf("status %d: %s", w.Code, w.Body)
			}
		}()
	}
	wg.Wait()
	if n := strings.Count(emf.String(), `"TokenIssued":1`); n != 16 {
		t.Errorf("issued %d tokens, want 16", n)
	}
}

func BenchmarkTokenHandler(b *testing.B) {
	h := httpapi.Token(httpapi.Deps{Store: tenant.NewMemoryStore(testTenant(b)), Now: func() time.Time { return testNow }})
	body := `{"account_sid":"` + sid + `","identity":"alice"}`
	b.ReportAllocs()
	for b.Loop() {
		w := httptest.NewRecorder()
		h.ServeHTTP(w, jsonReq(body))
		if w.Code != 200 {
			b.Fatal(w.Code)
		}
	}
}
