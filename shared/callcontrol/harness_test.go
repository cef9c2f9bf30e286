package callcontrol

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"bubble-twilio-voice/shared/phone"
	"bubble-twilio-voice/shared/tenant"
	"bubble-twilio-voice/shared/twiliorest"
	"bubble-twilio-voice/shared/voice"
	"bubble-twilio-voice/test/fake/twilio"
)

// Numbers of the test tenant.
const (
	mainNumber  = "+14155550100" // route: alice, bob; voicemail
	salesNumber = "+14155550111" // route "Sales": carol
	callerPhone = "+14155559999"
	// supportNumber's route "Support" rings bob, carol and dave for 15 s;
	// deskNumber's route "Desk" only alice.
	supportNumber = "+14155550122"
	deskNumber    = "+14155550133"
)

// settleTwiML is what /incoming/dial-complete answers once a browser's leg
// left the <Dial> answered: the pause voice keeps the caller on the line
// with until call control's second redirect lands.
const settleTwiML = `<?xml version="1.0" encoding="UTF-8"?><Response><Pause length="2"/><Hangup/></Response>`

// world is a subaccount on the Twilio fake, driven by the real REST
// client, and a webhook server standing in for this service's
// /incoming/dial-complete and /events/conference-status.
type world struct {
	t   *testing.T
	tw  *twilio.Server
	sub twilio.Account
	api *twiliorest.Account
	ten *tenant.Tenant // replaced, under mu, by a test that suspends it
	ctl *Controller
	u   URLs

	mu           sync.Mutex
	dialComplete string   // what dial-complete answers
	hooks        []string // webhook paths called, in order
	// quiet: the hub's status callbacks are answered and not acted on
	// (two events that would run at the same moment, run by hand).
	quiet bool
}

// newWorld's REST client does not pace outbound calls; the fake's clock
// moves a second each time it checks the rate, so calls placed one after
// the other pass as if paced, without the test sleeping through 429s.
func newWorld(t *testing.T) *world {
	w := newPacedWorld(t, nil)
	var mu sync.Mutex
	now := time.Date(2026, 12, 7, 12, 0, 0, 0, time.UTC)
	w.tw.SetClock(func() time.Time {
		mu.Lock()
		defer mu.Unlock()
		now = now.Add(time.Second)
		return now
	})
	return w
}

// newPacedWorld's REST client paces outbound calls with pacer (nil: none).
func newPacedWorld(t *testing.T, pacer *twiliorest.Pacer) *world {
	t.Helper()
	w := &world{t: t, tw: twilio.Start(t), dialComplete: settleTwiML}
	w.sub = w.tw.AddSubaccount("Acme")
	key := w.tw.AddKey(w.sub.SID, "voice", false)
	client, err := twiliorest.New(w.tw.URL(), nil, pacer)
	if err != nil {
		t.Fatal(err)
	}
	w.api = client.For(twiliorest.Credentials{AccountSID: w.sub.SID, Username: key.SID, Password: key.Secret})
	w.ten, err = tenant.Parse([]byte(fmt.Sprintf(`{
		"account_sid": %q, "auth_token": %q, "api_key_sid": %q, "api_key_secret": %q,
		"twiml_app_sid": "AP00000000000000000000000000000000", "caller_id": %q,
		"token_api_keys": ["bearer-key-0123456789"], "hold_music_url": "https://example.com/hold.mp3",
		"outbound": {"allowed_countries": ["US"]},
		"incoming": {"numbers": {
			%q: {"clients": ["alice", "bob"], "no_answer": {"action": "voicemail"}},
			%q: {"clients": ["carol"], "label": "Sales", "no_answer": {"action": "message"}},
			%q: {"clients": ["bob", "carol", "dave"], "label": "Support", "ring_seconds": 15,
				"then_number": "+14155550177", "no_answer": {"action": "voicemail"}},
			%q: {"clients": ["alice"], "label": "Desk", "no_answer": {"action": "message"}}
		}}}`, w.sub.SID, w.sub.AuthToken, key.SID, key.Secret, mainNumber, mainNumber, salesNumber, supportNumber, deskNumber)))
	if err != nil {
		t.Fatal(err)
	}
	w.ctl = &Controller{Rules: voice.Rules{Numbers: phone.Library{}}}
	srv := httptest.NewServer(http.HandlerFunc(w.serveHook))
	t.Cleanup(srv.Close)
	w.u = URLs{
		ConferenceEvents:  srv.URL + "/events/conference-status",
		DialComplete:      srv.URL + "/incoming/dial-complete",
		RecordingComplete: srv.URL + "/incoming/recording-complete",
		CallStatus:        srv.URL + "/events/call-status",
	}
	return w
}

