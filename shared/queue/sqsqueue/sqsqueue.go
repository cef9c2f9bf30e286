// Package sqsqueue is queue.Sender on Amazon SQS, and the
// ChangeMessageVisibility call the Lambda SQS adapter (apigw.SQSHandler)
// uses to make a failed message come back after the delay its handler
// asked for.
package sqsqueue

import (
	"context"
	"fmt"
	"sort"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/aws/aws-sdk-go-v2/service/sqs/types"

	"bubble-twilio-voice/shared/awsenv"
	"bubble-twilio-voice/shared/config"
	"bubble-twilio-voice/shared/queue"
)

// API is the subset of *sqs.Client a Queue calls.
type API interface {
	SendMessage(context.Context, *sqs.SendMessageInput, ...func(*sqs.Options)) (*sqs.SendMessageOutput, error)
	ChangeMessageVisibility(context.Context, *sqs.ChangeMessageVisibilityInput, ...func(*sqs.Options)) (*sqs.ChangeMessageVisibilityOutput, error)
}

// NewClient returns an SQS client configured from a Lambda function's
// environment (awsenv), with AWS_ENDPOINT_URL_SQS honoured.
func NewClient(getenv func(string) string) (*sqs.Client, error) {
	cfg, err := awsenv.Config(getenv)
	if err != nil {
		return nil, fmt.Errorf("sqs client: %w", err)
	}
	return sqs.NewFromConfig(cfg, func(o *sqs.Options) {
		o.BaseEndpoint = awsenv.BaseEndpoint(getenv, "SQS")
	}), nil
}

// FromEnv returns the events queue EVENTS_QUEUE_URL names, with a client
// from NewClient, or nil (and no error) when it names none. It is what the
// incoming function needs to queue call.missed, in a package that does not
// link the S3 client as package eventsaws does (about 450 KB).
func FromEnv(getenv func(string) string) (queue.Sender, error) {
	cfg, err := config.Load(getenv)
	if err != nil || cfg.Events.QueueURL == "" {
		return nil, err
	}
	client, err := NewClient(getenv)
	if err != nil {
		return nil, err
	}
	return New(client, cfg.Events.QueueURL), nil
}

// Queue is one SQS queue.
type Queue struct {
	api API
	url string
}

// New returns the queue at url.
func New(api API, url string) *Queue { return &Queue{api: api, url: url} }

// URL is the queue's URL.
func (q *Queue) URL() string { return q.url }

// Send implements queue.Sender: it returns once SQS has stored the message.
func (q *Queue) Send(ctx context.Context, m queue.Message) error {
	in := &sqs.SendMessageInput{QueueUrl: aws.String(q.url), MessageBody: aws.String(string(m.Body))}
	if len(m.Attributes) > 0 {
		in.MessageAttributes = make(map[string]types.MessageAttributeValue, len(m.Attributes))
		keys := make([]string, 0, len(m.Attributes))
		for k := range m.Attributes {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			if v := m.Attributes[k]; v != "" { // SQS refuses empty values
				in.MessageAttributes[k] = types.MessageAttributeValue{DataType: aws.String("String"), StringValue: aws.String(v)}
			}
		}
	}
	if _, err := q.api.SendMessage(ctx, in); err != nil {
		return fmt.Errorf("sqs send: %w", err)
	}
	return nil
}

// ChangeVisibility hides the received message with receiptHandle for d
// from now, so it is offered again after d (SQS allows at most 12 h counted
// from the receive).
func (q *Queue) ChangeVisibility(ctx context.Context, receiptHandle string, d time.Duration) error {
	_, err := q.api.ChangeMessageVisibility(ctx, &sqs.ChangeMessageVisibilityInput{
		QueueUrl:          aws.String(q.url),
		ReceiptHandle:     aws.String(receiptHandle),
		VisibilityTimeout: int32(d / time.Second),
	})
	if err != nil {
		return fmt.Errorf("sqs change visibility: %w", err)
	}
	return nil
}
