// Package voice decides what happens to a call, given the parameters of a
// Twilio voice webhook and the tenant it belongs to, and renders the
// decision as TwiML. It does no I/O: handlers parse and authenticate the
// request, look the tenant up, call one of Outgoing, Incoming, DialComplete
// RecordingComplete, Screen or ScreenAnswer, log the Decision's Kind and
// Reason, and write Decision.AppendTwiML.
package voice

import (
	"net/url"
	"strings"
	"time"

	"bubble-twilio-voice/shared/routes"
)

// Call holds the webhook parameters the decisions read. Handlers fill it
// from a request whose X-Twilio-Signature has been checked.
type Call struct {
	AccountSID string // AccountSid
	CallSID    string // CallSid, for logs only
	From       string // From: "client:<identity>" for a browser, else a phone number
	Caller     string // Caller: used when From is empty
	To         string // To: what the browser dialled, or the tenant number that was called
	// CallerID is the CallerId parameter a browser may send to choose which
	// of the tenant's numbers to present.
	CallerID string
	// DialCallStatus is the outcome of the previous <Dial>, sent to its action URL.
	DialCallStatus string
	// DialBridged is the <Dial> action's DialBridged parameter: "false"
	// when the dialled leg was never connected to the caller, which is
	// what a screened leg whose callee did not press 1 reports (see
	// docs/screening.md). Empty when Twilio did not send it.
	DialBridged string
	// Digits is what the callee pressed, sent to a <Gather>'s action
	// (ScreenAnswer).
	Digits string
	// Parent is the caller and the called tenant number of the call a
	// screened leg belongs to, read from the whisper URL's query
	// (ScreenURL): the whisper request's own From and To are the caller ID
	// presented to the screened phone and that phone. Only Screen reads it.
	Parent Display
	// Route is the "route" query parameter of the action URL that was
	// called: the number whose route a transfer rang (call control), so
	// its backup phone and no-answer step follow rather than those of the
	// number the caller dialled. Empty: the route of To.
	Route string
	// Leg is the "leg" query parameter of the action URL that was called
	// (DialCompleteClientsAction sets LegClients): which <Dial> ended. Empty
	// for a <Dial> without one.
	Leg string
	// Now is when the webhook arrived, for a route's opening hours. Zero
	// counts as open.
	Now time.Time
}

// Legs of an incoming call, as Call.Leg.
const (
	// LegClients: the browsers of a route with a backup phone did not
	// answer; DialComplete rings the backup phone next.
	LegClients = "clients"
)

// Kind is the shape of the TwiML a Decision renders to.
type Kind uint8

// Kinds of decision. The zero Kind hangs up, so a zero Decision is safe.
const (
	// KindHangup renders <Hangup/>.
	KindHangup Kind = iota
	// KindSay renders <Say>Say</Say><Hangup/>: a refusal, or a message to a
	// caller nobody answered.
	KindSay
	// KindDial renders <Dial> with a <Number> or one <Client> per identity.
	KindDial
	// KindVoicemail renders <Say>Say</Say><Record/><Hangup/>.
	KindVoicemail
	// KindScreen is a screened leg's whisper, played to the callee before
	// the call is bridged: <Gather numDigits="1" action><Say>Say</Say>
	// </Gather><Hangup/>, so a callee who presses nothing (a voicemail
	// greeting) is hung up on.
	KindScreen
	// KindAccept renders an empty <Response/>: the end of a whisper's
	// TwiML, after which Twilio bridges the screened leg to the caller.
	KindAccept
)

// String names the kind for logs and metrics.
func (k Kind) String() string {
	switch k {
	case KindHangup:
		return "hangup"
	case KindSay:
		return "say"
	case KindDial:
		return "dial"
	case KindVoicemail:
		return "voicemail"
	case KindScreen:
		return "screen"
	case KindAccept:
		return "accept"
	default:
		return "unknown"
	}
}

// Reason says, for logs and metrics, why a call was refused or could not be
// put through. It is empty when the call went ahead.
type Reason string

