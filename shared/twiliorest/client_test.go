package twiliorest

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"bubble-twilio-voice/test/fake/twilio"
)

func TestNewRefusesBadBase(t *testing.T) {
	for _, base := range []string{"", "api.twilio.com", "ftp://api.twilio.com", "https://user:pw@api.twilio.com", "https://api.twilio.com/2010-04-01", "https://api.twilio.com?x=1"} {
		if _, err := New(base, nil, nil); err == nil {
			t.Errorf("New(%q) accepted", base)
		}
	}
	if _, err := New("https://api.twilio.com/", nil, nil); err != nil {
		t.Errorf("New with a trailing slash: %v", err)
	}
}

// fakeAccount is a subaccount on the Twilio fake with a standard API key,
// the credentials the Lambda functions hold.
func fakeAccount(t *testing.T, pacer *Pacer) (*twilio.Server, twilio.Account, *Account) {
	t.Helper()
	tw := twilio.Start(t)
	sub := tw.AddSubaccount("Acme")
	key := tw.AddKey(sub.SID, "voice", false)
	c, err := New(tw.URL(), nil, pacer)
	if err != nil {
		t.Fatal(err)
	}
	return tw, sub, c.For(Credentials{AccountSID: sub.SID, Username: key.SID, Password: key.Secret})
}

func TestCallsAgainstTheFake(t *testing.T) {
	tw, sub, api := fakeAccount(t, nil)
	ctx := context.Background()
	parent, child := tw.Bridge(sub.SID, "+14155559999", "+14155550100", "client:alice", "", "")

	got, err := api.FetchCall(ctx, child.SID)
	if err != nil || got.ParentCallSID != parent.SID || got.To != "client:alice" || !got.Live() {
		t.Fatalf("FetchCall = %+v, %v", got, err)
	}
	legs, err := api.ListChildCalls(ctx, parent.SID, "in-progress")
	if err != nil || len(legs) != 1 || legs[0].SID != child.SID {
		t.Fatalf("ListChildCalls = %+v, %v", legs, err)
	}
	if _, err := api.FetchCall(ctx, twilio.NewSID("CA")); !IsNotFound(err) {
		t.Errorf("unknown call: %v; want a 404", err)
	}
	if _, ok, err := api.FindConference(ctx, "hub-x"); ok || err != nil {
		t.Errorf("FindConference of none = %v, %v", ok, err)
	}
	if _, err := api.UpdateCall(ctx, child.SID, CallUpdate{Twiml: `<Response><Dial><Conference participantLabel="a">hub-x</Conference></Dial></Response>`}); err != nil {
		t.Fatal(err)
	}
	conf, ok, err := api.FindConference(ctx, "hub-x")
	if !ok || err != nil || conf.Status != "in-progress" {
		t.Fatalf("FindConference = %+v, %v, %v", conf, ok, err)
	}
	hold := true
	p, err := api.UpdateParticipant(ctx, conf.SID, "a", ParticipantUpdate{Hold: &hold, HoldURL: "https://example.com/m.mp3"})
	if err != nil || !p.Hold || p.CallSID != child.SID {
		t.Fatalf("UpdateParticipant = %+v, %v", p, err)
	}
	parts, err := api.ListParticipants(ctx, conf.SID)
	if err != nil || len(parts) != 1 || parts[0].Label != "a" {
		t.Fatalf("ListParticipants = %+v, %v", parts, err)
	}
	if err := api.DeleteParticipant(ctx, conf.SID, "a"); err != nil {
		t.Fatal(err)
	}
	// The participant left the only conference it was in: it ended, and
	// the call, with no verbs after its <Dial>, hung up.
	if _, err := api.UpdateCall(ctx, child.SID, CallUpdate{Status: "completed"}); !IsCallEnded(err) {
		t.Errorf("ending an ended call: %v; want error 21220", err)
	}
}

// failing is an API that answers every request with status and Twilio's
// error code, and a client of it with a secret password.
func failing(t *testing.T, status, code int) (*httptest.Server, *Account) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(status)
		_, _ = fmt.Fprintf(w, `{"code":%d,"message":"%s","status":%d}`, code, http.StatusText(status), status)
	}))
	t.Cleanup(srv.Close)
	c, _ := New(srv.URL, nil, nil)
	return srv, c.For(Credentials{AccountSID: "AC1", Username: "SKsecretuser", Password: "topsecret"})
}

