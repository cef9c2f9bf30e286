package tenant

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
	"golang.org/x/sync/singleflight"

	"bubble-twilio-voice/shared/awsenv"
	"bubble-twilio-voice/shared/logging"
	"bubble-twilio-voice/shared/ratelimit"
)

// SecretsClient is the part of the Secrets Manager client the store needs,
// so tests can substitute it.
type SecretsClient interface {
	GetSecretValue(ctx context.Context, in *secretsmanager.GetSecretValueInput, optFns ...func(*secretsmanager.Options)) (*secretsmanager.GetSecretValueOutput, error)
}

// SecretsConfig tunes a SecretsStore. Zero fields take the defaults below.
type SecretsConfig struct {
	// Prefix is prepended to the AccountSid to name its secret.
	// Default DefaultSecretPrefix.
	Prefix string
	// TTL is how long a fetched record is served without asking AWS.
	// Default 5m, so a rotated auth token is picked up within minutes.
	TTL time.Duration
	// MaxStale is how long past TTL a record is still served while AWS
	// fails, so an AWS outage does not take every tenant down. Default 1h.
	MaxStale time.Duration
	// NegativeTTL is how long "no such secret" is remembered, so a flood of
	// made-up AccountSids does not become a flood of AWS calls. Default 30s.
	NegativeTTL time.Duration
	// RetryAfter is how long a stale record is served without asking AWS
	// again after a failed refresh, so an outage does not cost every request
	// a FetchTimeout. Default 30s.
	RetryAfter time.Duration
	// FailureTTL is how long a failed fetch with nothing cached to serve is
	// answered from memory (ErrUnavailable) before AWS is asked again.
	// Default 2s: long enough to spare a throttled service, short enough
	// that a recovered one is used almost at once.
	FailureTTL time.Duration
	// FetchTimeout bounds one fetch, SDK retries included. Twilio gives a
	// webhook 15s before using its fallback URL, so this stays far below.
	// Default 3s.
	FetchTimeout time.Duration
	// ColdFetchesPerSecond caps GetSecretValue calls for tenants with no
	// record in the cache, per store (one per Lambda container): a flood of
	// made-up AccountSids that get past the tenant index costs at most this
	// many paid calls a second, and lookups over the cap are ErrUnavailable.
	// Refreshes of cached tenants are not capped. Default 10.
	ColdFetchesPerSecond float64
	// ColdFetchBurst is how many cold fetches may happen at once before the
	// cap applies. Default 2 x ColdFetchesPerSecond.
	ColdFetchBurst int
	// IndexRecheck is how long after a read of the tenant index a lookup of
	// an AccountSid it does not admit reads it again (once, however many
	// lookups want it) before refusing: a tenant added since is then
	// served at once instead of after TTL, and made-up SIDs cost at most
	// one index read per IndexRecheck. Default DefaultIndexRecheck.
	IndexRecheck time.Duration
	// Now is the clock; default time.Now.
	Now func() time.Time
	// Log receives one warning per tenant per outage; default discards.
	Log *slog.Logger
	// OnFetchError, if set, is called after every failed fetch (not for
	// "not found"), e.g. to count failures in a metric. The tenant index's
	// failures are reported with an empty accountSID.
	OnFetchError func(accountSID string)
	// OnColdFetchLimit, if set, is called for every lookup refused by the
	// ColdFetchesPerSecond cap.
	OnColdFetchLimit func(accountSID string)
}

// Defaults of SecretsConfig.
const (
	DefaultSecretPrefix = "twilio-voice/"
	DefaultSecretsTTL   = 5 * time.Minute
	DefaultMaxStale     = time.Hour
	DefaultNegativeTTL  = 30 * time.Second
	DefaultRetryAfter   = 30 * time.Second
	DefaultFailureTTL   = 2 * time.Second
	DefaultFetchTimeout = 3 * time.Second
	// DefaultIndexRecheck is short enough that the CLI can wait it out
	// before it says a new subaccount is ready (it waits IndexRecheck +
	// FetchTimeout), long enough that forged SIDs cost next to nothing.
	DefaultIndexRecheck   = 10 * time.Second
	minSweep              = 1024 // entries before the first sweep of dead ones
	secretsClientAttempts = 3
	secretsClientBackoff  = time.Second
)

