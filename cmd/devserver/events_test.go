package main

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"bubble-twilio-voice/shared/events"
	"bubble-twilio-voice/shared/httpapi"
	"bubble-twilio-voice/shared/twiliosig"
	"bubble-twilio-voice/test/kit"
)

const (
	devAppToken   = "dev-app-token-0123456789"
	devAppSigning = "dev-app-signing-secret-0123"
	evKeySID      = "SK0123456789abcdef0123456789abcdef"
	evKeySecret   = "dev_api_key_secret_not_secret_000"
	evRecording   = "RE0123456789abcdef0123456789abcdef"
	evCall        = "CA0123456789abcdef0123456789abcd77"
)

var devMP3 = append([]byte("ID3\x04\x00"), bytes.Repeat([]byte{0xff, 0xf3}, 500)...)

// devApp is the tenant's app: it fails the first failFirst posts with 500
// and keeps every post's arrival time and event.
type devApp struct {
	mu        sync.Mutex
	failFirst int
	times     []time.Time
	evs       []events.Event
	got       chan struct{}
}

func (a *devApp) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	var e events.Event
	_ = json.NewDecoder(r.Body).Decode(&e)
	a.mu.Lock()
	a.times = append(a.times, time.Now())
	a.evs = append(a.evs, e)
	fail := len(a.times) <= a.failFirst
	a.mu.Unlock()
	if fail {
		w.WriteHeader(500)
	} else {
		w.WriteHeader(200)
	}
	a.got <- struct{}{}
}

func (a *devApp) wait(t *testing.T, within time.Duration) events.Event {
	t.Helper()
	select {
	case <-a.got:
	case <-time.After(within):
		t.Fatalf("the app got no event within %s", within)
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.evs[len(a.evs)-1]
}

// startEventsServer runs the dev server on a free port with one tenant
// whose events go to appURL, recordings fetched from twilioBase.
func startEventsServer(t *testing.T, appURL, twilioBase string) (string, *kit.LogBuffer) {
	t.Helper()
	dir := t.TempDir()
	raw, err := os.ReadFile("tenants.example.json")
	if err != nil {
		t.Fatal(err)
	}
	var recs []map[string]any
	if err := json.Unmarshal(raw, &recs); err != nil {
		t.Fatal(err)
	}
	recs[0]["events"] = map[string]any{"url": appURL, "bearer_token": devAppToken, "signing_secret": devAppSigning}
	b, _ := json.Marshal(recs)
	tenants := filepath.Join(dir, "tenants.json")
	if err := os.WriteFile(tenants, b, 0o600); err != nil {
		t.Fatal(err)
	}
	env := map[string]string{
		"TENANTS_FILE": tenants, "ADDR": "127.0.0.1:0", "TWILIO_API_BASE_URL": twilioBase,
		"RECORDINGS_DIR": filepath.Join(dir, "recordings"),
	}
	ctx, cancel := context.WithCancel(context.Background())
	stdout := &kit.LogBuffer{}
	ready := make(chan string, 1)
	done := make(chan error, 1)
	go func() { done <- run(ctx, func(k string) string { return env[k] }, stdout, ready) }()
	select {
	case addr := <-ready:
		t.Cleanup(func() {
			cancel()
			select {
			case <-done:
			case <-time.After(10 * time.Second):
				t.Error("run did not return after cancel")
			}
		})
		return "http://" + addr, stdout
	case err := <-done:
		cancel()
		t.Fatalf("run: %v", err)
	case <-time.After(10 * time.Second):
		cancel()
		t.Fatal("run did not start listening")
	}
	return "", nil
}

// TestDevServerEvents: make run delivers call events in process, retries a
// failing app within 5 s, and copies a voicemail from Twilio (basic auth)
// to disk behind a link that plays without credentials.
func TestDevServerEvents(t *testing.T) {
	app := &devApp{failFirst: 1, got: make(chan struct{}, 10)}
	appSrv := httptest.NewServer(app)
	defer appSrv.Close()
	twilio := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if u, p, ok := r.BasicAuth(); !ok || u != evKeySID || p != evKeySecret {
			w.WriteHeader(401)
			return
		}
		_, _ = w.Write(devMP3)
	}))
	defer twilio.Close()
	base, logs := startEventsServer(t, appSrv.URL+"/api/1.1/wf/call-event", twilio.URL)

	// A call ends: Twilio posts its final status.
	form := url.Values{"AccountSid": {exampleSID}, "CallSid": {evCall}, "From": {"client:alice"}, "To": {"+14155550123"},
		"CallStatus": {"completed"}, "CallDuration": {"12"}, "Direction": {"inbound"}}
	start := time.Now()
	status, body := postForm(t, base+httpapi.PathCallStatus, form, twiliosig.Sign(base+httpapi.PathCallStatus, form, exampleToken))
	if status != 204 {
		t.Fatalf("call-status: %d %s", status, body)
	}
	first := app.wait(t, 5*time.Second)
	retried := app.wait(t, 8*time.Second)
	app.mu.Lock()
	gap := app.times[1].Sub(app.times[0])
	app.mu.Unlock()
	if first.ID != retried.ID || retried.Type != "call.completed" || retried.Identity != "alice" || retried.DurationSeconds != 12 {
		t.Errorf("events %+v then %+v", first, retried)
	}
	if gap > 5*time.Second || gap < 2*time.Second {
		t.Errorf("first retry after %s, want within 5 s (the 3 s step)", gap)
	}
	t.Logf("delivered, failed, retried after %s; %s in all", gap, time.Since(start).Round(time.Millisecond))

	// A voicemail: the recording callback, then the event with its link.
	path := httpapi.PathRecordingStatus + "?" + events.CallbackQuery("+13105550142", "", "+14155550100")
	rform := url.Values{"AccountSid": {exampleSID}, "CallSid": {evCall}, "RecordingSid": {evRecording},
		"RecordingUrl":    {twilio.URL + "/2010-04-01/Accounts/" + exampleSID + "/Recordings/" + evRecording},
		"RecordingStatus": {"completed"}, "RecordingDuration": {"9"}, "RecordingSource": {"RecordVerb"}}
	status, body = postForm(t, base+path, rform, twiliosig.Sign(base+path, rform, exampleToken))
	if status != 204 {
		t.Fatalf("recording-status: %d %s", status, body)
	}
	vm := app.wait(t, 5*time.Second)
	if vm.Type != "voicemail.recorded" || vm.From != "+13105550142" || !strings.HasPrefix(vm.RecordingURL, base+"/recordings/"+exampleSID+"/"+evRecording+"?") {
		t.Fatalf("voicemail event %+v", vm)
	}
	resp, err := http.Get(vm.RecordingURL)
	if err != nil {
		t.Fatal(err)
	}
	got, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || resp.Header.Get("Content-Type") != "audio/mpeg" || !bytes.Equal(got, devMP3) {
		t.Errorf("recording link: %d %q, %d bytes", resp.StatusCode, resp.Header.Get("Content-Type"), len(got))
	}
	// The delivery has no route: the old internal path is not served.
	if status, _ := postForm(t, base+"/internal/deliver", url.Values{}, ""); status != 404 {
		t.Errorf("POST /internal/deliver from outside: %d, want 404", status)
	}
	if sig := mustQuery(vm.RecordingURL, "sig"); strings.Contains(logs.String(), sig) || strings.Contains(logs.String(), devAppToken) {
		t.Error("the dev server's log holds the link signature or the app's bearer token")
	}
}

func mustQuery(link, k string) string {
	u, _ := url.Parse(link)
	return u.Query().Get(k)
}
