package main

import (
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

	"bubble-twilio-voice/shared/events"
	"bubble-twilio-voice/shared/httpapi"
	"bubble-twilio-voice/shared/tenant"
	"bubble-twilio-voice/shared/twiliosig"
	"bubble-twilio-voice/test/kit"
)

// receivedPost is one POST the tenant's app got.
type receivedPost struct {
	header http.Header
	body   []byte
}

// recorder is the tenant's app: it answers 200 and keeps every POST.
type recorder struct {
	mu    sync.Mutex
	posts []receivedPost
	got   chan struct{}
}

func (a *recorder) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	b, _ := io.ReadAll(r.Body)
	a.mu.Lock()
	a.posts = append(a.posts, receivedPost{r.Header.Clone(), b})
	a.mu.Unlock()
	_, _ = io.WriteString(w, `{"status":"success","response":{}}`)
	a.got <- struct{}{}
}

func (a *recorder) wait(t *testing.T, n int) []receivedPost {
	t.Helper()
	for range n {
		select {
		case <-a.got:
		case <-time.After(5 * time.Second):
			t.Fatalf("the app got fewer than %d posts in time", n)
		}
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	return slices.Clone(a.posts)
}

// TestDevServerEventsTest: POST /dev/events/test sends one event of each
// type to the tenant's app through the dev server's queue and delivery:
// each has every field docs/call-events.md documents, and arrives with the
// very headers, bearer token and signature a real event gets. A wrong key
// sends nothing.
func TestDevServerEventsTest(t *testing.T) {
	app := &recorder{got: make(chan struct{}, 20)}
	appSrv := httptest.NewServer(app)
	defer appSrv.Close()
	base, logs := startEventsServer(t, appSrv.URL+"/api/1.1/wf/call-event", "http://127.0.0.1:1")
	documented := kit.DocumentedEventFields(t, filepath.Join("..", ".."))

	// A real event first, for comparison: a call's final status.
	form := url.Values{"AccountSid": {exampleSID}, "CallSid": {evCall}, "From": {"client:alice"}, "To": {"+14155550123"},
		"CallStatus": {"completed"}, "CallDuration": {"12"}}
	if status, body := postForm(t, base+httpapi.PathCallStatus, form, twiliosig.Sign(base+httpapi.PathCallStatus, form, exampleToken)); status != 204 {
		t.Fatalf("call-status: %d %s", status, body)
	}
	real := app.wait(t, 1)[0]

	// A wrong key: 401, nothing queued, nothing sent.
	if status, body := postJSON(t, base+httpapi.PathDevEventsTest, "wrong-key", `{"account_sid":"`+exampleSID+`"}`); status != 401 {
		t.Fatalf("wrong key: %d %s", status, body)
	}
	status, body := postJSON(t, base+httpapi.PathDevEventsTest, exampleBearer, `{"account_sid":"`+exampleSID+`"}`)
	if status != 202 {
		t.Fatalf("events test: %d %s", status, body)
	}
	posts := app.wait(t, len(tenant.EventTypes))[1:]
	if len(posts) != len(tenant.EventTypes) {
		t.Fatalf("the app got %d test events, want %d (one per type; the wrong key must send none)", len(posts), len(tenant.EventTypes))
	}
	var types []string
	for _, p := range posts {
		var e events.Event
		if err := json.Unmarshal(p.body, &e); err != nil {
			t.Fatalf("test event %s: %v", p.body, err)
		}
		types = append(types, e.Type)
		if missing := kit.MissingEventFields(p.body, documented); len(missing) > 0 {
			t.Errorf("%s lacks documented fields %v: %s", e.Type, missing, p.body)
		}
		if !strings.HasPrefix(e.ID, events.TestIDPrefix) || p.header.Get(events.HeaderEventID) != e.ID {
			t.Errorf("%s: event_id %q, X-Event-Id %q", e.Type, e.ID, p.header.Get(events.HeaderEventID))
		}
		// The same sender as real events: the same headers, credentials and signature.
		if !slices.Equal(kit.SentHeaderNames(p.header), kit.SentHeaderNames(real.header)) {
			t.Errorf("%s: headers %v, a real event's %v", e.Type, kit.SentHeaderNames(p.header), kit.SentHeaderNames(real.header))
		}
		for _, h := range []string{"Authorization", "Content-Type", "User-Agent"} {
			if p.header.Get(h) != real.header.Get(h) {
				t.Errorf("%s: %s %q, a real event's %q", e.Type, h, p.header.Get(h), real.header.Get(h))
			}
		}
		if sig := p.header.Get(events.HeaderSignature); sig != events.Sign(devAppSigning, p.body) {
			t.Errorf("%s: X-Signature %q does not sign the body", e.Type, sig)
		}
	}
	if !slices.Equal(types, tenant.EventTypes) {
		t.Errorf("test event types %v, want %v", types, tenant.EventTypes)
	}
	if strings.Contains(logs.String(), devAppToken) || strings.Contains(logs.String(), exampleBearer) {
		t.Error("the dev server's log holds the app's bearer token or the tenant's key")
	}
}

func postJSON(t *testing.T, u, key, body string) (int, string) {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, u, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", "Bearer "+key)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}
