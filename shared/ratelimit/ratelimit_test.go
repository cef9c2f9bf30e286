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
			c := kit.NewClock(time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC))
			l := New(tc.n, tc.per)
			for i := range tc.n {
				if ok, wait := l.AllowIdentity("AC", "k", c.Now()); !ok || wait != 0 {
					t.Fatalf("event %d of the burst refused (wait %v)", i+1, wait)
				}
			}
			ok, wait := l.AllowIdentity("AC", "k", c.Now())
			if ok {
				t.Fatalf("event %d allowed past a burst of %d", tc.n+1, tc.n)
			}
			if d := wait - tc.wantWait; d < -time.Millisecond || d > time.Millisecond {
				t.Errorf("wait = %v, want %v", wait, tc.wantWait)
			}
			// Refused events do not consume: just before the wait, still
			// refused; at the wait, allowed exactly once.
			c.Advance(wait - time.Millisecond)
			if ok, _ := l.AllowIdentity("AC", "k", c.Now()); ok {
				t.Error("allowed before the announced wait")
			}
			c.Advance(time.Millisecond)
			if ok, _ := l.AllowIdentity("AC", "k", c.Now()); !ok {
				t.Error("refused after the announced wait")
			}
			if ok, _ := l.AllowIdentity("AC", "k", c.Now()); ok {
				t.Error("two events allowed after one refill")
			}
		})
	}
}

func TestRefillCapsAtBurst(t *testing.T) {
	c := kit.NewClock(time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC))
	l := New(3, time.Minute)
	for range 3 {
		l.AllowIdentity("AC", "k", c.Now())
	}
	c.Advance(24 * time.Hour) // a long idle period refills to the burst, no more
	allowed := 0
	for range 10 {
		if ok, _ := l.AllowIdentity("AC", "k", c.Now()); ok {
			allowed++
		}
	}
	if allowed != 3 {
		t.Errorf("after a long idle period %d events allowed, want the burst of 3", allowed)
	}
}

func TestSteadyRate(t *testing.T) {
	c := kit.NewClock(time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC))
	l := New(60, time.Minute) // one a second
	for range 60 {
		l.AllowIdentity("AC", "k", c.Now())
	}
	allowed := 0
	for range 120 { // two minutes in half-second steps
		c.Advance(500 * time.Millisecond)
		if ok, _ := l.AllowIdentity("AC", "k", c.Now()); ok {
			allowed++
		}
	}
	if allowed != 60 {
		t.Errorf("allowed %d events in 60s at 1/s, want 60", allowed)
	}
}

func TestClockGoingBackwards(t *testing.T) {
	c := kit.NewClock(time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC))
	l := New(1, time.Minute)
	l.AllowIdentity("AC", "k", c.Now())
	c.Advance(-time.Hour)
	if ok, _ := l.AllowIdentity("AC", "k", c.Now()); ok {
		t.Error("a clock stepping back refilled the bucket")
	}
}

func TestKeyIsolation(t *testing.T) {
	c := kit.NewClock(time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC))
	l := New(2, time.Minute)
	for range 2 {
		l.AllowIdentity("AC1", "alice", c.Now())
	}
	if ok, _ := l.AllowIdentity("AC1", "alice", c.Now()); ok {
		t.Fatal("alice not limited")
	}
	for _, k := range [][2]string{{"AC1", "bob"}, {"AC2", "alice"}, {"", ""}, {"AC1alice", ""}, {"", "AC1alice"}} {
		if ok, _ := l.AllowIdentity(k[0], k[1], c.Now()); !ok {
			t.Errorf("%q limited by another identity's bucket", k)
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
		if ok, wait := l.AllowIdentity("AC", "k", time.Time{}); !ok || wait != 0 {
			t.Fatal("nil limiter refused")
		}
	}
}

// count checks the limiter's bookkeeping and returns its bucket count.
func count(t *testing.T, l *Limiter) int {
	t.Helper()
	n := 0
	for tenant, ids := range l.tenants {
		if len(ids) == 0 {
			t.Fatalf("tenant %q kept with no buckets", tenant)
		}
		if len(ids) > MaxIdentitiesPerTenant {
			t.Fatalf("tenant %q holds %d buckets, over %d", tenant, len(ids), MaxIdentitiesPerTenant)
		}
		n += len(ids)
	}
	if n != l.total {
		t.Fatalf("total %d, counted %d", l.total, n)
	}
	if n > MaxBuckets {
		t.Fatalf("%d buckets, over %d", n, MaxBuckets)
	}
	return n
}

