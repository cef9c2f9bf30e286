package voice

import (
	"cmp"
	"slices"
	"strings"

	"bubble-twilio-voice/shared/tenant"
)

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
// An emergency number (see emergencyNumber) is refused first, with its own
// reason and message, before any other check can call it "not valid".
//
// A client call presents "client:<caller>" and ignores CallerId. A number
// call presents the tenant's caller_id, or CallerId when the tenant owns it;
// a CallerId it does not own refuses the call (caller_id_not_allowed) rather
// than silently presenting another number, so a misconfigured app shows up
// in the logs at once. CallerId must be E.164, as the tenant's numbers are.
//
// A suspended tenant's call is refused first (tenant_suspended): a token
// issued before the suspension lives up to 24 hours. An emergency number
// still hears EmergencyMessage, which tells the caller what to do.
func (r Rules) Outgoing(c Call, t *tenant.Tenant) Decision {
	if t.Suspended() {
		if r.emergencyNumber(strings.TrimSpace(c.To), t) {
			return refuse(ReasonEmergencyNumber)
		}
		return refuse(ReasonTenantSuspended)
	}
	from := cmp.Or(c.From, c.Caller)
	caller, ok := strings.CutPrefix(from, tenant.ClientPrefix)
	if !ok {
		return r.Incoming(c, t)
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
			Settle:   true,
		}
	}
	if r.emergencyNumber(to, t) {
		return refuse(ReasonEmergencyNumber)
	}

	callerID := t.CallerID
	if c.CallerID != "" {
		if !t.OwnsCallerID(c.CallerID) {
			return refuse(ReasonCallerIDNotAllowed)
		}
		callerID = c.CallerID
	}
	number, reason := r.dialable(to, t)
	if reason != "" {
		return refuse(reason)
	}
	return Decision{
		Kind:     KindDial,
		CallerID: callerID,
		Number:   number,
		Record:   t.RecordCalls,
		Settle:   true,
	}
}

// clientTarget reports whether to addresses a browser client, and which.
func clientTarget(to string) (string, bool) {
	if id, ok := strings.CutPrefix(to, tenant.ClientPrefix); ok {
		return id, true
	}
	return to, tenant.ValidIdentity(to) && !tenant.AllDigits(to)
}

// emergencyRegions are checked for emergency numbers besides the tenant's
// own regions, so that a traveller's 999 or 000 on a US tenant's app hears
// that emergency calls are not possible rather than "not valid": together
// they cover 911, 112, 999, 000, 111, 110, 119, 120, 15, 17, 18, 100, 108,
// 190, 192, 193, 10111.
var emergencyRegions = []string{"US", "GB", "AU", "NZ", "DE", "FR", "JP", "CN", "IN", "BR", "ZA"}

// maxEmergencyDigits bounds the digits of a dialled string worth checking:
// libphonenumber's longest emergency number has 6 digits, so a full-length
// number never pays for the checks.
const maxEmergencyDigits = 8

// emergencyNumber reports whether raw, as dialled, is an emergency number
// in the tenant's DefaultRegion, one of its AllowedCountries, or one of
// emergencyRegions; or, written with a country code ("+1 911"), one of that
// country's (see Numbers.IsEmergency).
func (r Rules) emergencyNumber(raw string, t *tenant.Tenant) bool {
	digits := 0
	for i := 0; i < len(raw); i++ {
		if raw[i] >= '0' && raw[i] <= '9' {
			digits++
		}
	}
	if r.Numbers == nil || digits == 0 || digits > maxEmergencyDigits {
		return false
	}
	regions := slices.Concat([]string{t.DefaultRegion}, t.Outbound.AllowedCountries, emergencyRegions)
	return r.Numbers.IsEmergency(raw, t.DefaultRegion, regions)
}

// dialable applies the tenant's outbound policy to a phone number and
// returns it in E.164, or the reason it may not be dialled. Without a
// Numbers library nothing is dialable.
func (r Rules) dialable(raw string, t *tenant.Tenant) (string, Reason) {
	if r.Numbers == nil {
		return "", ReasonInvalidNumber
	}
	n, ok := r.Numbers.Parse(raw, t.DefaultRegion)
	if !ok {
		return "", ReasonInvalidNumber
	}
	if !countryAllowed(t, n.Region) {
		return "", ReasonCountryNotAllowed
	}
	for _, p := range t.Outbound.BlockedPrefixes {
		if strings.HasPrefix(n.E164, p) {
			return "", ReasonBlockedPrefix
		}
	}
	switch n.Type {
	case PremiumRate:
		return "", ReasonPremiumRate
	case SharedCost:
		return "", ReasonSharedCost
	}
	if !typeAllowed(t.Outbound, n.Type) {
		return "", ReasonNumberTypeNotAllowed
	}
	return n.E164, ""
}

