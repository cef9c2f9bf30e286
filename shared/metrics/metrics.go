// Package metrics writes CloudWatch Embedded Metric Format (EMF) lines: one
// JSON line per outcome on stdout, which Lambda ships to CloudWatch Logs and
// CloudWatch turns into metrics without any API call from the function.
package metrics

import (
	"encoding/json"
	"io"
	"sync"
	"time"
)

// Namespace is the CloudWatch namespace of every metric.
const Namespace = "BubbleTwilioVoice"

// Metric names, one per outcome.
const (
	TokenIssued       = "TokenIssued"
	CallDialled       = "CallDialled"
	CallRefused       = "CallRefused"
	SignatureRejected = "SignatureRejected"
	SecretFetchFailed = "SecretFetchFailed"
)

// Emitter writes EMF lines. A nil *Emitter discards everything, so tests and
// tools need not wire one.
type Emitter struct {
	mu       sync.Mutex
	w        io.Writer
	function string
	now      func() time.Time
}

// New returns an emitter writing to w, tagging each line with the function
// name (the Function dimension).
func New(w io.Writer, function string, now func() time.Time) *Emitter {
	return &Emitter{w: w, function: function, now: now}
}

type directive struct {
	Namespace  string     `json:"Namespace"`
	Dimensions [][]string `json:"Dimensions"`
	Metrics    []metric   `json:"Metrics"`
}

type metric struct {
	Name string `json:"Name"`
	Unit string `json:"Unit"`
}

// Count records one occurrence of name. reason, when not empty, becomes a
// second dimension (CallRefused by reason, SignatureRejected by reason);
// accountSID is a plain property for Logs Insights, not a dimension, so the
// number of metrics does not grow with the number of tenants.
func (e *Emitter) Count(name, reason, accountSID string) {
	if e == nil {
		return
	}
	dims := []string{"Function"}
	line := map[string]any{
		"Function": e.function,
		name:       1,
	}
	if reason != "" {
		dims = append(dims, "Reason")
		line["Reason"] = reason
	}
	if accountSID != "" {
		line["AccountSid"] = accountSID
	}
	line["_aws"] = map[string]any{
		"Timestamp": e.now().UnixMilli(),
		"CloudWatchMetrics": []directive{{
			Namespace: Namespace,
			// The empty set also publishes the metric with no dimension,
			// which the template's alarms watch across functions.
			Dimensions: [][]string{dims, {}},
			Metrics:    []metric{{Name: name, Unit: "Count"}},
		}},
	}
	b, err := json.Marshal(line)
	if err != nil {
		return
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	_, _ = e.w.Write(append(b, '\n'))
}
