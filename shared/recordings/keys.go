package recordings

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"time"
)

// Keys are the recording link keys at one moment, as the link key secret's
// staging labels hold them.
type Keys struct {
	// Current is the key of the secret's AWSCURRENT version.
	Current []byte
	// CurrentSince is when Current became current (that version's
	// CreatedDate); zero when unknown, which counts as long ago.
	CurrentSince time.Time
	// Previous is the key of the AWSPREVIOUS version; nil before the first
	// rotation.
	Previous []byte
}

// KeyReader reads the link keys. On AWS it reads the link key secret's
// AWSCURRENT and AWSPREVIOUS versions (GetSecretValue with VersionStage).
type KeyReader func(ctx context.Context) (Keys, error)

// RotationConfig tunes NewRotatingLinks. TTL, RetryAfter and FetchTimeout
// must be set: they are the deployment's Secrets Manager settings, shared
// with the tenant store, and are defined there once.
type RotationConfig struct {
	// TTL is how long keys are used before they are read again. Every
	// container reads them at least this often (while requests arrive), and
	// a new key signs links only once it is TTL + FetchTimeout +
	// clockSkew old, so that every container accepts it by then.
	TTL time.Duration
	// RetryAfter is how long the old keys are used without trying again
	// after a failed read. A failed read never drops a key.
	RetryAfter time.Duration
	// FetchTimeout bounds one read.
	FetchTimeout time.Duration
	// Now is the clock; default time.Now.
	Now func() time.Time
	// Log gets one warning per failed read and one line per new key; default
	// discards. It never sees a key.
	Log *slog.Logger
}

// clockSkew allows for the difference between AWS's CreatedDate of a
// version and a container's clock.
const clockSkew = time.Minute

// NewRotatingLinks returns links under base whose keys read reads now and
// again every cfg.TTL: a link is signed with the current key once every
// container knows it (before that with the previous key) and accepted
// under either. It fails when the first read fails or its current key is
// shorter than MinKeyLength, so a function does not start without one.
func NewRotatingLinks(ctx context.Context, read KeyReader, base string, cfg RotationConfig) (*Links, error) {
	if cfg.TTL <= 0 || cfg.RetryAfter <= 0 || cfg.FetchTimeout <= 0 {
		return nil, errors.New("recording link keys: TTL, RetryAfter and FetchTimeout must be positive")
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Log == nil {
		cfg.Log = slog.New(slog.DiscardHandler)
	}
	r := &keyring{read: read, cfg: cfg}
	now := cfg.Now()
	k, err := r.fetch(ctx)
	if err != nil {
		return nil, err
	}
	r.keys, r.nextRead = k, now.Add(cfg.TTL)
	return &Links{ring: r, base: strings.TrimRight(base, "/")}, nil
}

// keyring caches the keys a KeyReader reads.
type keyring struct {
	read KeyReader
	cfg  RotationConfig

	mu       sync.Mutex
	keys     Keys
	nextRead time.Time // keys are read again at the first use after this
	reading  bool      // a read is in flight; others use keys meanwhile
	failing  bool      // the last read failed and was logged
}

// get returns the keys, reading them first when they are due. Only the
// caller that finds them due waits for the read (at most FetchTimeout, once
// per TTL); the others meanwhile use the keys in hand.
func (r *keyring) get() Keys {
	r.mu.Lock()
	now := r.cfg.Now()
	if r.reading || now.Before(r.nextRead) {
		k := r.keys
		r.mu.Unlock()
		return k
	}
	r.reading = true
	r.mu.Unlock()

	// Detached from any request: the read serves every later one.
	k, err := r.fetch(context.Background())

	r.mu.Lock()
	defer r.mu.Unlock()
	r.reading = false
	log := r.cfg.Log
	if err != nil {
		r.nextRead = now.Add(r.cfg.RetryAfter)
		if !r.failing {
			log.Warn("recording link keys: read failed; using the keys in hand", "error", err.Error(), "retry_in", r.cfg.RetryAfter)
		}
		r.failing = true
		return r.keys
	}
	if r.failing {
		log.Info("recording link keys: read recovered")
	}
	if !k.CurrentSince.Equal(r.keys.CurrentSince) || string(k.Current) != string(r.keys.Current) {
		log.Info("recording link keys: a new current key", "current_since", k.CurrentSince, "has_previous", k.Previous != nil)
	}
	r.failing, r.keys, r.nextRead = false, k, now.Add(r.cfg.TTL)
	return k
}

// fetch reads the keys within FetchTimeout and checks them: a current key
// shorter than MinKeyLength is an error (the keys in hand stay), a previous
// one that short is not accepted.
func (r *keyring) fetch(ctx context.Context) (Keys, error) {
	ctx, cancel := context.WithTimeout(ctx, r.cfg.FetchTimeout)
	defer cancel()
	k, err := r.read(ctx)
	if err != nil {
		return Keys{}, fmt.Errorf("recording link keys: %w", err)
	}
	if len(k.Current) < MinKeyLength {
		return Keys{}, fmt.Errorf("recording link keys: the current key is shorter than %d bytes", MinKeyLength)
	}
	if len(k.Previous) < MinKeyLength {
		k.Previous = nil
	}
	return k, nil
}

// signing returns the key to sign a link with now: the current key once
// every container has had time to read it, else the previous one.
func (r *keyring) signing() []byte {
	k := r.get()
	if k.Previous != nil && !k.CurrentSince.IsZero() &&
		r.cfg.Now().Sub(k.CurrentSince) < r.cfg.TTL+r.cfg.FetchTimeout+clockSkew {
		return k.Previous
	}
	return k.Current
}
