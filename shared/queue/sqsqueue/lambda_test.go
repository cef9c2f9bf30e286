package sqsqueue_test

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"bubble-twilio-voice/shared/queue"
	"bubble-twilio-voice/shared/queue/sqsqueue"
	"bubble-twilio-voice/test/kit"
)

// visibility records ChangeVisibility calls by receipt handle; fail makes
// them fail.
type visibility struct {
	mu    sync.Mutex
	calls map[string][]time.Duration
	fail  bool
}

func (v *visibility) ChangeVisibility(_ context.Context, handle string, d time.Duration) error {
	v.mu.Lock()
	defer v.mu.Unlock()
	if v.calls == nil {
		v.calls = map[string][]time.Duration{}
	}
	v.calls[handle] = append(v.calls[handle], d)
	if v.fail {
		return errors.New("sqs down")
	}
	return nil
}

// byBody is a consumer that answers by body: deliver -> delivered,
// dead -> dead-lettered, retry-later -> retry after 15 s times the receive
// count, anything else -> retry with the queue's default delay. It keeps
// what it was handed.
type byBody struct {
	mu   sync.Mutex
	seen map[string]queue.Delivery
}

func (b *byBody) consume(_ context.Context, d queue.Delivery) queue.Result {
	b.mu.Lock()
	if b.seen == nil {
		b.seen = map[string]queue.Delivery{}
	}
	b.seen[string(d.Body)] = d
	b.mu.Unlock()
	switch string(d.Body) {
	case "deliver":
		return queue.Result{Kind: queue.Delivered}
	case "dead":
		return queue.Result{Kind: queue.DeadLettered, Reason: "app answered 404"}
	case "retry-later":
		return queue.Result{Kind: queue.Retry, RetryAfter: time.Duration(15*d.ReceiveCount) * time.Second}
	default:
		return queue.Result{Kind: queue.Retry}
	}
}

// decode reads a Lambda event as the runtime does before calling the
// handler: into aws-lambda-go's type.
func decode(t testing.TB, raw []byte) events.SQSEvent {
	t.Helper()
	var ev events.SQSEvent
	if err := json.Unmarshal(raw, &ev); err != nil {
		t.Fatal(err)
	}
	return ev
}

func TestHandler(t *testing.T) {
	raw, err := os.ReadFile(filepath.Join("testdata", "sqs-batch.json"))
	if err != nil {
		t.Fatal(err)
	}
	for _, failVis := range []bool{false, true} {
		t.Run("visibility fails="+strconv.FormatBool(failVis), func(t *testing.T) {
			c := &byBody{}
			vis := &visibility{fail: failVis}
			resp, err := sqsqueue.Handler(c.consume, vis, nil)(context.Background(), decode(t, raw))
			if err != nil {
				t.Fatal(err)
			}
			var ids []string
			for _, f := range resp.BatchItemFailures {
				ids = append(ids, f.ItemIdentifier)
			}
			sort.Strings(ids)
			want := []string{"0a1b2c3d-0002-4e5f-8a9b-000000000002", "0a1b2c3d-0003-4e5f-8a9b-000000000003"}
			if !slices.Equal(ids, want) {
				t.Errorf("batch item failures %v, want %v", ids, want)
			}
			// Only the retry with a delay is delayed: 15 s x 4 receives.
			if len(vis.calls) != 1 || !slices.Equal(vis.calls["AQEBwJnKyrHigUMZj6rYigCgxlaS3SLy0a-receipt-2"], []time.Duration{time.Minute}) {
				t.Errorf("ChangeVisibility calls %v", vis.calls)
			}
			d := c.seen["retry-later"]
			if d.MessageID != "0a1b2c3d-0002-4e5f-8a9b-000000000002" || d.ReceiveCount != 4 || !d.SentAt.Equal(time.UnixMilli(1794582000000)) {
				t.Errorf("consumer saw %+v", d)
			}
		})
	}
}

