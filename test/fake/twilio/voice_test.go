package twilio_test

import (
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"sync"
	"testing"
	"time"

	"bubble-twilio-voice/shared/twiliosig"
	"bubble-twilio-voice/test/fake/twilio"
)

// hooks records the webhooks the fake sends and answers each path's TwiML.
type hooks struct {
	mu      sync.Mutex
	got     []url.Values
	answers map[string]string
	token   string
	badSig  int
}

func (h *hooks) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	form, _ := url.ParseQuery(string(body))
	h.mu.Lock()
	defer h.mu.Unlock()
	if !twiliosig.ValidateForm("http://"+r.Host+r.URL.RequestURI(), form, r.Header.Get(twiliosig.Header), h.token) {
		h.badSig++
	}
	form.Set("_path", r.URL.Path)
	h.got = append(h.got, form)
	_, _ = io.WriteString(w, h.answers[r.URL.Path])
}

func voiceWorld(t *testing.T) (*twilio.Server, twilio.Account, string, *hooks) {
	s := twilio.Start(t)
	sub := s.AddSubaccount("Acme")
	h := &hooks{answers: map[string]string{}, token: sub.AuthToken}
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	return s, sub, srv.URL, h
}

func update(t *testing.T, s *twilio.Server, sub twilio.Account, sid string, form url.Values) int {
	t.Helper()
	status, _ := do(t, s, http.MethodPost, "/2010-04-01/Accounts/"+sub.SID+"/Calls/"+sid+".json", sub.SID, sub.AuthToken, form)
	return status
}

const join = `<Response><Dial><Conference participantLabel="%s" endConferenceOnExit="%s">room</Conference></Dial></Response>`

func TestRedirectingTheChildEndsTheParentsDial(t *testing.T) {
	s, sub, base, h := voiceWorld(t)
	h.answers["/action"] = `<Response><Say>Bye</Say><Hangup/></Response>`
	parent, child := s.Bridge(sub.SID, "+14155559999", "+14155550100", "client:alice", base+"/action", "")
	if st := update(t, s, sub, child.SID, url.Values{"Twiml": {`<Response><Pause length="5"/></Response>`}}); st != 200 {
		t.Fatalf("update = %d", st)
	}
	if len(h.got) != 1 || h.got[0].Get("_path") != "/action" || h.got[0].Get("DialCallStatus") != "completed" ||
		h.got[0].Get("CallSid") != parent.SID || h.got[0].Get("DialCallSid") != child.SID || h.badSig != 0 {
		t.Fatalf("webhooks %v (bad signatures %d); want the parent's action URL, signed", h.got, h.badSig)
	}
	if p, _ := s.Call(sub.SID, parent.SID); p.Status != "completed" {
		t.Errorf("parent %s; its action answered a hang-up", p.Status)
	}
	if c, _ := s.Call(sub.SID, child.SID); c.Status != "in-progress" || !c.Paused {
		t.Errorf("child %+v; want it running its new TwiML", c)
	}
}

func TestRedirectingTheParentHangsUpTheChild(t *testing.T) {
	s, sub, base, h := voiceWorld(t)
	h.answers["/action"] = `<Response><Pause length="9"/></Response>`
	parent, child := s.Bridge(sub.SID, "+14155559999", "+14155550100", "client:alice", base+"/action", "")
	update(t, s, sub, parent.SID, url.Values{"Twiml": {`<Response><Pause length="5"/></Response>`}})
	if c, _ := s.Call(sub.SID, child.SID); c.Status != "completed" {
		t.Errorf("child %s; want it hung up", c.Status)
	}
	// The action URL was requested, its TwiML ignored.
	if p, _ := s.Call(sub.SID, parent.SID); len(h.got) != 1 || p.TwiML != `<Response><Pause length="5"/></Response>` {
		t.Errorf("parent %+v, webhooks %v", p, h.got)
	}
}

func TestConferenceEndsWhenItsEnderLeaves(t *testing.T) {
	s, sub, _, _ := voiceWorld(t)
	a := s.AddCall(sub.SID, "+14155559999", "+14155550100", "in-progress")
	b := s.AddCall(sub.SID, "client:alice", "+14155550100", "in-progress")
	update(t, s, sub, a.SID, url.Values{"Twiml": {fmt.Sprintf(join, "party", "true")}})
	update(t, s, sub, b.SID, url.Values{"Twiml": {fmt.Sprintf(join, "alice", "false")}})
	if c := s.Conferences(sub.SID); len(c) != 1 || c[0].Status != "in-progress" || len(c[0].Participants) != 2 {
		t.Fatalf("conferences %+v", c)
	}
	s.Hangup(sub.SID, a.SID)
	if c := s.Conferences(sub.SID)[0]; c.Status != "completed" {
		t.Errorf("conference %s after the ender left", c.Status)
	}
	if c, _ := s.Call(sub.SID, b.SID); c.Status != "completed" {
		t.Errorf("alice %s; with no verbs after its <Dial> it hangs up", c.Status)
	}
}

