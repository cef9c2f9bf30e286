package tenant

import (
	"encoding/json"
	"fmt"
	"reflect"
	"sort"
	"strings"
)

// FieldError says which field of a tenant record is wrong and why. It never
// carries the field's value, which may be a secret.
type FieldError struct {
	Field  string
	Reason string
}

func (e *FieldError) Error() string {
	return "tenant record: " + e.Field + ": " + e.Reason
}

// Parse decodes and validates one tenant record and fills in its defaults.
// Unknown fields are ignored so later versions can add some. It returns a
// *FieldError (or a JSON syntax error) and no tenant when anything is wrong:
// never a half-loaded tenant.
func Parse(data []byte) (*Tenant, error) {
	var t Tenant
	if err := json.Unmarshal(data, &t); err != nil {
		// The JSON error text may quote a value; keep only its kind.
		return nil, &FieldError{Field: "(document)", Reason: jsonReason(err)}
	}
	if err := t.validate(); err != nil {
		return nil, err
	}
	return &t, nil
}

func jsonReason(err error) string {
	switch e := err.(type) {
	case *json.SyntaxError:
		return fmt.Sprintf("invalid JSON at byte %d", e.Offset)
	case *json.UnmarshalTypeError:
		return fmt.Sprintf("field %q has the wrong type (want %s)", e.Field, jsonKind(e.Type))
	default:
		return "invalid JSON"
	}
}

// jsonKind names a Go type the way a person writing JSON thinks of it.
func jsonKind(t reflect.Type) string {
	if t == nil {
		return "another type"
	}
	switch t.Kind() {
	case reflect.Struct, reflect.Map:
		return "an object"
	case reflect.Slice, reflect.Array:
		return "a list"
	case reflect.String:
		return "a string"
	case reflect.Bool:
		return "true or false"
	case reflect.Int, reflect.Int64, reflect.Int32, reflect.Float64:
		return "a number"
	case reflect.Pointer:
		return jsonKind(t.Elem())
	default:
		return t.Kind().String()
	}
}

func (t *Tenant) validate() error {
	bad := func(field, reason string) error { return &FieldError{Field: field, Reason: reason} }
	if !ValidAccountSID(t.AccountSID) {
		return bad("account_sid", "must be AC followed by 32 hex digits")
	}
	if t.AuthToken == "" {
		return bad("auth_token", "is required")
	}
	if !validSID("SK", t.APIKeySID) {
		return bad("api_key_sid", "must be SK followed by 32 hex digits")
	}
	if t.APIKeySecret == "" {
		return bad("api_key_secret", "is required")
	}
	if !validSID("AP", t.TwiMLAppSID) {
		return bad("twiml_app_sid", "must be AP followed by 32 hex digits")
	}
	if !ValidE164(t.CallerID) {
		return bad("caller_id", "must be an E.164 number such as +14155550100")
	}
	for i, n := range t.CallerIDs {
		if !ValidE164(n) {
			return bad(fmt.Sprintf("caller_ids[%d]", i), "must be an E.164 number")
		}
	}
	if len(t.TokenAPIKeys) == 0 {
		return bad("token_api_keys", "needs at least one key")
	}
	for i, k := range t.TokenAPIKeys {
		if len(k) < 16 {
			return bad(fmt.Sprintf("token_api_keys[%d]", i), "must be at least 16 characters")
		}
	}
	if t.TokenTTLSeconds == 0 {
		t.TokenTTLSeconds = DefaultTokenTTLSeconds
	}
	if t.TokenTTLSeconds < MinTokenTTLSeconds || t.TokenTTLSeconds > MaxTokenTTLSeconds {
		return bad("token_ttl_seconds", fmt.Sprintf("must be between %d and %d", MinTokenTTLSeconds, MaxTokenTTLSeconds))
	}
	if t.DefaultRegion == "" {
		t.DefaultRegion = DefaultRegion
	}
	if !validRegion(t.DefaultRegion) {
		return bad("default_region", "must be a two-letter ISO region such as US")
	}
	for i, r := range t.Outbound.AllowedCountries {
		if !validRegion(r) {
			return bad(fmt.Sprintf("outbound.allowed_countries[%d]", i), "must be a two-letter ISO region such as GB")
		}
	}
	for i, p := range t.Outbound.BlockedPrefixes {
		if !validPrefix(p) {
			return bad(fmt.Sprintf("outbound.blocked_prefixes[%d]", i), "must be + followed by 1 to 15 digits")
		}
	}
	if t.Incoming != nil {
		// Sorted so the first error reported is the same on every load.
		numbers := make([]string, 0, len(t.Incoming.Numbers))
		for n := range t.Incoming.Numbers {
			numbers = append(numbers, n)
		}
		sort.Strings(numbers)
		for _, n := range numbers {
			field := fmt.Sprintf("incoming.numbers[%q]", n)
			if !ValidE164(n) {
				return bad(field, "key must be an E.164 number")
			}
			if err := t.Incoming.Numbers[n].validate(field); err != nil {
				return err
			}
		}
		if t.Incoming.Default != nil {
			if err := t.Incoming.Default.validate("incoming.default"); err != nil {
				return err
			}
		}
	}
	return t.Events.validate()
}

