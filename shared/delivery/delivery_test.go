package delivery_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/johannesboyne/gofakes3"
	"github.com/johannesboyne/gofakes3/backend/s3mem"

	"bubble-twilio-voice/shared/delivery"
	"bubble-twilio-voice/shared/events"
	"bubble-twilio-voice/shared/httpapi"
	"bubble-twilio-voice/shared/logging"
	"bubble-twilio-voice/shared/queue"
	"bubble-twilio-voice/shared/recordings"
	"bubble-twilio-voice/shared/recordings/s3store"
	"bubble-twilio-voice/shared/tenant"
	"bubble-twilio-voice/test/kit"
)

// The delivery tests' tenants (one with events, one without), call and
// recording, and the public URL the recording links are under.
const (
	evAccount, plainAccount = "AC0e0e0e0e0e0e0e0e0e0e0e0e0e0e0e0e", "AC0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f"
	evKeySID, evKeySecret   = "SK0e0e0e0e0e0e0e0e0e0e0e0e0e0e0e0e", "events_api_key_secret_0e0e0e0e0e"
	evBearer, evSigning     = "bubble-api-token-0e0e0e0e0e0e0e0e", "signing-secret-0e0e0e0e0e0e0e0e"
	evCall, evRecording     = "CA0123456789abcdef0123456789abcdef", "RE0123456789abcdef0123456789abcdef"
	publicBase, publicHost  = "https://voice.example.test", "voice.example.test"
	tenantRecord            = `{"account_sid":"%s","auth_token":"delivery_auth_token_0e0e0e0e0e0e","api_key_sid":"` + evKeySID + `","api_key_secret":"` + evKeySecret + `","twiml_app_sid":"AP0e0e0e0e0e0e0e0e0e0e0e0e0e0e0e0e","caller_id":"+14155550100","token_api_keys":["delivery-test-bearer-key"]%s}`
)

// testTenant returns the tenant account; events is its "events" JSON value
// ("" for none).
func testTenant(tb testing.TB, account, events string) *tenant.Tenant {
	tb.Helper()
	if events != "" {
		events = `,"events":` + events
	}
	t, err := tenant.Parse(fmt.Appendf(nil, tenantRecord, account, events))
	if err != nil {
		tb.Fatal(err)
	}
	return t
}

// fixedNow is when the queued events' callbacks arrived.
func fixedNow() time.Time { return time.Date(2026, 11, 13, 15, 8, 20, 0, time.UTC) }

// decodeEvent decodes an event body posted to an app.
func decodeEvent(tb testing.TB, b []byte) events.Event {
	tb.Helper()
	var e events.Event
	if err := json.Unmarshal(b, &e); err != nil {
		tb.Fatalf("event %s: %v", b, err)
	}
	return e
}

var (
	linkKey  = []byte("link-key-for-tests-0123456789abcdef")
	mediaMP3 = append([]byte("ID3\x04\x00\x00\x00"), bytes.Repeat([]byte{0xff, 0xf3, 0x44, 0xc4}, 1000)...)
)

// app plays a tenant's app: it answers each event POST with answer and
// keeps what it got.
type app struct {
	mu     sync.Mutex
	answer func(w http.ResponseWriter, r *http.Request)
	got    []*http.Request
	bodies [][]byte
	srv    *httptest.Server
}

func newApp(t *testing.T) *app {
	a := &app{answer: func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(200) }}
	a.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		a.mu.Lock()
		a.got, a.bodies = append(a.got, r), append(a.bodies, b)
		answer := a.answer
		a.mu.Unlock()
		answer(w, r)
	}))
	t.Cleanup(a.srv.Close)
	return a
}

func (a *app) set(f func(w http.ResponseWriter, r *http.Request)) {
	a.mu.Lock()
	a.answer = f
	a.mu.Unlock()
}

func (a *app) events(t *testing.T) []events.Event {
	a.mu.Lock()
	defer a.mu.Unlock()
	var out []events.Event
	for _, b := range a.bodies {
		out = append(out, decodeEvent(t, b))
	}
	return out
}

