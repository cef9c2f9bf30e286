package httpapi_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"bubble-twilio-voice/shared/httpapi"
	"bubble-twilio-voice/shared/phone"
	"bubble-twilio-voice/shared/tenant"
	"bubble-twilio-voice/test/fake/twilio"
)

// screenWorld is an incoming call on Twilio's voice fake, answered by the
// incoming function's routes: alice's browser rings, then the backup
// phone, screened, then voicemail.
type screenWorld struct {
	tw      *twilio.Server
	account string
	queue   *recordingQueue
	parent  twilio.Call
	// tenant is the record the routes serve, read at each lookup: a test
	// may suspend it while the call rings.
	tenant *tenant.Tenant
}

func newScreenWorld(t *testing.T, screen string) *screenWorld {
	t.Helper()
	tw := twilio.Start(t)
	sub := tw.AddSubaccount("screening")
	tn, err := tenant.Parse([]byte(`{"account_sid":"` + sub.SID + `","auth_token":"` + sub.AuthToken + `",
		"api_key_sid":"SK0e0e0e0e0e0e0e0e0e0e0e0e0e0e0e0e","api_key_secret":"x","twiml_app_sid":"AP0e0e0e0e0e0e0e0e0e0e0e0e0e0e0e0e",
		"caller_id":"+14155550100","token_api_keys":["screening-bearer-key"],
		"incoming":{"numbers":{"+14155550100":{"clients":["alice"],"label":"Sales","then_number":"+14155550197"` + screen + `,
			"no_answer":{"action":"voicemail"}}}},
		"events":{"url":"https://app.example/"}}`))
	if err != nil {
		t.Fatal(err)
	}
	w := &screenWorld{tw: tw, account: sub.SID, queue: &recordingQueue{}, tenant: tn}
	// Signatures are checked against the URL Twilio called: the server's.
	var h http.Handler
	srv := httptest.NewServer(http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) { h.ServeHTTP(rw, r) }))
	t.Cleanup(srv.Close)
	h = httpapi.All(httpapi.Deps{
		Store:   tenant.StoreFunc(func(context.Context, string) (*tenant.Tenant, error) { return w.tenant, nil }),
		Numbers: phone.Library{}, Now: fixedNow, PublicBaseURL: srv.URL,
		Events: httpapi.EventDeps{Queue: w.queue},
	})
	w.parent = tw.Incoming(sub.SID, "+13105550142", "+14155550100", srv.URL+httpapi.PathIncoming)
	return w
}

// legs returns the legs the call dialled, in order.
func (w *screenWorld) legs() []twilio.Call {
	var out []twilio.Call
	for _, c := range w.tw.CallsOf(w.account) {
		if c.ParentCallSID == w.parent.SID {
			out = append(out, c)
		}
	}
	return out
}

// backupPhone lets alice's browser ring out and returns the backup
// phone's leg, ringing.
func (w *screenWorld) backupPhone(t *testing.T) twilio.Call {
	t.Helper()
	legs := w.legs()
	if len(legs) != 1 || legs[0].To != "client:alice" {
		t.Fatalf("legs %+v, want alice's browser ringing", legs)
	}
	w.tw.NoAnswer(w.account, legs[0].SID)
	legs = w.legs()
	if len(legs) != 2 || legs[1].To != "+14155550197" || legs[1].Status != "ringing" {
		t.Fatalf("legs %+v, want the backup phone ringing", legs)
	}
	return legs[1]
}

func (w *screenWorld) call(t *testing.T, sid string) twilio.Call {
	t.Helper()
	c, ok := w.tw.Call(w.account, sid)
	if !ok {
		t.Fatalf("no call %s", sid)
	}
	return c
}

// missed is the call.missed events queued for the call (one event id).
func (w *screenWorld) missed(t *testing.T) int {
	ids := map[string]bool{}
	for _, q := range queuedEvents(t, w.queue) {
		if q.Event.Type == "call.missed" {
			ids[q.Event.ID] = true
		}
	}
	return len(ids)
}