// throttle spends every token of tenant's identity.
func throttle(t *testing.T, l *Limiter, tenant, identity string, now time.Time) {
	t.Helper()
	for i := 0; ; i++ {
		if ok, _ := l.AllowIdentity(tenant, identity, now); !ok {
			return
		}
		if i > 1000 {
			t.Fatal("never throttled")
		}
	}
}

// TestFloodKeepsOthersThrottled is the attack of the issue: tenants mint
// for ever new identities to make the limiter forget another tenant's
// throttled identity (before: 104 of 200 trials reset it, as map order
// chose the buckets to forget). Now no trial may, and neither may a
// tenant's own flood reset its own throttled identity. The floods fill
// both the per-tenant and the global bound.
func TestFloodKeepsOthersThrottled(t *testing.T) {
	floods := MaxBuckets/MaxIdentitiesPerTenant + 1
	for trial := range 2 {
		c := kit.NewClock(time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC))
		l := New(5, time.Minute) // one token refills in 12s
		throttle(t, l, "ACvictim", "alice", c.Now())
		throttle(t, l, "ACflood0", "target", c.Now())
		calls := 0
		for f := range floods {
			for i := range MaxIdentitiesPerTenant + 100 {
				l.AllowIdentity("ACflood"+strconv.Itoa(f), "id"+strconv.Itoa(i), c.Now())
				if calls++; calls%1000 == 0 {
					c.Advance(100 * time.Millisecond) // 2.3s in all
				}
			}
		}
		for _, k := range [][2]string{{"ACvictim", "alice"}, {"ACflood0", "target"}} {
			if ok, _ := l.AllowIdentity(k[0], k[1], c.Now()); ok {
				t.Fatalf("trial %d: %s's throttled %s allowed again after the flood", trial, k[0], k[1])
			}
		}
		if n := count(t, l); n != MaxBuckets {
			t.Errorf("trial %d: %d buckets after the flood, want the bound %d", trial, n, MaxBuckets)
		}
	}
}

func TestTenantBound(t *testing.T) {
	c := kit.NewClock(time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC))
	l := New(2, time.Minute) // one token refills in 30s
	for i := range MaxIdentitiesPerTenant {
		if ok, _ := l.AllowIdentity("ACa", "id"+strconv.Itoa(i), c.Now()); !ok {
			t.Fatalf("identity %d refused below the bound", i)
		}
	}
	c.Advance(10 * time.Second)
	ok, wait := l.AllowIdentity("ACa", "one_more", c.Now())
	if ok {
		t.Fatal("a new identity past the tenant's bound allowed while every bucket is in use")
	}
	if d := wait - 20*time.Second; d < 0 || d > time.Millisecond {
		t.Errorf("wait %v, want 20s (the oldest bucket refills 30s after its event)", wait)
	}
	// Other tenants are not held up by ACa's flood.
	if ok, _ := l.AllowIdentity("ACb", "alice", c.Now()); !ok {
		t.Error("another tenant's new identity refused")
	}
	// An identity ACa already has still works within its own bucket.
	if ok, _ := l.AllowIdentity("ACa", "id0", c.Now()); !ok {
		t.Error("a known identity refused for the bound")
	}
	c.Advance(wait)
	if ok, _ := l.AllowIdentity("ACa", "one_more", c.Now()); !ok {
		t.Error("new identity refused once buckets refilled")
	}
	if n := len(l.tenants["ACa"]); n != 2 {
		t.Errorf("ACa keeps %d buckets, want 2 (id0, spent 20s ago, and one_more)", n)
	}
	count(t, l)
}

