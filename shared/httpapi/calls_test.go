package httpapi_test

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"bubble-twilio-voice/shared/httpapi"
	"bubble-twilio-voice/shared/logging"
	"bubble-twilio-voice/shared/phone"
	"bubble-twilio-voice/shared/tenant"
	"bubble-twilio-voice/shared/token"
	"bubble-twilio-voice/shared/twiliorest"
	"bubble-twilio-voice/shared/twiliosig"
	"bubble-twilio-voice/test/fake/twilio"
	"bubble-twilio-voice/test/kit"
)

// callsWorld serves every route (as the dev server does) over a real
// listener, so the Twilio fake's webhooks (a <Dial> action, the hub's
// status callback) reach the real handlers, signed.
type callsWorld struct {
	tw     *twilio.Server
	sub    twilio.Account
	ten    *tenant.Tenant
	srv    *httptest.Server
	logs   kit.LogBuffer
	queued *recordingQueue // the call events queued
}

const callsBearer = "calls-bearer-key-0123456789"

func newCallsWorld(tb testing.TB) *callsWorld {
	return newCallsWorldPaced(tb, twiliorest.NewPacer(twiliorest.DefaultCallsPerSecond, time.Now))
}

// newCallsWorldPaced builds the world with pacer (nil: none, for the
// benchmarks, where the fake's clock moves a second per request instead).
func newCallsWorldPaced(tb testing.TB, pacer *twiliorest.Pacer) *callsWorld {
	tb.Helper()
	w := &callsWorld{tw: twilio.Start(tb)}
	w.sub = w.tw.AddSubaccount("Acme")
	key := w.tw.AddKey(w.sub.SID, "voice", false)
	var err error
	w.ten, err = tenant.Parse([]byte(fmt.Sprintf(`{
		"account_sid": %q, "auth_token": %q, "api_key_sid": %q, "api_key_secret": %q,
		"twiml_app_sid": "AP00000000000000000000000000000000", "caller_id": "+14155550100",
		"token_api_keys": [%q], "hold_music_url": "https://example.com/hold.mp3",
		"events": {"url": "https://app.example.com/events"},
		"incoming": {"numbers": {"+14155550100": {"clients": ["alice", "bob"], "no_answer": {"action": "voicemail"}},
			"+14155550122": {"clients": ["bob", "carol"], "label": "Support", "no_answer": {"action": "voicemail"}}}}}`,
		w.sub.SID, w.sub.AuthToken, key.SID, key.Secret, callsBearer)))
	if err != nil {
		tb.Fatal(err)
	}
	client, err := twiliorest.New(w.tw.URL(), nil, pacer)
	if err != nil {
		tb.Fatal(err)
	}
	w.queued = &recordingQueue{}
	var handler http.Handler
	w.srv = httptest.NewServer(http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) { handler.ServeHTTP(rw, r) }))
	tb.Cleanup(w.srv.Close)
	handler = httpapi.All(httpapi.Deps{
		Store:         tenant.NewMemoryStore(w.ten),
		Numbers:       phone.Library{},
		PublicBaseURL: w.srv.URL,
		Log:           logging.New(&w.logs, "debug"),
		Now:           time.Now,
		Calls:         httpapi.CallsDeps{Twilio: client},
		Events:        httpapi.EventDeps{Queue: w.queued},
	})
	return w
}

// incoming seeds a call to the tenant's number that alice answered, its
// <Dial action> the real /incoming/dial-complete.
func (w *callsWorld) incoming() (caller, browser twilio.Call) {
	return w.tw.Bridge(w.sub.SID, "+14155559999", "+14155550100", "client:alice", w.srv.URL+httpapi.PathDialComplete, "")
}

func (w *callsWorld) accessToken(tb testing.TB, identity string) string {
	tb.Helper()
	tok, err := token.Issue(time.Now(), w.ten, identity, time.Hour)
	if err != nil {
		tb.Fatal(err)
	}
	return tok.JWT
}