// Reasons. Outgoing checks a number in this order and reports the first that
// applies: emergency_number, invalid_number, country_not_allowed,
// blocked_prefix, premium_rate, shared_cost, number_type_not_allowed.
const (
	ReasonEmptyTo              Reason = "empty_to"                // the browser sent no To
	ReasonEmergencyNumber      Reason = "emergency_number"        // To is an emergency number (911, 112, 999, ...)
	ReasonInvalidNumber        Reason = "invalid_number"          // To is not a valid phone number
	ReasonInvalidIdentity      Reason = "invalid_identity"        // To is "client:" with a malformed identity
	ReasonInvalidCaller        Reason = "invalid_caller"          // From is "client:" with a malformed identity
	ReasonCountryNotAllowed    Reason = "country_not_allowed"     // outside Outbound.AllowedCountries
	ReasonBlockedPrefix        Reason = "blocked_prefix"          // matches Outbound.BlockedPrefixes
	ReasonPremiumRate          Reason = "premium_rate"            // always refused (toll fraud)
	ReasonSharedCost           Reason = "shared_cost"             // always refused (toll fraud)
	ReasonNumberTypeNotAllowed Reason = "number_type_not_allowed" // a type outside Outbound.AllowedNumberTypes
	ReasonClientCallsDisabled  Reason = "client_calls_disabled"   // Outbound.AllowClientCalls is false
	ReasonCallerIDNotAllowed   Reason = "caller_id_not_allowed"   // CallerId is not one of the tenant's numbers
	ReasonNoRoute              Reason = "no_route"                // the called number has no route
	ReasonTenantSuspended      Reason = "tenant_suspended"        // the agency suspended the subaccount (tenant.Tenant.Suspended)
)

// Message is what a person hears when a call is refused for r.
func (r Reason) Message() string {
	switch r {
	case ReasonEmptyTo:
		return "No number was dialed."
	case ReasonEmergencyNumber:
		return EmergencyMessage
	case ReasonInvalidNumber:
		return "The number you dialed is not valid."
	case ReasonInvalidIdentity:
		return "The person you are calling could not be found."
	case ReasonCountryNotAllowed:
		return "Calls to that country are not allowed."
	case ReasonBlockedPrefix, ReasonPremiumRate, ReasonSharedCost, ReasonNumberTypeNotAllowed:
		return "Calls to that destination are not allowed."
	case ReasonClientCallsDisabled:
		return "Calls between app users are not allowed."
	case ReasonCallerIDNotAllowed:
		return "This call cannot be placed from the selected caller ID."
	case ReasonNoRoute:
		return NoAnswerMessage
	case ReasonTenantSuspended:
		return SuspendedMessage
	default:
		return "This call cannot be placed."
	}
}

// Messages spoken when a route does not set its own.
const (
	NoAnswerMessage  = "Sorry, no one is available to take your call."
	VoicemailMessage = "Please leave a message after the tone."
	ClosedMessage    = "Sorry, we are closed right now. Please call again during our opening hours."
	// SuspendedMessage is all a caller of a suspended subaccount hears, in
	// either direction: it names no reason, which is the agency's business.
	SuspendedMessage = "Sorry, this service is not available right now. Goodbye."
)

// EmergencyMessage is what a browser user who dials an emergency number
// hears. A browser has no registered (dispatchable) address, so this
// service does not place emergency calls; see docs/deploy.md.
const EmergencyMessage = "This phone cannot place emergency calls. Please hang up and call emergency services from another phone."

