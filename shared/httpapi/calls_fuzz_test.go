package httpapi_test

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"testing"
	"time"

	"bubble-twilio-voice/shared/httpapi"
	"bubble-twilio-voice/shared/phone"
	"bubble-twilio-voice/shared/tenant"
	"bubble-twilio-voice/shared/token"
	"bubble-twilio-voice/shared/twiliorest"
)

// callsFuzzStatuses are the statuses the call-control routes document.
var callsFuzzStatuses = map[int]bool{
	http.StatusOK: true, http.StatusBadRequest: true, http.StatusUnauthorized: true, http.StatusForbidden: true,
	http.StatusNotFound: true, http.StatusMethodNotAllowed: true, http.StatusConflict: true,
	http.StatusRequestEntityTooLarge: true, http.StatusUnsupportedMediaType: true,
	http.StatusBadGateway: true, http.StatusServiceUnavailable: true,
}

var callSIDShape = regexp.MustCompile(`^CA[0-9a-fA-F]{32}$`)

// FuzzCallsRequest sends arbitrary bodies and Authorization headers to
// /calls/transfer, whose Twilio answers every call SID with 404. The
// handler must never panic, answer only documented statuses in the JSON
// error shape, and pass the authentication only with the one valid access
// token or the tenant's key with account_sid and identity (then 404
// call_not_found, the furthest a request gets here).
func FuzzCallsRequest(f *testing.F) {
	ten, err := tenant.Parse([]byte(`{"account_sid": "` + fuzzSID + `", "auth_token": "t", "api_key_sid": "` + fuzzKeySID + `",
		"api_key_secret": "` + fuzzKeySecret + `", "twiml_app_sid": "` + fuzzAppSID + `", "caller_id": "+14155550100",
		"token_api_keys": ["` + fuzzBearer + `"]}`))
	if err != nil {
		f.Fatal(err)
	}
	now := time.Date(2026, 11, 13, 15, 9, 0, 0, time.UTC)
	tok, err := token.Issue(now, ten, "alice", time.Hour)
	if err != nil {
		f.Fatal(err)
	}
	twilioAPI := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusNotFound)
		_, _ = w.Write([]byte(`{"code":20404,"message":"not found","status":404}`))
	}))
	f.Cleanup(twilioAPI.Close)
	client, _ := twiliorest.New(twilioAPI.URL, nil, nil)
	h := httpapi.All(httpapi.Deps{
		Store: tenant.NewMemoryStore(ten), Numbers: phone.Library{}, Now: func() time.Time { return now },
		PublicBaseURL: "https://voice.example.test", Calls: httpapi.CallsDeps{Twilio: client},
	})
	sid := "CA0123456789abcdef0123456789abcdef"
	for _, s := range []struct{ auth, body string }{
		{"Bearer " + tok.JWT, `{"call_sid":"` + sid + `","to":"client:bob"}`},
		{"Bearer " + tok.JWT, `{"call_sid":"` + sid + `","to":"+14155550199","mode":"warm"}`},
		{"Bearer " + fuzzBearer, `{"call_sid":"` + sid + `","to":"bob","account_sid":"` + fuzzSID + `","identity":"alice"}`},
		{"Bearer " + fuzzBearer, `{"call_sid":"` + sid + `","to":"bob"}`},
		{"bearer " + tok.JWT, `{"call_sid":"` + sid + `","to":"bob","CALL_SID":"x"}`},
		{"Bearer " + tok.JWT, `{"call_sid":"` + sid + `","to":"bob"}{}`},
		{"Bearer " + tok.JWT + "x", `{"call_sid":"` + sid + `","to":"bob"}`},
		{"Bearer eyJhbGciOiJub25lIn0.eyJzdWIiOiJBQzAxMjMifQ.", `{"call_sid":"` + sid + `","to":"bob"}`},
		{"", `{"call_sid":1}`},
		{"Bearer x", `[]`},
		{"Bearer x", `{"call_sid":"` + sid + `","to":null,"mode":"hot"}`},
	} {
		f.Add(s.auth, s.body)
	}
	f.Fuzz(func(t *testing.T, auth, body string) {
		r := httptest.NewRequest(http.MethodPost, httpapi.PathCallsTransfer, strings.NewReader(body))
		r.Header.Set("Content-Type", "application/json")
		r.Header.Set("Authorization", auth)
		w := httptest.NewRecorder()
		h.ServeHTTP(w, r)
		if !callsFuzzStatuses[w.Code] {
			t.Fatalf("status %d for %q %q", w.Code, auth, body)
		}
		var e struct {
			Error struct{ Code, Message, Reason string } `json:"error"`
		}
		if err := json.Unmarshal(w.Body.Bytes(), &e); err != nil || e.Error.Code == "" || e.Error.Message == "" {
			t.Fatalf("status %d, body %q: not the JSON error shape", w.Code, w.Body.String())
		}
		if strings.Contains(w.Body.String(), fuzzKeySecret) {
			t.Fatalf("answer carries the API key secret")
		}
		if w.Code != http.StatusNotFound && w.Code != http.StatusForbidden && w.Code != http.StatusBadRequest {
			return
		}
		if w.Code == http.StatusBadRequest && e.Error.Code != "invalid_to" {
			return // a body refused before anyone was authenticated
		}
		// Past authentication: the credentials must be one of the two
		// that authenticate, as this oracle reads them.
		var fields map[string]any
		_ = json.Unmarshal([]byte(body), &fields)
		cred := strings.TrimSpace(auth)
		if len(cred) < 7 || !strings.EqualFold(cred[:7], "bearer ") {
			t.Fatalf("status %d (%s) without a bearer credential: %q", w.Code, e.Error.Code, auth)
		}
		cred = strings.TrimSpace(cred[7:])
		byKey := cred == fuzzBearer && fields["account_sid"] == fuzzSID
		if cred != tok.JWT && !byKey {
			t.Fatalf("status %d (%s) for credentials that do not authenticate: %q %q", w.Code, e.Error.Code, auth, body)
		}
		if s, _ := fields["call_sid"].(string); !callSIDShape.MatchString(strings.TrimSpace(s)) {
			t.Fatalf("status %d for call_sid %q", w.Code, s)
		}
	})
}

