package kit

import (
	"sync"
	"testing"
	"time"
)

func TestClock(t *testing.T) {
	start := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	c := NewClock(start)
	if got := c.Now(); !got.Equal(start) {
		t.Errorf("Now = %v, want %v", got, start)
	}
	if got := c.Now(); !got.Equal(start) {
		t.Errorf("Now moved by itself: %v", got)
	}
	c.Advance(time.Minute)
	if got := c.Now(); !got.Equal(start.Add(time.Minute)) {
		t.Errorf("after Advance Now = %v", got)
	}

	var zero Clock
	if got := zero.Now(); !got.Equal(time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)) {
		t.Errorf("zero Clock reads %v", got)
	}
}

func TestClockStep(t *testing.T) {
	c := &Clock{Step: 1500 * time.Microsecond}
	a, b := c.Now(), c.Now()
	if d := b.Sub(a); d != 1500*time.Microsecond {
		t.Errorf("two calls %v apart, want Step", d)
	}
}

func TestClockConcurrent(t *testing.T) {
	var c Clock
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			c.Advance(time.Second)
			_ = c.Now()
		})
	}
	wg.Wait()
	if got := c.Now(); !got.Equal(time.Date(2026, 1, 2, 3, 4, 13, 0, time.UTC)) {
		t.Errorf("after 8 concurrent seconds: %v", got)
	}
}
