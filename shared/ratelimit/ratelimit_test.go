package ratelimit

import (
	"strconv"
	"sync"
	"testing"
	"time"

	"bubble-twilio-voice/test/kit"
)

func TestBurstThenRefuse(t *testing.T) {
	tests := []struct {
		n        int
		per      time.Duration
		wantWait time.Duration // until the next event after the burst
	}{
		{1, time.Minute, time.Minute},
		{5, time.Minute, 12 * time.Second},
		{30, time.Minute, 2 * time.Second},
		{10, time.Second, 100 * time.Millisecond},
	}
	for _, tc := range tests {
		t.Run(strconv.Itoa(tc.n)+"/"+tc.per.String(), func(t *testing.T) {
			c := new(kit.Clock)
			l := New(tc.n, tc.per)
			for i := range tc.n {
				if ok, wait := l.Allow("k", c.Now()); !ok || wait != 0 {
					t.Fatalf("event %d of the burst refused (wait %v)", i+1, wait)
				}
			}
			ok, wait := l.Allow("k", c.Now())
			if ok {
				t.Fatalf("event %d allowed past a burst of %d", tc.n+1, tc.n)
			}
			if d := wait - tc.wantWait; d < -time.Millisecond || d > time.Millisecond {
				t.Errorf("wait = %v, want %v", wait, tc.wantWait)
			}
			// Refused events do not consume: just before the wait, still
			// refused; at the wait, allowed exactly once.
			c.Advance(wait - time.Millisecond)
			if ok, _ := l.Allow("k", c.Now()); ok {
				t.Error("allowed before the announced wait")
			}
			c.Advance(time.Millisecond)
			if ok, _ := l.Allow("k", c.Now()); !ok {
				t.Error("refused after the announced wait")
			}
			if ok, _ := l.Allow("k", c.Now()); ok {
				t.Error("two events allowed after one refill")
			}
		})
	}
}

func TestRefillCapsAtBurst(t *testing.T) {
	c := new(kit.Clock)
	l := New(3, time.Minute)
	for range 3 {
		l.Allow("k", c.Now())
	}
	c.Advance(24 * time.Hour) // a long idle period refills to the burst, no more
	allowed := 0
	for range 10 {
		if ok, _ := l.Allow("k", c.Now()); ok {
			allowed++
		}
	}
	if allowed != 3 {
		t.Errorf("after a long idle period %d events allowed, want the burst of 3", allowed)
	}
}

func TestSteadyRate(t *testing.T) {
	c := new(kit.Clock)
	l := New(60, time.Minute) // one a second
	for range 60 {
		l.Allow("k", c.Now())
	}
	allowed := 0
	for range 120 { // two minutes in half-second steps
		c.Advance(500 * time.Millisecond)
		if ok, _ := l.Allow("k", c.Now()); ok {
			allowed++
		}
	}
	if allowed != 60 {
		t.Errorf("allowed %d events in 60s at 1/s, want 60", allowed)
	}
}

func TestClockGoingBackwards(t *testing.T) {
	c := new(kit.Clock)
	l := New(1, time.Minute)
	l.Allow("k", c.Now())
	c.Advance(-time.Hour)
	if ok, _ := l.Allow("k", c.Now()); ok {
		t.Error("a clock stepping back refilled the bucket")
	}
}

func TestKeyIsolation(t *testing.T) {
	c := new(kit.Clock)
	l := New(2, time.Minute)
	for range 2 {
		l.Allow("AC1\x00alice", c.Now())
	}
	if ok, _ := l.Allow("AC1\x00alice", c.Now()); ok {
		t.Fatal("alice not limited")
	}
	for _, k := range []string{"AC1\x00bob", "AC2\x00alice", ""} {
		if ok, _ := l.Allow(k, c.Now()); !ok {
			t.Errorf("key %q limited by another key's bucket", k)
		}
	}
}

func TestNil(t *testing.T) {
	for _, n := range []int{0, -1} {
		if l := New(n, time.Minute); l != nil {
			t.Errorf("New(%d) = %v, want nil", n, l)
		}
	}
	var l *Limiter
	for range 1000 {
		if ok, wait := l.Allow("k", time.Time{}); !ok || wait != 0 {
			t.Fatal("nil limiter refused")
		}
	}
}

func TestBoundedKeys(t *testing.T) {
	c := new(kit.Clock)
	l := New(2, time.Minute)
	l.Allow("hot", c.Now())
	l.Allow("hot", c.Now())
	for i := range 20000 {
		if ok, _ := l.Allow("k"+strconv.Itoa(i), c.Now()); !ok {
			t.Fatalf("fresh key %d refused", i)
		}
		if n := len(l.buckets); n > maxKeys {
			t.Fatalf("after %d keys the limiter holds %d buckets, over %d", i+1, n, maxKeys)
		}
	}
	// Once time has passed, pruning drops the refilled buckets first.
	c.Advance(time.Minute)
	l.Allow("one-more", c.Now())
	for i := 20000; len(l.buckets) < maxKeys; i++ {
		l.Allow("k"+strconv.Itoa(i), c.Now())
	}
	l.Allow("trigger", c.Now())
	if n := len(l.buckets); n > maxKeys {
		t.Errorf("holds %d buckets, over %d", n, maxKeys)
	}
}

func TestConcurrent(t *testing.T) {
	c := new(kit.Clock)
	now := c.Now()
	l := New(100, time.Hour)
	var wg sync.WaitGroup
	var mu sync.Mutex
	allowed := 0
	for range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range 50 {
				if ok, _ := l.Allow("shared", now); ok {
					mu.Lock()
					allowed++
					mu.Unlock()
				}
			}
		}()
	}
	wg.Wait()
	if allowed != 100 {
		t.Errorf("%d events allowed from one bucket of 100", allowed)
	}
}

func BenchmarkAllow(b *testing.B) {
	l := New(1<<30, time.Second)
	now := time.Now()
	b.ReportAllocs()
	for b.Loop() {
		l.Allow("AC0123456789abcdef0123456789abcdef\x00alice", now)
	}
}

// TestWaitIsEnough checks the announced wait over many rates: waiting
// exactly that long must be enough for one event, and a millisecond less
// must not be (so the wait is not grossly overstated either).
func TestWaitIsEnough(t *testing.T) {
	for _, per := range []time.Duration{time.Second, 7 * time.Second, time.Minute, time.Hour} {
		for n := 1; n <= 200; n++ {
			c := new(kit.Clock)
			l := New(n, per)
			for range n {
				l.Allow("k", c.Now())
			}
			c.Advance(1234567 * time.Nanosecond) // a partial token, as in real use
			ok, wait := l.Allow("k", c.Now())
			if ok {
				continue // the partial advance already earned a token
			}
			if wait > time.Millisecond {
				c.Advance(wait - time.Millisecond)
				if ok, _ := l.Allow("k", c.Now()); ok {
					t.Errorf("%d/%v: allowed 1ms before the announced wait %v", n, per, wait)
				}
				c.Advance(time.Millisecond)
			} else {
				c.Advance(wait)
			}
			if ok, _ := l.Allow("k", c.Now()); !ok {
				t.Errorf("%d/%v: refused after waiting the announced %v", n, per, wait)
			}
		}
	}
}
