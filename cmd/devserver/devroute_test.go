package main

import (
	"encoding/json"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"bubble-twilio-voice/cmd/internal/eventsamples"
	"bubble-twilio-voice/shared/events"
	"bubble-twilio-voice/shared/httpapi"
	"bubble-twilio-voice/shared/tenant"
	"bubble-twilio-voice/test/kit"
)

const (
	devSID       = "AC0123456789abcdef0123456789abcdef"
	devNoEvents  = "AC0123456789abcdef0123456789abcde0"
	devSuspended = "AC0123456789abcdef0123456789abcde1"
	devBearerKey = "dev-events-bearer-key-0001"
)

// devNow is the clock of the dev route's tests.
var devNow = func() time.Time { return time.Date(2026, 11, 13, 15, 9, 0, 0, time.UTC) }

func devTenant(t testing.TB, sid, events string) *tenant.Tenant {
	t.Helper()
	raw := `{"account_sid":"` + sid + `","auth_token":"dev_auth_token_not_secret_0000000",
		"api_key_sid":"SK0123456789abcdef0123456789abcdef","api_key_secret":"dev_api_key_secret_not_secret_000",
		"twiml_app_sid":"AP0123456789abcdef0123456789abcdef","caller_id":"+14155550100",
		"token_api_keys":["` + devBearerKey + `"],
		"incoming":{"default":{"clients":["front_desk"],"no_answer":{"action":"message","message":"Sorry."}}}` + events + `}`
	tn, err := tenant.Parse([]byte(raw))
	if err != nil {
		t.Fatal(err)
	}
	return tn
}

// TestDevEventsTest: POST /dev/events/test queues samples through the
// queue real callbacks use, only with the tenant's bearer key, and refuses
// every bad input with a specific error and nothing queued.
func TestDevEventsTest(t *testing.T) {
	store := tenant.NewMemoryStore(
		devTenant(t, devSID, `,"events":{"url":"https://myapp.bubbleapps.io/version-test/api/1.1/wf/call-event/initialize",
			"types":["call.completed","call.missed","voicemail.recorded"]}`),
		devTenant(t, devNoEvents, ""),
		devTenant(t, devSuspended, `,"status":"suspended","suspended_at":"2026-12-07T12:00:00Z","events":{"url":"https://myapp.bubbleapps.io/api/1.1/wf/call-event"}`))
	tests := []struct {
		name       string
		method     string
		auth       string
		body       string
		wantStatus int
		wantCode   string
		wantTypes  []string
	}{
		{"every type the tenant takes", "POST", "Bearer " + devBearerKey, `{"account_sid":"` + devSID + `"}`, 202, "",
			[]string{"call.completed", "call.missed", "voicemail.recorded"}},
		{"one type", "POST", "Bearer " + devBearerKey, `{"account_sid":"` + devSID + `","type":"call.missed"}`, 202, "", []string{"call.missed"}},
		{"a type the tenant does not take", "POST", "Bearer " + devBearerKey, `{"account_sid":"` + devSID + `","type":"call.recorded"}`, 400, "type_not_taken", nil},
		{"wrong key", "POST", "Bearer not-the-key", `{"account_sid":"` + devSID + `"}`, 401, "unauthorized", nil},
		{"no key", "POST", "", `{"account_sid":"` + devSID + `"}`, 401, "unauthorized", nil},
		{"another tenant's sid with this key", "POST", "Bearer " + devBearerKey, `{"account_sid":"AC0000000000000000000000000000000f"}`, 401, "unauthorized", nil},
		// A suspended tenant's key gets /token's answer (issue 20): before,
		// its test events were queued as if it were active.
		{"suspended tenant", "POST", "Bearer " + devBearerKey, `{"account_sid":"` + devSuspended + `"}`, 403, "tenant_suspended", nil},
		{"suspended tenant, wrong key", "POST", "Bearer not-the-key", `{"account_sid":"` + devSuspended + `"}`, 401, "unauthorized", nil},
		{"tenant without events", "POST", "Bearer " + devBearerKey, `{"account_sid":"` + devNoEvents + `"}`, 400, "no_events", nil},
		{"unknown type", "POST", "Bearer " + devBearerKey, `{"account_sid":"` + devSID + `","type":"call.answered"}`, 400, "invalid_type", nil},
		{"unknown field", "POST", "Bearer " + devBearerKey, `{"account_sid":"` + devSID + `","typo":"x"}`, 400, "invalid_request", nil},
		{"sid not a string", "POST", "Bearer " + devBearerKey, `{"account_sid":12}`, 400, "invalid_request", nil},
		{"malformed sid", "POST", "Bearer " + devBearerKey, `{"account_sid":"AC123"}`, 400, "invalid_request", nil},
		{"no sid", "POST", "Bearer " + devBearerKey, `{}`, 400, "invalid_request", nil},
		{"not JSON", "POST", "Bearer " + devBearerKey, `account_sid=` + devSID, 400, "invalid_request", nil},
		{"two objects", "POST", "Bearer " + devBearerKey, `{"account_sid":"` + devSID + `"}{}`, 400, "invalid_request", nil},
		{"too large", "POST", "Bearer " + devBearerKey, `{"account_sid":"` + strings.Repeat("x", 5000) + `"}`, 413, "too_large", nil},
		{"GET", "GET", "Bearer " + devBearerKey, ``, 405, "method_not_allowed", nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			q := &kit.Queue{}
			h := httpapi.DevServer(httpapi.Deps{Store: store, Now: devNow, PublicBaseURL: "http://127.0.0.1:3000",
				Events: httpapi.EventDeps{Queue: q}}, eventsamples.For)
			r := httptest.NewRequest(tc.method, httpapi.PathDevEventsTest, strings.NewReader(tc.body))
			r.Header.Set("Content-Type", "application/json")
			if tc.auth != "" {
				r.Header.Set("Authorization", tc.auth)
			}
			w := httptest.NewRecorder()
			h.ServeHTTP(w, r)
			if w.Code != tc.wantStatus {
				t.Fatalf("status %d %s, want %d", w.Code, w.Body, tc.wantStatus)
			}
			queued := q.Messages()
			if tc.wantCode != "" {
				var e struct{ Error struct{ Code string } }
				if json.Unmarshal(w.Body.Bytes(), &e); e.Error.Code != tc.wantCode || len(queued) != 0 {
					t.Errorf("error %s with %d queued, want code %s and nothing queued", w.Body, len(queued), tc.wantCode)
				}
				return
			}
			var answer struct {
				Queued []struct {
					EventID string `json:"event_id"`
					Type    string `json:"type"`
				} `json:"queued"`
			}
			if err := json.Unmarshal(w.Body.Bytes(), &answer); err != nil || len(answer.Queued) != len(tc.wantTypes) || len(queued) != len(tc.wantTypes) {
				t.Fatalf("answer %s, %d queued; want %v", w.Body, len(queued), tc.wantTypes)
			}
			for i, m := range queued {
				got, err := events.DecodeQueued(m.Body)
				if err != nil || got.Event.Type != tc.wantTypes[i] || got.Event.ID != answer.Queued[i].EventID ||
					!strings.HasPrefix(got.Event.ID, events.TestIDPrefix) || got.Event.AccountSID != devSID || got.HasRecording() {
					t.Errorf("queued %d: %+v (%v), want a test %s the delivery sends as is", i, got, err, tc.wantTypes[i])
				}
			}
		})
	}
}