// Action URLs. They are relative and have no leading slash so Twilio
// resolves them against the URL of the request being answered (RFC 3986)
// and the API Gateway stage prefix survives: from /prod/voice or
// /prod/incoming, DialCompleteAction is /prod/incoming/dial-complete, and
// from there RecordingCompleteAction is /prod/incoming/recording-complete.
// The paths are package routes'. The query of the URL being answered is
// dropped by the resolution, so a leg parameter never carries over.
const (
	// DialCompleteAction follows the browsers' <Dial> (from /voice or
	// /incoming).
	DialCompleteAction = routes.DialCompleteRel
	// DialCompleteClientsAction follows the browsers' <Dial> of a route with
	// a backup phone (from /voice or /incoming): Call.Leg is LegClients. An
	// HTTP layer that does not read the leg sees the route's no-answer step
	// at once, never a second ring of the backup phone.
	DialCompleteClientsAction = routes.DialCompleteRel + "?leg=" + LegClients
	// BackupCompleteAction follows the backup phone's <Dial> (from
	// /incoming/dial-complete): no leg, so the no-answer step runs next.
	BackupCompleteAction = routes.DialCompleteLeaf
	// RecordingCompleteAction follows a no-answer voicemail (from
	// /incoming/dial-complete).
	RecordingCompleteAction = routes.RecordingCompleteLeaf
	// ClosedRecordingAction follows a closed route's voicemail, answered
	// from /voice or /incoming.
	ClosedRecordingAction = routes.RecordingCompleteRel

	// ScreenAction is the whisper (<Number url>) of a screened leg dialled
	// from /incoming/dial-complete (the backup phone, a no-answer
	// forward): /incoming/screen. It carries a query; see ScreenURL.
	ScreenAction = routes.ScreenLeaf
	// ClosedScreenAction is the whisper of a closed route's forward,
	// dialled from /voice or /incoming: /incoming/screen.
	ClosedScreenAction = routes.ScreenRel
	// ScreenAnswerAction follows the whisper's <Gather> (from
	// /incoming/screen): /incoming/screen-answer.
	ScreenAnswerAction = routes.ScreenAnswerLeaf
)

// ScreenURL is the whisper URL of a screened leg: action (ScreenAction or
// ClosedScreenAction) with the caller and the called tenant number in its
// query, as ParamCaller and ParamCalled, for Screen to announce (Call.Parent).
// Twilio signs the query with the rest of the URL.
func ScreenURL(action, caller, called string) string {
	return action + "?" + url.Values{ParamCaller: {caller}, ParamCalled: {called}}.Encode()
}

// ScreenDigit is the key that accepts a screened call.
const ScreenDigit = "1"

// ScreenPrompt is what the whisper says to the callee of a screened leg:
// who is calling (the caller's number digit by digit, so that a
// text-to-speech voice does not read it as one large number) on which
// line (the route's label, when it has one), and which key accepts.
func ScreenPrompt(label, caller string) string {
	var b strings.Builder
	b.WriteString("You have a call")
	if label != "" {
		b.WriteString(" for ")
		b.WriteString(label)
	}
	b.WriteString(" from ")
	b.WriteString(spellNumber(caller))
	b.WriteString(". Press " + ScreenDigit + " to accept.")
	return b.String()
}

// spellNumber writes the digits of a phone number one by one ("4. 1.
// 5"), as Twilio's Whisper twimlet does; a caller without digits (an
// anonymous or withheld number) is "an unknown number".
func spellNumber(n string) string {
	var b strings.Builder
	for i := 0; i < len(n); i++ {
		if n[i] < '0' || n[i] > '9' {
			continue
		}
		if b.Len() > 0 {
			b.WriteString(". ")
		}
		b.WriteByte(n[i])
	}
	if b.Len() == 0 {
		return "an unknown number"
	}
	return b.String()
}

// Names of the <Parameter>s each ringing browser gets with an incoming call
// (Decision.Display); the Voice JavaScript SDK shows them in
// call.customParameters.
const (
	ParamCaller = "caller" // the caller's number (From)
	ParamCalled = "called" // the tenant number that was called (To)
	ParamLabel  = "label"  // the route's label, only when it has one
)

// RecordMode is the <Dial record> value used when a tenant records calls:
// from answer, caller and callee on separate channels.
const RecordMode = "record-from-answer-dual"

