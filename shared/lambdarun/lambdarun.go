// Package lambdarun is the start-up every Lambda function shares: read the
// environment, build the logger, metrics and tenant store, and hand the
// function's http.Handler to the Lambda runtime through the API Gateway
// adapter.
package lambdarun

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"time"

	"bubble-twilio-voice/shared/apigw"
	"bubble-twilio-voice/shared/config"
	"bubble-twilio-voice/shared/logging"
	"bubble-twilio-voice/shared/metrics"
	"bubble-twilio-voice/shared/tenant"

	"github.com/aws/aws-lambda-go/lambda"
)

// Deps is what a function's handler is built from.
type Deps struct {
	Config  config.Config
	Store   tenant.Store
	Log     *slog.Logger
	Metrics *metrics.Emitter
	Now     func() time.Time
}

// Run serves build's handler to the Lambda runtime and never returns. A
// configuration error ends the process at start-up, so the first invocation
// fails loudly in the logs instead of a half-configured function answering.
func Run(function string, build func(Deps) http.Handler) {
	d, err := Setup(context.Background(), function, os.Getenv, os.Stdout)
	if err != nil {
		fmt.Fprintf(os.Stderr, "%s: %v\n", function, err)
		os.Exit(1)
	}
	h := logging.Middleware(d.Log, d.Now)(build(d))
	lambda.Start(apigw.Handler(h))
}

// Setup builds the dependencies from the environment. Tenants come from
// TENANTS_FILE when it is set, otherwise from Secrets Manager.
func Setup(ctx context.Context, function string, getenv func(string) string, stdout io.Writer) (Deps, error) {
	cfg, err := config.Load(getenv)
	if err != nil {
		return Deps{}, err
	}
	d := Deps{
		Config:  cfg,
		Log:     logging.New(stdout, cfg.LogLevel).With(slog.String("function", function)),
		Metrics: metrics.New(stdout, function, time.Now),
		Now:     time.Now,
	}
	if d.Store, err = OpenStore(ctx, cfg, d.Log, d.Metrics); err != nil {
		return Deps{}, err
	}
	return d, nil
}

// OpenStore returns the tenant store the configuration names, or a nil
// Store and an error.
func OpenStore(ctx context.Context, cfg config.Config, log *slog.Logger, m *metrics.Emitter) (tenant.Store, error) {
	if cfg.TenantsFile != "" {
		// Not "return tenant.LoadFile(...)": its nil *FileStore would be a
		// non-nil Store next to the error.
		fs, err := tenant.LoadFile(cfg.TenantsFile)
		if err != nil {
			return nil, err
		}
		return fs, nil
	}
	client, err := tenant.NewSecretsClient(os.Getenv)
	if err != nil {
		return nil, err
	}
	return tenant.NewSecretsStore(client, tenant.SecretsConfig{
		Prefix:       cfg.SecretPrefix,
		TTL:          cfg.SecretCacheTTL,
		MaxStale:     cfg.SecretMaxStale,
		FetchTimeout: cfg.SecretFetchTimeout,
		Log:          log,
		OnFetchError: func(sid string) { m.Count(metrics.SecretFetchFailed, "", sid) },
	}), nil
}
