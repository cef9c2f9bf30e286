package httpapi_test

import (
	"bytes"
	"encoding/json"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"bubble-twilio-voice/shared/httpapi"
	"bubble-twilio-voice/shared/ratelimit"
	"bubble-twilio-voice/shared/tenant"
	"bubble-twilio-voice/shared/token"
)

// The fuzzed handler's one tenant.
const (
	fuzzSID       = "AC0123456789abcdef0123456789abcdef"
	fuzzKeySID    = "SK0123456789abcdef0123456789abcdef"
	fuzzAppSID    = "AP0123456789abcdef0123456789abcdef"
	fuzzBearer    = "fuzz-bearer-key-0123456789"
	fuzzKeySecret = "fuzz-api-key-secret"
)

// fuzzStatuses are the statuses the token endpoint documents.
var fuzzStatuses = map[int]bool{
	http.StatusOK: true, http.StatusNoContent: true, http.StatusBadRequest: true,
	http.StatusUnauthorized: true, http.StatusMethodNotAllowed: true,
	http.StatusRequestEntityTooLarge: true, http.StatusUnsupportedMediaType: true,
	http.StatusTooManyRequests: true, http.StatusServiceUnavailable: true,
}

// FuzzDecode sends arbitrary token requests (method, content type, body,
// query, Authorization) through the real handler with a memory store. It
// must never panic, answer only documented statuses, and answer either the
// JSON error shape or a token for the tenant and identity asked for.
func FuzzDecode(f *testing.F) {
	auth := "Bearer " + fuzzBearer
	seeds := []struct{ method, ctype, body, query, auth string }{
		{"POST", "application/json", `{"account_sid":"` + fuzzSID + `","identity":"alice","ttl_seconds":600}`, "", auth},
		{"POST", "application/json", `{"account_sid":"` + fuzzSID + `","identity":"alice","ttl_seconds":"600"}`, "", auth},
		{"POST", "", `{"account_sid":"` + fuzzSID + `","identity":"bob_2"}`, "", "bearer  " + fuzzBearer + " "},
		{"POST", "application/x-www-form-urlencoded", "account_sid=" + fuzzSID + "&identity=alice&ttl_seconds=60", "", auth},
		{"POST", "application/x-www-form-urlencoded; charset=utf-8", "identity=alice", "account_sid=" + fuzzSID, auth},
		{"GET", "", "", "account_sid=" + fuzzSID + "&identity=alice&ttl_seconds=86400", auth},
		{"GET", "", "", "account_sid=" + fuzzSID + "&identity=al%20ice", auth},
		{"POST", "application/json", `{"account_sid":"` + fuzzSID + `","identity":"alice"}{}`, "", auth},
		{"POST", "application/json", `{"account_sid":1}`, "", auth},
		{"POST", "application/vnd.api+json", `{"ttl_seconds":null,"identity":"x"}`, "account_sid=" + fuzzSID, auth},
		{"POST", "text/plain", "hello", "", auth},
		{"POST", "application/x-www-form-urlencoded", "a=%zz", "", auth},
		{"PUT", "", "", "", ""},
		{"OPTIONS", "", "", "", ""},
		{"GET", "", "", "account_sid=ACffffffffffffffffffffffffffffffff&identity=alice", auth},
		{"GET", "", "", "account_sid=" + fuzzSID + "&identity=alice", "Basic abc"},
		{"POST", "application/json", `{"account_sid":"` + fuzzSID + `","identity":"alice","ttl_seconds":1e3}`, "", auth},
		{"POST", "application/json", `{"account_sid":"` + fuzzSID + `","identity":"alice","IDENTITY":"bob"}`, "", auth},
		{"POST", "application/json", `{"account_sid":"` + fuzzSID + `","identity":"alice","identity":"bob"}`, "identity=carol", auth},
		{"POST", "application/json", `{"account_sid":"` + fuzzSID + `","identity":"alice","ttl_seconds":""}`, "", auth},
		{"POST", "application/x-www-form-urlencoded", "account_sid=" + fuzzSID + "&identity=alice&ttl_seconds=", "", auth},
	}
	for _, s := range seeds {
		f.Add(s.method, s.ctype, []byte(s.body), s.query, s.auth)
	}
	tn, err := tenant.Parse([]byte(`{
		"account_sid": "` + fuzzSID + `", "auth_token": "fuzz-auth-token",
		"api_key_sid": "` + fuzzKeySID + `", "api_key_secret": "` + fuzzKeySecret + `",
		"twiml_app_sid": "` + fuzzAppSID + `", "caller_id": "+14155550100",
		"token_api_keys": ["` + fuzzBearer + `"]}`))
	if err != nil {
		f.Fatal(err)
	}
	now := time.Date(2026, 11, 19, 8, 26, 40, 0, time.UTC)
	h := httpapi.Token(httpapi.Deps{
		Store:              tenant.NewMemoryStore(tn),
		Now:                func() time.Time { return now },
		Log:                slog.New(slog.DiscardHandler),
		CORSAllowedOrigins: []string{"https://app.example.com"},
		Limiter:            ratelimit.New(1000, time.Minute),
	})

	f.Fuzz(func(t *testing.T, method, ctype string, body []byte, query, authz string) {
		r, err := http.NewRequest(method, "http://api.example.com/token", bytes.NewReader(body))
		if err != nil {
			return // not a method net/http would ever hand a handler
		}
		r.URL.RawQuery = query
		if ctype != "" {
			r.Header.Set("Content-Type", ctype)
		}
		if authz != "" {
			r.Header.Set("Authorization", authz)
		}
		w := httptest.NewRecorder()
		h.ServeHTTP(w, r)

		if !fuzzStatuses[w.Code] {
			t.Fatalf("status %d is not a documented one; body %q", w.Code, w.Body)
		}
		if w.Code == http.StatusNoContent {
			if w.Body.Len() != 0 {
				t.Fatalf("204 with a body %q", w.Body)
			}
			return
		}
		if ct := w.Header().Get("Content-Type"); ct != "application/json" {
			t.Fatalf("Content-Type %q", ct)
		}
		dec := json.NewDecoder(w.Body)
		dec.DisallowUnknownFields()
		if w.Code != http.StatusOK {
			var e struct {
				Error struct {
					Code    string `json:"code"`
					Message string `json:"message"`
				} `json:"error"`
			}
			if err := dec.Decode(&e); err != nil || e.Error.Code == "" || e.Error.Message == "" {
				t.Fatalf("status %d body is not the error shape (%v): %q", w.Code, err, w.Body)
			}
			if (w.Code == http.StatusTooManyRequests || w.Code == http.StatusServiceUnavailable) && w.Header().Get("Retry-After") == "" {
				t.Fatalf("%d without Retry-After", w.Code)
			}
			return
		}
		var resp httpapi.TokenResponse
		if err := dec.Decode(&resp); err != nil {
			t.Fatalf("200 body is not a token response (%v): %q", err, w.Body)
		}
		if resp.AccountSID != fuzzSID || !tenant.ValidIdentity(resp.Identity) ||
			resp.TTLSeconds < tenant.MinTokenTTLSeconds || resp.TTLSeconds > tenant.MaxTokenTTLSeconds {
			t.Fatalf("token response out of bounds: %+v", resp)
		}
		if resp.ExpiresAtUnix != now.Unix()+int64(resp.TTLSeconds) {
			t.Fatalf("expires_at_unix %d, want now + %d", resp.ExpiresAtUnix, resp.TTLSeconds)
		}
		claims, err := token.Verify(resp.Token, fuzzKeySecret, now)
		if err != nil {
			t.Fatalf("token does not verify: %v", err)
		}
		if claims.AccountSID != fuzzSID || claims.APIKeySID != fuzzKeySID || claims.Identity != resp.Identity ||
			claims.ApplicationSID != fuzzAppSID || claims.ExpiresAt.Unix() != resp.ExpiresAtUnix {
			t.Fatalf("claims %+v do not match the response %+v", claims, resp)
		}
	})
}