func answer(status int, kv ...string) func(http.ResponseWriter, *http.Request) {
	return func(w http.ResponseWriter, _ *http.Request) {
		for i := 0; i+1 < len(kv); i += 2 {
			w.Header().Set(kv[i], kv[i+1])
		}
		w.WriteHeader(status)
	}
}

// twilioMedia plays Twilio's media endpoint with HTTP auth enforced.
func twilioMedia(t *testing.T, hits *atomic.Int64) *httptest.Server {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hits.Add(1)
		if u, p, ok := r.BasicAuth(); !ok || u != evKeySID || p != evKeySecret {
			w.WriteHeader(401)
			return
		}
		if r.URL.Path != "/2010-04-01/Accounts/"+evAccount+"/Recordings/"+evRecording+".mp3" {
			http.NotFound(w, r)
			return
		}
		w.Header().Set("Content-Type", "audio/mpeg")
		_, _ = w.Write(mediaMP3)
	}))
	t.Cleanup(srv.Close)
	return srv
}

// deliverRig is the delivery with every part real but the AWS services:
// the app, Twilio's media host, the store, the dead-letter queue.
type deliverRig struct {
	app         *app
	media       *httptest.Server
	mediaHits   atomic.Int64
	dlq         *kit.Queue // the dead-letter queue
	dlqErr      error      // makes the dead-letter queue fail
	store       recordings.Store
	clock       *kit.Clock
	logs        kit.LogBuffer
	deps        delivery.Deps
	lookupErr   error
	public      http.Handler
	tenantEvent *tenant.Tenant
}

func newDeliverRig(t *testing.T, store string) *deliverRig {
	t.Helper()
	// The stores stamp objects with the real time, so the clock starts now.
	rig := &deliverRig{app: newApp(t), dlq: &kit.Queue{}, clock: kit.NewClock(time.Now().Truncate(time.Second))}
	rig.media = twilioMedia(t, &rig.mediaHits)
	switch store {
	case "s3":
		backend := s3mem.New()
		if err := backend.CreateBucket("recordings"); err != nil {
			t.Fatal(err)
		}
		s3srv := httptest.NewServer(gofakes3.New(backend).Server())
		t.Cleanup(s3srv.Close)
		client, err := s3store.NewClient(kit.Getenv("AWS_ENDPOINT_URL_S3", s3srv.URL))
		if err != nil {
			t.Fatal(err)
		}
		rig.store = s3store.New(client, "recordings")
	default:
		rig.store = &kit.Recordings{}
	}
	fetcher, err := recordings.NewFetcher(rig.media.URL)
	if err != nil {
		t.Fatal(err)
	}
	links, err := recordings.NewLinks(linkKey, publicBase)
	if err != nil {
		t.Fatal(err)
	}
	rig.tenantEvent = testTenant(t, evAccount,
		`{"url":"`+rig.app.srv.URL+`/api/1.1/wf/call-event","bearer_token":"`+evBearer+`","signing_secret":"`+evSigning+`"}`)
	mem := tenant.NewMemoryStore(rig.tenantEvent, testTenant(t, plainAccount, ""))
	rig.deps = delivery.Deps{
		Store: tenant.StoreFunc(func(ctx context.Context, sid string) (*tenant.Tenant, error) {
			if rig.lookupErr != nil {
				return nil, rig.lookupErr
			}
			return mem.Lookup(ctx, sid)
		}),
		Log: logging.New(&rig.logs, "debug"),
		Now: rig.clock.Now,
		DeadLetters: queue.SenderFunc(func(ctx context.Context, m queue.Message) error {
			if rig.dlqErr != nil {
				return rig.dlqErr
			}
			return rig.dlq.Send(ctx, m)
		}),
		Poster:     events.NewPosterWithClient(&http.Client{Timeout: 300 * time.Millisecond}, rig.clock.Now),
		Fetcher:    fetcher,
		Recordings: rig.store,
		Links:      links,
		Retention:  30 * 24 * time.Hour,
		TempDir:    t.TempDir(),
	}
	// The recording links' route, as the events function serves it.
	rig.public = httpapi.All(httpapi.Deps{
		Store: mem, PublicBaseURL: publicBase, Now: rig.clock.Now,
		Events: httpapi.EventDeps{Fetcher: fetcher, Recordings: rig.store, Links: links},
	})
	return rig
}

