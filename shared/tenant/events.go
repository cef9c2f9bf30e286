package tenant

import (
	"fmt"
	"net/url"
	"slices"
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
	// EventVoicemailTranscribed is the text of a voicemail, for a tenant
	// with transcribe.voicemail.
	EventVoicemailTranscribed = "voicemail.transcribed"
	// EventCallTranscribed is the text of a recorded call, for a tenant
	// with transcribe.calls (and record_calls).
	EventCallTranscribed = "call.transcribed"
)

// EventTypes lists every event type, in the order docs/call-events.md documents them.
var EventTypes = []string{
	EventCallCompleted, EventCallMissed, EventVoicemailRecorded, EventCallRecorded,
	EventVoicemailTranscribed, EventCallTranscribed,
}

// TranscribedType is the event type of the transcript of a recording of
// type recorded (EventVoicemailRecorded or EventCallRecorded), "" for any
// other type.
func TranscribedType(recorded string) string {
	switch recorded {
	case EventVoicemailRecorded:
		return EventVoicemailTranscribed
	case EventCallRecorded:
		return EventCallTranscribed
	default:
		return ""
	}
}

// RecordedType is the event type of the recording a transcript of type
// transcribed (EventVoicemailTranscribed, EventCallTranscribed) is of, ""
// for any other type: TranscribedType's inverse.
func RecordedType(transcribed string) string {
	switch transcribed {
	case EventVoicemailTranscribed:
		return EventVoicemailRecorded
	case EventCallTranscribed:
		return EventCallRecorded
	default:
		return ""
	}
}

// Transcribe says which recordings of the tenant are transcribed (Amazon
// Transcribe, in the deployment's region: docs/transcripts.md). Absent
// from a record, none is.
type Transcribe struct {
	// Voicemail transcribes voicemails (voicemail.transcribed).
	Voicemail bool `json:"voicemail,omitempty"`
	// Calls transcribes recorded calls (call.transcribed); it needs
	// record_calls.
	Calls bool `json:"calls,omitempty"`
	// Language is the language spoken, a Transcribe language code such as
	// "en-US", or LanguageAuto (the default) to let Transcribe identify it.
	// A route's transcribe_language overrides it for calls to its number.
	Language string `json:"language,omitempty"`
}

// LanguageAuto lets Transcribe identify the language of each recording.
const LanguageAuto = "auto"

// Transcribes reports whether recordings whose event is of type recorded
// (EventVoicemailRecorded, EventCallRecorded) are transcribed.
func (t *Tenant) Transcribes(recorded string) bool {
	if t.Transcribe == nil {
		return false
	}
	switch recorded {
	case EventVoicemailRecorded:
		return t.Transcribe.Voicemail
	case EventCallRecorded:
		return t.Transcribe.Calls && t.RecordCalls
	default:
		return false
	}
}

// TranscriptLanguage is the language to transcribe a recording of a call
// to called (one of the tenant's numbers, or "" for a call placed from a
// browser, which no route governs) in: the route's transcribe_language,
// else transcribe.language; "" when Transcribe is to identify it
// (LanguageAuto).
func (t *Tenant) TranscriptLanguage(called string) string {
	lang := ""
	if t.Transcribe != nil {
		lang = t.Transcribe.Language
	}
	if called != "" {
		if r := t.RouteFor(called); r != nil && r.TranscribeLanguage != "" {
			lang = r.TranscribeLanguage
		}
	}
	if lang == LanguageAuto {
		return ""
	}
	return lang
}

// validate checks the transcribe object; nil is valid (nothing
// transcribed).
func (tr *Transcribe) validate(recordCalls bool) error {
	if tr == nil {
		return nil
	}
	if tr.Calls && !recordCalls {
		return &FieldError{Field: "transcribe.calls", Reason: "needs record_calls: only recorded calls can be transcribed"}
	}
	if tr.Language != "" && !validLanguage(tr.Language) {
		return &FieldError{Field: "transcribe.language", Reason: languageRule}
	}
	return nil
}

// languageRule describes a valid transcript language for errors.
const languageRule = `must be "auto" or a language code such as en-US, es-US, fr-FR`

