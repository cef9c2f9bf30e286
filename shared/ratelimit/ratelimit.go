// Package ratelimit is a per-key token bucket kept in one container's memory.
// It bounds how fast one tenant+identity can mint tokens from one Lambda
// container; API Gateway's stage throttling bounds the whole API.
package ratelimit

import (
	"math"
	"sync"
	"time"
)

// Limiter allows Rate events per Per for each key, in bursts of up to Rate.
type Limiter struct {
	rate    float64 // tokens per second
	burst   float64
	mu      sync.Mutex
	buckets map[string]*bucket
}

type bucket struct {
	tokens float64
	last   time.Time
}

// tokenEpsilon absorbs float rounding in the refill, so that waiting exactly
// the announced time is always enough for one event.
const tokenEpsilon = 1e-9

// maxKeys bounds memory under a flood of distinct keys: past it, buckets
// that have refilled completely (and so carry no state) are dropped.
const maxKeys = 10000

// New returns a limiter of n events per period per key. n <= 0 returns nil,
// and a nil *Limiter allows everything.
func New(n int, per time.Duration) *Limiter {
	if n <= 0 {
		return nil
	}
	return &Limiter{rate: float64(n) / per.Seconds(), burst: float64(n), buckets: map[string]*bucket{}}
}

// Allow takes one event for key at now. When the bucket is empty it returns
// false and how long until one event is allowed again.
func (l *Limiter) Allow(key string, now time.Time) (bool, time.Duration) {
	if l == nil {
		return true, 0
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	b := l.buckets[key]
	if b == nil {
		if len(l.buckets) >= maxKeys {
			l.prune(now)
		}
		b = &bucket{tokens: l.burst, last: now}
		l.buckets[key] = b
	}
	if dt := now.Sub(b.last).Seconds(); dt > 0 {
		b.tokens = min(l.burst, b.tokens+dt*l.rate)
		b.last = now
	}
	if b.tokens >= 1-tokenEpsilon {
		b.tokens = max(b.tokens-1, 0)
		return true, 0
	}
	// Round up: a truncated wait would end just short of a whole token, and
	// a caller that waited exactly that long would be refused again.
	wait := time.Duration(math.Ceil((1 - b.tokens) / l.rate * float64(time.Second)))
	return false, wait
}

func (l *Limiter) prune(now time.Time) {
	for k, b := range l.buckets {
		if b.tokens+now.Sub(b.last).Seconds()*l.rate >= l.burst {
			delete(l.buckets, k)
		}
	}
	// Still full: a flood of distinct keys. Forget arbitrary ones (map order
	// is random); a forgotten key only gets a fresh burst.
	for k := range l.buckets {
		if len(l.buckets) < maxKeys/2 {
			break
		}
		delete(l.buckets, k)
	}
}
