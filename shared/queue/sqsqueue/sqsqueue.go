// Package sqsqueue is the queue on Amazon SQS: queue.Sender, and the Lambda
// handler (Handler) that hands a batch's messages to a queue.Consumer and
// makes a message to retry come back after the delay the consumer asked
// for (ChangeMessageVisibility).
//
// It calls the two operations the functions use, SendMessage and
// ChangeMessageVisibility, over SQS's AWS JSON protocol with the AWS SDK's
// signer, credentials, retry policy and error types, instead of the SDK's
// SQS client: that client registers the shapes and errors of all of SQS's
// operations when the program starts (its schemas and type registry), about
// 330 KB of each bootstrap, which put the incoming function over its size
// limit for one SendMessage. The protocol: POST / with X-Amz-Target
// AmazonSQS.<Operation> and a JSON body; an error answers a JSON body whose
// __type names it ("com.amazonaws.sqs#QueueDoesNotExist")
// (https://docs.aws.amazon.com/AWSSimpleQueueService/latest/SQSDeveloperGuide/sqs-making-api-requests-json.html,
// https://docs.aws.amazon.com/AWSSimpleQueueService/latest/SQSDeveloperGuide/sqs-json-api-responses.html).
package sqsqueue

import (
	"bytes"
	"cmp"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	neturl "net/url"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
	"github.com/aws/smithy-go"
	smithyhttp "github.com/aws/smithy-go/transport/http"

	"bubble-twilio-voice/shared/awsenv"
	"bubble-twilio-voice/shared/queue"
)

// Queue is one SQS queue.
type Queue struct {
	url      string
	endpoint string // the service endpoint requests are POSTed to
	region   string
	creds    aws.CredentialsProvider
	signer   *v4.Signer
	retryer  aws.Retryer
	client   *http.Client
	now      func() time.Time // the signature's time
}

// Open returns the queue at url, reached with the credentials and region of
// a Lambda function's environment (awsenv) at the queue URL's own host
// (https://sqs.<region>.amazonaws.com), or at AWS_ENDPOINT_URL_SQS when set.
func Open(getenv func(string) string, url string) (*Queue, error) {
	cfg, err := awsenv.Config(getenv)
	if err != nil {
		return nil, fmt.Errorf("sqs client: %w", err)
	}
	endpoint := awsenv.Endpoint(getenv, "SQS")
	if endpoint == "" {
		u, err := neturl.Parse(url)
		if err != nil || u.Host == "" {
			return nil, fmt.Errorf("sqs client: %q is not a queue URL", url)
		}
		endpoint = u.Scheme + "://" + u.Host
	}
	return &Queue{
		url: url, endpoint: strings.TrimRight(endpoint, "/"), region: cfg.Region, creds: cfg.Credentials,
		signer: v4.NewSigner(), retryer: retry.NewStandard(), client: &http.Client{}, now: time.Now,
	}, nil
}

// URL is the queue's URL.
func (q *Queue) URL() string { return q.url }

// Send implements queue.Sender: it returns once SQS has stored the message.
// Empty attribute values are left out: SQS refuses them.
func (q *Queue) Send(ctx context.Context, m queue.Message) error {
	// Maps, not structs, for the request bodies: their types are in every
	// binary already, and each new type costs bootstrap bytes.
	in := map[string]any{"QueueUrl": q.url, "MessageBody": string(m.Body)}
	attrs := map[string]any{}
	for k, v := range m.Attributes {
		if v != "" {
			attrs[k] = map[string]string{"DataType": "String", "StringValue": v}
		}
	}
	if len(attrs) > 0 {
		in["MessageAttributes"] = attrs
	}
	if err := q.call(ctx, "SendMessage", in); err != nil {
		return fmt.Errorf("sqs send: %w", err)
	}
	return nil
}

// ChangeVisibility hides the received message with receiptHandle for d
// from now, so it is offered again after d (SQS allows at most 12 h counted
// from the receive).
func (q *Queue) ChangeVisibility(ctx context.Context, receiptHandle string, d time.Duration) error {
	in := map[string]any{"QueueUrl": q.url, "ReceiptHandle": receiptHandle, "VisibilityTimeout": int(d / time.Second)}
	if err := q.call(ctx, "ChangeMessageVisibility", in); err != nil {
		return fmt.Errorf("sqs change visibility: %w", err)
	}
	return nil
}

// call runs one operation, retried as the SDK's standard retryer decides
// (throttling, 5xx, a failed connection; three attempts in all).
func (q *Queue) call(ctx context.Context, op string, in map[string]any) error {
	body, err := json.Marshal(in)
	if err != nil {
		return err
	}
	sum := sha256.Sum256(body)
	hash := hex.EncodeToString(sum[:])
	for attempt := 1; ; attempt++ {
		err := q.try(ctx, op, body, hash)
		if err == nil || attempt >= q.retryer.MaxAttempts() || !q.retryer.IsErrorRetryable(err) {
			return err
		}
		delay, derr := q.retryer.RetryDelay(attempt, err)
		if derr != nil {
			return err
		}
		t := time.NewTimer(delay)
		select {
		case <-ctx.Done():
			t.Stop()
			return err
		case <-t.C:
		}
	}
}

// try sends one signed request. A failure to reach SQS is a
// smithyhttp.RequestSendError, an error answer a smithyhttp.ResponseError
// around a smithy.GenericAPIError with SQS's error code: the types the SDK
// returns, which its retryer and logging.ErrorKind read.
func (q *Queue) try(ctx context.Context, op string, body []byte, hash string) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, q.endpoint+"/", bytes.NewReader(body))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/x-amz-json-1.0")
	req.Header.Set("X-Amz-Target", "AmazonSQS."+op)
	creds, err := q.creds.Retrieve(ctx)
	if err != nil {
		return err
	}
	if err := q.signer.SignHTTP(ctx, creds, req, hash, "sqs", q.region, q.now()); err != nil {
		return err
	}
	resp, err := q.client.Do(req)
	if err != nil {
		return &smithyhttp.RequestSendError{Err: err}
	}
	defer resp.Body.Close()
	msg, err := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	if err != nil {
		return &smithyhttp.RequestSendError{Err: err}
	}
	if resp.StatusCode/100 == 2 {
		return nil
	}
	var e map[string]string // {"__type": "com.amazonaws.sqs#<Code>", "message": "..."}
	_ = json.Unmarshal(msg, &e)
	code := e["__type"][strings.LastIndexByte(e["__type"], '#')+1:]
	code = cmp.Or(code, http.StatusText(resp.StatusCode))
	fault := smithy.FaultClient
	if resp.StatusCode >= 500 {
		fault = smithy.FaultServer
	}
	return &smithyhttp.ResponseError{
		Response: &smithyhttp.Response{Response: resp},
		Err:      &smithy.GenericAPIError{Code: code, Message: e["message"], Fault: fault},
	}
}