func (w *callsWorld) post(tb testing.TB, path, auth, body string) (int, map[string]any) {
	tb.Helper()
	req, _ := http.NewRequest(http.MethodPost, w.srv.URL+path, strings.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	if auth != "" {
		req.Header.Set("Authorization", "Bearer "+auth)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		tb.Fatal(err)
	}
	defer resp.Body.Close()
	data, _ := io.ReadAll(resp.Body)
	var m map[string]any
	_ = json.Unmarshal(data, &m)
	return resp.StatusCode, m
}

func errCode(m map[string]any) string {
	e, _ := m["error"].(map[string]any)
	s, _ := e["code"].(string)
	return s
}

func TestCallsHoldResumeTransferEndToEnd(t *testing.T) {
	w := newCallsWorld(t)
	caller, browser := w.incoming()
	tok := w.accessToken(t, "alice")
	body := fmt.Sprintf(`{"call_sid":%q}`, browser.SID)

	st, m := w.post(t, httpapi.PathCallsHold, tok, body)
	if st != 200 || m["state"] != "held" || m["call_sid"] != browser.SID {
		t.Fatalf("hold = %d %v", st, m)
	}
	c, _ := w.tw.Call(w.sub.SID, caller.SID)
	conf := w.tw.Conferences(w.sub.SID)
	if c.Conference != "hub-"+caller.SID || len(conf) != 1 || !conf[0].Participants[1].Hold ||
		conf[0].Participants[1].HoldURL != "https://example.com/hold.mp3" ||
		conf[0].StatusCallback != w.srv.URL+httpapi.PathConferenceEvents {
		t.Fatalf("after hold: caller %+v, conferences %+v", c, conf)
	}

	st, m = w.post(t, httpapi.PathCallsResume, tok, body)
	if st != 200 || m["state"] != "active" {
		t.Fatalf("resume = %d %v", st, m)
	}

	st, m = w.post(t, httpapi.PathCallsTransfer, tok, fmt.Sprintf(`{"call_sid":%q,"to":"911"}`, browser.SID))
	if e, _ := m["error"].(map[string]any); st != 403 || errCode(m) != "not_allowed" || e["reason"] != "emergency_number" {
		t.Fatalf("transfer to 911 = %d %v", st, m)
	}
	st, m = w.post(t, httpapi.PathCallsTransfer, tok, fmt.Sprintf(`{"call_sid":%q,"to":"client:bob","mode":"cold"}`, browser.SID))
	if st != 200 || m["state"] != "transferred" || m["transferred_to"] != "client:bob" {
		t.Fatalf("transfer = %d %v", st, m)
	}
	c, _ = w.tw.Call(w.sub.SID, caller.SID)
	if !strings.Contains(c.TwiML, "<Client>bob</Client>") || !strings.Contains(c.StatusCallback, httpapi.PathCallStatus+"?transferred_to=client%3Abob") {
		t.Errorf("caller after transfer: %+v", c)
	}
	if strings.Contains(w.logs.String(), tok) || strings.Contains(w.logs.String(), w.ten.APIKeySecret) {
		t.Error("logs carry the access token or the API key secret")
	}
}

// An add to a route rings each of its browsers (paced, one a second);
// the first to answer stays: the real conference-status handler cancels
// the others.
func TestCallsAddRouteEndToEnd(t *testing.T) {
	w := newCallsWorld(t)
	caller, browser := w.incoming()
	tok := w.accessToken(t, "alice")
	st, m := w.post(t, httpapi.PathCallsAdd, tok, fmt.Sprintf(`{"call_sid":%q,"to":"support"}`, browser.SID))
	if ringing, _ := m["ringing"].([]any); st != 200 || m["state"] != "active" || len(ringing) != 2 || ringing[0] != "client:bob" || ringing[1] != "client:carol" {
		t.Fatalf("add = %d %v; want bob and carol ringing", st, m)
	}
	hub := w.tw.Conferences(w.sub.SID)[0]
	var bob, carol twilio.Participant
	for _, p := range hub.Participants {
		switch p.Label {
		case "add-14155550122--bob":
			bob = p
		case "add-14155550122--carol":
			carol = p
		}
	}
	w.tw.Answer(w.sub.SID, bob.CallSID)
	if c, _ := w.tw.Call(w.sub.SID, carol.CallSID); c.Status != "canceled" {
		t.Errorf("carol's call %s after bob answered; want canceled", c.Status)
	}
	if c, _ := w.tw.Call(w.sub.SID, caller.SID); c.Status != "in-progress" {
		t.Errorf("caller %s", c.Status)
	}
}

func TestCallsAuth(t *testing.T) {
	w := newCallsWorld(t)
	_, browser := w.incoming()
	body := fmt.Sprintf(`{"call_sid":%q}`, browser.SID)
	other := *w.ten
	other.APIKeySecret = "not-the-secret"
	forged, _ := token.Issue(time.Now(), &other, "alice", time.Hour)
	expired, _ := token.Issue(time.Now().Add(-2*time.Hour), w.ten, "alice", time.Hour)
	cases := []struct {
		name, auth, body string
		status           int
		code             string
	}{
		{"no auth", "", body, 401, "unauthorized"},
		{"forged token", forged.JWT, body, 401, "unauthorized"},
		{"expired token", expired.JWT, body, 401, "unauthorized"},
		{"garbage", "abc.def.ghi", body, 401, "unauthorized"},
		{"bearer key without account_sid", callsBearer, body, 401, "unauthorized"},
		{"another identity", w.accessToken(t, "bob"), body, 404, "call_not_found"},
		{"bearer key, wrong identity", callsBearer, fmt.Sprintf(`{"call_sid":%q,"account_sid":%q,"identity":"bob"}`, browser.SID, w.sub.SID), 404, "call_not_found"},
		{"bearer key, wrong key", "wrong-key-0123456789", fmt.Sprintf(`{"call_sid":%q,"account_sid":%q,"identity":"alice"}`, browser.SID, w.sub.SID), 401, "unauthorized"},
		{"bearer key", callsBearer, fmt.Sprintf(`{"call_sid":%q,"account_sid":%q,"identity":"alice"}`, browser.SID, w.sub.SID), 200, ""},
		{"identity with a token", w.accessToken(t, "alice"), fmt.Sprintf(`{"call_sid":%q,"identity":"alice"}`, browser.SID), 400, "invalid_request"},
		{"bad sid", w.accessToken(t, "alice"), `{"call_sid":"CA123"}`, 400, "invalid_request"},
		{"not json", w.accessToken(t, "alice"), `call_sid=CA1`, 400, "invalid_request"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			w.tw.ResetCalls()
			st, m := w.post(t, httpapi.PathCallsHold, tc.auth, tc.body)
			if st != tc.status || errCode(m) != tc.code {
				t.Fatalf("= %d %v; want %d %s", st, m, tc.status, tc.code)
			}
			if tc.status != 200 && w.tw.Writes() != 0 {
				t.Errorf("a refused request wrote %d times to Twilio", w.tw.Writes())
			}
		})
	}
}