// TestScreenedBackupPhone drives a call through Twilio's voice fake: the
// browser rings out, the backup phone rings and answers, hears the
// whisper (the line and the caller), and then presses 1, another key or
// nothing (its own voicemail answered).
func TestScreenedBackupPhone(t *testing.T) {
	t.Run("pressed 1: bridged, the call is over when it ends", func(t *testing.T) {
		w := newScreenWorld(t, "")
		phoneLeg := w.backupPhone(t)
		w.tw.Answer(w.account, phoneLeg.SID)
		leg := w.call(t, phoneLeg.SID)
		if !strings.Contains(leg.TwiML, `<Gather numDigits="1" action="screen-answer">`) || !strings.Contains(leg.TwiML, "for Sales from 1. 3. 1. 0. 5. 5. 5. 0. 1. 4. 2.") {
			t.Fatalf("whisper %s", leg.TwiML)
		}
		w.tw.Press(w.account, phoneLeg.SID, "1")
		if p := w.call(t, w.parent.SID); p.Status != "in-progress" || !strings.Contains(p.TwiML, "<Number url=") {
			t.Fatalf("parent %+v", p)
		}
		w.tw.Hangup(w.account, phoneLeg.SID) // the conversation ends
		if p := w.call(t, w.parent.SID); !strings.Contains(p.TwiML, "<Hangup/>") || strings.Contains(p.TwiML, "<Record") {
			t.Errorf("after an accepted backup phone: %s", p.TwiML)
		}
		if n := w.missed(t); n != 1 {
			t.Errorf("%d call.missed, want the browser's one", n)
		}
	})
	for _, tc := range []struct {
		name  string
		press func(w *screenWorld, sid string)
	}{
		{"another key", func(w *screenWorld, sid string) { w.tw.Press(w.account, sid, "7") }},
		{"no key (its voicemail answered)", func(w *screenWorld, sid string) { w.tw.Continue(w.account, sid) }},
		{"hung up during the whisper", func(w *screenWorld, sid string) { w.tw.Hangup(w.account, sid) }},
	} {
		t.Run(tc.name+": not answered, the caller reaches voicemail", func(t *testing.T) {
			w := newScreenWorld(t, "")
			phoneLeg := w.backupPhone(t)
			w.tw.Answer(w.account, phoneLeg.SID)
			tc.press(w, phoneLeg.SID)
			if leg := w.call(t, phoneLeg.SID); leg.Status != "completed" {
				t.Errorf("backup phone leg %s", leg.Status)
			}
			p := w.call(t, w.parent.SID)
			if p.Status != "in-progress" || !strings.Contains(p.TwiML, "<Record") {
				t.Fatalf("caller %s on %s, want voicemail", p.Status, p.TwiML)
			}
			if n := w.missed(t); n != 1 {
				t.Errorf("%d call.missed event ids, want 1", n)
			}
		})
	}
	t.Run("screen false: the phone's pick-up takes the call", func(t *testing.T) {
		w := newScreenWorld(t, `,"screen":false`)
		phoneLeg := w.backupPhone(t)
		if p := w.call(t, w.parent.SID); strings.Contains(p.TwiML, "url=") {
			t.Fatalf("unscreened backup dialled with a whisper: %s", p.TwiML)
		}
		w.tw.Answer(w.account, phoneLeg.SID)
		w.tw.Hangup(w.account, phoneLeg.SID)
		if p := w.call(t, w.parent.SID); strings.Contains(p.TwiML, "<Record") {
			t.Errorf("voicemail after an answered unscreened phone: %s", p.TwiML)
		}
	})
}

// TestScreenedLegOfSuspendedTenant: the tenant is suspended while its
// screened backup phone rings. Before, the whisper still asked the callee
// to press 1 and a 1 bridged the call (only /voice, /incoming and the
// no-answer steps checked the status). Now the whisper, and a key pressed
// during it, say SuspendedMessage and hang the leg up unbridged, and the
// caller hears the same message and is hung up: no voicemail, no bridge.
func TestScreenedLegOfSuspendedTenant(t *testing.T) {
	suspend := func(w *screenWorld) {
		s := *w.tenant
		s.Status, s.SuspendedAt = tenant.StatusSuspended, "2026-12-07T12:00:00Z"
		w.tenant = &s
	}
	for _, tc := range []struct {
		name string
		ring func(w *screenWorld, sid string)
	}{
		{"suspended before the phone answers", func(w *screenWorld, sid string) {
			suspend(w)
			w.tw.Answer(w.account, sid)
		}},
		{"suspended during the whisper, then 1", func(w *screenWorld, sid string) {
			w.tw.Answer(w.account, sid)
			suspend(w)
			w.tw.Press(w.account, sid, "1")
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			w := newScreenWorld(t, "")
			phoneLeg := w.backupPhone(t)
			tc.ring(w, phoneLeg.SID)
			leg := w.call(t, phoneLeg.SID)
			if leg.Status != "completed" || !strings.Contains(leg.TwiML, "not available right now") {
				t.Errorf("backup phone leg %s on %s, want the suspended message and hung up", leg.Status, leg.TwiML)
			}
			p := w.call(t, w.parent.SID)
			if !strings.Contains(p.TwiML, "not available right now") || strings.Contains(p.TwiML, "<Record") {
				t.Errorf("caller %s on %s, want the suspended message", p.Status, p.TwiML)
			}
		})
	}
}
