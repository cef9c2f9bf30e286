// Package queue carries messages from the handlers that receive Twilio's
// callbacks to the handler that delivers them, at least once. Sender is
// what producers hold; Dispatch is the one protocol by which a queue hands
// a message to a plain http.Handler and reads back whether it is done or
// should come back later. The SQS implementation (sqsqueue) and the Lambda
// adapter (apigw.SQSHandler) speak it in AWS; Memory speaks it in the dev
// server, with the same retry policy because the policy lives in the
// handler.
package queue

import (
	"bytes"
	"context"
	"net/http"
	"strconv"
	"time"
)

// Message is one queued message: an opaque body and string attributes (the
// reason a message was dead-lettered, for instance).
type Message struct {
	Body       []byte
	Attributes map[string]string
}

// Sender puts messages on a queue. Send returns only once the message is
// stored durably (for SQS: acknowledged by the service).
type Sender interface {
	Send(ctx context.Context, m Message) error
}

// SenderFunc adapts a function to Sender.
type SenderFunc func(ctx context.Context, m Message) error

// Send implements Sender.
func (f SenderFunc) Send(ctx context.Context, m Message) error { return f(ctx, m) }

// Headers of a dispatched message, set by the queue, read by the handler.
const (
	// HeaderMessageID is the queue's id of the message (also sent as
	// X-Request-Id, so it tags the handler's log lines).
	HeaderMessageID = "X-Queue-Message-Id"
	// HeaderReceiveCount is how many times the message has been received,
	// this time included (1 the first time).
	HeaderReceiveCount = "X-Queue-Receive-Count"
	// HeaderSentAt is when the message was first queued, in Unix
	// milliseconds.
	HeaderSentAt = "X-Queue-Sent-At"
	// HeaderAttributePrefix prefixes the message's attributes.
	HeaderAttributePrefix = "X-Queue-Attribute-"
)

// Delivery is one receipt of a message.
type Delivery struct {
	MessageID    string
	Body         []byte
	ReceiveCount int
	SentAt       time.Time
	Attributes   map[string]string
}

// Result is what the handler made of a delivery.
type Result struct {
	// Done: the handler answered 2xx; delete the message.
	Done bool
	// RetryAfter, when not Done, is when to offer the message again (from
	// the handler's Retry-After, in seconds, at most MaxRetryAfter); 0
	// leaves the queue's default visibility timeout.
	RetryAfter time.Duration
	// Status is the handler's HTTP status, for logs.
	Status int
}

// MaxRetryAfter is the longest a message is kept out of sight: SQS refuses
// a longer visibility timeout, so a longer Retry-After would only fail.
const MaxRetryAfter = 12 * time.Hour

// Dispatch POSTs d's body to path on h, with the delivery's facts as
// headers, and reads the answer: 2xx is done; anything else is to be
// retried, after Retry-After seconds when the handler sent one.
func Dispatch(ctx context.Context, h http.Handler, path string, d Delivery) Result {
	r, err := http.NewRequestWithContext(ctx, http.MethodPost, path, bytes.NewReader(d.Body))
	if err != nil {
		return Result{}
	}
	r.RequestURI = path
	r.Header.Set("Content-Type", "application/json")
	r.Header.Set("X-Request-Id", d.MessageID)
	r.Header.Set(HeaderMessageID, d.MessageID)
	r.Header.Set(HeaderReceiveCount, strconv.Itoa(d.ReceiveCount))
	r.Header.Set(HeaderSentAt, strconv.FormatInt(d.SentAt.UnixMilli(), 10))
	for k, v := range d.Attributes {
		r.Header.Set(HeaderAttributePrefix+k, v)
	}
	w := &recorder{header: http.Header{}}
	h.ServeHTTP(w, r)
	status := w.status
	if status == 0 {
		status = http.StatusOK
	}
	res := Result{Status: status, Done: status >= 200 && status < 300}
	if !res.Done {
		if n, err := strconv.Atoi(w.sent.Get("Retry-After")); err == nil && n > 0 {
			// Capped in seconds, before the multiplication can overflow.
			res.RetryAfter = time.Duration(min(n, int(MaxRetryAfter/time.Second))) * time.Second
		}
	}
	return res
}

// ReadDelivery is the handler's side of Dispatch: the delivery facts of r.
func ReadDelivery(r *http.Request) Delivery {
	d := Delivery{MessageID: r.Header.Get(HeaderMessageID)}
	d.ReceiveCount, _ = strconv.Atoi(r.Header.Get(HeaderReceiveCount))
	if ms, err := strconv.ParseInt(r.Header.Get(HeaderSentAt), 10, 64); err == nil && ms > 0 {
		d.SentAt = time.UnixMilli(ms)
	}
	return d
}

// recorder keeps only what Dispatch reads: the status and the headers sent
// with it. The body (a few bytes at most) is dropped.
type recorder struct {
	header, sent http.Header
	status       int
}

// Header implements http.ResponseWriter.
func (w *recorder) Header() http.Header { return w.header }

// WriteHeader implements http.ResponseWriter; only the first call counts.
func (w *recorder) WriteHeader(code int) {
	if w.status == 0 {
		w.status, w.sent = code, w.header.Clone()
	}
}

// Write implements http.ResponseWriter, dropping the bytes.
func (w *recorder) Write(b []byte) (int, error) {
	w.WriteHeader(http.StatusOK)
	return len(b), nil
}
