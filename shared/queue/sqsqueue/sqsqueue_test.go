package sqsqueue_test

import (
	"context"
	"errors"
	"net/http"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/aws/smithy-go"

	"bubble-twilio-voice/shared/queue"
	"bubble-twilio-voice/shared/queue/sqsqueue"
	fakesqs "bubble-twilio-voice/test/fake/sqs"
	"bubble-twilio-voice/test/kit"
)

// env is a Lambda function's environment pointing at the fake.
func env(fake *fakesqs.Server) func(string) string {
	return kit.Getenv("AWS_ENDPOINT_URL_SQS", fake.URL())
}

// open opens the fake's queue name as the functions do.
func open(t *testing.T, fake *fakesqs.Server, name string) *sqsqueue.Queue {
	t.Helper()
	q, err := sqsqueue.Open(env(fake), fake.QueueURL(name))
	if err != nil {
		t.Fatal(err)
	}
	return q
}

func TestSend(t *testing.T) {
	fake := fakesqs.Start(t)
	url := fake.CreateQueue("events", 0)
	q := open(t, fake, "events")
	if q.URL() != url {
		t.Errorf("URL %q", q.URL())
	}
	ctx := context.Background()
	if err := q.Send(ctx, queue.Message{Body: []byte(`{"v":1}`)}); err != nil {
		t.Fatal(err)
	}
	if err := q.Send(ctx, queue.Message{Body: []byte("two"), Attributes: map[string]string{"reason": "app answered 404", "empty": ""}}); err != nil {
		t.Fatal(err)
	}
	msgs := fake.Messages("events")
	if len(msgs) != 2 || msgs[0].Body != `{"v":1}` || msgs[1].Body != "two" {
		t.Fatalf("queued %+v", msgs)
	}
	if got := msgs[1].Attributes; len(got) != 1 || got["reason"] != "app answered 404" {
		t.Errorf("attributes %v", got)
	}
}

func TestSendErrors(t *testing.T) {
	fake := fakesqs.Start(t)
	fake.CreateQueue("events", 0)
	ctx := context.Background()

	missing := open(t, fake, "nope")
	err := missing.Send(ctx, queue.Message{Body: []byte("x")})
	var api smithy.APIError
	if !errors.As(err, &api) || api.ErrorCode() != "QueueDoesNotExist" {
		t.Errorf("missing queue: %v", err)
	}

	fake.SetFault(func(op string) fakesqs.Fault {
		return fakesqs.Fault{Status: http.StatusInternalServerError, Type: "InternalError"}
	})
	err = open(t, fake, "events").Send(ctx, queue.Message{Body: []byte("x")})
	if err == nil {
		t.Fatal("send succeeded on a failing queue")
	}
	// One for the missing queue (a client error: not retried), three for
	// the 500 (retried: three attempts in all, as the SDK's client makes).
	if n := fake.Calls("SendMessage"); n != 4 {
		t.Errorf("%d SendMessage calls, want 1 + 3", n)
	}
	if api, ok := errors.AsType[smithy.APIError](err); !ok || api.ErrorCode() != "InternalError" || api.ErrorFault() != smithy.FaultServer {
		t.Errorf("failing queue: %v", err)
	}
	if len(fake.Messages("events")) != 0 {
		t.Error("a failed send stored a message")
	}
}

func TestChangeVisibility(t *testing.T) {
	fake := fakesqs.Start(t)
	clock := kit.NewClock(time.Now())
	fake.SetClock(clock.Now)
	url := fake.CreateQueue("events", 0)
	c := fake.SDKClient(t)
	q := open(t, fake, "events")
	ctx := context.Background()
	fake.Put("events", "body", nil)
	out, err := c.ReceiveMessage(ctx, &sqs.ReceiveMessageInput{QueueUrl: aws.String(url)})
	if err != nil || len(out.Messages) != 1 {
		t.Fatalf("receive: %v %+v", err, out)
	}
	h := aws.ToString(out.Messages[0].ReceiptHandle)

	if err := q.ChangeVisibility(ctx, h, 3*time.Hour); err != nil {
		t.Fatal(err)
	}
	if got := fake.Messages("events")[0].HiddenUntil; !got.Equal(clock.Now().Add(3 * time.Hour)) {
		t.Errorf("hidden until %v", got)
	}
	// SQS's 12 h limit counts from the receive.
	clock.Advance(2 * time.Hour)
	if err := q.ChangeVisibility(ctx, h, 11*time.Hour); err == nil {
		t.Error("13 h after the receive was accepted")
	}
	if err := q.ChangeVisibility(ctx, h, 9*time.Hour); err != nil {
		t.Errorf("11 h after the receive: %v", err)
	}
	if err := q.ChangeVisibility(ctx, "not-a-handle", time.Minute); err == nil {
		t.Error("unknown receipt handle accepted")
	}
}

func TestOpen(t *testing.T) {
	fake := fakesqs.Start(t)
	url := fake.CreateQueue("events", 0)
	// Without AWS_ENDPOINT_URL_SQS, the queue URL's own host is the endpoint.
	q, err := sqsqueue.Open(kit.Getenv(), url)
	if err != nil || q.URL() != url {
		t.Fatalf("Open = %v, %v", q, err)
	}
	if err := q.Send(context.Background(), queue.Message{Body: []byte("m")}); err != nil || len(fake.Messages("events")) != 1 {
		t.Errorf("send at the queue URL's host: %v", err)
	}
	if _, err := sqsqueue.Open(kit.Getenv("AWS_ACCESS_KEY_ID", ""), url); err == nil {
		t.Error("opened without credentials")
	}
	if _, err := sqsqueue.Open(kit.Getenv(), "events"); err == nil {
		t.Error("opened a queue URL without a host")
	}
}
