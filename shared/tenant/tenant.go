// Package tenant holds the per-subaccount record (one JSON document per Twilio
// subaccount, the same shape in Secrets Manager and in the local tenants file)
// and the stores that look records up by AccountSid.
package tenant

import (
	"context"
	"errors"
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
	// Events, when set, sends the tenant's call events to its app (events.go).
	Events *Events `json:"events,omitempty"`
}

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
}

// ClientCallsAllowed reports whether browser-to-browser calls are permitted.
func (o Outbound) ClientCallsAllowed() bool {
	return o.AllowClientCalls == nil || *o.AllowClientCalls
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
	NoAnswer    NoAnswer `json:"no_answer"`
}

// NoAnswer is the step taken when nobody picks up.
type NoAnswer struct {
	// Action is one of ActionVoicemail, ActionForward, ActionMessage.
	Action           string `json:"action,omitempty"`
	ForwardTo        string `json:"forward_to,omitempty"`
	Message          string `json:"message,omitempty"`
	MaxLengthSeconds int    `json:"max_length_seconds,omitempty"`
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

// OwnsCallerID reports whether number is the tenant's caller_id or one of
// its caller_ids, the only numbers a browser may ask to present.
func (t *Tenant) OwnsCallerID(number string) bool {
	if number == t.CallerID {
		return true
	}
	for _, n := range t.CallerIDs {
		if n == number {
			return true
		}
	}
	return false
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
