package events

import (
	"net/http"
	"testing"
	"time"
)

// TestSchedule pins the promises the README makes about retries.
func TestSchedule(t *testing.T) {
	if Schedule[0] > 5*time.Second {
		t.Errorf("first retry after %s, want within 5 s", Schedule[0])
	}
	var total time.Duration
	for i, d := range Schedule {
		if i > 0 && d < Schedule[i-1] {
			t.Errorf("Schedule[%d] = %s shrinks", i, d)
		}
		if d > MaxDelay {
			t.Errorf("Schedule[%d] = %s is over MaxDelay", i, d)
		}
		total += d
	}
	// The attempt after the whole schedule is the first one that can give
	// up: it must come after MaxAge.
	if total < MaxAge {
		t.Errorf("schedule covers %s, want at least %s", total, MaxAge)
	}
	if MaxDelay >= 12*time.Hour {
		t.Errorf("MaxDelay %s: SQS refuses a visibility of 12 h or more", MaxDelay)
	}
	t.Logf("attempts %d over %s", len(Schedule)+1, total)
}

func TestRetryDelay(t *testing.T) {
	tests := []struct {
		attempt    int
		retryAfter time.Duration
		want       time.Duration
	}{
		{1, 0, 3 * time.Second},
		{0, 0, 3 * time.Second}, // an unknown count is the first attempt
		{2, 0, 15 * time.Second},
		{len(Schedule), 0, 11 * time.Hour},
		{100, 0, 11 * time.Hour},
		{1, 90 * time.Second, 90 * time.Second}, // the app asks for longer
		{4, time.Second, 5 * time.Minute},       // or shorter: the schedule wins
		{1, 48 * time.Hour, MaxDelay},           // capped
		{len(Schedule) + 5, 48 * time.Hour, MaxDelay},
	}
	for _, tc := range tests {
		if got := RetryDelay(tc.attempt, tc.retryAfter); got != tc.want {
			t.Errorf("RetryDelay(%d, %s) = %s, want %s", tc.attempt, tc.retryAfter, got, tc.want)
		}
	}
}

func TestClassify(t *testing.T) {
	tests := []struct {
		status int
		want   Outcome
	}{
		{0, Retry}, {200, Delivered}, {201, Delivered}, {204, Delivered}, {299, Delivered},
		{301, Rejected}, {302, Rejected}, {400, Rejected}, {401, Rejected}, {403, Rejected}, {404, Rejected},
		{408, Retry}, {409, Rejected}, {410, Rejected}, {422, Rejected}, {429, Retry},
		{500, Retry}, {502, Retry}, {503, Retry}, {504, Retry}, {599, Retry}, {100, Rejected},
	}
	for _, tc := range tests {
		if got := Classify(tc.status); got != tc.want {
			t.Errorf("Classify(%d) = %s, want %s", tc.status, got, tc.want)
		}
	}
}

func TestParseRetryAfter(t *testing.T) {
	tests := []struct {
		v    string
		want time.Duration
	}{
		{"", 0}, {"120", 2 * time.Minute}, {"0", 0}, {"-5", 0}, {"soon", 0},
		// Beyond MaxDelay, and beyond what time.Duration holds in seconds
		// (9223372037 s would overflow to a negative delay).
		{"86400", MaxDelay}, {"9223372037", MaxDelay}, {"9223372036854775807", MaxDelay},
		{now.Add(time.Hour).Format(http.TimeFormat), time.Hour - 500*time.Millisecond},
		{now.Add(-time.Hour).Format(http.TimeFormat), 0},
	}
	for _, tc := range tests {
		if got := parseRetryAfter(tc.v, now); got != tc.want {
			t.Errorf("parseRetryAfter(%q) = %s, want %s", tc.v, got, tc.want)
		}
	}
}
