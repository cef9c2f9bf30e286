package delivery

import (
	"context"
	"fmt"
	"io"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"

	"bubble-twilio-voice/shared/awsenv"
	"bubble-twilio-voice/shared/config"
	"bubble-twilio-voice/shared/events"
	"bubble-twilio-voice/shared/httpapi"
	"bubble-twilio-voice/shared/logging"
	"bubble-twilio-voice/shared/queue/sqsqueue"
	"bubble-twilio-voice/shared/recordings"
	"bubble-twilio-voice/shared/recordings/s3store"
)

// linkKeyTimeout bounds the cold-start read of the link key.
const linkKeyTimeout = 5 * time.Second

// Env is what the events and deliver functions run with, built from one
// read of the configuration.
type Env struct {
	// HTTP serves the events function's routes: httpapi.Setup's Deps with
	// the events queue, the recording store and the link key.
	HTTP httpapi.Deps
	// Deliver delivers the queued events, with HTTP's store, log, metrics
	// and clock.
	Deliver Deps
	// Visibility delays retries on the events queue: the deliver
	// function's SQS adapter uses it. Nil when EVENTS_QUEUE_URL is not set.
	Visibility sqsqueue.Visibility
}

// FromEnv reads the configuration through getenv once, builds httpapi.Setup's
// Deps (with the events queue) and opens the rest of what it names on AWS,
// each only when named (the template gives each function only what it
// uses): the dead-letter queue, the S3 recording store and the link key,
// whose GetSecretValue, once, at start, is its only request. It lives here,
// not in httpapi.Setup, so that the token, voice and incoming functions do
// not link the S3 client.
func FromEnv(getenv func(string) string, function string, stdout io.Writer) (Env, error) {
	cfg, err := config.Load(getenv)
	if err != nil {
		return Env{}, err
	}
	d, err := httpapi.Setup(cfg, getenv, function, stdout, time.Now)
	if err != nil {
		return Env{}, err
	}
	env := Env{Deliver: Deps{
		Store: d.Store, Log: d.Log, Metrics: d.Metrics, Now: d.Now,
		Poster:    events.NewPoster(d.Now),
		Retention: time.Duration(cfg.Events.RecordingRetentionDays) * 24 * time.Hour,
	}}
	if env.Deliver.Fetcher, err = recordings.NewFetcher(cfg.Events.TwilioAPIBaseURL); err != nil {
		return Env{}, err
	}
	if q, ok := d.Events.Queue.(sqsqueue.Visibility); ok {
		env.Visibility = q // the events queue httpapi.Setup opened
	}
	if cfg.Events.DeadLetterQueueURL != "" {
		if env.Deliver.DeadLetters, err = sqsqueue.Open(getenv, cfg.Events.DeadLetterQueueURL); err != nil {
			return Env{}, err
		}
	}
	if cfg.Events.RecordingsBucket != "" {
		client, err := s3store.NewClient(getenv)
		if err != nil {
			return Env{}, err
		}
		env.Deliver.Recordings = s3store.New(client, cfg.Events.RecordingsBucket)
	}
	if cfg.Events.LinkKeySecretARN != "" {
		key, err := readLinkKey(getenv, cfg.Events.LinkKeySecretARN)
		if err != nil {
			return Env{}, err
		}
		if env.Deliver.Links, err = recordings.NewLinks(key, cfg.PublicBaseURL); err != nil {
			return Env{}, err
		}
	}
	d.Events.Fetcher, d.Events.Recordings, d.Events.Links = env.Deliver.Fetcher, env.Deliver.Recordings, env.Deliver.Links
	env.HTTP = d
	return env, nil
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
		return nil, fmt.Errorf("link key %s: %s", arn, logging.ErrorKind(err))
	}
	v := aws.ToString(out.SecretString)
	if len(v) < recordings.MinKeyLength {
		return nil, fmt.Errorf("link key %s: shorter than %d characters", arn, recordings.MinKeyLength)
	}
	return []byte(v), nil
}
