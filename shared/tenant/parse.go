package tenant

import (
	"cmp"
	"encoding/json"
	"fmt"
	"maps"
	"reflect"
	"regexp"
	"slices"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"
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
	if !ValidSID("SK", t.APIKeySID) {
		return bad("api_key_sid", "must be SK followed by 32 hex digits")
	}
	if t.APIKeySecret == "" {
		return bad("api_key_secret", "is required")
	}
	if !ValidSID("AP", t.TwiMLAppSID) {
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
	t.TokenTTLSeconds = cmp.Or(t.TokenTTLSeconds, DefaultTokenTTLSeconds)
	if t.TokenTTLSeconds < MinTokenTTLSeconds || t.TokenTTLSeconds > MaxTokenTTLSeconds {
		return bad("token_ttl_seconds", fmt.Sprintf("must be between %d and %d", MinTokenTTLSeconds, MaxTokenTTLSeconds))
	}
	t.DefaultRegion = cmp.Or(t.DefaultRegion, DefaultRegion)
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
	for i, n := range t.Outbound.AllowedNumberTypes {
		switch {
		case n == "premium_rate" || n == "shared_cost":
			return bad(fmt.Sprintf("outbound.allowed_number_types[%d]", i), "premium-rate and shared-cost numbers are never dialled")
		case !slices.Contains(NumberTypes, n):
			return bad(fmt.Sprintf("outbound.allowed_number_types[%d]", i), "must be one of "+strings.Join(NumberTypes, ", "))
		}
	}
	if t.Status != "" && t.Status != StatusActive && t.Status != StatusSuspended {
		return bad("status", "must be active or suspended")
	}
	if t.SuspendedAt != "" {
		if _, err := time.Parse(time.RFC3339, t.SuspendedAt); err != nil {
			return bad("suspended_at", "must be an RFC 3339 time such as 2026-01-02T03:04:05Z")
		}
	}
	if t.Incoming != nil {
		// Sorted so the first error reported is the same on every load.
		for _, n := range slices.Sorted(maps.Keys(t.Incoming.Numbers)) {
			field := fmt.Sprintf("incoming.numbers[%q]", n)
			if !ValidE164(n) {
				return bad(field, "key must be an E.164 number")
			}
			if err := t.Incoming.Numbers[n].validate(field, n, t); err != nil {
				return err
			}
		}
		if t.Incoming.Default != nil {
			if err := t.Incoming.Default.validate("incoming.default", "", t); err != nil {
				return err
			}
		}
	}
	// Twilio fetches it: https, with a host and no user information (as
	// the events URL, whose check also allows loopback http for tests).
	if h := t.HoldMusicURL; h != "" && (len(h) > MaxHoldMusicURLLength || !strings.HasPrefix(h, "https://") || !validEventsURL(h)) {
		return bad("hold_music_url", "must be an https URL with a host, at most 1000 characters")
	}
	if err := t.Events.validate(); err != nil {
		return err
	}
	return t.Transcribe.validate(t.RecordCalls)
}

// validate checks the route of the tenant number self ("" for the default
// route) and fills in its defaults. The tenant's own numbers are read from t
// to refuse forwarding loops.
func (r *Route) validate(field, self string, t *Tenant) error {
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
	if !validLabel(r.Label) {
		return bad(".label", fmt.Sprintf("must be at most %d characters of text, without control characters", MaxLabelLength))
	}
	if r.ThenNumber != "" {
		if err := forwardTarget(field+".then_number", r.ThenNumber, self, t); err != nil {
			return err
		}
	}
	if err := r.NoAnswer.validate(field+".no_answer", self, t); err != nil {
		return err
	}
	if r.Hours == nil {
		if r.Closed != nil {
			return bad(".closed", "needs hours: a route without hours is never closed")
		}
	} else {
		if err := r.Hours.validate(field + ".hours"); err != nil {
			return err
		}
		if r.Closed == nil {
			r.Closed = &NoAnswer{}
		}
		if err := r.Closed.validate(field+".closed", self, t); err != nil {
			return err
		}
	}
	if r.TranscribeLanguage != "" && !validLanguage(r.TranscribeLanguage) {
		return bad(".transcribe_language", languageRule)
	}
	if r.Screen != nil && !r.dialsPhone() {
		return bad(".screen", "applies to then_number and forward_to: this route dials no phone")
	}
	return nil
}

// validate checks a no_answer or closed step and fills in its defaults.
func (na *NoAnswer) validate(field, self string, t *Tenant) error {
	bad := func(sub, reason string) error { return &FieldError{Field: field + sub, Reason: reason} }
	na.Action = cmp.Or(na.Action, ActionMessage)
	switch na.Action {
	case ActionMessage:
	case ActionVoicemail:
		na.MaxLengthSeconds = cmp.Or(na.MaxLengthSeconds, DefaultVoicemailSeconds)
		if na.MaxLengthSeconds < 1 || na.MaxLengthSeconds > MaxVoicemailSeconds {
			return bad(".max_length_seconds", fmt.Sprintf("must be between 1 and %d", MaxVoicemailSeconds))
		}
	case ActionForward:
		if err := forwardTarget(field+".forward_to", na.ForwardTo, self, t); err != nil {
			return err
		}
	default:
		return bad(".action", "must be one of voicemail, forward, message")
	}
	if len(na.Message) > MaxMessageLength {
		return bad(".message", fmt.Sprintf("must be at most %d characters", MaxMessageLength))
	}
	return nil
}

// forwardTarget checks a number a call is sent on to (forward_to,
// then_number): E.164, and not one of the tenant's own numbers, which
// would bring the call back in and ring it again, a billed leg each time.
func forwardTarget(field, number, self string, t *Tenant) error {
	switch {
	case !ValidE164(number):
		return &FieldError{Field: field, Reason: "must be an E.164 number such as +14155550100"}
	case number == self:
		return &FieldError{Field: field, Reason: "is this route's own number: a forwarding loop, each hop a billed call"}
	case t.OwnsNumber(number):
		return &FieldError{Field: field, Reason: "is one of the tenant's own numbers (incoming.numbers, caller_id, caller_ids): a forwarding loop, each hop a billed call"}
	}
	return nil
}

// validLabel: encoding/json has already made s valid UTF-8.
func validLabel(s string) bool {
	return utf8.RuneCountInString(s) <= MaxLabelLength && !strings.ContainsFunc(s, unicode.IsControl)
}

// validate checks opening hours and prepares them for OpenAt.
func (h *Hours) validate(field string) error {
	bad := func(sub, reason string) error { return &FieldError{Field: field + sub, Reason: reason} }
	loc, err := loadZone(h.TimeZone)
	if err != nil {
		return bad(".time_zone", "must be an IANA time zone name such as Europe/London")
	}
	h.loc = loc
	if len(h.Open) == 0 {
		return bad(".open", "needs at least one interval")
	}
	if len(h.Open) > MaxOpenIntervals {
		return bad(".open", fmt.Sprintf("must have at most %d intervals", MaxOpenIntervals))
	}
	for i := range h.Open {
		iv := &h.Open[i]
		sub := fmt.Sprintf(".open[%d]", i)
		if len(iv.Days) == 0 {
			return bad(sub+".days", "needs at least one day")
		}
		iv.days = 0
		for j, d := range iv.Days {
			k := slices.Index(DayNames[:], d)
			if k < 0 {
				return bad(fmt.Sprintf("%s.days[%d]", sub, j), "must be one of "+strings.Join(DayNames[:], ", "))
			}
			iv.days |= 1 << k
		}
		var ok bool
		if iv.from, ok = clockMinutes(iv.From); !ok || iv.from == 24*60 {
			return bad(sub+".from", `must be a time from "00:00" to "23:59"`)
		}
		if iv.to, ok = clockMinutes(iv.To); !ok || iv.to <= iv.from {
			return bad(sub+".to", `must be a time after from, up to "24:00" (an interval cannot cross midnight: write two)`)
		}
	}
	if len(h.ClosedDates) > MaxClosedDates {
		return bad(".closed_dates", fmt.Sprintf("must have at most %d dates", MaxClosedDates))
	}
	h.closed = make([]int, len(h.ClosedDates))
	for i, s := range h.ClosedDates {
		d, err := time.Parse(time.DateOnly, s)
		if err != nil || d.Format(time.DateOnly) != s {
			return bad(fmt.Sprintf(".closed_dates[%d]", i), "must be a date written 2006-01-02")
		}
		h.closed[i] = d.Year()*10000 + int(d.Month())*100 + d.Day()
	}
	return nil
}

// clockMinutes reads "15:04" (or "24:00") as minutes after midnight.
func clockMinutes(s string) (int, bool) {
	if len(s) != 5 || s[2] != ':' || !AllDigits(s[:2]) || !AllDigits(s[3:]) {
		return 0, false
	}
	h := int(s[0]-'0')*10 + int(s[1]-'0')
	m := int(s[3]-'0')*10 + int(s[4]-'0')
	if h > 24 || m > 59 || h == 24 && m != 0 {
		return 0, false
	}
	return h*60 + m, true
}

// zoneProbe is a zone every time-zone database has: when it cannot be
// loaded, the binary has no database.
const zoneProbe = "America/New_York"

// zoneName is the form of an IANA zone name ("Europe/London",
// "America/Argentina/Buenos_Aires", "Etc/GMT+5", "UTC").
var zoneName = regexp.MustCompile(`^[A-Za-z][A-Za-z0-9_+-]*(/[A-Za-z0-9_+-]+)*$`)

// loadZone loads an IANA time zone for hours.time_zone; "" and "Local"
// (whatever zone the container runs in) are refused.
//
// Lambda's base image has no zone database, so the binaries that read
// hours (voice, incoming, the dev server, the CLI) embed one (time/tzdata,
// imported by their mains). The token function never reads hours and does
// without those 450 KB: there, where no zone loads at all, a name is
// checked by its form only and left unloaded (OpenAt counts an unloaded
// zone as always open, which no call decision in that binary asks).
func loadZone(name string) (*time.Location, error) {
	if name == "" || name == "Local" {
		return nil, fmt.Errorf("not an IANA zone: %q", name)
	}
	loc, err := time.LoadLocation(name)
	if err == nil {
		return loc, nil
	}
	if _, probe := time.LoadLocation(zoneProbe); probe != nil && zoneName.MatchString(name) {
		return nil, nil
	}
	return nil, err
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

// ClientPrefix marks a browser's (Twilio Client's) address, "client:" and
// its identity, in a call's From, Caller and To.
const ClientPrefix = "client:"

// IdentityRule describes a valid client identity for error messages.
const IdentityRule = "must be 1 to 121 characters of letters, digits and underscore"

// ValidIdentity reports whether s is a client identity this service accepts:
// 1..121 characters of [A-Za-z0-9_].
func ValidIdentity(s string) bool {
	return len(s) >= 1 && len(s) <= 121 && strings.Trim(s, alnum+"_") == ""
}

// alnum is every ASCII letter and digit, as a strings.Trim cutset.
const alnum = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"

// ValidAccountSID reports whether s is "AC" followed by 32 lowercase hex
// digits, the only form Twilio issues. Stores check it before any network
// call so junk never reaches AWS; refusing the uppercase spelling also keeps
// one tenant from having 2^32 names that would each cost a cold lookup.
func ValidAccountSID(s string) bool {
	return len(s) == 34 && strings.HasPrefix(s, "AC") && strings.Trim(s[2:], "0123456789abcdef") == ""
}

// ValidSID reports whether s is prefix (two letters: "SK", "CA", "RE")
// followed by 32 hex digits of either case.
func ValidSID(prefix, s string) bool {
	return len(s) == 34 && strings.HasPrefix(s, prefix) && strings.Trim(s[2:], "0123456789abcdefABCDEF") == ""
}

// ValidE164 reports whether s has E.164 shape: + then 2..15 digits, the first
// not 0. Whether the number exists is for the voice package to judge.
func ValidE164(s string) bool {
	if len(s) < 3 || len(s) > 16 || s[0] != '+' || s[1] == '0' {
		return false
	}
	return AllDigits(s[1:])
}

func validPrefix(s string) bool {
	return len(s) >= 2 && len(s) <= 16 && s[0] == '+' && AllDigits(s[1:])
}

// AllDigits reports whether s is made of ASCII digits only ("" is).
func AllDigits(s string) bool { return strings.Trim(s, "0123456789") == "" }

func validRegion(s string) bool {
	return len(s) == 2 && s[0] >= 'A' && s[0] <= 'Z' && s[1] >= 'A' && s[1] <= 'Z'
}
