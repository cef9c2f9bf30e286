package sqsqueue_test

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"bubble-twilio-voice/shared/queue"
	"bubble-twilio-voice/shared/queue/sqsqueue"
)

// FuzzHandler feeds arbitrary events, decoded into events.SQSEvent as the
// Lambda runtime decodes them, to the SQS adapter, with a consumer that
// answers each record by its body: "done", "dead", or "retry <seconds>"
// (anything else is a retry with the queue's default delay). The adapter
// must never panic; it refuses what is not an SQS event, or else hands the
// consumer every record once, body byte for byte, with a receive count of
// at least 1; its response names exactly the message ids of the records to
// retry (so every record is either done or reported); and it delays a
// record's retry by the consumer's RetryAfter when that is positive, and
// only then.
func FuzzHandler(f *testing.F) {
	raw, err := os.ReadFile(filepath.Join("testdata", "sqs-batch.json"))
	if err != nil {
		f.Fatal(err)
	}
	f.Add(raw)
	for _, s := range []string{
		`{"Records":[{"messageId":"m1","receiptHandle":"r1","body":"done","eventSource":"aws:sqs","attributes":{"ApproximateReceiveCount":"3","SentTimestamp":"1794582540123"}}]}`,
		`{"Records":[{"messageId":"m1","receiptHandle":"r1","body":"retry 60"},{"messageId":"m1","receiptHandle":"r2","body":"retry 60"},{"messageId":"","body":"dead"}]}`,
		`{"Records":[{"messageId":"m1","receiptHandle":"r1","body":"retry 99999999999","messageAttributes":{"reason":{"stringValue":"x\ny","dataType":"String"}}}]}`,
		`{"Records":[{"messageId":"m1","body":"retry -5"},{"messageId":"m2","body":"retry +7"},{"messageId":"m3","body":"done "},{"messageId":"m4","body":"dead"}]}`,
		`{"Records":[{"messageId":"m1","body":"done","attributes":{"ApproximateReceiveCount":"-2","SentTimestamp":"x"}}]}`,
		`{"Records":[null,{}]}`,
		`{"Records":[]}`,
		`{"Records":null}`,
		`{"records":[{"MESSAGEID":"m1","Body":"retry 1"}]}`,
		`{"Records":[{"messageId":"m1","body":"done","eventSource":"aws:kinesis"}]}`,
		`{"version":"2.0","rawPath":"/voice","requestContext":{"http":{"method":"POST"}}}`,
	} {
		f.Add([]byte(s))
	}

	f.Fuzz(func(t *testing.T, raw []byte) {
		var ev events.SQSEvent
		if json.Unmarshal(raw, &ev) != nil {
			return // the runtime refuses it before the handler runs
		}
		c := &recorder{}
		vis := &visibility{}
		resp, err := sqsqueue.Handler(c.consume, vis, nil)(context.Background(), ev)

		// The test's own reading of the event.
		var own struct {
			Records *[]*struct {
				MessageID     string            `json:"messageId"`
				ReceiptHandle string            `json:"receiptHandle"`
				Body          string            `json:"body"`
				EventSource   string            `json:"eventSource"`
				Attributes    map[string]string `json:"attributes"`
			} `json:"Records"`
		}
		if json.Unmarshal(raw, &own) != nil {
			t.Fatalf("%q decodes as an SQSEvent but not as the test's own shape", raw)
		}
		notSQS := own.Records == nil
		if !notSQS {
			for _, rec := range *own.Records {
				if rec != nil && rec.EventSource != "" && rec.EventSource != "aws:sqs" {
					notSQS = true
				}
			}
		}
		if notSQS != (err != nil) {
			t.Fatalf("refused=%v (%v) for %q", err != nil, err, raw)
		}
		if err != nil {
			if len(c.calls) != 0 || resp.BatchItemFailures != nil {
				t.Fatalf("refused event reached the consumer %d times, response %+v", len(c.calls), resp)
			}
			return
		}
		records := *own.Records

		// Every record reached the consumer once, as it was.
		if len(c.calls) != len(records) {
			t.Fatalf("%d records, %d consumer calls", len(records), len(c.calls))
		}
		var wantFailed []string
		wantDelays := map[string][]time.Duration{}
		seen := slices.Clone(c.calls)
		for i, rec := range records {
			if rec == nil {
				rec = &struct {
					MessageID     string            `json:"messageId"`
					ReceiptHandle string            `json:"receiptHandle"`
					Body          string            `json:"body"`
					EventSource   string            `json:"eventSource"`
					Attributes    map[string]string `json:"attributes"`
				}{}
			}
			// The receive count is ApproximateReceiveCount when that is a
			// positive whole number, else 1 (the first receive).
			receives := 1
			if n, err := strconv.Atoi(rec.Attributes["ApproximateReceiveCount"]); err == nil && n > 0 {
				receives = n
			}
			// Records may share id and body (SQS never sends that, but the
			// adapter must cope), and run in any order: match on all three.
			j := slices.IndexFunc(seen, func(d queue.Delivery) bool {
				return d.MessageID == rec.MessageID && string(d.Body) == rec.Body && d.ReceiveCount == receives
			})
			if j < 0 {
				t.Fatalf("record %d (id %q, body %q, receive count %d) never reached the consumer as it was; calls %+v",
					i, rec.MessageID, rec.Body, receives, c.calls)
			}
			seen = slices.Delete(seen, j, j+1)
			res := answer(rec.Body)
			if res.Done() {
				continue
			}
			wantFailed = append(wantFailed, rec.MessageID)
			if res.RetryAfter > 0 {
				wantDelays[rec.ReceiptHandle] = append(wantDelays[rec.ReceiptHandle], res.RetryAfter)
			}
		}

		// The partial batch response names exactly the records to retry.
		var gotFailed []string
		for _, f := range resp.BatchItemFailures {
			gotFailed = append(gotFailed, f.ItemIdentifier)
		}
		slices.Sort(gotFailed)
		slices.Sort(wantFailed)
		if !slices.Equal(gotFailed, wantFailed) {
			t.Fatalf("batch item failures %q, want %q", gotFailed, wantFailed)
		}

		// Retries are delayed by the consumer's RetryAfter only.
		for handle, got := range vis.calls {
			want := wantDelays[handle]
			slices.Sort(got)
			slices.Sort(want)
			if !slices.Equal(got, want) {
				t.Fatalf("ChangeVisibility(%q) with %v, want %v", handle, got, want)
			}
			delete(wantDelays, handle)
		}
		if len(wantDelays) != 0 {
			t.Fatalf("retries not delayed: %v", wantDelays)
		}
	})
}

// answer is the fuzz consumer's rule, written from the body alone.
func answer(body string) queue.Result {
	switch {
	case body == "done":
		return queue.Result{Kind: queue.Delivered}
	case body == "dead":
		return queue.Result{Kind: queue.DeadLettered}
	}
	if s, ok := strings.CutPrefix(body, "retry "); ok {
		if n, err := strconv.ParseInt(s, 10, 32); err == nil {
			return queue.Result{Kind: queue.Retry, RetryAfter: time.Duration(n) * time.Second}
		}
	}
	return queue.Result{Kind: queue.Retry}
}

// recorder is a consumer that keeps each delivery and answers by body.
type recorder struct {
	mu    sync.Mutex
	calls []queue.Delivery
}

func (r *recorder) consume(_ context.Context, d queue.Delivery) queue.Result {
	r.mu.Lock()
	r.calls = append(r.calls, d)
	r.mu.Unlock()
	return answer(string(d.Body))
}
