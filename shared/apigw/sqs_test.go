package apigw_test

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"bubble-twilio-voice/shared/apigw"
	"bubble-twilio-voice/shared/queue"
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

// bodyHandler answers by body: deliver -> 204, retry-later -> 503 with a
// Retry-After of 15 s times the receive count, crash -> 500.
type bodyHandler struct {
	mu   sync.Mutex
	seen map[string]queue.Delivery
}

func (b *bodyHandler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	d := queue.ReadDelivery(r)
	d.Body = body
	d.Attributes = map[string]string{"reason": r.Header.Get(queue.HeaderAttributePrefix + "Reason")}
	b.mu.Lock()
	if b.seen == nil {
		b.seen = map[string]queue.Delivery{}
	}
	b.seen[string(body)] = d
	b.mu.Unlock()
	if r.URL.Path != "/internal/deliver" || r.Method != http.MethodPost {
		w.WriteHeader(404)
		return
	}
	switch string(body) {
	case "deliver":
		w.WriteHeader(204)
	case "retry-later":
		w.Header().Set("Retry-After", strconv.Itoa(15*d.ReceiveCount))
		w.WriteHeader(503)
	default:
		w.WriteHeader(500)
	}
}

func TestSQSHandler(t *testing.T) {
	raw, err := os.ReadFile(filepath.Join("testdata", "sqs-batch.json"))
	if err != nil {
		t.Fatal(err)
	}
	for _, failVis := range []bool{false, true} {
		t.Run("visibility fails="+strconv.FormatBool(failVis), func(t *testing.T) {
			h := &bodyHandler{}
			vis := &visibility{fail: failVis}
			out, err := apigw.SQSHandler(h, "/internal/deliver", vis, nil)(context.Background(), raw)
			if err != nil {
				t.Fatal(err)
			}
			// The response decodes as aws-lambda-go's own type.
			var resp events.SQSEventResponse
			if err := json.Unmarshal(out, &resp); err != nil {
				t.Fatal(err)
			}
			var ids []string
			for _, f := range resp.BatchItemFailures {
				ids = append(ids, f.ItemIdentifier)
			}
			sort.Strings(ids)
			want := []string{"0a1b2c3d-0002-4e5f-8a9b-000000000002", "0a1b2c3d-0003-4e5f-8a9b-000000000003"}
			if len(ids) != 2 || ids[0] != want[0] || ids[1] != want[1] {
				t.Errorf("batch item failures %v, want %v", ids, want)
			}
			// Only the message with a Retry-After is delayed: 15 s x 4 receives.
			if len(vis.calls) != 1 || !slices.Equal(vis.calls["AQEBwJnKyrHigUMZj6rYigCgxlaS3SLy0a-receipt-2"], []time.Duration{time.Minute}) {
				t.Errorf("ChangeVisibility calls %v", vis.calls)
			}
			d := h.seen["retry-later"]
			if d.MessageID != "0a1b2c3d-0002-4e5f-8a9b-000000000002" || d.ReceiveCount != 4 ||
				!d.SentAt.Equal(time.UnixMilli(1794582000000)) || d.Attributes["reason"] != "app answered 503" {
				t.Errorf("handler saw %+v", d)
			}
		})
	}
}

func TestSQSHandlerAllDone(t *testing.T) {
	raw := `{"Records":[{"messageId":"m1","receiptHandle":"r1","body":"deliver","eventSource":"aws:sqs","attributes":{}}]}`
	out, err := apigw.SQSHandler(&bodyHandler{}, "/internal/deliver", nil, nil)(context.Background(), json.RawMessage(raw))
	if err != nil {
		t.Fatal(err)
	}
	if string(out) != `{"batchItemFailures":[]}` {
		t.Errorf("response %s", out)
	}
}

func TestSQSHandlerRefuses(t *testing.T) {
	for name, raw := range map[string]string{
		"not JSON":       `{`,
		"another source": `{"Records":[{"messageId":"m1","body":"x","eventSource":"aws:kinesis"}]}`,
		"API Gateway":    `{"version":"2.0","rawPath":"/voice","requestContext":{"http":{"method":"POST"}}}`,
	} {
		t.Run(name, func(t *testing.T) {
			if _, err := apigw.SQSHandler(&bodyHandler{}, "/d", nil, nil)(context.Background(), json.RawMessage(raw)); err == nil {
				t.Error("no error")
			}
		})
	}
}

// TestSQSEventShape: the recorded batch decodes with aws-lambda-go's types
// to the values the adapter hands the handler.
func TestSQSEventShape(t *testing.T) {
	raw, _ := os.ReadFile(filepath.Join("testdata", "sqs-batch.json"))
	var ev events.SQSEvent
	if err := json.Unmarshal(raw, &ev); err != nil || len(ev.Records) != 3 || ev.Records[1].Attributes["ApproximateReceiveCount"] != "4" {
		t.Fatalf("%v %+v", err, ev)
	}
}