// deliver hands body to the delivery as the queue does.
func (rig *deliverRig) deliver(body []byte, attempt int, sentAgo time.Duration) queue.Result {
	return rig.deps.Deliver(context.Background(), queue.Delivery{
		MessageID: "msg-1", Body: body, ReceiveCount: attempt, SentAt: rig.clock.Now().Add(-sentAgo),
	})
}

func completedMessage(account string) []byte {
	f := url.Values{"AccountSid": {account}, "CallSid": {evCall}, "From": {"client:alice"}, "To": {"+14155550123"},
		"CallStatus": {"completed"}, "CallDuration": {"42"}}
	e, _ := events.CallCompleted(f, fixedNow())
	return events.Queued{Version: events.QueuedVersion, Event: e}.Encode()
}

func voicemailMessage(mediaURL string) []byte {
	f := url.Values{"AccountSid": {evAccount}, "CallSid": {evCall}, "RecordingSid": {evRecording}, "RecordingUrl": {mediaURL},
		"RecordingStatus": {"completed"}, "RecordingDuration": {"31"}, "RecordingSource": {"RecordVerb"},
		"from": {"+442071838750"}, "to": {"+14155550100"}}
	m, _ := events.Recording(f, fixedNow())
	return m.Encode()
}

func TestDeliverOutcomes(t *testing.T) {
	hang := func(w http.ResponseWriter, r *http.Request) { <-r.Context().Done() }
	const (
		delivered = queue.Delivered
		retry     = queue.Retry
		dead      = queue.DeadLettered
	)
	tests := []struct {
		name      string
		answer    func(http.ResponseWriter, *http.Request)
		body      []byte
		attempt   int
		sentAgo   time.Duration
		lookupErr error
		dlqErr    error
		wantKind  queue.Kind
		wantAfter time.Duration // for a retry
		wantDLQ   string        // reason, "" for none
		wantPosts int
	}{
		{"delivered", answer(200), completedMessage(evAccount), 1, 0, nil, nil, delivered, 0, "", 1},
		{"delivered with 202", answer(202), completedMessage(evAccount), 5, time.Hour, nil, nil, delivered, 0, "", 1},
		{"5xx: retry in 3 s", answer(500), completedMessage(evAccount), 1, 0, nil, nil, retry, 3 * time.Second, "", 1},
		{"5xx on attempt 3: retry in 1 min", answer(502), completedMessage(evAccount), 3, 2 * time.Minute, nil, nil, retry, time.Minute, "", 1},
		{"429 with a longer Retry-After", answer(429, "Retry-After", "600"), completedMessage(evAccount), 1, 0, nil, nil, retry, 10 * time.Minute, "", 1},
		{"Retry-After beyond the longest delay", answer(503, "Retry-After", "99999999999"), completedMessage(evAccount), 1, 0, nil, nil, retry, events.MaxDelay, "", 1},
		{"app hangs: timeout", hang, completedMessage(evAccount), 2, 0, nil, nil, retry, 15 * time.Second, "", 1},
		{"still failing after 24 h", answer(503), completedMessage(evAccount), 12, 25 * time.Hour, nil, nil, dead, 0, "gave up after 24h0m0s: app answered 503", 1},
		{"404: dead-lettered at once", answer(404), completedMessage(evAccount), 1, 0, nil, nil, dead, 0, "app answered 404", 1},
		{"401: dead-lettered at once", answer(401), completedMessage(evAccount), 1, 0, nil, nil, dead, 0, "app answered 401", 1},
		{"redirect: dead-lettered", answer(301, "Location", "https://elsewhere.example/"), completedMessage(evAccount), 1, 0, nil, nil, dead, 0, "app answered 301", 1},
		// The message stays in the queue, back after its visibility timeout.
		{"dead-letter queue down", answer(400), completedMessage(evAccount), 1, 0, nil, errors.New("sqs down"), retry, 0, "", 1},
		{"malformed message", answer(200), []byte(`{"v":1,"event":{}}`), 1, 0, nil, nil, dead, 0, "malformed message", 0},
		// Issue 20 item 4: an unknown tenant was "delivered" (dropped, no
		// POST, no dead letter). Now it is retried, then dead-lettered.
		{"tenant unknown: retry in 3 s", answer(200), completedMessage("AC0c0c0c0c0c0c0c0c0c0c0c0c0c0c0c0c"), 1, 0, nil, nil, retry, 3 * time.Second, "", 0},
		{"tenant unknown on attempt 5: retry in 15 min", answer(200), completedMessage("AC0c0c0c0c0c0c0c0c0c0c0c0c0c0c0c0c"), 5, 2 * time.Hour, nil, nil, retry, 15 * time.Minute, "", 0},
		{"tenant unknown after 24 h: dead-lettered", answer(200), completedMessage("AC0c0c0c0c0c0c0c0c0c0c0c0c0c0c0c0c"), 12, 25 * time.Hour, nil, nil, dead, 0, delivery.ReasonTenantNotFound, 0},
		{"tenant without events: not sent", answer(200), completedMessage(plainAccount), 1, 0, nil, nil, delivered, 0, "", 0},
		{"secrets unavailable: retry", answer(200), completedMessage(evAccount), 4, 0, tenant.ErrUnavailable, nil, retry, 5 * time.Minute, "", 0},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			rig := newDeliverRig(t, "memory")
			rig.app.set(tc.answer)
			rig.lookupErr = tc.lookupErr
			rig.dlqErr = tc.dlqErr
			res := rig.deliver(tc.body, tc.attempt, tc.sentAgo)
			if res.Kind != tc.wantKind || res.RetryAfter != tc.wantAfter {
				t.Fatalf("result %+v, want %s after %s\n%s", res, tc.wantKind, tc.wantAfter, rig.logs.String())
			}
			if tc.wantDLQ != "" && res.Reason != tc.wantDLQ {
				t.Errorf("reason %q, want %q", res.Reason, tc.wantDLQ)
			}
			dl := rig.dlq.Messages()
			if tc.wantDLQ == "" {
				if len(dl) != 0 {
					t.Errorf("dead-lettered %+v", dl)
				}
			} else if len(dl) != 1 || dl[0].Attributes[queue.AttrReason] != tc.wantDLQ || !bytes.Equal(dl[0].Body, tc.body) ||
				dl[0].Attributes[queue.AttrFailedAt] != rig.clock.Now().Format(time.RFC3339) {
				t.Errorf("dead letters %+v, want one with reason %q and the message unchanged", dl, tc.wantDLQ)
			}
			if n := len(rig.app.events(t)); n != tc.wantPosts {
				t.Errorf("app got %d posts, want %d", n, tc.wantPosts)
			}
			assertCleanLogs(t, rig.logs.String())
		})
	}
}