// The hub's status callback reaches the real handlers signed, and keeps a
// held caller whose browser left from waiting forever: parked on the hold
// music, then resumable with the old call_sid, the browser called back in.
func TestCallsParkAndResumeEndToEnd(t *testing.T) {
	w := newCallsWorld(t)
	caller, browser := w.incoming()
	tok := w.accessToken(t, "alice")
	body := fmt.Sprintf(`{"call_sid":%q}`, browser.SID)
	if st, m := w.post(t, httpapi.PathCallsHold, tok, body); st != 200 {
		t.Fatalf("hold = %d %v", st, m)
	}
	w.tw.Hangup(w.sub.SID, browser.SID) // the page reloads
	c, _ := w.tw.Call(w.sub.SID, caller.SID)
	if !c.Paused || !strings.Contains(c.TwiML, `<Play loop="2">https://example.com/hold.mp3</Play>`) {
		t.Fatalf("caller %+v; want it parked on the tenant's music", c)
	}
	st, m := w.post(t, httpapi.PathCallsResume, tok, body)
	conf := w.tw.Conferences(w.sub.SID)
	last := conf[len(conf)-1]
	if st != 200 || m["state"] != "active" || last.Status == "completed" || len(last.Participants) != 2 ||
		last.Participants[1].Label != "client-alice" || last.Participants[1].Status != "ringing" {
		t.Fatalf("resume = %d %v; hub %+v", st, m, last)
	}
}

