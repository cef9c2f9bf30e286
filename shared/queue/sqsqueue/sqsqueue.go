// Package sqsqueue is the queue on Amazon SQS: queue.Sender, and the Lambda
// handler (Handler) that hands a batch's messages to a queue.Consumer and
// makes a message to retry come back after the delay the consumer asked
// for (ChangeMessageVisibility).
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

// Open returns the queue at url with a client from NewClient.
func Open(getenv func(string) string, url string) (*Queue, error) {
	client, err := NewClient(getenv)
	if err != nil {
		return nil, err
	}
	return New(client, url), nil
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
