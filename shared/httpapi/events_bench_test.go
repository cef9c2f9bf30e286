package httpapi_test

import (
	"context"
	"io"
	"net/http"
	"sync/atomic"
	"testing"

	"bubble-twilio-voice/shared/httpapi"
	"bubble-twilio-voice/shared/logging"
	"bubble-twilio-voice/shared/metrics"
	"bubble-twilio-voice/shared/queue"
	"bubble-twilio-voice/shared/queue/sqsqueue"
	"bubble-twilio-voice/shared/tenant"
	fakesqs "bubble-twilio-voice/test/fake/sqs"
	"bubble-twilio-voice/test/kit"
)

// benchCallStatus serves one signed call status callback over and over
// through the events function's handler (signature, tenant from a memory
// store, event built, JSON encoded, handed to q, logs and a metric to
// io.Discard) and checks each was queued.
func benchCallStatus(b *testing.B, q queue.Sender, sent func() int64) {
	tn := eventTenant(b, evAccount, evAuthToken, `{"url":"https://myapp.bubbleapps.io/api/1.1/wf/call-event"}`)
	h := httpapi.Events(httpapi.Deps{
		Store:         tenant.NewMemoryStore(tn),
		PublicBaseURL: publicBase,
		Log:           logging.New(io.Discard, "info"),
		Metrics:       metrics.New(io.Discard, "bench", fixedNow),
		Now:           fixedNow,
		Events:        httpapi.EventDeps{Queue: q},
	})
	form := statusForm(evAccount, "From", "client:alice", "To", "+14155550123", "CallStatus", "completed", "CallDuration", "42",
		"Timestamp", "Fri, 13 Nov 2026 15:08:59 +0000", "CallbackSource", "call-progress-events", "SequenceNumber", "0")
	w, serve := signedRepeater(b, h, httpapi.PathCallStatus, form, tn.AuthToken)
	serve()
	if w.status != http.StatusNoContent || sent() != 1 {
		b.Fatalf("status %d, %d queued", w.status, sent())
	}
	b.ReportAllocs()
	for b.Loop() {
		serve()
	}
	if n := sent(); n != int64(b.N)+1 && b.N > 0 && n < 2 {
		b.Fatalf("%d queued", n)
	}
}

// BenchmarkCallStatusToQueued is a call status callback from its arrival to
// its event handed to the queue, in process: the events function's warm
// path minus the SQS round trip.
func BenchmarkCallStatusToQueued(b *testing.B) {
	var n atomic.Int64
	benchCallStatus(b, queue.SenderFunc(func(context.Context, queue.Message) error { n.Add(1); return nil }), n.Load)
}

// BenchmarkCallStatusToQueuedSQS is the same with the functions' SQS sender
// sending to the fake SQS on loopback: what the request building, signing
// and the HTTP round trip add.
func BenchmarkCallStatusToQueuedSQS(b *testing.B) {
	fake := fakesqs.Start(b)
	q, err := sqsqueue.Open(kit.Getenv("AWS_ENDPOINT_URL_SQS", fake.URL()), fake.CreateQueue("events", 0))
	if err != nil {
		b.Fatal(err)
	}
	benchCallStatus(b, q, func() int64 { return int64(fake.Calls("SendMessage")) })
}
