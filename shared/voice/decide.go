package voice

import (
	"strings"

	"github.com/nyaruka/phonenumbers"

	"bubble-twilio-voice/shared/tenant"
)

// clientPrefix marks a Twilio Client (browser) address in From, Caller and To.
const clientPrefix = "client:"

// Outgoing decides a call placed from a browser (POST /voice). The tenant
// must not be nil.
//
// The caller is From (else Caller). A call that is not from "client:<identity>"
// is a phone call to a number whose voice URL is /voice, and is handed to
// Incoming, so either URL works for a number.
//
// To is read as:
//   - "client:<identity>": a browser client;
//   - a bare tenant.ValidIdentity that is not all digits ("alice", "bob_2"):
//     a browser client. An all-digit identity must be written "client:123";
//   - anything else ("+14155550123", "14155550123", "(415) 555-0123",
//     "1-800-FLOWERS"): a phone number, read in the tenant's DefaultRegion.
//     An extension ("x12") is dropped.
//
// A client call presents "client:<caller>" and ignores CallerId. A number
// call presents the tenant's caller_id, or CallerId when the tenant owns it;
// a CallerId it does not own refuses the call (caller_id_not_allowed) rather
// than silently presenting another number, so a misconfigured app shows up
// in the logs at once. CallerId must be E.164, as the tenant's numbers are.
func Outgoing(c Call, t *tenant.Tenant) Decision {
	from := c.From
	if from == "" {
		from = c.Caller
	}
	caller, ok := strings.CutPrefix(from, clientPrefix)
	if !ok {
		return Incoming(c, t)
	}
	if !tenant.ValidIdentity(caller) {
		return refuse(ReasonInvalidCaller)
	}

	to := strings.TrimSpace(c.To)
	if to == "" {
		return refuse(ReasonEmptyTo)
	}
	if id, ok := clientTarget(to); ok {
		if !tenant.ValidIdentity(id) {
			return refuse(ReasonInvalidIdentity)
		}
		if !t.Outbound.ClientCallsAllowed() {
			return refuse(ReasonClientCallsDisabled)
		}
		return Decision{
			Kind:     KindDial,
			CallerID: from,
			Clients:  []string{id},
			Record:   t.RecordCalls,
		}
	}

	callerID := t.CallerID
	if c.CallerID != "" {
		if !t.OwnsCallerID(c.CallerID) {
			return refuse(ReasonCallerIDNotAllowed)
		}
		callerID = c.CallerID
	}
	number, reason := dialable(to, t)
	if reason != "" {
		return refuse(reason)
	}
	return Decision{
		Kind:     KindDial,
		CallerID: callerID,
		Number:   number,
		Record:   t.RecordCalls,
	}
}

// clientTarget reports whether to addresses a browser client, and which.
func clientTarget(to string) (string, bool) {
	if id, ok := strings.CutPrefix(to, clientPrefix); ok {
		return id, true
	}
	return to, tenant.ValidIdentity(to) && !allDigits(to)
}

