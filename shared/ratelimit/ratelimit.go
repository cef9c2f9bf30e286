// Package ratelimit holds token buckets kept in one container's memory: a
// Limiter of one bucket per identity of each tenant (how fast one identity
// can mint tokens from one Lambda container; API Gateway's stage throttling
// bounds the whole API), and a single key-less Bucket (the tenant store's cap
// on cold secret fetches). The caller passes the time to every call, so a
// test drives them with its own clock.
package ratelimit

import (
	"math"
	"sync"
	"time"
)

// Limiter allows n events per period (New's arguments) for each identity of
// each tenant, in bursts of up to n.
//
// Memory is bounded without letting anyone reset a throttled identity: a
// bucket is forgotten only once it has refilled completely (it then carries
// no state: a fresh bucket is the same), and a new identity that finds its
// tenant at MaxIdentitiesPerTenant, or the limiter at MaxBuckets, with no
// full bucket to forget is refused until one refills. So a flood of new
// identities throttles the flooding tenant first, and other tenants' new
// identities only once every slot is held by a bucket still in use; an
// identity already throttled stays throttled.
type Limiter struct {
	rate    float64 // tokens per second
	burst   float64
	mu      sync.Mutex
	tenants map[string]map[string]*bucket // tenant -> identity -> bucket
	total   int                           // buckets over all tenants
	// fullUntil: at MaxBuckets, no bucket is full before this time, so new
	// identities are refused without another scan of every bucket. Buckets
	// only refill with time, or drain, which puts their refill later.
	fullUntil time.Time
}

// bucket is the state of one token bucket; its rate and burst are its
// owner's, so a Limiter's thousands of buckets do not each repeat them.
type bucket struct {
	tokens float64
	last   time.Time // zero: never used, and so full
}

// take spends one token at now when there is one; otherwise it reports how
// many tokens are missing. The bucket refills at rate up to burst; a clock
// going back refills nothing.
func (b *bucket) take(now time.Time, rate, burst float64) (ok bool, missing float64) {
	if b.last.IsZero() {
		b.tokens, b.last = burst, now
	}
	if dt := now.Sub(b.last).Seconds(); dt > 0 {
		b.tokens = min(burst, b.tokens+dt*rate)
		b.last = now
	}
	if b.tokens >= 1-tokenEpsilon {
		b.tokens = max(b.tokens-1, 0)
		return true, 0
	}
	return false, 1 - b.tokens
}

// Bucket is one token bucket with no key: rate events a second in bursts of
// up to burst. It is safe for concurrent use.
type Bucket struct {
	rate, burst float64
	mu          sync.Mutex
	state       bucket
}

// NewBucket returns a full bucket of perSecond events a second in bursts of
// up to burst (at least 1).
func NewBucket(perSecond float64, burst int) *Bucket {
	return &Bucket{rate: perSecond, burst: float64(max(burst, 1))}
}

// Allow takes one event at now, or reports that the bucket is empty.
func (b *Bucket) Allow(now time.Time) bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	ok, _ := b.state.take(now, b.rate, b.burst)
	return ok
}

// tokenEpsilon absorbs float rounding in the refill, so that waiting exactly
// the announced time is always enough for one event.
const tokenEpsilon = 1e-9

// Bounds on the buckets one limiter keeps (a bucket is ~200 bytes with its
// identity). A bucket is in use, and cannot be forgotten, only while it
// refills: for at most the period after its identity's last event.
const (
	MaxIdentitiesPerTenant = 2000
	MaxBuckets             = 20000
)

// New returns a limiter of n events per period per identity. n <= 0 returns
// nil, and a nil *Limiter allows everything.
func New(n int, per time.Duration) *Limiter {
	if n <= 0 {
		return nil
	}
	return &Limiter{rate: float64(n) / per.Seconds(), burst: float64(n), tenants: map[string]map[string]*bucket{}}
}

// AllowIdentity takes one event for identity of tenant at now. When the
// identity's bucket is empty, or it is new and no room can be made for it,
// it returns false and how long until an event may be allowed again.
func (l *Limiter) AllowIdentity(tenant, identity string, now time.Time) (bool, time.Duration) {
	if l == nil {
		return true, 0
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	ids := l.tenants[tenant]
	b := ids[identity]
	if b == nil {
		if len(ids) >= MaxIdentitiesPerTenant {
			if wait := l.forgetFull(tenant, ids, now); len(ids) >= MaxIdentitiesPerTenant {
				return false, wait
			}
		}
		if l.total >= MaxBuckets {
			if wait := l.fullUntil.Sub(now); wait > 0 && wait <= l.until(l.burst) {
				return false, wait
			}
			wait := time.Duration(math.MaxInt64)
			for t, m := range l.tenants {
				wait = min(wait, l.forgetFull(t, m, now))
			}
			if l.total >= MaxBuckets {
				l.fullUntil = now.Add(wait)
				return false, wait
			}
		}
		ids = l.tenants[tenant] // forgetFull drops a tenant it empties
		if ids == nil {
			ids = map[string]*bucket{}
			l.tenants[tenant] = ids
		}
		b = &bucket{}
		ids[identity] = b
		l.total++
	}
	if ok, missing := b.take(now, l.rate, l.burst); !ok {
		return false, l.until(missing)
	}
	return true, 0
}

// forgetFull drops tenant's buckets that have refilled completely, and the
// tenant when it has none left. It returns how long until the next of the
// others is full.
func (l *Limiter) forgetFull(tenant string, ids map[string]*bucket, now time.Time) time.Duration {
	missing := math.Inf(1) // tokens the fullest remaining bucket lacks
	for id, b := range ids {
		lack := l.burst - b.tokens
		if dt := now.Sub(b.last).Seconds(); dt > 0 {
			lack -= dt * l.rate
		}
		if lack <= tokenEpsilon {
			delete(ids, id)
			l.total--
			continue
		}
		missing = min(missing, lack)
	}
	if len(ids) == 0 {
		delete(l.tenants, tenant)
		return 0
	}
	return l.until(missing)
}

// until is how long the bucket takes to earn tokens. It rounds up: a
// truncated wait would end just short, and a caller that waited exactly
// that long would be refused again.
func (l *Limiter) until(tokens float64) time.Duration {
	return time.Duration(math.Ceil(tokens / l.rate * float64(time.Second)))
}
