package main

import (
	"context"
	"sync"
	"testing"
	"time"

	"bubble-twilio-voice/shared/queue"
	"bubble-twilio-voice/test/kit"
)

// flaky asks for a retry after after seconds for the first failures
// attempts of each message, then is done, and records each attempt's
// receive count.
type flaky struct {
	mu       sync.Mutex
	failures int
	after    int
	counts   []int
}

func (f *flaky) consume(_ context.Context, d queue.Delivery) queue.Result {
	f.mu.Lock()
	f.counts = append(f.counts, d.ReceiveCount)
	f.mu.Unlock()
	if d.ReceiveCount <= f.failures {
		return queue.Result{Kind: queue.Retry, RetryAfter: time.Duration(f.after) * time.Second}
	}
	return queue.Result{Kind: queue.Delivered}
}

func TestMemQueueRetries(t *testing.T) {
	clock := kit.NewClock(time.Date(2026, 11, 13, 15, 0, 0, 0, time.UTC))
	q := newMemQueue(clock.Now)
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
		if n := q.Process(ctx, h.consume); n != s.dispatched {
			t.Errorf("step %d: dispatched %d, want %d", i, n, s.dispatched)
		}
		if len(q.msgs) != s.left {
			t.Errorf("step %d: %d messages left, want %d", i, len(q.msgs), s.left)
		}
	}
	if want := []int{1, 2, 3}; len(h.counts) != 3 || h.counts[0] != 1 || h.counts[2] != 3 {
		t.Errorf("receive counts %v, want %v", h.counts, want)
	}
}

func TestMemQueueDefaultVisibility(t *testing.T) {
	clock := kit.NewClock(time.Date(2026, 11, 13, 15, 0, 0, 0, time.UTC))
	q := newMemQueue(clock.Now)
	h := &flaky{failures: 1} // no Retry-After
	ctx := context.Background()
	_ = q.Send(ctx, queue.Message{Body: []byte("one"), Attributes: map[string]string{"k": "v"}})
	q.Process(ctx, h.consume)
	clock.Advance(defaultVisibility - time.Second)
	if n := q.Process(ctx, h.consume); n != 0 {
		t.Errorf("dispatched %d before the default visibility ran out", n)
	}
	if m := q.msgs; len(m) != 1 || string(m[0].body) != "one" || m[0].attrs["k"] != "v" {
		t.Errorf("messages = %+v", m)
	}
	clock.Advance(time.Second)
	if n := q.Process(ctx, h.consume); n != 1 || len(q.msgs) != 0 {
		t.Errorf("dispatched %d, %d left", n, len(q.msgs))
	}
}

func TestMemQueueRun(t *testing.T) {
	q := newMemQueue(time.Now)
	done := make(chan struct{})
	consume := func(_ context.Context, d queue.Delivery) queue.Result {
		if string(d.Body) == "x" {
			close(done)
		}
		return queue.Result{}
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go q.Run(ctx, consume, time.Hour) // only Send's wake-up can deliver in time
	_ = q.Send(ctx, queue.Message{Body: []byte("x")})
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		t.Fatal("Run did not hand over a sent message")
	}
}

// TestMemoryDeadLettered: a dead-lettered message is done, like a delivered
// one (the consumer moved it).
func TestMemQueueDeadLettered(t *testing.T) {
	q := newMemQueue(time.Now)
	ctx := context.Background()
	_ = q.Send(ctx, queue.Message{Body: []byte("x")})
	n := q.Process(ctx, func(context.Context, queue.Delivery) queue.Result {
		return queue.Result{Kind: queue.DeadLettered, Reason: "app answered 404"}
	})
	if n != 1 || len(q.msgs) != 0 {
		t.Errorf("handed over %d, %d left", n, len(q.msgs))
	}
}
