package events

import (
	"net/http"
	"strconv"
	"time"
)

// Schedule is how long the delivery waits after each failed attempt to
// reach the app: attempt n (counting from 1) that fails is retried after
// Schedule[n-1], and after the last entry for every later one. The sum,
// about 26.9 h, puts the last retry past MaxAge, so an event is retried for
// at least 24 h. No step exceeds MaxDelay, SQS's limit on a message's
// visibility.
var Schedule = []time.Duration{
	3 * time.Second,
	15 * time.Second,
	time.Minute,
	5 * time.Minute,
	15 * time.Minute,
	30 * time.Minute,
	time.Hour,
	2 * time.Hour,
	4 * time.Hour,
	8 * time.Hour,
	11 * time.Hour,
}

// MaxAge is how long after it was first queued an event stops being
// retried: the attempt that fails after MaxAge sends it to the dead-letter
// queue.
const MaxAge = 24 * time.Hour

// MaxDelay bounds any delay, including a Retry-After from the app: SQS
// refuses to hide a message for more than 12 h counted from when it was
// received, so this leaves an hour for the attempt itself.
const MaxDelay = 11 * time.Hour

// RetryDelay is the delay after failed attempt n (1 for the first). A
// Retry-After the app sent is honoured when it is longer, up to MaxDelay.
func RetryDelay(attempt int, retryAfter time.Duration) time.Duration {
	i := min(max(attempt, 1), len(Schedule)) - 1
	return min(max(Schedule[i], retryAfter), MaxDelay)
}

// Outcome is what one delivery attempt means for the event.
type Outcome int

// Outcomes.
const (
	// Delivered: the app answered 2xx.
	Delivered Outcome = iota
	// Retry: a network error, a timeout, 408, 429 or 5xx; try again later.
	Retry
	// Rejected: the app refused the event (any other status, 3xx and 4xx):
	// retrying would not help, so it goes to the dead-letter queue at once.
	Rejected
)

// String names the outcome for logs.
func (o Outcome) String() string {
	switch o {
	case Delivered:
		return "delivered"
	case Retry:
		return "retry"
	default:
		return "rejected"
	}
}

// Classify maps an attempt's HTTP status (0 when no response came: network
// error or timeout) to its Outcome.
func Classify(status int) Outcome {
	switch {
	case status == 0, status == http.StatusRequestTimeout, status == http.StatusTooManyRequests, status >= 500:
		return Retry
	case status >= 200 && status < 300:
		return Delivered
	default:
		return Rejected
	}
}

// parseRetryAfter reads a Retry-After header in seconds or as an HTTP
// date; 0 when absent or unreadable. Seconds are capped at MaxDelay, which
// RetryDelay applies anyway, before the multiplication could overflow.
func parseRetryAfter(v string, now time.Time) time.Duration {
	if v == "" {
		return 0
	}
	if n, err := strconv.Atoi(v); err == nil && n > 0 {
		return time.Duration(min(n, int(MaxDelay/time.Second))) * time.Second
	}
	if t, err := http.ParseTime(v); err == nil && t.After(now) {
		return t.Sub(now)
	}
	return 0
}
