package queue_test

import (
	"context"
	"io"
	"net/http"
	"strconv"
	"sync"
	"testing"
	"time"

	"bubble-twilio-voice/shared/queue"
	"bubble-twilio-voice/test/kit"
)

func TestDispatch(t *testing.T) {
	sent := time.UnixMilli(1794582540123)
	tests := []struct {
		name   string
		answer func(w http.ResponseWriter)
		want   queue.Result
	}{
		{"200", func(w http.ResponseWriter) { w.WriteHeader(200) }, queue.Result{Done: true, Status: 200}},
		{"204", func(w http.ResponseWriter) { w.WriteHeader(204) }, queue.Result{Done: true, Status: 204}},
		{"nothing written", func(http.ResponseWriter) {}, queue.Result{Done: true, Status: 200}},
		{"503 with Retry-After", func(w http.ResponseWriter) {
			w.Header().Set("Retry-After", "300")
			w.WriteHeader(503)
		}, queue.Result{RetryAfter: 5 * time.Minute, Status: 503}},
		{"Retry-After set after WriteHeader is not sent", func(w http.ResponseWriter) {
			w.WriteHeader(503)
			w.Header().Set("Retry-After", "300")
		}, queue.Result{Status: 503}},
		{"500 without Retry-After", func(w http.ResponseWriter) { w.WriteHeader(500) }, queue.Result{Status: 500}},
		{"Retry-After beyond SQS's limit", func(w http.ResponseWriter) {
			w.Header().Set("Retry-After", "86400")
			w.WriteHeader(503)
		}, queue.Result{RetryAfter: queue.MaxRetryAfter, Status: 503}},
		{"Retry-After that would overflow a Duration", func(w http.ResponseWriter) {
			w.Header().Set("Retry-After", "99999999999")
			w.WriteHeader(503)
		}, queue.Result{RetryAfter: queue.MaxRetryAfter, Status: 503}},
		{"unreadable Retry-After", func(w http.ResponseWriter) {
			w.Header().Set("Retry-After", "soon")
			w.WriteHeader(429)
		}, queue.Result{Status: 429}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var got queue.Delivery
			var body []byte
			var path string
			h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				got = queue.ReadDelivery(r)
				body, _ = io.ReadAll(r.Body)
				path = r.URL.Path
				if r.Header.Get("X-Request-Id") != "m-1" || r.Header.Get(queue.HeaderAttributePrefix+"Reason") != "x" {
					t.Errorf("headers %v", r.Header)
				}
				tc.answer(w)
			})
			res := queue.Dispatch(context.Background(), h, "/internal/deliver", queue.Delivery{
				MessageID: "m-1", Body: []byte(`{"a":1}`), ReceiveCount: 3, SentAt: sent, Attributes: map[string]string{"Reason": "x"},
			})
			if res != tc.want {
				t.Errorf("Result %+v, want %+v", res, tc.want)
			}
			if got.MessageID != "m-1" || got.ReceiveCount != 3 || !got.SentAt.Equal(sent) || string(body) != `{"a":1}` || path != "/internal/deliver" {
				t.Errorf("handler saw %+v %q at %s", got, body, path)
			}
		})
	}
}

// flaky answers 503 with Retry-After for the first failures attempts of
// each message, then 200, and records each attempt's receive count.
type flaky struct {
	mu       sync.Mutex
	failures int
	after    int
	counts   []int
}

func (f *flaky) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	d := queue.ReadDelivery(r)
	f.mu.Lock()
	f.counts = append(f.counts, d.ReceiveCount)
	f.mu.Unlock()
	if d.ReceiveCount <= f.failures {
		if f.after > 0 {
			w.Header().Set("Retry-After", strconv.Itoa(f.after))
		}
		w.WriteHeader(503)
		return
	}
	w.WriteHeader(204)
}

func TestMemoryRetries(t *testing.T) {
	clock := kit.NewClock(time.Date(2026, 11, 13, 15, 0, 0, 0, time.UTC))
	q := queue.NewMemory(clock.Now)
	h := &flaky{failures: 2, after: 5}
	ctx := context.Background()
	if err := q.Send(ctx, queue.Message{Body: []byte("one")}); err != nil {
		t.Fatal(err)
	}
	steps := []struct {
		advance    time.Duration
		dispatched int
		left       int
	}{
		{0, 1, 1},               // first attempt fails, hidden for 5 s
		{0, 0, 1},               // not visible yet
		{4 * time.Second, 0, 1}, // still hidden
		{time.Second, 1, 1},     // second attempt at 5 s fails
		{5 * time.Second, 1, 0}, // third attempt delivers
	}
	for i, s := range steps {
		clock.Advance(s.advance)
		if n := q.Process(ctx, h, "/d"); n != s.dispatched {
			t.Errorf("step %d: dispatched %d, want %d", i, n, s.dispatched)
		}
		if q.Len() != s.left {
			t.Errorf("step %d: %d messages left, want %d", i, q.Len(), s.left)
		}
	}
	if want := []int{1, 2, 3}; len(h.counts) != 3 || h.counts[0] != 1 || h.counts[2] != 3 {
		t.Errorf("receive counts %v, want %v", h.counts, want)
	}
}

func TestMemoryDefaultVisibility(t *testing.T) {
	clock := kit.NewClock(time.Date(2026, 11, 13, 15, 0, 0, 0, time.UTC))
	q := queue.NewMemory(clock.Now)
	h := &flaky{failures: 1} // no Retry-After
	ctx := context.Background()
	_ = q.Send(ctx, queue.Message{Body: []byte("one"), Attributes: map[string]string{"k": "v"}})
	q.Process(ctx, h, "/d")
	clock.Advance(queue.DefaultVisibility - time.Second)
	if n := q.Process(ctx, h, "/d"); n != 0 {
		t.Errorf("dispatched %d before the default visibility ran out", n)
	}
	if m := q.Messages(); len(m) != 1 || string(m[0].Body) != "one" || m[0].Attributes["k"] != "v" {
		t.Errorf("Messages = %+v", m)
	}
	clock.Advance(time.Second)
	if n := q.Process(ctx, h, "/d"); n != 1 || q.Len() != 0 {
		t.Errorf("dispatched %d, %d left", n, q.Len())
	}
}

func TestMemoryRun(t *testing.T) {
	q := queue.NewMemory(time.Now)
	done := make(chan struct{})
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		close(done)
		w.WriteHeader(200)
	})
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go q.Run(ctx, h, "/d", time.Hour) // only Send's wake-up can deliver in time
	_ = q.Send(ctx, queue.Message{Body: []byte("x")})
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		t.Fatal("Run did not dispatch a sent message")
	}
}
