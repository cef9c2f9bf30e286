package provision_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"bubble-twilio-voice/cmd/subaccounts/internal/provision"
	"bubble-twilio-voice/shared/delivery"
	"bubble-twilio-voice/shared/events"
	"bubble-twilio-voice/shared/queue"
	"bubble-twilio-voice/shared/tenant"
	"bubble-twilio-voice/test/kit"
)

const (
	evBearer    = "bubble-admin-token-for-events-01"
	evSigning   = "events-signing-secret-value-02"
	evURLSecret = "events-url-secret-value-0003"
)

// eventsApp is a tenant's app: it keeps every POST and answers
// call.recorded with a 401 whose body tries terminal escapes.
type eventsApp struct {
	mu    sync.Mutex
	posts []struct {
		header http.Header
		body   []byte
		query  url.Values
	}
}

func (a *eventsApp) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	b, _ := io.ReadAll(r.Body)
	a.mu.Lock()
	a.posts = append(a.posts, struct {
		header http.Header
		body   []byte
		query  url.Values
	}{r.Header.Clone(), b, r.URL.Query()})
	a.mu.Unlock()
	if strings.Contains(string(b), `"type":"call.recorded"`) {
		w.WriteHeader(401)
		_, _ = io.WriteString(w, "{\"statusCode\":401,\x1b[2J\n\"message\":\"wrong token\"}")
		return
	}
	_, _ = io.WriteString(w, `{"status":"success","response":{}}`)
}

func (a *eventsApp) taken() []struct {
	header http.Header
	body   []byte
	query  url.Values
} {
	a.mu.Lock()
	defer a.mu.Unlock()
	p := a.posts
	a.posts = nil
	return p
}

// withEvents stores sub's record with an events object.
func withEvents(e *env, sid string, events map[string]any) {
	e.t.Helper()
	var rec map[string]any
	if err := json.Unmarshal([]byte(mustGet(e, sid)), &rec); err != nil {
		e.t.Fatal(err)
	}
	if events == nil {
		delete(rec, "events")
	} else {
		rec["events"] = events
	}
	b, _ := json.Marshal(rec)
	e.sm.Put(prefix+sid, string(b))
}

