// Package tenant holds the per-subaccount record (one JSON document per Twilio
// subaccount, the same shape in Secrets Manager and in the local tenants file)
// and the stores that look records up by AccountSid.
package tenant

import (
	"context"
	"errors"
	"slices"
	"time"
)

// Tenant is one Twilio subaccount's configuration and secrets. It is built
// only by Parse, so a *Tenant in hand has passed validation and has its
// defaults filled in; treat it as read-only because stores share it between
// requests.
type Tenant struct {
	AccountSID        string   `json:"account_sid"`
	AuthToken         string   `json:"auth_token"`
	PreviousAuthToken string   `json:"previous_auth_token,omitempty"`
	APIKeySID         string   `json:"api_key_sid"`
	APIKeySecret      string   `json:"api_key_secret"`
	TwiMLAppSID       string   `json:"twiml_app_sid"`
	CallerID          string   `json:"caller_id"`
	CallerIDs         []string `json:"caller_ids,omitempty"`
	TokenAPIKeys      []string `json:"token_api_keys"`
	TokenTTLSeconds   int      `json:"token_ttl_seconds,omitempty"`

	// DefaultRegion is the ISO 3166 region used to read national-format
	// numbers such as "(415) 555-0123". Default "US".
	DefaultRegion string    `json:"default_region,omitempty"`
	Outbound      Outbound  `json:"outbound"`
	RecordCalls   bool      `json:"record_calls,omitempty"`
	Incoming      *Incoming `json:"incoming,omitempty"`

	// Status is StatusSuspended while the agency has suspended the
	// subaccount (cmd/subaccounts suspend); absent or StatusActive
	// otherwise. SuspendedAt (RFC 3339) says since when.
	Status      string `json:"status,omitempty"`
	SuspendedAt string `json:"suspended_at,omitempty"`

	// Events, when set, sends the tenant's call events to its app (events.go).
	Events *Events `json:"events,omitempty"`

	// Transcribe, when set, transcribes the tenant's voicemails and recorded
	// calls (events.go); off by default.
	Transcribe *Transcribe `json:"transcribe,omitempty"`
	// HoldMusicURL is what a caller on hold hears (call control): an https
	// URL of an MP3 or WAV file (a parked caller hears it through <Play>).
	// Empty: Twilio's default hold music.
	HoldMusicURL string `json:"hold_music_url,omitempty"`
}

// Values of Tenant.Status.
const (
	StatusActive    = "active"
	StatusSuspended = "suspended"
)

// Suspended reports whether the subaccount is suspended: its tokens would
// not work, so none are issued.
func (t *Tenant) Suspended() bool { return t.Status == StatusSuspended }

// Outbound is the tenant's toll-fraud policy for calls placed from the browser.
type Outbound struct {
	// AllowedCountries lists ISO regions that may be dialled. Empty means
	// only DefaultRegion's country.
	AllowedCountries []string `json:"allowed_countries,omitempty"`
	// BlockedPrefixes are E.164 prefixes ("+1900") that are always refused.
	BlockedPrefixes []string `json:"blocked_prefixes,omitempty"`
	// AllowClientCalls lets a browser client call another client. A pointer
	// because the default (absent) is true.
	AllowClientCalls *bool `json:"allow_client_calls,omitempty"`
	// AllowedNumberTypes lists the kinds of number (NumberType names) that
	// may be dialled. Empty means DefaultNumberTypes. Premium-rate and
	// shared-cost numbers are never dialled and cannot be listed.
	AllowedNumberTypes []string `json:"allowed_number_types,omitempty"`
}

// ClientCallsAllowed reports whether browser-to-browser calls are permitted.
func (o Outbound) ClientCallsAllowed() bool {
	return o.AllowClientCalls == nil || *o.AllowClientCalls
}

// NumberTypeAllowed reports whether numbers of the named type (one of the
// NumberType constants) may be dialled: listed in AllowedNumberTypes, or in
// DefaultNumberTypes when that is empty.
func (o Outbound) NumberTypeAllowed(name string) bool {
	allowed := o.AllowedNumberTypes
	if len(allowed) == 0 {
		allowed = DefaultNumberTypes
	}
	return slices.Contains(allowed, name)
}