// typeAllowed applies outbound.allowed_number_types. A number libphonenumber
// cannot tell apart as fixed line or mobile (every US number) is allowed
// when either is. Premium rate, shared cost and any type not named here are
// never allowed.
func typeAllowed(o tenant.Outbound, typ NumberType) bool {
	switch typ {
	case FixedLineOrMobile:
		return o.NumberTypeAllowed(tenant.NumberTypeFixedLine) || o.NumberTypeAllowed(tenant.NumberTypeMobile)
	case PremiumRate, SharedCost:
		return false
	default:
		return slices.Contains(tenant.NumberTypes, typ) && o.NumberTypeAllowed(typ)
	}
}

// countryAllowed reports whether region may be dialled: one of
// AllowedCountries, or DefaultRegion when that is empty. Non-geographic
// numbers (region "001", e.g. +800, +882) are never allowed.
func countryAllowed(t *tenant.Tenant, region string) bool {
	if len(t.Outbound.AllowedCountries) == 0 {
		return region == t.DefaultRegion
	}
	return slices.Contains(t.Outbound.AllowedCountries, region)
}

// Incoming decides a call to one of the tenant's numbers (POST /incoming).
// The route comes from To, which Twilio signs, so a caller cannot choose it.
// The tenant must not be nil.
//
// A route with hours that are closed at c.Now takes its closed step at
// once, without ringing anyone. Otherwise every client of the route rings
// at once, each told the caller, the called number and the route's label
// (Decision.Display), and DialComplete decides what follows: its action is
// DialCompleteClientsAction when the route has a backup phone, else
// DialCompleteAction.
//
// A suspended tenant's caller hears SuspendedMessage and nobody rings
// (tenant_suspended): its numbers stay with it while it is suspended, and
// Twilio may still route a call to them.
func (r Rules) Incoming(c Call, t *tenant.Tenant) Decision {
	if t.Suspended() {
		return refuse(ReasonTenantSuspended)
	}
	route := t.RouteFor(c.To)
	if route == nil {
		return refuse(ReasonNoRoute)
	}
	if !c.Now.IsZero() && !route.Hours.OpenAt(c.Now) {
		closed := route.Closed
		if closed == nil { // Parse sets it with hours; a hand-built route may not
			closed = &tenant.NoAnswer{}
		}
		return r.step(*closed, stepURLs{ClosedMessage, ClosedRecordingAction, ClosedScreenAction}, c, route, t)
	}
	action := DialCompleteAction
	if route.ThenNumber != "" {
		action = DialCompleteClientsAction
	}
	return Decision{
		Kind:    KindDial,
		Clients: route.Clients,
		Timeout: route.RingSeconds,
		Action:  action,
		Record:  t.RecordCalls,
		Display: Display{Caller: callerOf(c), Called: c.To, Label: route.Label},
	}
}

// Dial outcomes after which the call is over.
const (
	dialCompleted = "completed"
	dialAnswered  = "answered"
)

// Answered reports whether the <Dial> whose action request c is connected
// the caller to someone: DialCallStatus completed or answered, unless
// DialBridged is "false". A screened leg whose callee pressed no 1 (or
// whose voicemail answered) was picked up but never bridged; Twilio
// reports it as not connected, and DialBridged=false is read as not
// answered whatever the status says, so such a leg can never end the call
// as if someone had taken it (docs/screening.md).
func (c Call) Answered() bool {
	if c.DialCallStatus != dialCompleted && c.DialCallStatus != dialAnswered {
		return false
	}
	return c.DialBridged != "false"
}

// DialComplete decides what follows a <Dial> of an incoming call (POST
// /incoming/dial-complete). An answered call (Call.Answered) is over,
// after SettleSeconds (the browser's leg may be moving into a conference).
// Any other outcome (no-answer; busy, which one browser's reject() makes
// of the whole <Dial>; failed; canceled; a screened leg refused or left to
// a voicemail; or a status Twilio adds later) goes on:
//   - after the browsers (Leg LegClients) of a route with then_number: ring
//     the backup phone, through the same policy as Outgoing, presenting the
//     called number when the tenant may present it (else caller_id),
//     screened unless the route sets screen false, then come back here
//     with no leg. A backup phone the policy refuses is skipped, and the
//     Reason names the policy;
//   - otherwise the route's no-answer step (see step).
//
// Any other Leg is taken as the end of the last leg, so a URL the tenant
// did not expect can only end the call sooner, never ring more. A call of a
// tenant suspended while it rang takes no further step: it hears
// SuspendedMessage (tenant_suspended). The tenant must not be nil.
func (r Rules) DialComplete(c Call, t *tenant.Tenant) Decision {
	if c.Answered() {
		return Decision{Kind: KindHangup, Settle: true}
	}
	if t.Suspended() {
		return refuse(ReasonTenantSuspended)
	}
	route := t.RouteFor(c.To)
	line := c // whose route a screened phone's whisper announces
	if c.Route != "" && t.Incoming != nil {
		if r, ok := t.Incoming.Numbers[c.Route]; ok {
			route = r // a transfer rang this route: its steps follow
			line.To = c.Route
		}
	}
	if route == nil { // the tenant record changed since the call came in
		return refuse(ReasonNoRoute)
	}
	var skipped Reason
	if c.Leg == LegClients && route.ThenNumber != "" {
		number, reason := r.dialable(route.ThenNumber, t)
		if reason == "" {
			callerID := t.CallerID
			if t.OwnsCallerID(c.To) {
				callerID = c.To
			}
			return Decision{
				Kind:      KindDial,
				CallerID:  callerID,
				Number:    number,
				ScreenURL: screenURL(route, ScreenAction, line),
				Timeout:   route.RingSeconds,
				Action:    BackupCompleteAction,
				Record:    t.RecordCalls,
			}
		}
		skipped = reason
	}
	d := r.step(route.NoAnswer, stepURLs{NoAnswerMessage, RecordingCompleteAction, ScreenAction}, line, route, t)
	if skipped != "" {
		d.Reason = skipped // the earlier refusal; the step's own is the same policy
	}
	return d
}