func TestGlobalBound(t *testing.T) {
	c := kit.NewClock(time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC))
	l := New(1, time.Minute)
	tenants := MaxBuckets / MaxIdentitiesPerTenant
	for tn := range tenants {
		for i := range MaxIdentitiesPerTenant {
			if ok, _ := l.AllowIdentity("AC"+strconv.Itoa(tn), strconv.Itoa(i), c.Now()); !ok {
				t.Fatalf("tenant %d identity %d refused below the bounds", tn, i)
			}
		}
	}
	if n := count(t, l); n != MaxBuckets {
		t.Fatalf("%d buckets, want %d", n, MaxBuckets)
	}
	c.Advance(time.Second)
	ok, wait := l.AllowIdentity("ACnew", "alice", c.Now())
	if d := wait - 59*time.Second; ok || d < 0 || d > time.Millisecond {
		t.Fatalf("new tenant with every slot in use: allowed %v, wait %v; want refused for 59s", ok, wait)
	}
	c.Advance(wait / 2) // refused again without a scan, the wait counting down
	if ok, again := l.AllowIdentity("ACnew", "alice", c.Now()); ok || again != wait-wait/2 {
		t.Fatalf("second try: allowed %v, wait %v; want refused for %v", ok, again, wait-wait/2)
	}
	c.Advance(wait - wait/2)
	if ok, _ := l.AllowIdentity("ACnew", "alice", c.Now()); !ok {
		t.Fatal("refused after the announced wait")
	}
	if n := count(t, l); n != 1 {
		t.Errorf("%d buckets after every other one refilled, want 1", n)
	}
}

// TestForgetOnlyFull checks a bucket is forgotten only when a fresh one
// would behave the same.
func TestForgetOnlyFull(t *testing.T) {
	c := kit.NewClock(time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC))
	l := New(3, time.Minute)
	l.AllowIdentity("AC", "full", c.Now())
	throttle(t, l, "AC", "empty", c.Now())
	c.Advance(20 * time.Second) // "full" is full again; "empty" has 1 of 3
	l.forgetFull("AC", l.tenants["AC"], c.Now())
	if _, ok := l.tenants["AC"]["full"]; ok {
		t.Error("a full bucket was kept")
	}
	if _, ok := l.tenants["AC"]["empty"]; !ok {
		t.Error("a bucket still refilling was forgotten")
	}
	count(t, l)
}

func TestConcurrent(t *testing.T) {
	c := kit.NewClock(time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC))
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
				if ok, _ := l.AllowIdentity("AC", "shared", now); ok {
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
		l.AllowIdentity("AC0123456789abcdef0123456789abcdef", "alice", now)
	}
}

// TestWaitIsEnough checks the announced wait over many rates: waiting
// exactly that long must be enough for one event, and a millisecond less
// must not be (so the wait is not grossly overstated either).
func TestWaitIsEnough(t *testing.T) {
	for _, per := range []time.Duration{time.Second, 7 * time.Second, time.Minute, time.Hour} {
		for n := 1; n <= 200; n++ {
			c := kit.NewClock(time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC))
			l := New(n, per)
			for range n {
				l.AllowIdentity("AC", "k", c.Now())
			}
			c.Advance(1234567 * time.Nanosecond) // a partial token, as in real use
			ok, wait := l.AllowIdentity("AC", "k", c.Now())
			if ok {
				continue // the partial advance already earned a token
			}
			if wait > time.Millisecond {
				c.Advance(wait - time.Millisecond)
				if ok, _ := l.AllowIdentity("AC", "k", c.Now()); ok {
					t.Errorf("%d/%v: allowed 1ms before the announced wait %v", n, per, wait)
				}
				c.Advance(time.Millisecond)
			} else {
				c.Advance(wait)
			}
			if ok, _ := l.AllowIdentity("AC", "k", c.Now()); !ok {
				t.Errorf("%d/%v: refused after waiting the announced %v", n, per, wait)
			}
		}
	}
}

// TestBucket checks the key-less bucket's arithmetic: it starts full,
// refills at its rate up to its burst, and a clock going back refills
// nothing.
func TestBucket(t *testing.T) {
	t0 := time.Date(2026, 11, 30, 9, 0, 0, 0, time.UTC)
	b := NewBucket(10, 3)
	steps := []struct {
		at   time.Duration
		want bool
	}{
		{0, true}, {0, true}, {0, true}, {0, false},
		{50 * time.Millisecond, false}, {100 * time.Millisecond, true}, {100 * time.Millisecond, false},
		{time.Hour, true}, {time.Hour, true}, {time.Hour, true}, {time.Hour, false}, // refills to the burst only
		{time.Hour - time.Second, false}, // a clock going back refills nothing
	}
	for i, st := range steps {
		if got := b.Allow(t0.Add(st.at)); got != st.want {
			t.Errorf("step %d at %v: Allow = %v, want %v", i, st.at, got, st.want)
		}
	}
}
