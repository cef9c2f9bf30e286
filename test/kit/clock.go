package kit

import (
	"sync"
	"time"
)

// Clock is a fake clock: Now returns the same instant until Advance moves
// it, so a test reaches an expiry without sleeping. Pass its Now method
// where code takes a func() time.Time. The zero Clock reads
// 2026-01-02T03:04:05Z. A Clock is safe for concurrent use.
type Clock struct {
	// Step, if set, moves the clock forward after every Now, so code that
	// times itself with two calls measures exactly Step. Set it before the
	// first call.
	Step time.Duration

	mu  sync.Mutex
	now time.Time
}

// NewClock returns a Clock reading start.
func NewClock(start time.Time) *Clock { return &Clock{now: start} }

// Now returns the clock's instant, then moves it on by Step.
func (c *Clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.init()
	now := c.now
	c.now = c.now.Add(c.Step)
	return now
}

// Advance moves the clock forward by d (backward if d is negative).
func (c *Clock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.init()
	c.now = c.now.Add(d)
}

// init gives the zero Clock its instant; the caller holds mu.
func (c *Clock) init() {
	if c.now.IsZero() {
		c.now = time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	}
}