// TestHandlerDone: delivered and dead-lettered records are both done, and
// the response is an empty list, not null.
func TestHandlerDone(t *testing.T) {
	raw := `{"Records":[{"messageId":"m1","receiptHandle":"r1","body":"deliver","eventSource":"aws:sqs","attributes":{}},
		{"messageId":"m2","receiptHandle":"r2","body":"dead","eventSource":"aws:sqs"}]}`
	resp, err := sqsqueue.Handler((&byBody{}).consume, nil, nil)(context.Background(), decode(t, []byte(raw)))
	if err != nil {
		t.Fatal(err)
	}
	if out, _ := json.Marshal(resp); string(out) != `{"batchItemFailures":[]}` {
		t.Errorf("response %s", out)
	}
}

func TestHandlerRefuses(t *testing.T) {
	for name, raw := range map[string]string{
		"another source": `{"Records":[{"messageId":"m1","body":"x","eventSource":"aws:kinesis"}]}`,
		"API Gateway":    `{"version":"2.0","rawPath":"/voice","requestContext":{"http":{"method":"POST"}}}`,
	} {
		t.Run(name, func(t *testing.T) {
			c := &byBody{}
			if _, err := sqsqueue.Handler(c.consume, nil, nil)(context.Background(), decode(t, []byte(raw))); err == nil {
				t.Error("no error")
			}
			if len(c.seen) != 0 {
				t.Errorf("consumer got %v", c.seen)
			}
		})
	}
}

// TestHandlerDeadline: the records of a batch run at the same time, each
// with a deadline before the invocation's; a record whose consume honours
// it is retried with its delay, and one whose consume never returns is
// reported as a failure when the batch is answered, before the invocation
// would time out. Fast records are not held back by slow ones.
func TestHandlerDeadline(t *testing.T) {
	raw := `{"Records":[{"messageId":"fast","receiptHandle":"r1","body":"fast","eventSource":"aws:sqs"},
		{"messageId":"slow","receiptHandle":"r2","body":"slow","eventSource":"aws:sqs"},
		{"messageId":"stuck","receiptHandle":"r3","body":"stuck","eventSource":"aws:sqs"}]}`
	stuck := make(chan struct{})
	defer close(stuck)
	var mu sync.Mutex
	var deadlines []time.Time
	consume := func(ctx context.Context, d queue.Delivery) queue.Result {
		dl, _ := ctx.Deadline()
		mu.Lock()
		deadlines = append(deadlines, dl)
		mu.Unlock()
		switch string(d.Body) {
		case "fast":
			return queue.Result{Kind: queue.Delivered}
		case "slow": // a download cut at the message's deadline
			<-ctx.Done()
			return queue.Result{Kind: queue.Retry, RetryAfter: 3 * time.Second, Reason: "out of time"}
		default: // ignores its context
			<-stuck
			return queue.Result{Kind: queue.Delivered}
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	invocationEnd, _ := ctx.Deadline()
	vis := &visibility{}
	logs := &kit.LogBuffer{}
	resp, err := sqsqueue.Handler(consume, vis, slog.New(slog.NewJSONHandler(logs, nil)))(ctx, decode(t, []byte(raw)))
	if err != nil {
		t.Fatal(err)
	}
	if time.Now().After(invocationEnd) {
		t.Errorf("the batch was answered %v after the invocation's deadline", time.Since(invocationEnd))
	}
	var ids []string
	for _, f := range resp.BatchItemFailures {
		ids = append(ids, f.ItemIdentifier)
	}
	sort.Strings(ids)
	if !slices.Equal(ids, []string{"slow", "stuck"}) {
		t.Errorf("batch item failures %v, want slow and stuck", ids)
	}
	if !slices.Equal(vis.calls["r2"], []time.Duration{3 * time.Second}) {
		t.Errorf("the cut record's delay: %v", vis.calls)
	}
	mu.Lock()
	for _, dl := range deadlines {
		if !dl.Before(invocationEnd) || dl.Before(invocationEnd.Add(-200*time.Millisecond)) {
			t.Errorf("a record's deadline %v, want within the last tenth before the invocation's %v", dl, invocationEnd)
		}
	}
	mu.Unlock()
	if !strings.Contains(logs.String(), `"msg":"message out of time; left for a retry","message_id":"stuck"`) {
		t.Errorf("the stuck record is not logged:\n%s", logs)
	}
}
