package queue

import (
	"context"
	"strconv"
	"sync"
	"time"
)

// Memory is an in-process queue for the dev server: Send stores a message,
// Process offers every visible message to a Consumer, and a message to
// retry comes back after the Result's RetryAfter (or DefaultVisibility).
// Like SQS it counts receives and keeps the first send time, so the
// consumer applies the same retry policy. It is not durable.
type Memory struct {
	now func() time.Time

	mu   sync.Mutex
	seq  int
	msgs []*memMessage
	wake chan struct{}
}

// DefaultVisibility is how long a message to retry without a RetryAfter
// stays hidden (SQS: the queue's visibility timeout).
const DefaultVisibility = 30 * time.Second

type memMessage struct {
	id        string
	body      []byte
	attrs     map[string]string
	sentAt    time.Time
	visibleAt time.Time
	receives  int
	busy      bool
}

// NewMemory returns an empty queue reading the clock now.
func NewMemory(now func() time.Time) *Memory {
	return &Memory{now: now, wake: make(chan struct{}, 1)}
}

// Send implements Sender.
func (q *Memory) Send(_ context.Context, m Message) error {
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

// Len is the number of messages in the queue, hidden ones included.
func (q *Memory) Len() int {
	q.mu.Lock()
	defer q.mu.Unlock()
	return len(q.msgs)
}

// Messages returns a copy of every message, oldest first.
func (q *Memory) Messages() []Message {
	q.mu.Lock()
	defer q.mu.Unlock()
	out := make([]Message, 0, len(q.msgs))
	for _, m := range q.msgs {
		out = append(out, Message{Body: append([]byte(nil), m.body...), Attributes: m.attrs})
	}
	return out
}

// Process hands every message visible now to consume, one at a time, and
// returns how many it handed over.
func (q *Memory) Process(ctx context.Context, consume Consumer) int {
	n := 0
	for {
		m := q.next()
		if m == nil {
			return n
		}
		n++
		res := consume(ctx, Delivery{MessageID: m.id, Body: m.body, ReceiveCount: m.receives, SentAt: m.sentAt})
		q.settle(m, res)
	}
}

// Run calls Process whenever a message is sent and every tick until ctx
// ends.
func (q *Memory) Run(ctx context.Context, consume Consumer, tick time.Duration) {
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
func (q *Memory) next() *memMessage {
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

func (q *Memory) settle(m *memMessage, res Result) {
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
		d = DefaultVisibility
	}
	m.visibleAt = q.now().Add(d)
}
