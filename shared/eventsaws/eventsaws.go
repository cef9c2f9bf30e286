// Package eventsaws wires the call-event dependencies of a Lambda function
// on AWS: the SQS queues, the S3 recording store and the recording link key
// from Secrets Manager, each only when the function's environment names it
// (the template gives each function only what it uses). It is kept out of
// httpapi.Setup so the functions without events (token, voice) do not carry
// the SQS and S3 clients.
package eventsaws

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"

	"bubble-twilio-voice/shared/awsenv"
	"bubble-twilio-voice/shared/config"
	"bubble-twilio-voice/shared/events"
	"bubble-twilio-voice/shared/httpapi"
	"bubble-twilio-voice/shared/queue/sqsqueue"
	"bubble-twilio-voice/shared/recordings"
	"bubble-twilio-voice/shared/recordings/s3store"
)

// linkKeyTimeout bounds the cold-start read of the link key.
const linkKeyTimeout = 5 * time.Second

// FromEnv reads the configuration through getenv and sets d.Events from
// it. It returns the events queue (nil when EVENTS_QUEUE_URL is not set),
// which the deliver function's SQS adapter also uses to delay retries.
// The only request it makes is the link key's GetSecretValue, once, at
// start (LINK_KEY_SECRET_ARN).
func FromEnv(getenv func(string) string, d *httpapi.Deps) (*sqsqueue.Queue, error) {
	cfg, err := config.Load(getenv)
	if err != nil {
		return nil, err
	}
	e := d.Events
	e.Retention = time.Duration(cfg.Events.RecordingRetentionDays) * 24 * time.Hour
	if e.Fetcher, err = recordings.NewFetcher(cfg.Events.TwilioAPIBaseURL); err != nil {
		return nil, err
	}
	now := d.Now
	if now == nil {
		now = time.Now
	}
	e.Sender = events.NewSender(now)

	var q *sqsqueue.Queue
	if cfg.Events.QueueURL != "" || cfg.Events.DeadLetterQueueURL != "" {
		client, err := sqsqueue.NewClient(getenv)
		if err != nil {
			return nil, err
		}
		if cfg.Events.QueueURL != "" {
			q = sqsqueue.New(client, cfg.Events.QueueURL)
			e.Queue = q
		}
		if cfg.Events.DeadLetterQueueURL != "" {
			e.DeadLetters = sqsqueue.New(client, cfg.Events.DeadLetterQueueURL)
		}
	}
	if cfg.Events.RecordingsBucket != "" {
		client, err := s3store.NewClient(getenv)
		if err != nil {
			return nil, err
		}
		e.Recordings = s3store.New(client, cfg.Events.RecordingsBucket)
	}
	if cfg.Events.LinkKeySecretARN != "" {
		key, err := readLinkKey(getenv, cfg.Events.LinkKeySecretARN)
		if err != nil {
			return nil, err
		}
		if e.Links, err = recordings.NewLinks(key, cfg.PublicBaseURL); err != nil {
			return nil, err
		}
	}
	d.Events = e
	return q, nil
}

// readLinkKey reads the link key secret (a random string CloudFormation
// generated). Its value never reaches a log or an error.
func readLinkKey(getenv func(string) string, arn string) ([]byte, error) {
	cfg, err := awsenv.Config(getenv)
	if err != nil {
		return nil, fmt.Errorf("link key: %w", err)
	}
	client := secretsmanager.NewFromConfig(cfg, func(o *secretsmanager.Options) {
		o.BaseEndpoint = awsenv.BaseEndpoint(getenv, "SECRETS_MANAGER")
	})
	ctx, cancel := context.WithTimeout(context.Background(), linkKeyTimeout)
	defer cancel()
	out, err := client.GetSecretValue(ctx, &secretsmanager.GetSecretValueInput{SecretId: aws.String(arn)})
	if err != nil {
		var api interface{ ErrorCode() string }
		if errors.As(err, &api) {
			return nil, fmt.Errorf("link key %s: %s", arn, api.ErrorCode())
		}
		return nil, fmt.Errorf("link key %s: request failed", arn)
	}
	v := aws.ToString(out.SecretString)
	if len(v) < recordings.MinKeyLength {
		return nil, fmt.Errorf("link key %s: shorter than %d characters", arn, recordings.MinKeyLength)
	}
	return []byte(v), nil
}
