package twiliorest

import (
	"context"
	"errors"
	"sync"
	"time"
)

// DefaultCallsPerSecond is Twilio's default rate of outbound calls per
// account ("Every Twilio account (including subaccounts) has 1 CPS by
// default": https://www.twilio.com/blog/high-volume-voice-considerations).
const DefaultCallsPerSecond = 1

// Pacer spaces the outbound calls of each account at most one per
// interval, in this container. A caller waits for its slot rather than
// being refused; a slot later than the caller's deadline is not taken and
// the caller gets ErrPaced at once. A nil *Pacer never waits.
type Pacer struct {
	interval time.Duration
	now      func() time.Time
	sleep    func(context.Context, time.Duration) error

	mu   sync.Mutex
	next map[string]time.Time // account -> earliest free slot
}

// ErrPaced: the account's next free slot is past the request's deadline.
var ErrPaced = errors.New("twilio: outbound call rate: no slot before the deadline")

// NewPacer paces perSecond calls per second per account (<= 0: nil, no
// pacing), reading time from now.
func NewPacer(perSecond int, now func() time.Time) *Pacer {
	if perSecond <= 0 {
		return nil
	}
	return &Pacer{interval: time.Second / time.Duration(perSecond), now: now, sleep: sleep, next: map[string]time.Time{}}
}

// Wait blocks until account may place its next call.
func (p *Pacer) Wait(ctx context.Context, account string) error {
	if p == nil {
		return nil
	}
	p.mu.Lock()
	now := p.now()
	slot := p.next[account]
	if slot.Before(now) {
		slot = now
	}
	if dl, ok := ctx.Deadline(); ok && slot.After(dl) {
		p.mu.Unlock()
		return ErrPaced
	}
	p.next[account] = slot.Add(p.interval)
	// Forget accounts whose slot has passed, so the map stays small.
	for a, t := range p.next {
		if t.Before(now) {
			delete(p.next, a)
		}
	}
	p.mu.Unlock()
	if wait := slot.Sub(now); wait > 0 {
		return p.sleep(ctx, wait)
	}
	return nil
}
