package main

import (
	"context"
	"strconv"
	"sync"
	"time"

	"bubble-twilio-voice/shared/queue"
)

// memQueue is an in-process queue for the dev server: Send stores a message,
// Process offers every visible message to a queue.Consumer, and a message to
// retry comes back after the Result's RetryAfter (or defaultVisibility).
// Like SQS it counts receives and keeps the first send time, so the
// consumer applies the same retry policy. It is not durable.
type memQueue struct {
	now func() time.Time

	mu   sync.Mutex
	seq  int
	msgs []*memMessage
	wake chan struct{}
}

// defaultVisibility is how long a message to retry without a RetryAfter
// stays hidden (SQS: the queue's visibility timeout).
const defaultVisibility = 30 * time.Second

type memMessage struct {
	id        string
	body      []byte
	attrs     map[string]string
	sentAt    time.Time
	visibleAt time.Time
	receives  int
	busy      bool
}

// newMemQueue returns an empty queue reading the clock now.
func newMemQueue(now func() time.Time) *memQueue {
	return &memQueue{now: now, wake: make(chan struct{}, 1)}
}

// Send implements queue.Sender.
func (q *memQueue) Send(_ context.Context, m queue.Message) error {
	q.mu.Lock()
	q.seq++
	t := q.now()
	q.msgs = append(q.msgs, &memMessage{
		id: "mem-" + strconv.Itoa(q.seq), body: append([]byte(nil), m.Body...), attrs: m.Attributes,
		sentAt: t, visibleAt: t,
	})
	q.mu.Unlock()
	select {
	case q.wake <- struct{}{}:
	default:
	}
	return nil
}

// Process hands every message visible now to consume, one at a time, and
// returns how many it handed over.
func (q *memQueue) Process(ctx context.Context, consume queue.Consumer) int {
	n := 0
	for {
		m := q.next()
		if m == nil {
			return n
		}
		n++
		res := consume(ctx, queue.Delivery{MessageID: m.id, Body: m.body, ReceiveCount: m.receives, SentAt: m.sentAt})
		q.settle(m, res)
	}
}

// Run calls Process whenever a message is sent and every tick until ctx
// ends.
func (q *memQueue) Run(ctx context.Context, consume queue.Consumer, tick time.Duration) {
	t := time.NewTicker(tick)
	defer t.Stop()
	for {
		q.Process(ctx, consume)
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		case <-q.wake:
		}
	}
}

// next marks the first visible message received and returns it.
func (q *memQueue) next() *memMessage {
	q.mu.Lock()
	defer q.mu.Unlock()
	now := q.now()
	for _, m := range q.msgs {
		if !m.busy && !m.visibleAt.After(now) {
			m.busy = true
			m.receives++
			return m
		}
	}
	return nil
}

func (q *memQueue) settle(m *memMessage, res queue.Result) {
	q.mu.Lock()
	defer q.mu.Unlock()
	m.busy = false
	if res.Done() {
		for i, x := range q.msgs {
			if x == m {
				q.msgs = append(q.msgs[:i], q.msgs[i+1:]...)
				break
			}
		}
		return
	}
	d := res.RetryAfter
	if d <= 0 {
		d = defaultVisibility
	}
	m.visibleAt = q.now().Add(d)
}
