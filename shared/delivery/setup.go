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
	"bubble-twilio-voice/shared/tenant"
	"bubble-twilio-voice/shared/transcribe"
)

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
// uses): the dead-letter queue, the S3 recording store and the link keys,
// read at start and then every SECRET_CACHE_TTL (GetSecretValue of
// AWSCURRENT and AWSPREVIOUS: the link key can be rotated). It lives here,
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
		// The tenant store's client: its retries fit SECRET_FETCH_TIMEOUT.
		client, err := tenant.NewSecretsClient(getenv)
		if err != nil {
			return Env{}, err
		}
		// The link keys are refreshed like the tenants: every
		// SECRET_CACHE_TTL, bounded by SECRET_FETCH_TIMEOUT.
		env.Deliver.Links, err = recordings.NewRotatingLinks(context.Background(), LinkKeys(client, cfg.Events.LinkKeySecretARN),
			cfg.PublicBaseURL, recordings.RotationConfig{
				TTL: cfg.SecretCacheTTL, RetryAfter: tenant.DefaultRetryAfter, FetchTimeout: cfg.SecretFetchTimeout,
				Now: d.Now, Log: d.Log,
			})
		if err != nil {
			return Env{}, err
		}
	}
	if store, ok := env.Deliver.Recordings.(*s3store.Store); ok {
		if env.Deliver.Transcripts, err = transcriptStep(getenv, store, env.Deliver.Links, env.Deliver.Retention, d.Now); err != nil {
			return Env{}, err
		}
	}
	d.Events.Fetcher, d.Events.Recordings, d.Events.Links = env.Deliver.Fetcher, env.Deliver.Recordings, env.Deliver.Links
	env.HTTP = d
	return env, nil
}

// transcriptStep is the transcription step on Amazon Transcribe in the
// function's region (AWS_ENDPOINT_URL_TRANSCRIBE overrides its endpoint,
// for tests), reading and writing the recordings bucket. Building it makes
// no request.
func transcriptStep(getenv func(string) string, store *s3store.Store, links *recordings.Links, retention time.Duration, now func() time.Time) (*transcribe.Step, error) {
	cfg, err := awsenv.Config(getenv)
	if err != nil {
		return nil, fmt.Errorf("transcribe: %w", err)
	}
	client, err := transcribe.New(cfg, awsenv.Endpoint(getenv, "TRANSCRIBE"), now)
	if err != nil {
		return nil, err
	}
	return &transcribe.Step{Jobs: client, Objects: store, Links: links, Retention: retention}, nil
}

// Staging labels of the link key secret's two newest values: PutSecretValue
// moves AWSCURRENT to the value it writes and AWSPREVIOUS to the one that
// had it (docs/deploy.md, "Rotate the recording link key").
const (
	stageCurrent  = "AWSCURRENT"
	stagePrevious = "AWSPREVIOUS"
)

// LinkKeys reads the link key secret arn (a random string CloudFormation
// generated, rotated with put-secret-value) by its staging labels: the
// AWSCURRENT value and when that version was created, and the AWSPREVIOUS
// value, which a secret never rotated does not have. The values never reach
// a log or an error.
func LinkKeys(client tenant.SecretsClient, arn string) recordings.KeyReader {
	return func(ctx context.Context) (recordings.Keys, error) {
		cur, err := client.GetSecretValue(ctx, &secretsmanager.GetSecretValueInput{SecretId: aws.String(arn), VersionStage: aws.String(stageCurrent)})
		if err != nil {
			return recordings.Keys{}, fmt.Errorf("link key %s %s: %s", arn, stageCurrent, logging.ErrorKind(err))
		}
		k := recordings.Keys{Current: []byte(aws.ToString(cur.SecretString)), CurrentSince: aws.ToTime(cur.CreatedDate)}
		prev, err := client.GetSecretValue(ctx, &secretsmanager.GetSecretValueInput{SecretId: aws.String(arn), VersionStage: aws.String(stagePrevious)})
		switch {
		case err == nil:
			k.Previous = []byte(aws.ToString(prev.SecretString))
		case !awsenv.NotFound(err): // not found: never rotated
			return recordings.Keys{}, fmt.Errorf("link key %s %s: %s", arn, stagePrevious, logging.ErrorKind(err))
		}
		return k, nil
	}
}