// FuzzCallsAccessToken checks the access-token authentication alone:
// arbitrary bearer strings, and tokens signed with the right secret but
// arbitrary claims, are refused unless they are a Voice access token of
// this tenant's API key for a valid identity.
func FuzzCallsAccessToken(f *testing.F) {
	ten, _ := tenant.Parse([]byte(`{"account_sid": "` + fuzzSID + `", "auth_token": "t", "api_key_sid": "` + fuzzKeySID + `",
		"api_key_secret": "` + fuzzKeySecret + `", "twiml_app_sid": "` + fuzzAppSID + `", "caller_id": "+14155550100",
		"token_api_keys": ["` + fuzzBearer + `"]}`))
	now := time.Date(2026, 11, 13, 15, 9, 0, 0, time.UTC)
	h := httpapi.All(httpapi.Deps{Store: tenant.NewMemoryStore(ten), Now: func() time.Time { return now }})
	f.Add("alice", int64(0), int64(3600), "")
	f.Add("al ice", int64(0), int64(3600), "")
	f.Add("alice", int64(-7200), int64(3600), "")
	f.Add("alice", int64(0), int64(3600), "x")
	f.Fuzz(func(t *testing.T, identity string, issuedOffset, ttl int64, tamper string) {
		if ttl < 1 || ttl > 1e6 || issuedOffset < -1e7 || issuedOffset > 1e7 {
			return
		}
		tok, err := token.Issue(now.Add(time.Duration(issuedOffset)*time.Second), ten, identity, time.Duration(ttl)*time.Second)
		if err != nil {
			return
		}
		r := httptest.NewRequest(http.MethodPost, httpapi.PathCallsHold, strings.NewReader(`{"call_sid":"CA0123456789abcdef0123456789abcdef"}`))
		r.Header.Set("Authorization", "Bearer "+tok.JWT+tamper)
		w := httptest.NewRecorder()
		h.ServeHTTP(w, r)
		issued := now.Add(time.Duration(issuedOffset) * time.Second)
		valid := strings.TrimSpace(tamper) == "" && tenant.ValidIdentity(identity) && !issued.After(now) && issued.Add(time.Duration(ttl)*time.Second).After(now)
		// White space around the credential is not part of it (bearer
		// trims it). Past authentication, this handler has no Twilio
		// client: 503.
		if passed := w.Code == http.StatusServiceUnavailable; passed != valid {
			t.Fatalf("identity %q issued %v ttl %d tamper %q: status %d, want authenticated = %v (%s)",
				identity, issued, ttl, tamper, w.Code, valid, w.Body.String())
		}
	})
}