// stepURLs are what a step says and where its TwiML points, which depend
// on the webhook answering it: the no-answer step is answered from
// /incoming/dial-complete, the closed step from /voice or /incoming.
type stepURLs struct {
	message      string // said when the step has no message of its own
	recordAction string // the voicemail's action
	screenAction string // the forward's whisper (ScreenURL)
}

// step decides a route's no-answer or closed step:
//   - voicemail: the step's message or VoicemailMessage, then a recording
//     whose action is u.recordAction;
//   - forward: dial forward_to, through the same policy as Outgoing,
//     screened unless the route sets screen false. A forward the policy
//     refuses says the step's message or u.message to the caller, and the
//     Reason names the policy. A forward that is not answered (or whose
//     callee refuses the screened call) ends the call: it is the last step;
//   - message: the step's message or u.message.
func (r Rules) step(s tenant.NoAnswer, u stepURLs, c Call, route *tenant.Route, t *tenant.Tenant) Decision {
	switch s.Action {
	case tenant.ActionVoicemail:
		return Decision{
			Kind:      KindVoicemail,
			Say:       cmp.Or(s.Message, VoicemailMessage),
			MaxLength: s.MaxLengthSeconds,
			Action:    u.recordAction,
		}
	case tenant.ActionForward:
		number, reason := r.dialable(s.ForwardTo, t)
		if reason != "" {
			return Decision{Kind: KindSay, Reason: reason, Say: cmp.Or(s.Message, u.message)}
		}
		return Decision{Kind: KindDial, Number: number, ScreenURL: screenURL(route, u.screenAction, c), Record: t.RecordCalls}
	default: // tenant.ActionMessage
		return Decision{Kind: KindSay, Say: cmp.Or(s.Message, u.message)}
	}
}

// screenURL is the whisper URL of a leg the route dials to a phone, or ""
// when the route does not screen.
func screenURL(route *tenant.Route, action string, c Call) string {
	if !route.Screens() {
		return ""
	}
	return ScreenURL(action, callerOf(c), c.To)
}

// callerOf is the caller of an incoming call: From, else Caller.
func callerOf(c Call) string {
	if c.From == "" {
		return c.Caller
	}
	return c.From
}

// Screen decides the whisper of a screened leg (POST /incoming/screen,
// the leg's <Number url>): Twilio runs it on the callee's phone once it
// picks up, before bridging, while the caller still hears ringing
// (answerOnBridge). It tells the callee who is calling on which line
// (ScreenPrompt, from Call.Parent and the label of the called number's
// route) and gathers one key for ScreenAnswer; with no key it hangs up, so
// a voicemail that answers never takes the call. The tenant must not be
// nil.
//
// A tenant suspended while the leg rang bridges nobody: the callee hears
// SuspendedMessage and the leg hangs up (tenant_suspended), so the
// caller's <Dial> ends as not answered and DialComplete says the same.
func (Rules) Screen(c Call, t *tenant.Tenant) Decision {
	if t.Suspended() {
		return refuse(ReasonTenantSuspended)
	}
	label := ""
	if route := t.RouteFor(c.Parent.Called); route != nil {
		label = route.Label
	}
	return Decision{Kind: KindScreen, Say: ScreenPrompt(label, c.Parent.Caller), Action: ScreenAnswerAction}
}

// ScreenAnswer decides what the callee's key does (POST
// /incoming/screen-answer, the whisper's <Gather> action): ScreenDigit
// accepts (an empty response, after which Twilio bridges the call); any
// other key hangs the screened leg up, and the caller's <Dial> ends as not
// answered. A tenant suspended since the whisper began is refused as in
// Screen, whatever the key: a 1 must not bridge its call.
func (Rules) ScreenAnswer(c Call, t *tenant.Tenant) Decision {
	if t.Suspended() {
		return refuse(ReasonTenantSuspended)
	}
	if c.Digits == ScreenDigit {
		return Decision{Kind: KindAccept}
	}
	return Decision{Kind: KindHangup}
}

// RecordingComplete ends the call once a voicemail is recorded (POST
// /incoming/recording-complete).
func (Rules) RecordingComplete(Call, *tenant.Tenant) Decision {
	return Decision{Kind: KindHangup}
}
