// Package queue carries messages from the handlers that receive Twilio's
// callbacks to the function that delivers them, at least once. Sender is
// what producers hold; a Consumer is what the queue hands each message to,
// and its Result says whether the message is done or should come back
// later. The SQS implementation (sqsqueue, with its Lambda adapter) runs it
// in AWS; the dev server runs it on an in-memory queue (cmd/devserver), with
// the same retry policy because the policy lives in the consumer.
package queue

import (
	"context"
	"time"
)

// Message is one queued message: an opaque body and string attributes (the
// reason a message was dead-lettered, for instance).
type Message struct {
	Body       []byte
	Attributes map[string]string
}

// Attributes of a dead-lettered message: why it was given up on and when
// (RFC 3339). The delivery writes them, the dead-letters command reads them.
const (
	AttrReason   = "reason"
	AttrFailedAt = "failed_at"
)

// Sender puts messages on a queue. Send returns only once the message is
// stored durably (for SQS: acknowledged by the service).
type Sender interface {
	Send(ctx context.Context, m Message) error
}

// SenderFunc adapts a function to Sender.
type SenderFunc func(ctx context.Context, m Message) error

// Send implements Sender.
func (f SenderFunc) Send(ctx context.Context, m Message) error { return f(ctx, m) }

// Delivery is one receipt of a message.
type Delivery struct {
	// MessageID is the queue's id of the message.
	MessageID string
	Body      []byte
	// ReceiveCount is how many times the message has been received, this
	// time included (1 the first time).
	ReceiveCount int
	// SentAt is when the message was first queued (zero when unknown).
	SentAt time.Time
}

// Consumer handles one delivery.
type Consumer func(ctx context.Context, d Delivery) Result

// Kind is what a consumer made of a delivery.
type Kind int

// Kinds of Result.
const (
	// Delivered: the message is done (delivered, or dropped on purpose);
	// the queue deletes it.
	Delivered Kind = iota
	// Retry: keep the message and offer it again after RetryAfter.
	Retry
	// DeadLettered: the consumer moved the message to the dead-letter
	// queue with Reason; the queue deletes it.
	DeadLettered
)

// String names the kind for logs and tests.
func (k Kind) String() string {
	switch k {
	case Delivered:
		return "delivered"
	case Retry:
		return "retry"
	default:
		return "dead-lettered"
	}
}

// Result is what a consumer made of a delivery.
type Result struct {
	Kind Kind
	// RetryAfter, for Retry, is when to offer the message again; 0 leaves
	// the queue's default visibility timeout. The consumer bounds it
	// (events.MaxDelay), so the queue takes it as it is.
	RetryAfter time.Duration
	// Reason, for Retry and DeadLettered, says why, for logs.
	Reason string
}

// Done reports whether the queue should delete the message.
func (r Result) Done() bool { return r.Kind != Retry }
