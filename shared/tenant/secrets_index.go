package tenant

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"

	"bubble-twilio-voice/shared/awsenv"
	"bubble-twilio-voice/shared/logging"
)

// ErrColdFetchLimit is the cause of a lookup refused by the store's
// ColdFetchesPerSecond cap; such an error also matches ErrUnavailable.
var ErrColdFetchLimit = errors.New("cold secret fetches over the per-container cap")

// DefaultColdFetchesPerSecond is the default of
// SecretsConfig.ColdFetchesPerSecond.
const DefaultColdFetchesPerSecond = 10

// coldWarnEvery spaces the warnings about the cold fetch cap: a flood would
// otherwise log one line per refused request.
const coldWarnEvery = time.Minute

// coldLimited is the answer to the lookups of a flight refused by the cap.
// warn says whether this refusal is the first since coldWarnEvery, and so is
// logged.
func (s *SecretsStore) coldLimited(accountSID string, warn bool) error {
	if warn {
		s.cfg.Log.Warn("cold secret fetches over the cap; lookups of tenants not in the cache are answered unavailable",
			"account_sid", accountSID, "cold_fetches_per_second", s.cfg.ColdFetchesPerSecond, "burst", s.cfg.ColdFetchBurst)
	}
	return &FetchError{AccountSID: accountSID, Kind: "cold fetch limit", Err: ErrColdFetchLimit}
}

// indexState is what the store knows of the tenant index. Guarded by
// SecretsStore.idxMu.
type indexState struct {
	// index is the last good index; nil when there is none (the secret does
	// not exist, or no read has succeeded yet), and then every well-formed
	// AccountSid may be fetched.
	index *Index
	// checkAt is when the index secret is read again.
	checkAt time.Time
	// recheckAt is when a lookup the index does not admit may read it again:
	// IndexRecheck after the last read started, RetryAfter after a failed
	// one.
	recheckAt time.Time
}

// errOtherStack is a tenant secret the functions' policy denies while it
// lets the index be read: tagged for another stack (see SecretsStore.get).
// It matches ErrNotFound: to this stack the tenant does not exist.
var errOtherStack = fmt.Errorf("tenant secret tagged for another stack: %w", ErrNotFound)

// hasIndex reports whether the store has read the tenant index.
func (s *SecretsStore) hasIndex() bool {
	s.idxMu.Lock()
	defer s.idxMu.Unlock()
	return s.idx.index != nil
}

// IndexName is the name of the tenant index secret under the store's
// prefix.
func (s *SecretsStore) IndexName() string { return s.cfg.Prefix + IndexSecretName }

// checkIndex returns an error matching ErrNotFound when the tenant index
// rules accountSID out, after reading the index if it is due (one read per
// TTL, however many lookups want it). An AccountSid the cached index does not
// admit makes it read again first if the last read is IndexRecheck old: a
// tenant the CLI has just added is served at once, not after TTL. A stranger
// can only make that read happen (once per IndexRecheck), never slower or
// refused for others: it runs detached from the request, and a failure keeps
// the last good index.
func (s *SecretsStore) checkIndex(ctx context.Context, accountSID string) error {
	x, err := s.currentIndex(ctx, false)
	if err != nil || x == nil || x.MayContain(accountSID) {
		return err
	}
	if x, err = s.currentIndex(ctx, true); err != nil {
		return err
	}
	if x != nil && !x.MayContain(accountSID) {
		return fmt.Errorf("lookup %s: not in the tenant index: %w", accountSID, ErrNotFound)
	}
	return nil
}

// currentIndex returns the index to decide with (nil: none, admit every
// SID), reading it first when it is due, or with recheck when the last read
// is at least IndexRecheck old. The read runs detached from ctx, so one
// caller giving up does not fail the others.
func (s *SecretsStore) currentIndex(ctx context.Context, recheck bool) (*Index, error) {
	if x, ok := s.indexIfCurrent(recheck); ok {
		return x, nil
	}
	done := s.indexFlight.DoChan("", func() (any, error) {
		s.readIndex(context.WithoutCancel(ctx), recheck)
		return nil, nil
	})
	select {
	case <-done:
		s.idxMu.Lock()
		defer s.idxMu.Unlock()
		return s.idx.index, nil
	case <-ctx.Done():
		return nil, &FetchError{Kind: logging.ErrorKind(ctx.Err()), Err: ctx.Err()}
	}
}

