// Package voice decides what happens to a call, given the parameters of a
// Twilio voice webhook and the tenant it belongs to, and renders the
// decision as TwiML. It does no I/O: handlers parse and authenticate the
// request, look the tenant up, call one of Outgoing, Incoming, DialComplete
// or RecordingComplete, log the Decision's Kind and Reason, and write
// Decision.AppendTwiML.
package voice

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
}

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
	default:
		return "unknown"
	}
}

// Reason says, for logs and metrics, why a call was refused or could not be
// put through. It is empty when the call went ahead.
type Reason string

// Reasons. Outgoing checks a number in this order and reports the first that
// applies: invalid_number, country_not_allowed, blocked_prefix, premium_rate,
// shared_cost.
const (
	ReasonEmptyTo             Reason = "empty_to"              // the browser sent no To
	ReasonInvalidNumber       Reason = "invalid_number"        // To is not a valid phone number
	ReasonInvalidIdentity     Reason = "invalid_identity"      // To is "client:" with a malformed identity
	ReasonInvalidCaller       Reason = "invalid_caller"        // From is "client:" with a malformed identity
	ReasonCountryNotAllowed   Reason = "country_not_allowed"   // outside Outbound.AllowedCountries
	ReasonBlockedPrefix       Reason = "blocked_prefix"        // matches Outbound.BlockedPrefixes
	ReasonPremiumRate         Reason = "premium_rate"          // always refused (toll fraud)
	ReasonSharedCost          Reason = "shared_cost"           // always refused (toll fraud)
	ReasonClientCallsDisabled Reason = "client_calls_disabled" // Outbound.AllowClientCalls is false
	ReasonCallerIDNotAllowed  Reason = "caller_id_not_allowed" // CallerId is not one of the tenant's numbers
	ReasonNoRoute             Reason = "no_route"              // the called number has no route
)

// Message is what a person hears when a call is refused for r.
func (r Reason) Message() string {
	switch r {
	case ReasonEmptyTo:
		return "No number was dialed."
	case ReasonInvalidNumber:
		return "The number you dialed is not valid."
	case ReasonInvalidIdentity:
		return "The person you are calling could not be found."
	case ReasonCountryNotAllowed:
		return "Calls to that country are not allowed."
	case ReasonBlockedPrefix, ReasonPremiumRate, ReasonSharedCost:
		return "Calls to that destination are not allowed."
	case ReasonClientCallsDisabled:
		return "Calls between app users are not allowed."
	case ReasonCallerIDNotAllowed:
		return "This call cannot be placed from the selected caller ID."
	case ReasonNoRoute:
		return NoAnswerMessage
	default:
		return "This call cannot be placed."
	}
}

// Messages spoken when a route does not set its own.
const (
	NoAnswerMessage  = "Sorry, no one is available to take your call."
	VoicemailMessage = "Please leave a message after the tone."
)

// Action URLs. They are relative and have no leading slash so Twilio
// resolves them against the URL of the request being answered (RFC 3986)
// and the API Gateway stage prefix survives: from /prod/voice or
// /prod/incoming, DialCompleteAction is /prod/incoming/dial-complete, and
// from there RecordingCompleteAction is /prod/incoming/recording-complete.
// Those two routes must exist.
const (
	DialCompleteAction      = "incoming/dial-complete"
	RecordingCompleteAction = "recording-complete"
)

// RecordMode is the <Dial record> value used when a tenant records calls:
// from answer, caller and callee on separate channels.
const RecordMode = "record-from-answer-dual"

// Decision is what to do with a call. Build it with the decision functions;
// render it with AppendTwiML.
type Decision struct {
	Kind Kind
	// Reason is set when the call was refused or could not be routed.
	Reason Reason
	// Say is spoken before hanging up (KindSay) or recording (KindVoicemail).
	Say string

	// KindDial. CallerID empty leaves Twilio's default, the caller's number.
	CallerID string
	Number   string   // E.164 number to dial, or empty
	Clients  []string // identities to ring at once; may be the tenant's slice, do not modify
	Timeout  int      // ring seconds; 0 leaves Twilio's default
	Record   bool     // record the call (RecordMode)

	// Action is the relative URL Twilio requests when the <Dial> or <Record>
	// ends; empty for none.
	Action string
	// MaxLength is the longest voicemail in seconds (KindVoicemail).
	MaxLength int
	// RecordingCallback is the recordingStatusCallback URL of a voicemail's
	// <Record> or a recording <Dial>; empty for none (recording.go).
	RecordingCallback string
}

// Refused reports whether the call was refused or could not be routed.
func (d Decision) Refused() bool { return d.Reason != "" }

// refuse is a decision to tell the caller why and hang up.
func refuse(r Reason) Decision {
	return Decision{Kind: KindSay, Reason: r, Say: r.Message()}
}