func (r *Route) validate(field string) error {
	bad := func(sub, reason string) error { return &FieldError{Field: field + sub, Reason: reason} }
	if r == nil {
		return bad("", "must be an object")
	}
	if len(r.Clients) == 0 {
		return bad(".clients", "needs at least one client identity")
	}
	if len(r.Clients) > MaxClientsPerRoute {
		return bad(".clients", fmt.Sprintf("has %d identities; Twilio rings at most %d in one Dial", len(r.Clients), MaxClientsPerRoute))
	}
	for i, c := range r.Clients {
		if !ValidIdentity(c) {
			return bad(fmt.Sprintf(".clients[%d]", i), IdentityRule)
		}
	}
	if r.RingSeconds == 0 { // absent; an explicit 0 arrives as -1 (see UnmarshalJSON)
		r.RingSeconds = DefaultRingSeconds
	}
	if r.RingSeconds < MinRingSeconds || r.RingSeconds > MaxRingSeconds {
		return bad(".ring_seconds", fmt.Sprintf("must be between %d and %d", MinRingSeconds, MaxRingSeconds))
	}
	na := &r.NoAnswer
	if na.Action == "" {
		na.Action = ActionMessage
	}
	switch na.Action {
	case ActionMessage:
	case ActionVoicemail:
		if na.MaxLengthSeconds == 0 {
			na.MaxLengthSeconds = DefaultVoicemailSeconds
		}
		if na.MaxLengthSeconds < 1 || na.MaxLengthSeconds > MaxVoicemailSeconds {
			return bad(".no_answer.max_length_seconds", fmt.Sprintf("must be between 1 and %d", MaxVoicemailSeconds))
		}
	case ActionForward:
		if !ValidE164(na.ForwardTo) {
			return bad(".no_answer.forward_to", "must be an E.164 number such as +14155550100")
		}
	default:
		return bad(".no_answer.action", "must be one of voicemail, forward, message")
	}
	if len(na.Message) > 1000 {
		return bad(".no_answer.message", "must be at most 1000 characters")
	}
	return nil
}

// UnmarshalJSON lets an explicit "ring_seconds": 0 be refused instead of
// silently becoming the default.
func (r *Route) UnmarshalJSON(data []byte) error {
	type plain Route
	var raw struct {
		plain
		RingSeconds *int `json:"ring_seconds"`
	}
	if err := json.Unmarshal(data, &raw); err != nil {
		return err
	}
	*r = Route(raw.plain)
	switch {
	case raw.RingSeconds == nil:
		r.RingSeconds = 0 // filled with the default by validate
	case *raw.RingSeconds == 0:
		r.RingSeconds = -1 // refused by validate
	default:
		r.RingSeconds = *raw.RingSeconds
	}
	return nil
}

// IdentityRule describes a valid client identity for error messages.
const IdentityRule = "must be 1 to 121 characters of letters, digits and underscore"

// ValidIdentity reports whether s is a client identity this service accepts:
// 1..121 characters of [A-Za-z0-9_].
func ValidIdentity(s string) bool {
	if len(s) == 0 || len(s) > 121 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_') {
			return false
		}
	}
	return true
}

// ValidAccountSID reports whether s is "AC" followed by 32 hex digits. Stores
// check it before any network call so junk never reaches AWS.
func ValidAccountSID(s string) bool { return validSID("AC", s) }

func validSID(prefix, s string) bool {
	if len(s) != 34 || !strings.HasPrefix(s, prefix) {
		return false
	}
	for i := 2; i < len(s); i++ {
		if !isHex(s[i]) {
			return false
		}
	}
	return true
}

func isHex(c byte) bool {
	return c >= '0' && c <= '9' || c >= 'a' && c <= 'f' || c >= 'A' && c <= 'F'
}

// ValidE164 reports whether s has E.164 shape: + then 2..15 digits, the first
// not 0. Whether the number exists is for the voice package to judge.
func ValidE164(s string) bool {
	if len(s) < 3 || len(s) > 16 || s[0] != '+' || s[1] == '0' {
		return false
	}
	return allDigits(s[1:])
}

func validPrefix(s string) bool {
	return len(s) >= 2 && len(s) <= 16 && s[0] == '+' && allDigits(s[1:])
}

func allDigits(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

func validRegion(s string) bool {
	return len(s) == 2 && s[0] >= 'A' && s[0] <= 'Z' && s[1] >= 'A' && s[1] <= 'Z'
}