// Number types for outbound.allowed_number_types, after libphonenumber's
// classification of a number.
const (
	NumberTypeFixedLine = "fixed_line" // geographic landlines
	NumberTypeMobile    = "mobile"
	NumberTypeTollFree  = "toll_free" // free to the caller: +1 800, +44 800
	NumberTypeVoIP      = "voip"      // e.g. UK +44 56
	NumberTypePersonal  = "personal"  // follow-me numbers, e.g. UK +44 70, US +1 500: a classic fraud range
	NumberTypeUAN       = "uan"       // universal access numbers, e.g. UK +44 3x, FR +33 806
	NumberTypePager     = "pager"     // e.g. UK +44 76
	NumberTypeVoicemail = "voicemail" // voicemail access, e.g. DE +49 177 99
)

// DefaultNumberTypes are dialled when outbound.allowed_number_types is
// absent. Do not modify.
var DefaultNumberTypes = []string{NumberTypeFixedLine, NumberTypeMobile, NumberTypeTollFree}

// NumberTypes lists every name outbound.allowed_number_types accepts.
// Do not modify.
var NumberTypes = []string{
	NumberTypeFixedLine, NumberTypeMobile, NumberTypeTollFree, NumberTypeVoIP,
	NumberTypePersonal, NumberTypeUAN, NumberTypePager, NumberTypeVoicemail,
}

// Incoming routes calls to the tenant's phone numbers.
type Incoming struct {
	// Numbers maps a called number (E.164) to its route.
	Numbers map[string]*Route `json:"numbers,omitempty"`
	// Default applies to any number without its own route.
	Default *Route `json:"default,omitempty"`
}

// Route says who rings for a called number and what happens on no answer.
type Route struct {
	Clients     []string `json:"clients"`
	RingSeconds int      `json:"ring_seconds,omitempty"`
	// Label names the line to the browsers it rings ("Sales line"); optional.
	Label string `json:"label,omitempty"`
	// ThenNumber is a backup phone (E.164) rung for RingSeconds after the
	// clients did not answer, before NoAnswer; optional.
	ThenNumber string `json:"then_number,omitempty"`
	// Screen, absent or true, screens the legs the route dials to a phone
	// (then_number and forward_to): the callee hears who is calling and must
	// press 1 before the call is put through, so a phone's own voicemail
	// cannot take it (docs/screening.md). A pointer because the default is
	// true; Parse refuses it on a route that dials no phone.
	Screen   *bool    `json:"screen,omitempty"`
	NoAnswer NoAnswer `json:"no_answer"`
	// Hours are the route's opening hours; nil means always open. Outside
	// them a call takes the Closed step without ringing anyone.
	Hours *Hours `json:"hours,omitempty"`
	// Closed is the step taken outside Hours. Parse sets it (default
	// action message) whenever Hours is set, and refuses it without Hours.
	Closed *NoAnswer `json:"closed,omitempty"`
	// TranscribeLanguage is the language of the recordings of calls to the
	// route's number, overriding transcribe.language; optional.
	TranscribeLanguage string `json:"transcribe_language,omitempty"`
}

// Screens reports whether the legs the route dials to a phone are
// screened: Screen absent or true.
func (r *Route) Screens() bool { return r.Screen == nil || *r.Screen }

// dialsPhone reports whether the route ever dials a phone: a then_number,
// or a forward as its no-answer or closed step.
func (r *Route) dialsPhone() bool {
	return r.ThenNumber != "" || r.NoAnswer.Action == ActionForward ||
		r.Closed != nil && r.Closed.Action == ActionForward
}

// NoAnswer is the step taken when nobody picks up, and the shape of the
// step taken when a route is closed.
type NoAnswer struct {
	// Action is one of ActionVoicemail, ActionForward, ActionMessage.
	Action           string `json:"action,omitempty"`
	ForwardTo        string `json:"forward_to,omitempty"`
	Message          string `json:"message,omitempty"`
	MaxLengthSeconds int    `json:"max_length_seconds,omitempty"`
}

// Hours are a route's opening hours, in one time zone.
type Hours struct {
	// TimeZone is an IANA time zone name such as "Europe/London"; opening
	// times are wall-clock times there, daylight saving time included.
	TimeZone string `json:"time_zone"`
	// Open lists the weekly intervals the route is open.
	Open []Interval `json:"open"`
	// ClosedDates are local dates ("2026-12-25") on which the route is
	// closed all day, whatever Open says.
	ClosedDates []string `json:"closed_dates,omitempty"`

	loc    *time.Location // TimeZone, loaded by Parse
	closed []int          // ClosedDates as yyyymmdd, filled by Parse
}