func allDigits(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

// dialable applies the tenant's outbound policy to a phone number and
// returns it in E.164, or the reason it may not be dialled.
//
// phonenumbers' type and region lookups are the slow part (regexps over the
// number for each candidate region), so each is done once:
// IsValidNumber(n) is exactly GetNumberType(n) != UNKNOWN (both test the
// number against the metadata of GetRegionCodeForNumber(n)), and the type
// is needed anyway for the premium-rate rule. TestValidity pins that.
func dialable(raw string, t *tenant.Tenant) (string, Reason) {
	var num phonenumbers.PhoneNumber
	if err := phonenumbers.ParseToNumber(raw, t.DefaultRegion, &num); err != nil {
		return "", ReasonInvalidNumber
	}
	typ := phonenumbers.GetNumberType(&num)
	if typ == phonenumbers.UNKNOWN {
		return "", ReasonInvalidNumber
	}
	// The region, not the calling code: +1 is shared by the US, Canada and
	// much of the Caribbean.
	if !countryAllowed(t, phonenumbers.GetRegionCodeForNumber(&num)) {
		return "", ReasonCountryNotAllowed
	}
	e164 := phonenumbers.Format(&num, phonenumbers.E164)
	for _, p := range t.Outbound.BlockedPrefixes {
		if strings.HasPrefix(e164, p) {
			return "", ReasonBlockedPrefix
		}
	}
	switch typ {
	case phonenumbers.PREMIUM_RATE:
		return "", ReasonPremiumRate
	case phonenumbers.SHARED_COST:
		return "", ReasonSharedCost
	}
	return e164, ""
}

// countryAllowed reports whether region may be dialled: one of
// AllowedCountries, or DefaultRegion when that is empty. Non-geographic
// numbers (region "001", e.g. +800, +882) are never allowed.
func countryAllowed(t *tenant.Tenant, region string) bool {
	if len(t.Outbound.AllowedCountries) == 0 {
		return region == t.DefaultRegion
	}
	for _, r := range t.Outbound.AllowedCountries {
		if r == region {
			return true
		}
	}
	return false
}

// Incoming decides a call to one of the tenant's numbers (POST /incoming):
// ring every client of the called number's route at once, and on no answer
// ask DialCompleteAction what next. The route comes from To, which Twilio
// signs, so a caller cannot choose it. The tenant must not be nil.
func Incoming(c Call, t *tenant.Tenant) Decision {
	route := t.RouteFor(c.To)
	if route == nil {
		return refuse(ReasonNoRoute)
	}
	return Decision{
		Kind:    KindDial,
		Clients: route.Clients,
		Timeout: route.RingSeconds,
		Action:  DialCompleteAction,
		Record:  t.RecordCalls,
	}
}

// Dial outcomes after which the call is over.
const (
	dialCompleted = "completed"
	dialAnswered  = "answered"
)

// DialComplete decides what follows the <Dial> of Incoming (POST
// /incoming/dial-complete). An answered call is over; any other status
// (no-answer, busy, failed, canceled, or one Twilio adds later) takes the
// route's no-answer step:
//   - voicemail: the route's message or VoicemailMessage, then a recording;
//   - forward: dial forward_to, through the same policy as Outgoing. A
//     forward the policy refuses says the route's message or
//     NoAnswerMessage to the caller, and the Reason names the policy;
//   - message: the route's message or NoAnswerMessage.
//
// The tenant must not be nil.
func DialComplete(c Call, t *tenant.Tenant) Decision {
	if c.DialCallStatus == dialCompleted || c.DialCallStatus == dialAnswered {
		return Decision{Kind: KindHangup}
	}
	route := t.RouteFor(c.To)
	if route == nil { // the tenant record changed since the call came in
		return refuse(ReasonNoRoute)
	}
	na := route.NoAnswer
	switch na.Action {
	case tenant.ActionVoicemail:
		return Decision{
			Kind:      KindVoicemail,
			Say:       orDefault(na.Message, VoicemailMessage),
			MaxLength: na.MaxLengthSeconds,
			Action:    RecordingCompleteAction,
		}
	case tenant.ActionForward:
		number, reason := dialable(na.ForwardTo, t)
		if reason != "" {
			return Decision{Kind: KindSay, Reason: reason, Say: orDefault(na.Message, NoAnswerMessage)}
		}
		return Decision{Kind: KindDial, Number: number, Record: t.RecordCalls}
	default: // tenant.ActionMessage
		return Decision{Kind: KindSay, Say: orDefault(na.Message, NoAnswerMessage)}
	}
}

// RecordingComplete ends the call once a voicemail is recorded (POST
// /incoming/recording-complete).
func RecordingComplete(Call, *tenant.Tenant) Decision {
	return Decision{Kind: KindHangup}
}

func orDefault(s, def string) string {
	if s == "" {
		return def
	}
	return s
}