// TestDeliverRequest checks what the app receives.
func TestDeliverRequest(t *testing.T) {
	rig := newDeliverRig(t, "memory")
	body := completedMessage(evAccount)
	if res := rig.deliver(body, 1, 0); res.Kind != queue.Delivered {
		t.Fatalf("%+v", res)
	}
	r := rig.app.got[0]
	want, _ := events.DecodeQueued(body)
	if e := rig.app.events(t)[0]; e != want.Event {
		t.Errorf("app got %+v, want %+v", e, want.Event)
	}
	if r.Method != "POST" || r.URL.Path != "/api/1.1/wf/call-event" || r.Header.Get("Content-Type") != "application/json" ||
		r.Header.Get("Authorization") != "Bearer "+evBearer || r.Header.Get("X-Event-Id") != want.Event.ID ||
		r.Header.Get("X-Signature") != events.Sign(evSigning, rig.app.bodies[0]) {
		t.Errorf("request %s %s %v", r.Method, r.URL, r.Header)
	}
}

// TestDeliverRecording follows a voicemail from the queue to the app's
// player: the media is copied from Twilio (basic auth) into the store once,
// the app gets a link under the public URL, and the link plays without
// credentials, through S3's presigned URL or the dev server's own file.
func TestDeliverRecording(t *testing.T) {
	for _, store := range []string{"s3", "memory"} {
		t.Run(store, func(t *testing.T) {
			rig := newDeliverRig(t, store)
			msg := voicemailMessage(rig.media.URL + "/2010-04-01/Accounts/" + evAccount + "/Recordings/" + evRecording)

			rig.app.set(answer(503))
			if res := rig.deliver(msg, 1, 0); res.Kind != queue.Retry {
				t.Fatalf("first attempt: %+v\n%s", res, rig.logs.String())
			}
			rig.clock.Advance(5 * time.Second)
			rig.app.set(answer(200))
			if res := rig.deliver(msg, 2, 5*time.Second); res.Kind != queue.Delivered {
				t.Fatalf("second attempt: %+v\n%s", res, rig.logs.String())
			}
			if n := rig.mediaHits.Load(); n != 1 {
				t.Errorf("Twilio media fetched %d times, want once", n)
			}
			evs := rig.app.events(t)
			if len(evs) != 2 || evs[0].RecordingURL != evs[1].RecordingURL || evs[0].ID != evs[1].ID {
				t.Fatalf("events %+v", evs)
			}
			e := evs[1]
			if e.Type != "voicemail.recorded" || e.RecordingDurationSeconds != 31 || e.From != "+442071838750" {
				t.Errorf("event %+v", e)
			}
			link, err := url.Parse(e.RecordingURL)
			if err != nil || !strings.HasPrefix(e.RecordingURL, publicBase+"/recordings/"+evAccount+"/"+evRecording+"?") {
				t.Fatalf("recording_url %q", e.RecordingURL)
			}
			exp, _ := strconv.ParseInt(link.Query().Get("expires"), 10, 64)
			if life := time.Unix(exp, 0).Sub(rig.clock.Now()); life < 30*24*time.Hour-time.Minute || life > 30*24*time.Hour+time.Minute {
				t.Errorf("link valid for %s, want the 30-day retention", life)
			}

			// Follow the link as the app's audio player would, a day later.
			rig.clock.Advance(24 * time.Hour)
			w := httptest.NewRecorder()
			req := httptest.NewRequest(http.MethodGet, link.RequestURI(), nil)
			req.Host = publicHost
			rig.public.ServeHTTP(w, req)
			var got []byte
			switch store {
			case "s3":
				if w.Code != http.StatusFound {
					t.Fatalf("link answered %d: %s", w.Code, w.Body)
				}
				loc := w.Header().Get("Location")
				if !strings.Contains(loc, "X-Amz-Signature=") || !strings.Contains(loc, "X-Amz-Expires=300") {
					t.Errorf("redirect to %s, want a presigned URL valid 5 minutes", loc)
				}
				resp, err := http.Get(loc)
				if err != nil {
					t.Fatal(err)
				}
				got, _ = io.ReadAll(resp.Body)
				resp.Body.Close()
				if ct := resp.Header.Get("Content-Type"); ct != "audio/mpeg" {
					t.Errorf("presigned GET Content-Type %q", ct)
				}
			default:
				if w.Code != 200 || w.Header().Get("Content-Type") != "audio/mpeg" {
					t.Fatalf("link answered %d %v", w.Code, w.Header())
				}
				got = w.Body.Bytes()
			}
			if !bytes.Equal(got, mediaMP3) {
				t.Errorf("played %d bytes, want the recording's %d", len(got), len(mediaMP3))
			}
			assertCleanLogs(t, rig.logs.String(), link.Query().Get("sig"), "X-Amz-Signature")
		})
	}
}