func (w *world) serveHook(rw http.ResponseWriter, r *http.Request) {
	_ = r.ParseForm()
	w.mu.Lock()
	w.hooks = append(w.hooks, r.URL.Path)
	answer, ten, quiet := w.dialComplete, w.ten, w.quiet
	w.mu.Unlock()
	switch r.URL.Path {
	case "/incoming/dial-complete":
		rw.Header().Set("Content-Type", "text/xml")
		if r.PostForm.Get("DialCallStatus") == "" { // sent on by OnConferenceEvent
			answer = `<Response><Say>Please leave a message.</Say><Record/></Response>`
		}
		_, _ = rw.Write([]byte(answer))
	case "/events/conference-status":
		if quiet {
			rw.WriteHeader(http.StatusNoContent)
			return
		}
		err := OnConferenceEvent(r.Context(), w.api, ConferenceEvent{
			Event: r.PostForm.Get("StatusCallbackEvent"), ConferenceSID: r.PostForm.Get("ConferenceSid"),
			FriendlyName: r.PostForm.Get("FriendlyName"), Label: r.PostForm.Get("ParticipantLabel"),
		}, w.u, ten)
		if err != nil {
			w.t.Errorf("OnConferenceEvent: %v", err)
		}
		rw.WriteHeader(http.StatusNoContent)
	default:
		rw.WriteHeader(http.StatusNoContent)
	}
}

func (w *world) called(path string) int {
	w.mu.Lock()
	defer w.mu.Unlock()
	n := 0
	for _, h := range w.hooks {
		if h == path {
			n++
		}
	}
	return n
}

// incoming seeds a phone call to mainNumber that alice answered in the
// browser: the caller's leg is the parent, alice's the child.
func (w *world) incoming() (caller, browser twilio.Call) {
	return w.tw.Bridge(w.sub.SID, callerPhone, mainNumber, "client:alice", w.u.DialComplete, "")
}

// outgoing seeds a call alice placed to a phone: her leg is the parent,
// the callee's the child; /voice's TwiML pauses after its <Dial>.
func (w *world) outgoing() (browser, callee twilio.Call) {
	return w.tw.Bridge(w.sub.SID, "client:alice", "+14155551234", "+14155551234", "",
		`<Response><Pause length="2"/></Response>`)
}

func (w *world) req(callSID string) Request {
	return Request{Tenant: w.ten, Identity: "alice", CallSID: callSID, URLs: w.u,
		HoldMusicURL: "https://example.com/hold.mp3"}
}

// ask runs op as alice on her leg sid, with to and mode.
func (w *world) ask(op func(context.Context, API, Request) (Result, error), sid, to, mode string) (Result, error) {
	r := w.req(sid)
	r.To, r.Mode = to, mode
	return op(ctx, w.api, r)
}

func (w *world) call(sid string) twilio.Call {
	w.t.Helper()
	c, ok := w.tw.Call(w.sub.SID, sid)
	if !ok {
		w.t.Fatalf("no call %s", sid)
	}
	return c
}

// hub returns the call's live hub, failing the test when there is none.
func (w *world) hub(parentSID string) twilio.Conference {
	w.t.Helper()
	for _, c := range w.tw.Conferences(w.sub.SID) {
		if c.FriendlyName == HubName(parentSID) && c.Status != "completed" {
			return c
		}
	}
	w.t.Fatalf("no live hub for %s", parentSID)
	return twilio.Conference{}
}

func participant(c twilio.Conference, label string) (twilio.Participant, bool) {
	for _, p := range c.Participants {
		if p.Label == label {
			return p, true
		}
	}
	return twilio.Participant{}, false
}

// restCalls counts the REST requests since the last ResetCalls, by route,
// for the docs' table.
func (w *world) restCalls() map[string]int {
	out := map[string]int{}
	for _, r := range w.tw.Log() {
		out[r]++
	}
	return out
}

func total(m map[string]int) int {
	n := 0
	for _, v := range m {
		n += v
	}
	return n
}

var ctx = context.Background()

func codeOf(err error) string {
	var e *Error
	if errors.As(err, &e) {
		return e.Code
	}
	return ""
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}