// TestEventsTest: events test POSTs one sample of each type to the tenant's
// events.url with the delivery's own sender (the same headers, bearer token
// and signature as a delivered event), each with every documented field,
// prints each answer safely and never a secret, and fails when an event
// was refused.
func TestEventsTest(t *testing.T) {
	e := newEnv(t)
	sub := seedNamedSub(e)
	e.mustCreate(acmeOpts)
	e.mu.Lock()
	for _, s := range []string{evBearer, evSigning, evURLSecret} {
		e.secrets[s] = true // scanOutput fails the test if any is printed
	}
	e.mu.Unlock()
	app := &eventsApp{}
	srv := httptest.NewServer(app)
	defer srv.Close()
	dest := srv.URL + "/version-test/api/1.1/wf/call-event/initialize?secret=" + evURLSecret
	withEvents(e, sub.SID, map[string]any{"url": dest, "bearer_token": evBearer, "signing_secret": evSigning})
	opts := provision.EventsTestOptions{Deployment: e.d, Poster: events.NewPoster(time.Now)}
	test := func(o provision.EventsTestOptions) (string, error) {
		return e.run(func(p *provision.Provisioner) error { return p.EventsTest(context.Background(), sub.SID, o) }, false)
	}

	out, err := test(opts)
	if err == nil || !strings.Contains(err.Error(), "1 of 6 test events were not answered 2xx") {
		t.Errorf("events test with one refused event: error %v", err)
	}
	posts := app.taken()
	if len(posts) != len(tenant.EventTypes) {
		t.Fatalf("the app got %d posts, want one per type:\n%s", len(posts), out)
	}
	documented := kit.DocumentedEventFields(t, filepath.Join("..", "..", "..", ".."))
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if want := "POST " + srv.URL + "/version-test/api/1.1/wf/call-event/initialize?secret=(redacted) (Authorization: Bearer (redacted), X-Signature)"; lines[0] != want {
		t.Errorf("first line %q, want %q", lines[0], want)
	}
	for i, p := range posts {
		var ev events.Event
		if err := json.Unmarshal(p.body, &ev); err != nil {
			t.Fatal(err)
		}
		if ev.Type != tenant.EventTypes[i] || !strings.HasPrefix(ev.ID, events.TestIDPrefix) || ev.AccountSID != sub.SID {
			t.Errorf("post %d is %s %s for %s", i, ev.Type, ev.ID, ev.AccountSID)
		}
		if missing := kit.MissingEventFields(p.body, documented); len(missing) > 0 {
			t.Errorf("%s lacks documented fields %v", ev.Type, missing)
		}
		if ev.RecordingURL != "" && !strings.HasPrefix(ev.RecordingURL, "https://abc123.execute-api.us-east-1.amazonaws.com/recordings/"+sub.SID+"/RE") {
			t.Errorf("%s: recording_url %q is not the deployment's", ev.Type, ev.RecordingURL)
		}
		if p.query.Get("secret") != evURLSecret || p.header.Get("X-Signature") != events.Sign(evSigning, p.body) {
			t.Errorf("%s: secret %q, X-Signature %q", ev.Type, p.query.Get("secret"), p.header.Get("X-Signature"))
		}
		wantLine := ev.Type + strings.Repeat(" ", 22-len(ev.Type)) + ev.ID + "  200 " + `{"status":"success","response":{}}`
		if ev.Type == tenant.EventCallRecorded {
			wantLine = ev.Type + strings.Repeat(" ", 22-len(ev.Type)) + ev.ID + `  401 {"statusCode":401, [2J "message":"wrong token"}`
		}
		if lines[i+1] != wantLine {
			t.Errorf("line %q, want %q", lines[i+1], wantLine)
		}
	}

	// One sender: a real event delivered by the delivery function leaves
	// with the same headers.
	form := url.Values{"AccountSid": {sub.SID}, "CallSid": {"CA0123456789abcdef0123456789abcdef"}, "From": {"client:alice"},
		"To": {"+14155550123"}, "CallStatus": {"completed"}, "CallDuration": {"7"}}
	real, _ := events.CallCompleted(form, time.Now())
	d := delivery.Deps{Store: tenant.NewMemoryStore(e.record(sub.SID)), Poster: events.NewPoster(time.Now), DeadLetters: &kit.Queue{}}
	if res := d.Deliver(context.Background(), queue.Delivery{MessageID: "m1", Body: events.Queued{Version: events.QueuedVersion, Event: real}.Encode(), ReceiveCount: 1}); res.Kind != queue.Delivered {
		t.Fatalf("the real event was not delivered: %+v", res)
	}
	delivered := app.taken()[0]
	for _, p := range posts {
		if !slices.Equal(kit.SentHeaderNames(p.header), kit.SentHeaderNames(delivered.header)) {
			t.Errorf("test event headers %v, a delivered event's %v", kit.SentHeaderNames(p.header), kit.SentHeaderNames(delivered.header))
		}
		for _, h := range []string{"Authorization", "Content-Type", "User-Agent"} {
			if p.header.Get(h) != delivered.header.Get(h) {
				t.Errorf("%s %q, a delivered event's %q", h, p.header.Get(h), delivered.header.Get(h))
			}
		}
	}

	// --type sends one; a type the tenant does not take, or a tenant
	// without events, sends none.
	o := opts
	o.Type = tenant.EventCallMissed
	if out, err := test(o); err != nil || len(app.taken()) != 1 || !strings.Contains(out, "call.missed ") {
		t.Errorf("--type call.missed: %v\n%s", err, out)
	}
	withEvents(e, sub.SID, map[string]any{"url": dest, "types": []string{"call.completed"}})
	o.Type = tenant.EventCallRecorded
	if _, err := test(o); err == nil || !strings.Contains(err.Error(), "leaves out call.recorded") || len(app.taken()) != 0 {
		t.Errorf("a type the tenant does not take: %v", err)
	}
	if out, err := test(opts); err != nil || len(app.taken()) != 1 || !strings.Contains(out, "call.missed           not sent: events.types leaves it out") {
		t.Errorf("events.types [call.completed]: %v\n%s", err, out)
	}
	o.Type = "call.answered"
	withEvents(e, sub.SID, map[string]any{"url": dest})
	if _, err := test(o); err == nil || !strings.Contains(err.Error(), `unknown event type "call.answered"`) || len(app.taken()) != 0 {
		t.Errorf("an unknown type: %v", err)
	}
	if _, err := test(provision.EventsTestOptions{Poster: opts.Poster}); err == nil || !strings.Contains(err.Error(), "--stack") || len(app.taken()) != 0 {
		t.Errorf("no deployment: %v", err)
	}
	// A suspended tenant's events are sent, after a note (its real events
	// are still delivered; the operator may test before reactivate).
	var rec map[string]any
	_ = json.Unmarshal([]byte(mustGet(e, sub.SID)), &rec)
	rec["status"], rec["suspended_at"] = "suspended", "2026-12-07T12:00:00Z"
	b, _ := json.Marshal(rec)
	e.sm.Put(prefix+sub.SID, string(b))
	o.Type = tenant.EventCallMissed
	if out, err := test(o); err != nil || len(app.taken()) != 1 ||
		!strings.HasPrefix(out, "note: tenant "+sub.SID+" is suspended (since 2026-12-07T12:00:00Z)") {
		t.Errorf("suspended tenant: %v\n%s", err, out)
	}
	withEvents(e, sub.SID, nil)
	if _, err := test(opts); err == nil || !strings.Contains(err.Error(), "has no events object") {
		t.Errorf("no events: %v", err)
	}
}
