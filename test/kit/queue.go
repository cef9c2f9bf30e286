package kit

import (
	"context"
	"sync"

	"bubble-twilio-voice/shared/queue"
)

// Queue is a queue.Sender that keeps what it is sent, for tests that read
// back what a handler queued or a delivery dead-lettered.
type Queue struct {
	mu   sync.Mutex
	msgs []queue.Message
}

// Send implements queue.Sender.
func (q *Queue) Send(_ context.Context, m queue.Message) error {
	q.mu.Lock()
	defer q.mu.Unlock()
	q.msgs = append(q.msgs, queue.Message{Body: append([]byte(nil), m.Body...), Attributes: m.Attributes})
	return nil
}

// Messages returns a copy of every message sent, oldest first.
func (q *Queue) Messages() []queue.Message {
	q.mu.Lock()
	defer q.mu.Unlock()
	return append([]queue.Message(nil), q.msgs...)
}