func TestErrorsKeepSecretsOut(t *testing.T) {
	srv, api := failing(t, http.StatusUnauthorized, 20003)
	_, err := api.FetchCall(context.Background(), "CA1")
	var e *Error
	if !errors.As(err, &e) || e.Status != 401 || e.Code != 20003 {
		t.Fatalf("err = %v", err)
	}
	if s := err.Error(); strings.Contains(s, "topsecret") || strings.Contains(s, srv.URL) {
		t.Errorf("error text %q leaks the secret or the URL", s)
	}
	srv.Close()
	_, err = api.FetchCall(context.Background(), "CA1")
	if err == nil || strings.Contains(err.Error(), "topsecret") || strings.Contains(err.Error(), "/Accounts/") {
		t.Errorf("transport error %v leaks the secret or the request path", err)
	}
}

// Twilio refuses a second outbound call within a second with 429/20429;
// without a pacer the client waits a second and sends it again.
func TestTooManyRequestsIsRetried(t *testing.T) {
	tw, sub, api := fakeAccount(t, nil)
	ctx := context.Background()
	for i, label := range []string{"one", "two"} {
		if _, err := api.CreateParticipant(ctx, "hub-x", NewParticipant{From: "+14155550100", To: "+14155550199", Label: label}); err != nil {
			t.Fatalf("create %d: %v", i, err)
		}
	}
	if n := tw.Calls(twilio.RouteCreateParticipant); n != 3 {
		t.Errorf("%d creates sent; want 3 (one refused with 429, then retried)", n)
	}
	if n := len(tw.Conferences(sub.SID)[0].Participants); n != 2 {
		t.Errorf("%d participants; want 2", n)
	}
}

// With a pacer, outbound calls queue for their slot: none is refused.
func TestPacerQueuesOutboundCalls(t *testing.T) {
	var mu sync.Mutex
	now := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	clock := func() time.Time { mu.Lock(); defer mu.Unlock(); return now }
	var waited []time.Duration
	p := NewPacer(DefaultCallsPerSecond, clock)
	p.sleep = func(_ context.Context, d time.Duration) error {
		mu.Lock()
		defer mu.Unlock()
		waited = append(waited, d)
		now = now.Add(d)
		return nil
	}
	tw, _, api := fakeAccount(t, p)
	tw.SetClock(clock)
	ctx := context.Background()
	for _, label := range []string{"one", "two", "three"} {
		if _, err := api.CreateParticipant(ctx, "hub-x", NewParticipant{From: "+14155550100", To: "+14155550199", Label: label}); err != nil {
			t.Fatal(err)
		}
	}
	if n := tw.Calls(twilio.RouteCreateParticipant); n != 3 {
		t.Errorf("%d creates sent; want 3, none refused", n)
	}
	if len(waited) != 2 || waited[0] != time.Second || waited[1] != time.Second {
		t.Errorf("waited %v; want two waits of a second", waited)
	}
}

func TestPacerRespectsTheDeadline(t *testing.T) {
	now := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	p := NewPacer(1, func() time.Time { return now })
	p.sleep = func(context.Context, time.Duration) error { return nil }
	ctx, cancel := context.WithDeadline(context.Background(), now.Add(1500*time.Millisecond))
	defer cancel()
	for i := 0; i < 2; i++ {
		if err := p.Wait(ctx, "AC1"); err != nil {
			t.Fatalf("wait %d: %v", i, err)
		}
	}
	if err := p.Wait(ctx, "AC1"); !errors.Is(err, ErrPaced) {
		t.Errorf("third wait = %v; want ErrPaced (its slot is 2 s away, the deadline 1.5 s)", err)
	}
	if err := p.Wait(ctx, "AC2"); err != nil {
		t.Errorf("another account waits for nobody: %v", err)
	}
	var nilPacer *Pacer
	if err := nilPacer.Wait(ctx, "AC1"); err != nil {
		t.Errorf("nil pacer: %v", err)
	}
}

// A 429 that outlasts the request's deadline comes back as Twilio's error.
func TestTooManyRequestsPastTheDeadline(t *testing.T) {
	_, api := failing(t, http.StatusTooManyRequests, 20429)
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	_, err := api.FetchCall(ctx, "CA1")
	if !IsTooManyRequests(err) {
		t.Errorf("err = %v; want Twilio's 429", err)
	}
}
