package main

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"bubble-twilio-voice/cmd/internal/eventsamples"
	"bubble-twilio-voice/shared/events"
	"bubble-twilio-voice/shared/httpapi"
	"bubble-twilio-voice/shared/tenant"
	"bubble-twilio-voice/test/kit"
)

// FuzzDevEventsTest sends arbitrary bodies and Authorization headers to
// POST /dev/events/test. It must never panic, answer only 202, 400, 401 or
// 413, queue nothing unless it answers 202, and then queue only test events
// of the tenant asked for, of the type asked for (or one of each), exactly
// as the answer lists them.
func FuzzDevEventsTest(f *testing.F) {
	auth := "Bearer " + devBearerKey
	for _, s := range []struct{ body, auth string }{
		{`{"account_sid":"` + devSID + `"}`, auth},
		{`{"account_sid":"` + devSID + `","type":"voicemail.recorded"}`, auth},
		{`{"account_sid":"` + devSID + `","type":"call.recorded"}`, auth},
		{`{"account_sid":" ` + devSID + ` ","type":" call.missed"}`, auth},
		{`{"account_sid":"` + devSID + `","account_sid":"` + devNoEvents + `"}`, auth},
		{`{"account_sid":"` + devNoEvents + `"}`, auth},
		{`{"ACCOUNT_SID":"` + devSID + `"}`, auth},
		{`{"account_sid":"` + devSID + `","type":null}`, auth},
		{`{"account_sid":"` + devSID + `"}`, "Bearer wrong"},
		{`[]`, auth}, {`null`, auth}, {``, auth}, {`{"account_sid":"` + devSID + `"} x`, auth},
	} {
		f.Add(s.body, s.auth)
	}
	store := tenant.NewMemoryStore(
		devTenant(f, devSID, `,"events":{"url":"https://a.example/x","types":["call.completed","call.missed","voicemail.recorded"]}`),
		devTenant(f, devNoEvents, ""))
	f.Fuzz(func(t *testing.T, body, auth string) {
		q := &kit.Queue{}
		h := httpapi.DevServer(httpapi.Deps{Store: store, Now: devNow, Events: httpapi.EventDeps{Queue: q}}, eventsamples.For)
		r := httptest.NewRequest(http.MethodPost, httpapi.PathDevEventsTest, strings.NewReader(body))
		r.Header.Set("Authorization", auth)
		w := httptest.NewRecorder()
		h.ServeHTTP(w, r)
		queued := q.Messages()
		switch w.Code {
		case http.StatusAccepted:
		case http.StatusBadRequest, http.StatusUnauthorized, http.StatusRequestEntityTooLarge:
			var e struct {
				Error struct{ Code, Message string }
			}
			if json.Unmarshal(w.Body.Bytes(), &e) != nil || e.Error.Code == "" || e.Error.Message == "" || len(queued) != 0 {
				t.Fatalf("status %d with body %q and %d queued", w.Code, w.Body, len(queued))
			}
			return
		default:
			t.Fatalf("undocumented status %d: %s", w.Code, w.Body)
		}
		if scheme, key, _ := strings.Cut(strings.TrimSpace(auth), " "); !strings.EqualFold(scheme, "bearer") || strings.TrimSpace(key) != devBearerKey {
			t.Fatalf("202 for Authorization %q", auth)
		}
		var asked struct {
			AccountSID string `json:"account_sid"`
			Type       string `json:"type"`
		}
		_ = json.Unmarshal([]byte(body), &asked)
		var answer struct {
			Queued []struct {
				EventID string `json:"event_id"`
				Type    string `json:"type"`
			} `json:"queued"`
		}
		if err := json.Unmarshal(w.Body.Bytes(), &answer); err != nil || len(answer.Queued) != len(queued) || len(queued) == 0 {
			t.Fatalf("answer %s for %d queued", w.Body, len(queued))
		}
		for i, m := range queued {
			got, err := events.DecodeQueued(m.Body)
			if err != nil || got.Event.AccountSID != devSID || !strings.HasPrefix(got.Event.ID, events.TestIDPrefix) ||
				got.Event.ID != answer.Queued[i].EventID || got.Event.Type != answer.Queued[i].Type ||
				(strings.TrimSpace(asked.Type) != "" && got.Event.Type != strings.TrimSpace(asked.Type)) || got.Event.Type == tenant.EventCallRecorded {
				t.Fatalf("queued %+v (%v) for body %q", got, err, body)
			}
		}
	})
}