// validLanguage reports whether s is LanguageAuto or has the shape of a
// Transcribe language code (ISO 639 language, "-", region: "en-US"). Which
// codes Transcribe supports changes over time; an unsupported one fails
// the transcription, which dead-letters with Transcribe's reason.
func validLanguage(s string) bool {
	if s == LanguageAuto {
		return true
	}
	lang, region, ok := strings.Cut(s, "-")
	if !ok || len(lang) < 2 || len(lang) > 3 || len(region) != 2 {
		return false
	}
	return strings.Trim(lang, "abcdefghijklmnopqrstuvwxyz") == "" && validRegion(region)
}

// MinSigningSecret is the shortest events.signing_secret accepted, and the
// shortest value of events.url's EventsSecretParam.
const MinSigningSecret = 16

// EventsSecretParam is the query parameter of events.url that carries a
// secret of this tenant's own, for a receiver that can neither check an
// HMAC nor be given a narrower credential than an app-wide one: a Bubble API
// workflow that runs without authentication compares it in its condition
// (docs/bubble.md). The URL is sent as it is; the value is kept out of logs
// (nothing logs events.url) and out of `subaccounts show` (RedactedURL).
const EventsSecretParam = "secret"

// bubbleTokenParam is how Bubble accepts its app-wide API token in a URL
// instead of the Authorization header; in events.url it would put an admin
// credential where URLs go (access logs, proxies, the app's own logs).
const bubbleTokenParam = "api_token"

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
	return len(e.Types) == 0 || slices.Contains(e.Types, typ)
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
	if reason := checkEventsURLQuery(e.URL); reason != "" {
		return bad("url", reason)
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
		if !KnownEventType(t) {
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

// checkEventsURLQuery checks the secret-bearing parameters of a valid
// events URL and returns why they are refused, or "". The reason never
// carries a value.
func checkEventsURLQuery(raw string) string {
	u, _ := url.Parse(raw) // validEventsURL parsed it
	// A query that does not parse whole (a ';', a bad escape) is the app's
	// business, as before ?secret= existed, unless it holds the parameters
	// checked below: a record that parsed then still parses.
	q, err := url.ParseQuery(u.RawQuery)
	if err != nil && (strings.Contains(u.RawQuery, EventsSecretParam+"=") || strings.Contains(u.RawQuery, bubbleTokenParam)) {
		return "has a malformed query string"
	}
	if _, ok := q[bubbleTokenParam]; ok {
		return "must not carry Bubble's api_token (an app-wide admin token, and URLs end up in logs): put it in events.bearer_token, or use a ?" +
			EventsSecretParam + "= parameter of this tenant's own (docs/bubble.md)"
	}
	vals, ok := q[EventsSecretParam]
	if !ok {
		return ""
	}
	// The value must read the same encoded and decoded, so the receiver
	// compares exactly what the record holds.
	if len(vals) != 1 || len(vals[0]) < MinSigningSecret || !urlUnreserved(vals[0]) ||
		!strings.Contains("&"+u.RawQuery+"&", "&"+EventsSecretParam+"="+vals[0]+"&") {
		return fmt.Sprintf("its %s parameter must appear once, with at least %d letters, digits, '-', '_', '.' or '~'",
			EventsSecretParam, MinSigningSecret)
	}
	return ""
}

// urlUnreserved reports whether s is made only of URL-unreserved characters
// (RFC 3986 section 2.3), which no encoder changes.
func urlUnreserved(s string) bool {
	return strings.Trim(s, alnum+"-_.~") == ""
}

// RedactedURL is events.url with the value of every query parameter
// replaced by "(redacted)" (RedactURLQuery).
func (e *Events) RedactedURL() string { return RedactURLQuery(e.URL) }

// RedactURLQuery returns raw with the value of every query parameter
// replaced by "(redacted)": the query is where a URL carries a secret (a
// tenant's EventsSecretParam, a token), so what shows a URL to a person
// shows none of it. A URL that does not parse is "(redacted)" whole.
func RedactURLQuery(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return "(redacted)"
	}
	if u.RawQuery == "" {
		return raw
	}
	parts := strings.Split(u.RawQuery, "&")
	for i, p := range parts {
		name, _, _ := strings.Cut(p, "=")
		parts[i] = name + "=(redacted)"
	}
	u.RawQuery = strings.Join(parts, "&")
	return u.String()
}

// headerSafe reports whether s can be sent in a header value as is.
func headerSafe(s string) bool {
	return !strings.ContainsFunc(s, func(r rune) bool { return r <= ' ' || r > '~' })
}

// KnownEventType reports whether t is one of EventTypes.
func KnownEventType(t string) bool { return slices.Contains(EventTypes, t) }