// TestDeliverForeignRecording: a queued message naming a RecordingUrl off
// the Twilio host (the callback refuses those; this one was crafted) is
// dead-lettered and the host never asked.
func TestDeliverForeignRecording(t *testing.T) {
	var foreignHits atomic.Int64
	foreign := twilioMedia(t, &foreignHits)
	rig := newDeliverRig(t, "memory")
	msg := voicemailMessage(foreign.URL + "/2010-04-01/Accounts/" + evAccount + "/Recordings/" + evRecording)
	res := rig.deliver(msg, 1, 0)
	if res.Kind != queue.DeadLettered {
		t.Fatalf("%+v", res)
	}
	if dl := rig.dlq.Messages(); len(dl) != 1 || dl[0].Attributes[queue.AttrReason] != recordings.ErrForeignHost.Error() {
		t.Errorf("dead letters %+v", dl)
	}
	if n := foreignHits.Load(); n != 0 {
		t.Errorf("the foreign host got %d requests", n)
	}
	if len(rig.app.events(t)) != 0 {
		t.Error("the app got the event")
	}
}

func TestDeliverRecordingFetchFails(t *testing.T) {
	rig := newDeliverRig(t, "memory")
	msg := voicemailMessage(rig.media.URL + "/2010-04-01/Accounts/" + evAccount + "/Recordings/RE00000000000000000000000000000000")
	res := rig.deliver(msg, 1, 0)
	if res.Kind != queue.Retry || res.RetryAfter != 3*time.Second {
		t.Errorf("%+v", res)
	}
	if len(rig.app.events(t)) != 0 || len(rig.dlq.Messages()) != 0 {
		t.Error("event sent or dead-lettered")
	}
}