// Decision is what to do with a call. Build it with the decision functions;
// render it with AppendTwiML.
type Decision struct {
	Kind Kind
	// Reason is set when the call was refused or could not be routed, or a
	// step of it was: a backup phone the outbound policy refuses is skipped
	// for the no-answer step, which may itself dial a number.
	Reason Reason
	// Say is spoken before hanging up (KindSay), recording (KindVoicemail)
	// or inside the <Gather> (KindScreen).
	Say string

	// KindDial. CallerID empty leaves Twilio's default, the caller's number.
	CallerID string
	Number   string // E.164 number to dial, or empty
	// ScreenURL, when set, screens Number: it is the <Number url> whose
	// TwiML (Screen) asks the callee to accept before Twilio bridges.
	ScreenURL string
	Clients   []string // identities to ring at once; may be the tenant's slice, do not modify
	Timeout   int      // ring seconds; 0 leaves Twilio's default
	Record    bool     // record the call (RecordMode)
	// Display is sent to each of Clients as <Parameter>s; zero for none.
	Display Display

	// Action is the relative URL Twilio requests when the <Dial> or <Record>
	// ends, or a screen's <Gather> gets a digit; empty for none.
	Action string
	// MaxLength is the longest voicemail in seconds (KindVoicemail).
	MaxLength int
	// RecordingCallback is the recordingStatusCallback URL of a voicemail's
	// <Record> or a recording <Dial>; empty for none (recording.go).
	RecordingCallback string
	// Settle keeps the call on the line SettleSeconds longer: after the
	// <Dial> of a call a browser placed (KindDial), before the hang-up of an
	// answered incoming call (KindHangup). See SettleSeconds.
	Settle bool
}

// SettleSeconds is how long a call whose <Dial> ended stays on the line
// before hanging up. Call control moves a bridged call into a conference
// by redirecting the dialled leg first (redirecting the parent would hang
// the dialled leg up); that ends the parent's <Dial>, and the parent runs
// what follows it until its own redirect lands a moment later. Without
// the pause it would hang up first. A call nobody moves pays these seconds
// after the other side hung up, never a REST call.
const SettleSeconds = 2

// Display tells a ringing browser who is calling on which line.
type Display struct {
	Caller string // ParamCaller
	Called string // ParamCalled
	Label  string // ParamLabel; not sent when empty
}

// Refused reports whether the call, or a step of it, was refused or could
// not be routed.
func (d Decision) Refused() bool { return d.Reason != "" }

// refuse is a decision to tell the caller why and hang up.
func refuse(r Reason) Decision {
	return Decision{Kind: KindSay, Reason: r, Say: r.Message()}
}

// Rules decides calls. Its methods are the decisions, one per webhook step;
// they read dialled numbers with Numbers. The zero Rules dials no phone
// number (each is invalid_number), so a function wired without a number
// library fails closed.
type Rules struct {
	Numbers Numbers
}

// Numbers is the phone-number library the decisions read dialled numbers
// with; package phone implements it with libphonenumber. It is an interface
// so that only the functions that place calls link that library: the token
// function builds the same HTTP layer and must stay small.
type Numbers interface {
	// Parse reads raw (in defaultRegion unless it carries a country code)
	// and returns it as a Number; ok is false when it is not a valid number.
	Parse(raw, defaultRegion string) (n Number, ok bool)
	// IsEmergency reports whether raw, as dialled, is an emergency number
	// in one of regions or, written with a country code, in that country.
	IsEmergency(raw, defaultRegion string, regions []string) bool
}

// Number is a valid dialled number as Numbers reads it.
type Number struct {
	E164   string
	Region string // ISO 3166 region; "001" for non-geographic numbers
	Type   NumberType
}

// NumberType is a kind of number: one of tenant.NumberTypes, or one of the
// kinds below that outbound.allowed_number_types cannot name.
type NumberType = string

// Kinds of number beyond tenant.NumberTypes.
const (
	// FixedLineOrMobile: the numbering plan does not tell them apart (every
	// +1 number).
	FixedLineOrMobile NumberType = "fixed_line_or_mobile"
	PremiumRate       NumberType = "premium_rate" // never dialled
	SharedCost        NumberType = "shared_cost"  // never dialled
)