// A transferred call's call.completed carries transferred_to: the transfer
// set its status callback URL, which Twilio signs and posts.
func TestCallsTransferredToReachesTheEvent(t *testing.T) {
	w := newCallsWorld(t)
	caller, browser := w.incoming()
	if st, m := w.post(t, httpapi.PathCallsTransfer, w.accessToken(t, "alice"), fmt.Sprintf(`{"call_sid":%q,"to":"(415) 555-0199"}`, browser.SID)); st != 200 {
		t.Fatalf("transfer = %d %v", st, m)
	}
	c, _ := w.tw.Call(w.sub.SID, caller.SID)
	form := url.Values{"AccountSid": {w.sub.SID}, "CallSid": {caller.SID}, "From": {caller.From}, "To": {caller.To},
		"CallStatus": {"completed"}, "CallDuration": {"61"}}
	req, _ := http.NewRequest(http.MethodPost, c.StatusCallback, strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set(twiliosig.Header, twiliosig.Sign(c.StatusCallback, form, w.sub.AuthToken))
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	q := queuedEvents(t, w.queued)
	if resp.StatusCode != 204 || len(q) != 1 || q[0].Event.Type != "call.completed" || q[0].Event.TransferredTo != "+14155550199" {
		t.Fatalf("status callback %d; queued %+v", resp.StatusCode, q)
	}
}

// TestCallsOfSuspendedTenant: a suspended tenant's browser keeps its
// Voice access token up to 24 hours, so every call-control route checks
// the status itself: 403 tenant_suspended (the code /token answers) with
// the token or with the tenant's bearer key, and not one REST call to
// Twilio; a wrong key is still the usual 401, so suspension cannot be
// probed. The conference-status callback's side is callcontrol's
// TestConferenceEventsOfSuspendedTenant.
func TestCallsOfSuspendedTenant(t *testing.T) {
	w := newCallsWorld(t)
	_, browser := w.incoming()
	tok := w.accessToken(t, "alice") // issued before the suspension
	w.ten.Status, w.ten.SuspendedAt = tenant.StatusSuspended, "2026-12-07T12:00:00Z"
	w.tw.ResetCalls()
	routes := []string{httpapi.PathCallsHold, httpapi.PathCallsResume, httpapi.PathCallsTransfer, httpapi.PathCallsTransferComplete,
		httpapi.PathCallsTransferCancel, httpapi.PathCallsAdd, httpapi.PathCallsRemove}
	for _, path := range routes {
		for _, tc := range []struct {
			name, auth, body string
			want             int
			code             string
		}{
			{"access token", tok, fmt.Sprintf(`{"call_sid":%q,"to":"bob"}`, browser.SID), 403, "tenant_suspended"},
			{"bearer key", callsBearer, fmt.Sprintf(`{"call_sid":%q,"to":"bob","account_sid":%q,"identity":"alice"}`, browser.SID, w.sub.SID), 403, "tenant_suspended"},
			{"wrong bearer key", "not-the-key", fmt.Sprintf(`{"call_sid":%q,"to":"bob","account_sid":%q,"identity":"alice"}`, browser.SID, w.sub.SID), 401, "unauthorized"},
		} {
			if status, body := w.post(t, path, tc.auth, tc.body); status != tc.want || errCode(body) != tc.code {
				t.Errorf("%s with %s: %d %v, want %d %s", path, tc.name, status, body, tc.want, tc.code)
			}
		}
	}
	if log := w.tw.Log(); len(log) != 0 {
		t.Errorf("REST calls for a suspended tenant: %v", log)
	}
}
