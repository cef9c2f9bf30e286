// Package metrics writes CloudWatch Embedded Metric Format (EMF) lines: one
// JSON line per outcome on stdout, which Lambda ships to CloudWatch Logs and
// CloudWatch turns into metrics without any API call from the function.
package metrics

import (
	"io"
	"strconv"
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
	// SecretColdFetchLimited counts lookups refused by the per-container
	// cap on GetSecretValue calls for uncached tenants: a flood of made-up
	// AccountSids, or a missing tenant index.
	SecretColdFetchLimited = "SecretColdFetchLimited"
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

// Count records one occurrence of name. reason, when not empty, becomes a
// second dimension (CallRefused by reason, SignatureRejected by reason);
// accountSID is a plain property for Logs Insights, not a dimension, so the
// number of metrics does not grow with the number of tenants. Each metric is
// also published with no dimension (the empty set), which the template's
// alarms watch across functions.
//
// The line is appended by hand: it sits on every request's path, and a
// map through encoding/json cost more than the rest of a webhook's work.
func (e *Emitter) Count(name, reason, accountSID string) {
	if e == nil {
		return
	}
	b := make([]byte, 0, 320)
	b = append(b, `{"_aws":{"Timestamp":`...)
	b = strconv.AppendInt(b, e.now().UnixMilli(), 10)
	b = append(b, `,"CloudWatchMetrics":[{"Namespace":"`+Namespace+`","Dimensions":[["Function"`...)
	if reason != "" {
		b = append(b, `,"Reason"`...)
	}
	b = append(b, `],[]],"Metrics":[{"Name":`...)
	b = appendString(b, name)
	b = append(b, `,"Unit":"Count"}]}]},"Function":`...)
	b = appendString(b, e.function)
	if reason != "" {
		b = append(b, `,"Reason":`...)
		b = appendString(b, reason)
	}
	if accountSID != "" {
		b = append(b, `,"AccountSid":`...)
		b = appendString(b, accountSID)
	}
	b = append(b, ',')
	b = appendString(b, name)
	b = append(b, ":1}\n"...)
	e.mu.Lock()
	defer e.mu.Unlock()
	_, _ = e.w.Write(b)
}

// appendString appends s as a JSON string. Our values are constants and
// validated SIDs, but a quote or control character must still not break
// the line.
func appendString(b []byte, s string) []byte {
	const hex = "0123456789abcdef"
	b = append(b, '"')
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == '"' || c == '\\':
			b = append(b, '\\', c)
		case c < 0x20:
			b = append(b, '\\', 'u', '0', '0', hex[c>>4], hex[c&0xf])
		default:
			b = append(b, c)
		}
	}
	return append(b, '"')
}