// SecretsStore serves tenants from AWS Secrets Manager, one secret per
// AccountSid holding the JSON record, through a per-container cache: a hit is
// a map read; a miss or an expired entry makes one GetSecretValue call however
// many requests want that tenant at once; and a failed refresh keeps serving
// the last good record for up to MaxStale.
//
// A miss is first checked against the deployment's tenant index (the secret
// Prefix + IndexSecretName, read once per TTL, and again at most once per
// IndexRecheck when it does not admit a lookup's AccountSid): an AccountSid
// it does not admit is ErrNotFound, with no call for a tenant secret.
// Misses that pass it are capped at ColdFetchesPerSecond.
type SecretsStore struct {
	client SecretsClient
	cfg    SecretsConfig

	mu      sync.RWMutex
	entries map[string]*cacheEntry
	sweepAt int // sweep dead entries when the map reaches this size
	// coldWarnAt is when the cap was last logged; guarded by mu.
	coldWarnAt time.Time
	cold       *ratelimit.Bucket

	// flights makes one GetSecretValue call per tenant however many
	// lookups want it at once; indexFlight does the same for the index.
	flights, indexFlight singleflight.Group

	idxMu sync.Mutex
	idx   indexState
}

// cacheEntry is immutable once stored; updates replace it.
type cacheEntry struct {
	tenant     *Tenant   // nil for "not found" and for failures with nothing to serve
	err        error     // returned while a "not found" or a failure with nothing to serve is fresh
	freshUntil time.Time // served without asking AWS until then
	staleUntil time.Time // tenant may be served while AWS fails until then
	retryAt    time.Time // after a failed refresh, no new attempt before then
	failing    bool      // the last fetch failed and its warning was logged
}

// serve returns what the entry answers at now without asking AWS; ok is
// false when AWS must be asked.
func (e *cacheEntry) serve(now time.Time) (t *Tenant, err error, ok bool) {
	if now.Before(e.freshUntil) {
		return e.tenant, e.err, true
	}
	if e.tenant != nil && now.Before(e.retryAt) && now.Before(e.staleUntil) {
		return e.tenant, nil, true
	}
	return nil, nil, false
}

