package httpapi

import (
	"fmt"
	"io"
	"log/slog"
	"time"

	"bubble-twilio-voice/shared/config"
	"bubble-twilio-voice/shared/logging"
	"bubble-twilio-voice/shared/metrics"
	"bubble-twilio-voice/shared/queue/sqsqueue"
	"bubble-twilio-voice/shared/ratelimit"
	"bubble-twilio-voice/shared/tenant"
)

// Setup builds the Deps a function (or the dev server) serves with, from its
// validated configuration: JSON logs and EMF metrics on stdout, tagged with
// function, the clock now, tenants from cfg.TenantsFile when set, otherwise
// from Secrets Manager with a client built from getenv (the environment
// Lambda provides), and the events queue on SQS when EVENTS_QUEUE_URL names
// one (incoming queues call.missed, events the callbacks' events). The rest
// of the call events' AWS wiring is delivery.FromEnv's, so that only the
// events and deliver functions link the S3 client.
func Setup(cfg config.Config, getenv func(string) string, function string, stdout io.Writer, now func() time.Time) (Deps, error) {
	log := logging.New(stdout, cfg.LogLevel).With(slog.String("function", function))
	m := metrics.New(stdout, function, now)
	store, err := openStore(cfg, getenv, log, m, now)
	if err != nil {
		return Deps{}, err
	}
	d := NewDeps(cfg, store, log, m, now)
	if cfg.Events.QueueURL != "" {
		q, err := sqsqueue.Open(getenv, cfg.Events.QueueURL)
		if err != nil {
			return Deps{}, err
		}
		d.Events.Queue = q
	}
	return d, nil
}

// NewDeps builds Deps from the configuration and the parts Setup opens, for
// callers that bring their own store (tests, load runs).
func NewDeps(cfg config.Config, store tenant.Store, log *slog.Logger, m *metrics.Emitter, now func() time.Time) Deps {
	return Deps{
		Store: store, Log: log, Metrics: m, Now: now,
		PublicBaseURL:      cfg.PublicBaseURL,
		CORSAllowedOrigins: cfg.CORSAllowedOrigins,
		Limiter:            ratelimit.New(cfg.TokenRatePerIdentity, time.Minute),
		Calls:              CallsDeps{APIBase: cfg.Events.TwilioAPIBaseURL},
	}
}

func openStore(cfg config.Config, getenv func(string) string, log *slog.Logger, m *metrics.Emitter, now func() time.Time) (tenant.Store, error) {
	if cfg.TenantsFile != "" {
		// Not "return tenant.LoadFile(...)": its nil *FileStore would be a
		// non-nil Store next to the error.
		fs, err := tenant.LoadFile(cfg.TenantsFile)
		if err != nil {
			return nil, err
		}
		return fs, nil
	}
	client, err := tenant.NewSecretsClient(getenv)
	if err != nil {
		return nil, fmt.Errorf("secrets manager client: %w", err)
	}
	return tenant.NewSecretsStore(client, tenant.SecretsConfig{
		Prefix:       cfg.SecretPrefix,
		TTL:          cfg.SecretCacheTTL,
		MaxStale:     cfg.SecretMaxStale,
		FetchTimeout: cfg.SecretFetchTimeout,
		Now:          now,
		Log:          log,
		OnFetchError: func(sid string) { m.Count(metrics.SecretFetchFailed, "", sid) },

		ColdFetchesPerSecond: float64(cfg.SecretColdFetchesPerSecond),
		ColdFetchBurst:       cfg.SecretColdFetchBurst,
		OnColdFetchLimit:     func(sid string) { m.Count(metrics.SecretColdFetchLimited, "", sid) },
	}), nil
}

// FromEnv is Setup with the configuration read through getenv: what a
// Lambda function's main calls.
func FromEnv(getenv func(string) string, function string, stdout io.Writer) (Deps, error) {
	cfg, err := config.Load(getenv)
	if err != nil {
		return Deps{}, err
	}
	return Setup(cfg, getenv, function, stdout, time.Now)
}