// indexIfCurrent returns the index when it needs no read: it is not due
// and, with recheck, was read less than IndexRecheck ago.
func (s *SecretsStore) indexIfCurrent(recheck bool) (x *Index, ok bool) {
	s.idxMu.Lock()
	defer s.idxMu.Unlock()
	now := s.cfg.Now()
	if recheck {
		return s.idx.index, now.Before(s.idx.recheckAt)
	}
	return s.idx.index, now.Before(s.idx.checkAt)
}

// readIndex reads and parses the index secret, unless a read that just
// landed made it current, and records the outcome. A missing secret means
// no index (and a warning, once per TTL); any other failure keeps the last
// good index and tries again after RetryAfter.
func (s *SecretsStore) readIndex(ctx context.Context, recheck bool) {
	if _, ok := s.indexIfCurrent(recheck); ok {
		return
	}
	ctx, cancel := context.WithTimeout(ctx, s.cfg.FetchTimeout)
	defer cancel()
	now := s.cfg.Now()
	s.idxMu.Lock()
	s.idx.recheckAt = now.Add(s.cfg.IndexRecheck)
	s.idxMu.Unlock()
	name := s.IndexName()
	x, err := s.getIndex(ctx, name)

	s.idxMu.Lock()
	had := s.idx.index
	var missing bool
	switch {
	case err == nil:
		s.idx.index, s.idx.checkAt = &x, now.Add(s.cfg.TTL)
	case errors.Is(err, ErrNotFound):
		missing = true
		s.idx.index, s.idx.checkAt = nil, now.Add(s.cfg.TTL)
	default:
		s.idx.checkAt = now.Add(s.cfg.RetryAfter)
		s.idx.recheckAt = later(s.idx.recheckAt, s.idx.checkAt)
	}
	s.idxMu.Unlock()

	log := s.cfg.Log
	switch {
	case missing:
		log.Warn("tenant index secret not found: every well-formed AccountSid may cost a GetSecretValue call; run `subaccounts reindex`",
			"secret", name, "cold_fetches_per_second", s.cfg.ColdFetchesPerSecond)
	case err != nil:
		kind := "request failed"
		if fe, ok := errors.AsType[*FetchError](err); ok {
			kind = fe.Kind
		}
		log.Warn("tenant index read failed", "secret", name, "error_kind", kind, "serving_last_index", had != nil)
		if s.cfg.OnFetchError != nil {
			s.cfg.OnFetchError("")
		}
	}
}

// later returns the later of a and b.
func later(a, b time.Time) time.Time {
	if a.After(b) {
		return a
	}
	return b
}

// getIndex reads the index secret. It returns an error matching ErrNotFound
// when the secret does not exist (or is marked for deletion), else a
// *FetchError.
func (s *SecretsStore) getIndex(ctx context.Context, name string) (Index, error) {
	out, err := s.client.GetSecretValue(ctx, &secretsmanager.GetSecretValueInput{SecretId: aws.String(name)})
	if err != nil {
		if awsenv.NotFound(err) || awsenv.MarkedForDeletion(err) {
			return Index{}, fmt.Errorf("index %s: %w", name, ErrNotFound)
		}
		return Index{}, &FetchError{Kind: logging.ErrorKind(err), Err: err}
	}
	if out.SecretString == nil {
		return Index{}, &FetchError{Kind: "invalid index: secret has no SecretString"}
	}
	x, err := ParseIndex([]byte(*out.SecretString))
	if err != nil {
		return Index{}, &FetchError{Kind: "invalid index", Err: err}
	}
	return x, nil
}