// Interval is one weekly opening interval: on each of Days, from From up
// to (not including) To, local times written "15:04". To may be "24:00";
// an interval never crosses midnight (write two).
type Interval struct {
	Days []string `json:"days"` // "mon", "tue", "wed", "thu", "fri", "sat", "sun"
	From string   `json:"from"`
	To   string   `json:"to"`

	days     uint8 // bit 1<<time.Weekday for each of Days, filled by Parse
	from, to int   // minutes after midnight, filled by Parse
}

// DayNames are the names Interval.Days accepts, indexed by time.Weekday.
var DayNames = [7]string{"sun", "mon", "tue", "wed", "thu", "fri", "sat"}

// OpenAt reports whether the hours are open at the instant t: its local
// date is not one of ClosedDates and its local weekday and time fall in
// one of the Open intervals. Hours not built by Parse are always open.
func (h *Hours) OpenAt(t time.Time) bool {
	if h == nil || h.loc == nil {
		return true
	}
	local := t.In(h.loc)
	y, m, d := local.Date()
	date := y*10000 + int(m)*100 + d
	if slices.Contains(h.closed, date) {
		return false
	}
	day := uint8(1) << local.Weekday()
	minute := local.Hour()*60 + local.Minute()
	for i := range h.Open {
		iv := &h.Open[i]
		if iv.days&day != 0 && iv.from <= minute && minute < iv.to {
			return true
		}
	}
	return false
}

// No-answer actions.
const (
	ActionVoicemail = "voicemail"
	ActionForward   = "forward"
	ActionMessage   = "message"
)

// Defaults and limits of the record.
const (
	DefaultTokenTTLSeconds  = 3600
	MinTokenTTLSeconds      = 60
	MaxTokenTTLSeconds      = 86400
	DefaultRingSeconds      = 20
	MinRingSeconds          = 5
	MaxRingSeconds          = 60
	MaxClientsPerRoute      = 10 // Twilio's limit for one <Dial>
	DefaultVoicemailSeconds = 120
	MaxVoicemailSeconds     = 3600
	DefaultRegion           = "US"
	MaxLabelLength          = 100 // characters
	MaxMessageLength        = 1000
	MaxOpenIntervals        = 50
	MaxClosedDates          = 500
	MaxHoldMusicURLLength   = 1000
)

// RouteFor returns the route for a called number: its own, else the default,
// else nil (no route).
func (t *Tenant) RouteFor(called string) *Route {
	if t.Incoming == nil {
		return nil
	}
	if r, ok := t.Incoming.Numbers[called]; ok {
		return r
	}
	return t.Incoming.Default
}

// OwnsNumber reports whether number is one of the tenant's own phone
// numbers: a key of incoming.numbers, caller_id or one of caller_ids.
// Forwarding a call to one of them brings it back in (a forwarding loop,
// each hop a billed call), so Parse refuses them as forward and backup
// targets.
func (t *Tenant) OwnsNumber(number string) bool {
	if t.Incoming != nil {
		if _, ok := t.Incoming.Numbers[number]; ok {
			return true
		}
	}
	return t.OwnsCallerID(number)
}

// OwnsCallerID reports whether number is the tenant's caller_id or one of
// its caller_ids, the only numbers a browser may ask to present.
func (t *Tenant) OwnsCallerID(number string) bool {
	return number == t.CallerID || slices.Contains(t.CallerIDs, number)
}

// AuthTokens returns the tokens a webhook signature may be made with: the
// current one first, then the previous one during an auth token rotation.
func (t *Tenant) AuthTokens() []string {
	if t.PreviousAuthToken == "" {
		return []string{t.AuthToken}
	}
	return []string{t.AuthToken, t.PreviousAuthToken}
}

// Store looks tenants up by AccountSid.
type Store interface {
	// Lookup returns the tenant for accountSID. It returns an error matching
	// ErrNotFound when there is none (or the SID is malformed) and one
	// matching ErrUnavailable when the backing store failed and nothing
	// usable is cached.
	Lookup(ctx context.Context, accountSID string) (*Tenant, error)
}

// Errors a Store returns (wrapped); test with errors.Is.
var (
	ErrNotFound    = errors.New("tenant not found")
	ErrUnavailable = errors.New("tenant store unavailable")
)

type ctxKey struct{}

// NewContext returns ctx carrying t, so a middleware that already looked the
// tenant up (the signature check) can hand it to the handler.
func NewContext(ctx context.Context, t *Tenant) context.Context {
	return context.WithValue(ctx, ctxKey{}, t)
}

// FromContext returns the tenant stored by NewContext, or nil.
func FromContext(ctx context.Context) *Tenant {
	t, _ := ctx.Value(ctxKey{}).(*Tenant)
	return t
}
