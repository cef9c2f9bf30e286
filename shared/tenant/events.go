package tenant

import (
	"fmt"
	"net/url"
	"strings"
)

// Event types a tenant can ask for in events.types (and the "type" field of
// every event the deployment sends).
const (
	// EventCallCompleted is a call's final status, for every call.
	EventCallCompleted = "call.completed"
	// EventCallMissed is a call to one of the tenant's numbers that no
	// browser answered.
	EventCallMissed = "call.missed"
	// EventVoicemailRecorded is a voicemail left after no-one answered.
	EventVoicemailRecorded = "voicemail.recorded"
	// EventCallRecorded is a call recorded because of record_calls.
	EventCallRecorded = "call.recorded"
)

// EventTypes lists every event type, in the order docs/call-events.md documents them.
var EventTypes = []string{EventCallCompleted, EventCallMissed, EventVoicemailRecorded, EventCallRecorded}

// MinSigningSecret is the shortest events.signing_secret accepted.
const MinSigningSecret = 16

// Events says where the tenant's call events go. Absent from a record, no
// event is sent.
type Events struct {
	// URL receives each event as a JSON POST: https, or http to a loopback
	// host for local development.
	URL string `json:"url"`
	// BearerToken, when set, is sent as "Authorization: Bearer <token>"
	// (Bubble's API token).
	BearerToken string `json:"bearer_token,omitempty"`
	// SigningSecret, when set, adds X-Signature: sha256=<hex HMAC-SHA256 of
	// the body> for receivers that check it.
	SigningSecret string `json:"signing_secret,omitempty"`
	// Types limits which event types are sent; empty sends all.
	Types []string `json:"types,omitempty"`
}

// Wants reports whether events of type typ are to be sent. A nil *Events
// wants none.
func (e *Events) Wants(typ string) bool {
	if e == nil {
		return false
	}
	if len(e.Types) == 0 {
		return true
	}
	for _, t := range e.Types {
		if t == typ {
			return true
		}
	}
	return false
}

// validate checks the events object; a nil one is valid (no events).
// Errors name the field and never carry its value.
func (e *Events) validate() error {
	if e == nil {
		return nil
	}
	bad := func(field, reason string) error { return &FieldError{Field: "events." + field, Reason: reason} }
	if e.URL == "" {
		return bad("url", "is required")
	}
	if !validEventsURL(e.URL) {
		return bad("url", "must be an https URL (http only to 127.0.0.1, localhost or [::1]) without credentials or fragment")
	}
	if e.BearerToken != "" && !headerSafe(e.BearerToken) {
		return bad("bearer_token", "must be printable ASCII without spaces")
	}
	if e.SigningSecret != "" && len(e.SigningSecret) < MinSigningSecret {
		return bad("signing_secret", fmt.Sprintf("must be at least %d characters", MinSigningSecret))
	}
	seen := make(map[string]bool, len(e.Types))
	for i, t := range e.Types {
		field := fmt.Sprintf("types[%d]", i)
		if !knownEventType(t) {
			return bad(field, "must be one of "+strings.Join(EventTypes, ", "))
		}
		if seen[t] {
			return bad(field, "appears twice")
		}
		seen[t] = true
	}
	return nil
}

// validEventsURL accepts https URLs, and http ones to a loopback host, with
// a host and no user information (it would end up in logs and proxies) or
// fragment.
func validEventsURL(raw string) bool {
	u, err := url.Parse(raw)
	if err != nil || u.Host == "" || u.User != nil || u.Fragment != "" || strings.Contains(raw, "#") {
		return false
	}
	switch u.Scheme {
	case "https":
		return true
	case "http":
		switch u.Hostname() {
		case "127.0.0.1", "localhost", "::1":
			return true
		}
	}
	return false
}

// headerSafe reports whether s can be sent in a header value as is.
func headerSafe(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] <= ' ' || s[i] > '~' {
			return false
		}
	}
	return true
}

func knownEventType(t string) bool {
	for _, k := range EventTypes {
		if k == t {
			return true
		}
	}
	return false
}