// assertCleanLogs fails if a log holds a secret of the event tenant, a
// link signature or anything else in extra.
func assertCleanLogs(tb testing.TB, logs string, extra ...string) {
	tb.Helper()
	for _, s := range append([]string{evBearer, evSigning, evKeySecret, "delivery_auth_token_0e0e0e0e0e0e", string(linkKey)}, extra...) {
		if s != "" && strings.Contains(logs, s) {
			tb.Errorf("logs hold %q", s)
		}
	}
}

// TestDeliverOutOfTime: a recording download still running when the
// message's deadline (sqsqueue.Handler's, from the invocation's) passes is
// cut, and the event is kept for a retry with that reason logged, instead
// of the invocation timing out with the whole batch and no reason.
func TestDeliverOutOfTime(t *testing.T) {
	rig := newDeliverRig(t, "disk")
	release := make(chan struct{})
	slow := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select { // a download that would take minutes
		case <-r.Context().Done():
		case <-release:
		}
	}))
	t.Cleanup(func() { close(release); slow.Close() })
	fetcher, err := recordings.NewFetcher(slow.URL)
	if err != nil {
		t.Fatal(err)
	}
	rig.deps.Fetcher = fetcher
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	start := time.Now()
	res := rig.deps.Deliver(ctx, queue.Delivery{
		MessageID: "msg-1", ReceiveCount: 1, SentAt: rig.clock.Now(),
		Body: voicemailMessage(slow.URL + "/2010-04-01/Accounts/" + evAccount + "/Recordings/" + evRecording),
	})
	if took := time.Since(start); took > 5*time.Second {
		t.Errorf("Deliver took %v past its deadline", took)
	}
	if res.Kind != queue.Retry || res.RetryAfter != 3*time.Second || !strings.HasPrefix(res.Reason, "out of time") {
		t.Errorf("result %+v, want a retry out of time", res)
	}
	if logs := rig.logs.String(); !strings.Contains(logs, `"reason":"out of time (the invocation's deadline): recording copy failed"`) {
		t.Errorf("no reason logged:\n%s", logs)
	}
	if len(rig.app.events(t)) != 0 || len(rig.dlq.Messages()) != 0 {
		t.Error("event sent or dead-lettered")
	}
}

// TestDeliverDeadLettersPastDeadline: an event given up on right at its
// deadline still reaches the dead-letter queue (the send is not cut).
func TestDeliverDeadLettersPastDeadline(t *testing.T) {
	rig := newDeliverRig(t, "disk")
	// As the SQS client does, a send on a finished context fails.
	rig.deps.DeadLetters = queue.SenderFunc(func(ctx context.Context, m queue.Message) error {
		if err := ctx.Err(); err != nil {
			return err
		}
		return rig.dlq.Send(ctx, m)
	})
	ctx, cancel := context.WithDeadline(context.Background(), time.Now().Add(-time.Second))
	defer cancel()
	res := rig.deps.Deliver(ctx, queue.Delivery{MessageID: "m", Body: []byte("not json"), ReceiveCount: 1, SentAt: rig.clock.Now()})
	if res.Kind != queue.DeadLettered || len(rig.dlq.Messages()) != 1 {
		t.Errorf("result %+v, %d dead letters", res, len(rig.dlq.Messages()))
	}
}
