package lambda

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	sqstypes "github.com/aws/aws-sdk-go-v2/service/sqs/types"
	"github.com/johannesboyne/gofakes3"
	"github.com/johannesboyne/gofakes3/backend/s3mem"

	"bubble-twilio-voice/shared/events"
	"bubble-twilio-voice/shared/recordings"
	fakesm "bubble-twilio-voice/test/fake/secretsmanager"
	fakesqs "bubble-twilio-voice/test/fake/sqs"
)

// What the call-event functions need besides Secrets Manager, all on
// loopback: SQS (the fake speaking the JSON protocol), S3 (gofakes3),
// Twilio's media host (basic auth) and the tenant's app.
const (
	eventsQueue   = "bubble-twilio-voice-events"
	deadLetters   = "bubble-twilio-voice-events-dlq"
	bucket        = "bubble-twilio-voice-recordings"
	linkKeyName   = "bubble-twilio-voice/link-key"
	linkKeyValue  = "e2eLinkKey0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJ0123"
	eventsBearer  = "e2e-bubble-api-token-0123456789"
	eventsSigning = "e2e-signing-secret-0123456789"
	recordingSID  = "REe2e0c0ffee0123456789abcdef012345"
	callSID       = "CAe2e0c0ffee0123456789abcdef012345" // callForm's
)

// mp3 is the recording Twilio's media host serves.
var mp3 = append([]byte("ID3\x04\x00"), bytes.Repeat([]byte{0xff, 0xf3, 0x10, 0x20}, 600)...)

// world is one set of those fakes, for one function's emulator.
type world struct {
	sm      *fakesm.Server
	sqs     *fakesqs.Server
	s3      *httptest.Server
	twilio  *httptest.Server
	app     *httptest.Server
	sqsAPI  *sqs.Client
	appMu   sync.Mutex
	appGot  [][]byte
	appCode int
	media   int // requests to the media host
}

func startWorld(t *testing.T, sm *fakesm.Server) *world {
	t.Helper()
	w := &world{sm: sm, sqs: fakesqs.Start(t), appCode: 200}
	w.sqs.CreateQueue(eventsQueue, 540*time.Second)
	w.sqs.CreateQueue(deadLetters, 0)
	backend := s3mem.New()
	if err := backend.CreateBucket(bucket); err != nil {
		t.Fatal(err)
	}
	w.s3 = httptest.NewServer(gofakes3.New(backend).Server())
	t.Cleanup(w.s3.Close)
	w.twilio = httptest.NewServer(http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) {
		w.appMu.Lock()
		w.media++
		w.appMu.Unlock()
		if u, p, ok := r.BasicAuth(); !ok || u != apiKeySID || p != apiKeySecret {
			rw.WriteHeader(401)
			return
		}
		rw.Header().Set("Content-Type", "audio/mpeg")
		_, _ = rw.Write(mp3)
	}))
	t.Cleanup(w.twilio.Close)
	w.app = httptest.NewServer(http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		w.appMu.Lock()
		w.appGot = append(w.appGot, b)
		code := w.appCode
		w.appMu.Unlock()
		rw.WriteHeader(code)
	}))
	t.Cleanup(w.app.Close)
	sm.Put(linkKeyName, linkKeyValue)
	sm.Put(secretPrefix+accountSID, w.tenantRecord())
	w.sqsAPI = w.sqs.SDKClient(t) // receives, as Lambda's event source mapping does
	return w
}

// tenantRecord is tenantSecret with events to the world's app: every type
// but voicemail.recorded, so the no-answer TwiML the incoming tests expect
// is unchanged.
func (w *world) tenantRecord() string {
	return strings.TrimSuffix(strings.TrimSpace(tenantSecret), "}") + `,
  "events": {"url": "` + w.app.URL + `/api/1.1/wf/call-event", "bearer_token": "` + eventsBearer + `",
    "signing_secret": "` + eventsSigning + `", "types": ["call.completed", "call.missed", "call.recorded"]}
}`
}