func TestLastParticipantLeavingEndsTheConference(t *testing.T) {
	s, sub, _, _ := voiceWorld(t)
	a := s.AddCall(sub.SID, "+14155559999", "+14155550100", "in-progress")
	update(t, s, sub, a.SID, url.Values{"Twiml": {fmt.Sprintf(join, "party", "false")}})
	if c := s.Conferences(sub.SID)[0]; c.Status != "in-progress" || len(c.Participants) != 1 {
		t.Fatalf("a participant alone: %+v", c)
	}
	update(t, s, sub, a.SID, url.Values{"Status": {"completed"}})
	if c := s.Conferences(sub.SID)[0]; c.Status != "completed" {
		t.Errorf("conference %s with nobody left", c.Status)
	}
}

func TestParticipantsCreateAtOnePerSecond(t *testing.T) {
	s, sub, _, _ := voiceWorld(t)
	now := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	s.SetClock(func() time.Time { return now })
	path := "/2010-04-01/Accounts/" + sub.SID + "/Conferences/room/Participants.json"
	form := url.Values{"From": {"+14155550100"}, "To": {"+14155550199"}}
	if st, _ := do(t, s, http.MethodPost, path, sub.SID, sub.AuthToken, form); st != 201 {
		t.Fatalf("first create = %d", st)
	}
	st, body := do(t, s, http.MethodPost, path, sub.SID, sub.AuthToken, form)
	if st != 429 || body["code"] != float64(20429) {
		t.Fatalf("second create within the second = %d %v; want 429, 20429", st, body)
	}
	now = now.Add(time.Second)
	if st, _ := do(t, s, http.MethodPost, path, sub.SID, sub.AuthToken, form); st != 201 {
		t.Errorf("create a second later = %d", st)
	}
	c := s.Conferences(sub.SID)
	if len(c) != 1 || len(c[0].Participants) != 2 || c[0].Participants[0].Status != "ringing" {
		t.Errorf("conference %+v; want the two placed calls ringing", c)
	}
}

// Participants placed into a conference ring until answered: the one
// answered joins (participant-join); cancelling the call of one still
// ringing ends it and takes it off the participant list
// (participant-leave, ParticipantCallStatus=canceled); cancelling an
// answered call is ignored.
func TestRingingParticipantCancelled(t *testing.T) {
	s, sub, base, h := voiceWorld(t)
	now := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	s.SetClock(func() time.Time { now = now.Add(time.Second); return now })
	a := s.AddCall(sub.SID, "+14155559999", "+14155550100", "in-progress")
	update(t, s, sub, a.SID, url.Values{"Twiml": {`<Response><Dial><Conference participantLabel="party" statusCallback="` + base +
		`/conf" statusCallbackEvent="join leave">room</Conference></Dial></Response>`}})
	conf := s.Conferences(sub.SID)[0]
	path := "/2010-04-01/Accounts/" + sub.SID + "/Conferences/" + conf.SID + "/Participants"
	sids := map[string]string{}
	for _, label := range []string{"g--bob", "g--carol"} {
		st, body := do(t, s, http.MethodPost, path+".json", sub.SID, sub.AuthToken,
			url.Values{"From": {"+14155550100"}, "To": {"client:" + label[3:]}, "Label": {label}})
		if st != 201 || body["status"] != "ringing" {
			t.Fatalf("create %s = %d %v", label, st, body)
		}
		sids[label] = body["call_sid"].(string)
	}
	s.Answer(sub.SID, sids["g--bob"])
	if st := update(t, s, sub, sids["g--carol"], url.Values{"Status": {"canceled"}}); st != 200 {
		t.Fatalf("cancel carol = %d", st)
	}
	if st := update(t, s, sub, sids["g--bob"], url.Values{"Status": {"canceled"}}); st != 200 {
		t.Fatalf("cancel answered bob = %d", st)
	}
	if c, _ := s.Call(sub.SID, sids["g--carol"]); c.Status != "canceled" {
		t.Errorf("carol's call %s; want canceled", c.Status)
	}
	_, list := do(t, s, http.MethodGet, path+".json", sub.SID, sub.AuthToken, nil)
	parts, _ := list["participants"].([]any)
	var labels []string
	for _, p := range parts {
		labels = append(labels, p.(map[string]any)["label"].(string))
	}
	if fmt.Sprint(labels) != "[party g--bob]" {
		t.Errorf("participants %v; want the party and bob (carol cancelled, bob's answered call kept)", labels)
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	var events []string
	for _, f := range h.got {
		if f.Get("_path") == "/conf" {
			events = append(events, f.Get("StatusCallbackEvent")+" "+f.Get("ParticipantLabel")+" "+f.Get("ParticipantCallStatus"))
		}
	}
	want := "[participant-join party  participant-join g--bob  participant-leave g--carol canceled]"
	if fmt.Sprint(events) != want {
		t.Errorf("conference events %v; want %s", events, want)
	}
}
