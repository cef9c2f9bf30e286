package apigw_test

import (
	"context"
	"encoding/json"
	"io"
	"math/big"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"bubble-twilio-voice/shared/apigw"
	"bubble-twilio-voice/shared/queue"
)

// FuzzSQSHandler feeds arbitrary events to the queue event adapter, with a
// fake handler that answers each record by its body: "<status>" or
// "<status> <Retry-After>" (anything else is 500). The adapter must never
// panic; it refuses what is not an SQS event, or else hands the handler
// every record once, body byte for byte, as a POST to the path with a
// receive count of at least 1; its response is the partial batch response
// naming exactly the message ids of the records the handler did not answer
// 2xx (so every record is either done or reported); and it delays a
// record's retry only for a positive Retry-After of whole seconds, by that
// long, capped at SQS's longest visibility timeout.
func FuzzSQSHandler(f *testing.F) {
	raw, err := os.ReadFile(filepath.Join("testdata", "sqs-batch.json"))
	if err != nil {
		f.Fatal(err)
	}
	f.Add(raw)
	for _, s := range []string{
		`{"Records":[{"messageId":"m1","receiptHandle":"r1","body":"204","eventSource":"aws:sqs","attributes":{"ApproximateReceiveCount":"3","SentTimestamp":"1794582540123"}}]}`,
		`{"Records":[{"messageId":"m1","receiptHandle":"r1","body":"503 60"},{"messageId":"m1","receiptHandle":"r2","body":"503 60"},{"messageId":"","body":"200"}]}`,
		`{"Records":[{"messageId":"m1","receiptHandle":"r1","body":"429 99999999999","messageAttributes":{"reason":{"stringValue":"x\ny","dataType":"String"},"n":{"dataType":"Number"}}}]}`,
		`{"Records":[{"messageId":"m1","body":"503 -5"},{"messageId":"m2","body":"503 +7"},{"messageId":"m3","body":"302"},{"messageId":"m4","body":"299"}]}`,
		`{"Records":[null,{}]}`,
		`{"Records":[]}`,
		`{"Records":null}`,
		`{"records":[{"MESSAGEID":"m1","Body":"500"}]}`,
		`{"Records":[{"messageId":"m1","body":"200","eventSource":"aws:kinesis"}]}`,
		`{"version":"2.0","rawPath":"/voice","requestContext":{"http":{"method":"POST"}}}`,
		`[]`, `null`, `{`,
	} {
		f.Add([]byte(s))
	}

	f.Fuzz(func(t *testing.T, raw []byte) {
		h := &answerByBody{}
		vis := &visibility{}
		out, err := apigw.SQSHandler(h, "/internal/deliver", vis, nil)(context.Background(), raw)

		// The test's own reading of the event.
		var ev struct {
			Records *[]*struct {
				MessageID     string            `json:"messageId"`
				ReceiptHandle string            `json:"receiptHandle"`
				Body          string            `json:"body"`
				EventSource   string            `json:"eventSource"`
				Attributes    map[string]string `json:"attributes"`
			} `json:"Records"`
		}
		if err != nil {
			if out != nil {
				t.Fatalf("error %v with a response %s", err, out)
			}
			if len(h.calls) != 0 {
				t.Fatalf("refused event %q reached the handler %d times", raw, len(h.calls))
			}
			return
		}
		if json.Unmarshal(raw, &ev) != nil || ev.Records == nil {
			t.Fatalf("accepted %q, which is not an SQS event", raw)
		}
		records := *ev.Records
		for i, rec := range records {
			if rec != nil && rec.EventSource != "" && rec.EventSource != "aws:sqs" {
				t.Fatalf("accepted record %d from %q", i, rec.EventSource)
			}
		}

		// Every record reached the handler once, as it was.
		if len(h.calls) != len(records) {
			t.Fatalf("%d records, %d handler calls", len(records), len(h.calls))
		}
		var wantFailed []string
		wantDelays := map[string][]time.Duration{}
		seen := slices.Clone(h.calls)
		for i, rec := range records {
			if rec == nil {
				records[i] = &struct {
					MessageID     string            `json:"messageId"`
					ReceiptHandle string            `json:"receiptHandle"`
					Body          string            `json:"body"`
					EventSource   string            `json:"eventSource"`
					Attributes    map[string]string `json:"attributes"`
				}{}
				rec = records[i]
			}
			// The receive count is ApproximateReceiveCount when that is a
			// positive whole number, else 1 (the first receive).
			receives := int64(1)
			if n, ok := positive(rec.Attributes["ApproximateReceiveCount"]); ok {
				receives = n
			}
			// Records may share id and body (SQS never sends that, but the
			// adapter must cope), and run in any order: match on all three.
			j := slices.IndexFunc(seen, func(c call) bool {
				return c.messageID == rec.MessageID && c.body == rec.Body && int64(c.receiveCount) == receives
			})
			if j < 0 {
				t.Fatalf("record %d (id %q, body %q, receive count %d) never reached the handler as it was; calls %+v",
					i, rec.MessageID, rec.Body, receives, h.calls)
			}
			c := seen[j]
			seen = slices.Delete(seen, j, j+1)
			if c.method != http.MethodPost || c.path != "/internal/deliver" {
				t.Fatalf("record %d dispatched as %+v", i, c)
			}
			status, retry := answer(rec.Body)
			if status >= 200 && status < 300 {
				continue
			}
			wantFailed = append(wantFailed, rec.MessageID)
			if n, ok := positive(retry); ok {
				d := maxVisibility
				if n < int64(maxVisibility/time.Second) {
					d = time.Duration(n) * time.Second
				}
				wantDelays[rec.ReceiptHandle] = append(wantDelays[rec.ReceiptHandle], d)
			}
		}

		// The partial batch response names exactly the failed records.
		var resp struct {
			BatchItemFailures *[]struct {
				ItemIdentifier *string `json:"itemIdentifier"`
			} `json:"batchItemFailures"`
		}
		if err := json.Unmarshal(out, &resp); err != nil || resp.BatchItemFailures == nil {
			t.Fatalf("response %s is not a partial batch response: %v", out, err)
		}
		var gotFailed []string
		for _, f := range *resp.BatchItemFailures {
			if f.ItemIdentifier == nil {
				t.Fatalf("batch item failure without itemIdentifier: %s", out)
			}
			gotFailed = append(gotFailed, *f.ItemIdentifier)
		}
		slices.Sort(gotFailed)
		slices.Sort(wantFailed)
		if !slices.Equal(gotFailed, wantFailed) {
			t.Fatalf("batch item failures %q, want %q", gotFailed, wantFailed)
		}

		// Retries are delayed by the handler's Retry-After only.
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

// maxVisibility is SQS's longest visibility timeout (12 hours).
const maxVisibility = 12 * time.Hour

var digits = regexp.MustCompile(`^\+?[0-9]+$`)

// positive reads s as a positive whole number, as strconv.Atoi would accept
// it, with math/big so that a number too large for int is not one.
func positive(s string) (int64, bool) {
	if !digits.MatchString(s) {
		return 0, false
	}
	n, ok := new(big.Int).SetString(strings.TrimPrefix(s, "+"), 10)
	if !ok || !n.IsInt64() || n.Sign() <= 0 {
		return 0, false
	}
	return n.Int64(), true
}

// answer is the fake handler's rule: a body "<status>[ <retry-after>]" with
// a status 200..599 answers it; anything else is 500.
func answer(body string) (status int, retryAfter string) {
	code, rest, _ := strings.Cut(body, " ")
	if len(code) == 3 && code[0] >= '2' && code[0] <= '5' && code[1] >= '0' && code[1] <= '9' && code[2] >= '0' && code[2] <= '9' {
		return int(code[0]-'0')*100 + int(code[1]-'0')*10 + int(code[2]-'0'), rest
	}
	return 500, ""
}

type call struct {
	method, path, messageID, body string
	receiveCount                  int
}

// answerByBody records each request and answers by its body (answer).
type answerByBody struct {
	mu    sync.Mutex
	calls []call
}

func (a *answerByBody) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	d := queue.ReadDelivery(r)
	a.mu.Lock()
	a.calls = append(a.calls, call{r.Method, r.URL.Path, d.MessageID, string(body), d.ReceiveCount})
	a.mu.Unlock()
	status, retry := answer(string(body))
	if retry != "" {
		w.Header().Set("Retry-After", retry)
	}
	w.WriteHeader(status)
}