// env is what template.yaml gives fn for call events, pointed at the
// world (only the deliver function gets PUBLIC_BASE_URL: the others check
// signatures against the URL as called).
func (w *world) env(fn string) []string {
	common := []string{"AWS_ENDPOINT_URL_SQS=" + w.sqs.URL(), "AWS_ENDPOINT_URL_S3=" + w.s3.URL, "TWILIO_API_BASE_URL=" + w.twilio.URL}
	switch fn {
	case "incoming":
		return append(common, "EVENTS_QUEUE_URL="+w.sqs.QueueURL(eventsQueue))
	case "events":
		return append(common, "EVENTS_QUEUE_URL="+w.sqs.QueueURL(eventsQueue), "RECORDINGS_BUCKET="+bucket,
			"LINK_KEY_SECRET_ARN="+linkKeyName, "RECORDING_RETENTION_DAYS=30")
	case "deliver":
		return append(common, "EVENTS_QUEUE_URL="+w.sqs.QueueURL(eventsQueue), "EVENTS_DLQ_URL="+w.sqs.QueueURL(deadLetters),
			"RECORDINGS_BUCKET="+bucket, "LINK_KEY_SECRET_ARN="+linkKeyName, "RECORDING_RETENTION_DAYS=30",
			"PUBLIC_BASE_URL=https://"+domainName)
	}
	return nil
}

// mediaRequests is how many requests Twilio's media host got.
func (w *world) mediaRequests() int {
	w.appMu.Lock()
	defer w.appMu.Unlock()
	return w.media
}

// secrets are the world's values that must never reach a function's output.
func (w *world) secrets() []string { return []string{eventsBearer, eventsSigning, linkKeyValue} }

// queued returns the bodies on queue name, decoded.
func (w *world) queued(t *testing.T, name string) []events.Queued {
	t.Helper()
	var out []events.Queued
	for _, m := range w.sqs.Messages(name) {
		msg, err := events.DecodeQueued([]byte(m.Body))
		if err != nil {
			t.Fatalf("%s holds %s: %v", name, m.Body, err)
		}
		out = append(out, msg)
	}
	return out
}

func (w *world) appEvents(t *testing.T) []events.Event {
	t.Helper()
	w.appMu.Lock()
	defer w.appMu.Unlock()
	var out []events.Event
	for _, b := range w.appGot {
		var e events.Event
		if err := json.Unmarshal(b, &e); err != nil {
			t.Fatalf("app got %s: %v", b, err)
		}
		out = append(out, e)
	}
	return out
}

// sqsEvent puts body on the events queue, receives it with the SDK as
// Lambda's poller would, and returns the Lambda SQS event of that receipt
// (so the function's ChangeMessageVisibility uses a real receipt handle).
func (w *world) sqsEvent(t testing.TB, bodies ...string) map[string]any {
	t.Helper()
	for _, b := range bodies {
		w.sqs.Put(eventsQueue, b, nil)
	}
	out, err := w.sqsAPI.ReceiveMessage(context.Background(), &sqs.ReceiveMessageInput{
		QueueUrl: aws.String(w.sqs.QueueURL(eventsQueue)), MaxNumberOfMessages: 10,
		MessageSystemAttributeNames: []sqstypes.MessageSystemAttributeName{sqstypes.MessageSystemAttributeNameAll},
	})
	if err != nil || len(out.Messages) != len(bodies) {
		t.Fatalf("receive: %v (%d messages)", err, len(out.Messages))
	}
	var records []any
	for _, m := range out.Messages {
		records = append(records, map[string]any{
			"messageId":         aws.ToString(m.MessageId),
			"receiptHandle":     aws.ToString(m.ReceiptHandle),
			"body":              aws.ToString(m.Body),
			"attributes":        m.Attributes,
			"messageAttributes": map[string]any{},
			"md5OfBody":         aws.ToString(m.MD5OfBody),
			"eventSource":       "aws:sqs",
			"eventSourceARN":    "arn:aws:sqs:us-east-1:123456789012:" + eventsQueue,
			"awsRegion":         "us-east-1",
		})
	}
	return map[string]any{"Records": records}
}

// link signs a recording link as the deployment's link key does.
func link(t testing.TB, rec string, expires time.Time) string {
	t.Helper()
	l, err := recordings.NewLinks([]byte(linkKeyValue), "https://"+domainName)
	if err != nil {
		t.Fatal(err)
	}
	return l.URL(accountSID, rec, expires)
}

// storeRecording puts mp3 in the bucket as the deliver function would.
func (w *world) storeRecording(t testing.TB, rec string) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodPut, w.s3.URL+"/"+bucket+"/"+recordings.Key(accountSID, rec), bytes.NewReader(mp3))
	req.Header.Set("Content-Type", recordings.ContentType)
	resp, err := http.DefaultClient.Do(req)
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("seed recording: %v %v", err, resp)
	}
	resp.Body.Close()
}