// NewSecretsStore returns a store reading through client.
func NewSecretsStore(client SecretsClient, cfg SecretsConfig) *SecretsStore {
	cfg.Prefix = cmp.Or(cfg.Prefix, DefaultSecretPrefix)
	setDefault(&cfg.TTL, DefaultSecretsTTL)
	setDefault(&cfg.MaxStale, DefaultMaxStale)
	setDefault(&cfg.NegativeTTL, DefaultNegativeTTL)
	setDefault(&cfg.RetryAfter, DefaultRetryAfter)
	setDefault(&cfg.FailureTTL, DefaultFailureTTL)
	setDefault(&cfg.FetchTimeout, DefaultFetchTimeout)
	setDefault(&cfg.IndexRecheck, DefaultIndexRecheck)
	if cfg.ColdFetchesPerSecond <= 0 {
		cfg.ColdFetchesPerSecond = DefaultColdFetchesPerSecond
	}
	if cfg.ColdFetchBurst <= 0 {
		cfg.ColdFetchBurst = max(1, int(2*cfg.ColdFetchesPerSecond))
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Log == nil {
		cfg.Log = slog.New(slog.DiscardHandler)
	}
	return &SecretsStore{
		client:  client,
		cfg:     cfg,
		entries: make(map[string]*cacheEntry),
		sweepAt: minSweep,
		cold:    ratelimit.NewBucket(cfg.ColdFetchesPerSecond, cfg.ColdFetchBurst),
	}
}

func setDefault(d *time.Duration, def time.Duration) {
	if *d <= 0 {
		*d = def
	}
}

// NewSecretsClient builds the real client from the environment Lambda gives
// a function: AWS_REGION (else AWS_DEFAULT_REGION), the execution role's
// credentials in AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY and
// AWS_SESSION_TOKEN, and AWS_ENDPOINT_URL_SECRETS_MANAGER (else
// AWS_ENDPOINT_URL) for a local endpoint. It reads nothing else: unlike
// config.LoadDefaultConfig, which the CLI keeps, it links no shared-config
// files, SSO, STS or EC2 metadata clients (about 2 MB of each bootstrap) that
// a Lambda function never uses. A missing region or credentials is an error
// here, at start-up, rather than on the first request. Its retries back off
// at most 1s so that three attempts fit inside the store's FetchTimeout.
func NewSecretsClient(getenv func(string) string, optFns ...func(*secretsmanager.Options)) (*secretsmanager.Client, error) {
	cfg, err := awsenv.Config(getenv)
	if err != nil {
		return nil, fmt.Errorf("secrets manager client: %w (Lambda sets them from the function's role)", err)
	}
	o := secretsmanager.Options{
		Region:      cfg.Region,
		Credentials: cfg.Credentials,
		Retryer: retry.NewStandard(func(o *retry.StandardOptions) {
			o.MaxAttempts = secretsClientAttempts
			o.MaxBackoff = secretsClientBackoff
		}),
		BaseEndpoint: awsenv.BaseEndpoint(getenv, "SECRETS_MANAGER"),
	}
	return secretsmanager.New(o, optFns...), nil
}

// FetchError is a failed read of a tenant's secret (or, with no AccountSID,
// of the tenant index), or a lookup refused by the cold fetch cap. It
// matches ErrUnavailable and, through Err, the SDK's error. Its text names
// only the tenant and the kind of failure: the SDK's text may quote a
// malformed response, which could hold secrets.
type FetchError struct {
	AccountSID string
	// Kind is the AWS error code ("ThrottlingException"), "timeout",
	// "canceled", "connection error", "malformed response", "request failed"
	// or "invalid record: <field>".
	Kind string
	Err  error
}

// Error names the tenant and the kind of failure, nothing the SDK said.
func (e *FetchError) Error() string {
	if e.AccountSID == "" {
		return "tenant index: secret unavailable: " + e.Kind
	}
	return "tenant " + e.AccountSID + ": secret unavailable: " + e.Kind
}

// Unwrap makes errors.Is(err, ErrUnavailable) and errors.As on the cause work.
func (e *FetchError) Unwrap() []error {
	if e.Err == nil {
		return []error{ErrUnavailable}
	}
	return []error{ErrUnavailable, e.Err}
}

// Lookup implements Store.
func (s *SecretsStore) Lookup(ctx context.Context, accountSID string) (*Tenant, error) {
	if !ValidAccountSID(accountSID) {
		return nil, fmt.Errorf("lookup %q: %w", redactSID(accountSID), ErrNotFound)
	}
	s.mu.RLock()
	e := s.entries[accountSID]
	s.mu.RUnlock()
	if e != nil {
		if t, err, ok := e.serve(s.cfg.Now()); ok {
			return t, err
		}
	}
	if err := s.checkIndex(ctx, accountSID); err != nil {
		return nil, err
	}
	return s.fetch(ctx, accountSID)
}

// fetch joins or starts the flight for accountSID and waits for it or for
// ctx. The call itself runs on a context detached from ctx, so one caller
// giving up does not fail the others waiting on the same flight.
func (s *SecretsStore) fetch(ctx context.Context, accountSID string) (*Tenant, error) {
	done := s.flights.DoChan(accountSID, func() (any, error) {
		return s.fly(context.WithoutCancel(ctx), accountSID)
	})
	select {
	case r := <-done:
		if errors.Is(r.Err, ErrColdFetchLimit) && s.cfg.OnColdFetchLimit != nil {
			s.cfg.OnColdFetchLimit(accountSID)
		}
		t, _ := r.Val.(*Tenant)
		return t, r.Err
	case <-ctx.Done():
		if t := s.stale(accountSID); t != nil {
			return t, nil
		}
		return nil, &FetchError{AccountSID: accountSID, Kind: logging.ErrorKind(ctx.Err()), Err: ctx.Err()}
	}
}

// stale returns the cached record if it is still within MaxStale.
func (s *SecretsStore) stale(accountSID string) *Tenant {
	s.mu.RLock()
	e := s.entries[accountSID]
	s.mu.RUnlock()
	if e != nil && e.tenant != nil && s.cfg.Now().Before(e.staleUntil) {
		return e.tenant
	}
	return nil
}

// fly is one flight: unless a flight that just landed answers, or the cold
// fetch cap refuses, it makes the call, stores and logs its outcome, and
// returns what every lookup waiting on it gets.
func (s *SecretsStore) fly(ctx context.Context, accountSID string) (*Tenant, error) {
	s.mu.Lock()
	now := s.cfg.Now()
	e := s.entries[accountSID]
	if e != nil {
		// Another flight may have landed since Lookup's read-locked check.
		if t, err, ok := e.serve(now); ok {
			s.mu.Unlock()
			return t, err
		}
	}
	if (e == nil || e.tenant == nil) && !s.cold.Allow(now) {
		warn := now.Sub(s.coldWarnAt) >= coldWarnEvery
		if warn {
			s.coldWarnAt = now
		}
		s.mu.Unlock()
		return nil, s.coldLimited(accountSID, warn)
	}
	s.mu.Unlock()

	ctx, cancel := context.WithTimeout(ctx, s.cfg.FetchTimeout)
	defer cancel()
	// Freshness counts from when the call started: a record is as old as
	// the moment it was asked for, however long the answer took.
	now = s.cfg.Now()
	t, err := s.get(ctx, accountSID)

	s.mu.Lock()
	old := s.entries[accountSID]
	wasFailing := old != nil && old.failing
	var next cacheEntry
	var fetchErr *FetchError
	switch {
	case err == nil:
		next = cacheEntry{tenant: t, freshUntil: now.Add(s.cfg.TTL), staleUntil: now.Add(s.cfg.TTL + s.cfg.MaxStale)}
	case errors.Is(err, ErrNotFound):
		next = cacheEntry{err: err, freshUntil: now.Add(s.cfg.NegativeTTL)}
	default:
		if !errors.As(err, &fetchErr) {
			fetchErr = &FetchError{AccountSID: accountSID, Kind: logging.ErrorKind(err), Err: err}
			err = fetchErr
		}
		next = cacheEntry{failing: true}
		if old != nil && old.tenant != nil && now.Before(old.staleUntil) {
			next.tenant, next.staleUntil, next.retryAt = old.tenant, old.staleUntil, now.Add(s.cfg.RetryAfter)
			t, err = old.tenant, nil
		} else {
			// Nothing to serve: remember the failure briefly, so a throttled
			// or failing Secrets Manager gets one call per tenant per
			// FailureTTL rather than three (SDK retries) per request.
			next.err, next.freshUntil = err, now.Add(s.cfg.FailureTTL)
		}
	}
	s.store(accountSID, &next, now)
	s.mu.Unlock()
	// Logged before the waiters are released, so that once Lookup returns,
	// what it caused is already logged and counted.

	log := s.cfg.Log
	switch {
	case fetchErr != nil:
		if !wasFailing {
			log.Warn("tenant secret fetch failed",
				"account_sid", accountSID, "error_kind", fetchErr.Kind, "serving_stale", t != nil)
		}
		if s.cfg.OnFetchError != nil {
			s.cfg.OnFetchError(accountSID)
		}
	case wasFailing:
		log.Info("tenant secret fetch recovered", "account_sid", accountSID)
	}
	switch {
	case errors.Is(err, errOtherStack):
		log.Warn("tenant secret tagged for another stack; tenant not served by this one", "account_sid", accountSID)
	case errors.Is(err, ErrNotFound) && old != nil && old.tenant != nil:
		// An authoritative "no such secret" ends service for a tenant at
		// once: it was deprovisioned, which is not an outage.
		log.Warn("tenant secret deleted; tenant no longer served", "account_sid", accountSID)
	}
	return t, err
}

// store puts e in the cache and, when the map has doubled since the last
// sweep, drops entries that can no longer answer anything, so made-up
// AccountSids cannot grow it without bound. The caller holds mu.
func (s *SecretsStore) store(accountSID string, e *cacheEntry, now time.Time) {
	s.entries[accountSID] = e
	if len(s.entries) < s.sweepAt {
		return
	}
	for sid, e := range s.entries {
		if !now.Before(e.freshUntil) && (e.tenant == nil || !now.Before(e.staleUntil)) {
			delete(s.entries, sid)
		}
	}
	s.sweepAt = max(2*len(s.entries), minSweep)
}

// get reads and validates one tenant's secret. It returns an error matching
// ErrNotFound when the secret does not exist, else a *FetchError.
func (s *SecretsStore) get(ctx context.Context, accountSID string) (*Tenant, error) {
	out, err := s.client.GetSecretValue(ctx, &secretsmanager.GetSecretValueInput{
		SecretId: aws.String(s.cfg.Prefix + accountSID),
	})
	if err != nil {
		if awsenv.NotFound(err) || awsenv.MarkedForDeletion(err) {
			// A secret marked for deletion is a tenant being offboarded, not
			// an outage: it must not be served stale for another MaxStale.
			return nil, fmt.Errorf("lookup %s: %w", accountSID, ErrNotFound)
		}
		if awsenv.AccessDenied(err) && s.hasIndex() {
			// The functions' policy denies a secret under the prefix only
			// when it is tagged for another stack (the template's
			// StringEqualsIfExists on the stack tag), and it let this store
			// read the index under the same prefix: the tenant was moved to
			// another stack, which is no outage either. Without an index
			// read the policy itself may be broken: that stays an outage.
			return nil, fmt.Errorf("lookup %s: %w", accountSID, errOtherStack)
		}
		return nil, &FetchError{AccountSID: accountSID, Kind: logging.ErrorKind(err), Err: err}
	}
	if out.SecretString == nil {
		return nil, &FetchError{AccountSID: accountSID, Kind: "invalid record: secret has no SecretString"}
	}
	t, err := Parse([]byte(*out.SecretString))
	if err != nil {
		kind := "invalid record"
		if fe, ok := errors.AsType[*FieldError](err); ok {
			kind += ": " + fe.Field
		}
		return nil, &FetchError{AccountSID: accountSID, Kind: kind, Err: err}
	}
	if t.AccountSID != accountSID {
		// Never serve one tenant's record under another's AccountSid.
		return nil, &FetchError{AccountSID: accountSID, Kind: "invalid record: account_sid does not match the secret name"}
	}
	return t, nil
}
