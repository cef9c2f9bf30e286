package sqs_test

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/aws/aws-sdk-go-v2/service/sqs/types"
	"github.com/aws/smithy-go"

	fakesqs "bubble-twilio-voice/test/fake/sqs"
	"bubble-twilio-voice/test/kit"
)

// TestWire drives the fake with the real SDK client: the SDK accepts its
// answers (including the MD5 it checks on every body) and gets SQS's
// errors where SQS gives them.
func TestWire(t *testing.T) {
	fake := fakesqs.Start(t)
	clock := kit.NewClock(time.Date(2026, 11, 13, 15, 0, 0, 0, time.UTC))
	fake.SetClock(clock.Now)
	url := fake.CreateQueue("q", time.Minute)
	c := fake.SDKClient(t)
	ctx := context.Background()
	code := func(err error) string {
		var api smithy.APIError
		if errors.As(err, &api) {
			return api.ErrorCode()
		}
		return ""
	}

	if _, err := c.SendMessage(ctx, &sqs.SendMessageInput{QueueUrl: aws.String(url), MessageBody: aws.String("later"), DelaySeconds: 10,
		MessageAttributes: map[string]types.MessageAttributeValue{"reason": {DataType: aws.String("String"), StringValue: aws.String("r")}}}); err != nil {
		t.Fatal(err)
	}
	out, err := c.ReceiveMessage(ctx, &sqs.ReceiveMessageInput{QueueUrl: aws.String(url)})
	if err != nil || len(out.Messages) != 0 {
		t.Fatalf("a delayed message was received: %v %+v", err, out)
	}
	clock.Advance(10 * time.Second)
	out, err = c.ReceiveMessage(ctx, &sqs.ReceiveMessageInput{QueueUrl: aws.String(url), MaxNumberOfMessages: 10,
		MessageAttributeNames: []string{"All"}, MessageSystemAttributeNames: []types.MessageSystemAttributeName{types.MessageSystemAttributeNameAll}})
	if err != nil || len(out.Messages) != 1 {
		t.Fatalf("receive: %v %+v", err, out)
	}
	m := out.Messages[0]
	if aws.ToString(m.Body) != "later" || m.Attributes["ApproximateReceiveCount"] != "1" || aws.ToString(m.MessageAttributes["reason"].StringValue) != "r" {
		t.Errorf("message %+v", m)
	}
	// Hidden for the queue's visibility, then back with a new handle.
	if again, _ := c.ReceiveMessage(ctx, &sqs.ReceiveMessageInput{QueueUrl: aws.String(url)}); len(again.Messages) != 0 {
		t.Error("received twice within the visibility timeout")
	}
	clock.Advance(time.Minute)
	again, _ := c.ReceiveMessage(ctx, &sqs.ReceiveMessageInput{QueueUrl: aws.String(url),
		MessageSystemAttributeNames: []types.MessageSystemAttributeName{types.MessageSystemAttributeNameApproximateReceiveCount}})
	if len(again.Messages) != 1 || again.Messages[0].Attributes["ApproximateReceiveCount"] != "2" {
		t.Fatalf("second receive %+v", again)
	}
	if _, err := c.DeleteMessage(ctx, &sqs.DeleteMessageInput{QueueUrl: aws.String(url), ReceiptHandle: m.ReceiptHandle}); code(err) != "ReceiptHandleIsInvalid" {
		t.Errorf("delete with a stale handle: %v", err)
	}
	clock.Advance(2 * time.Minute)
	if _, err := c.ChangeMessageVisibility(ctx, &sqs.ChangeMessageVisibilityInput{QueueUrl: aws.String(url), ReceiptHandle: again.Messages[0].ReceiptHandle, VisibilityTimeout: 5}); code(err) != "MessageNotInflight" {
		t.Errorf("change visibility of a visible message: %v", err)
	}
	attrs, err := c.GetQueueAttributes(ctx, &sqs.GetQueueAttributesInput{QueueUrl: aws.String(url)})
	if err != nil || attrs.Attributes["ApproximateNumberOfMessages"] != "1" {
		t.Errorf("attributes %v %v", attrs, err)
	}
	if _, err := c.DeleteMessage(ctx, &sqs.DeleteMessageInput{QueueUrl: aws.String(url), ReceiptHandle: again.Messages[0].ReceiptHandle}); err != nil {
		t.Errorf("delete: %v", err)
	}
	if n := len(fake.Messages("q")); n != 0 {
		t.Errorf("%d left", n)
	}
	if _, err := c.SendMessage(ctx, &sqs.SendMessageInput{QueueUrl: aws.String(url)}); err == nil {
		t.Error("a message without a body was accepted")
	}
	if _, err := c.ReceiveMessage(ctx, &sqs.ReceiveMessageInput{QueueUrl: aws.String(url), MaxNumberOfMessages: 11}); code(err) != "InvalidParameterValue" {
		t.Errorf("11 messages: %v", err)
	}
	if _, err := c.PurgeQueue(ctx, &sqs.PurgeQueueInput{QueueUrl: aws.String(url)}); code(err) != "UnsupportedOperation" {
		t.Errorf("an operation the fake does not serve: %v", err)
	}
	if fake.Calls("ReceiveMessage") != 5 || fake.TotalCalls() < 10 {
		t.Errorf("calls %d / %d", fake.Calls("ReceiveMessage"), fake.TotalCalls())
	}
	// The MD5 the SDK checks: a fake that lied would fail the receive.
	fake.Put("q", "checked", nil)
	if _, err := c.ReceiveMessage(ctx, &sqs.ReceiveMessageInput{QueueUrl: aws.String(url)}); err != nil {
		t.Errorf("the SDK refused the fake's checksum: %v", err)
	}
}

func TestUnsignedRequest(t *testing.T) {
	fake := fakesqs.Start(t)
	req, _ := http.NewRequest(http.MethodPost, fake.URL(), strings.NewReader(`{}`))
	req.Header.Set("X-Amz-Target", "AmazonSQS.SendMessage")
	req.Header.Set("Content-Type", "application/x-amz-json-1.0")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 403 {
		t.Errorf("unsigned request: %d", resp.StatusCode)
	}
}
