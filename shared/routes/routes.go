// Package routes is the one place that knows the service's route paths:
// httpapi's routes file mounts them, voice writes TwiML that points Twilio
// at them, recordings builds links to them and the subaccounts CLI points
// numbers and apps at them. It imports nothing, so voice and recordings
// name the paths without importing the HTTP layer.
package routes

// Paths relative to the API's base, as TwiML writes them: with no leading
// slash, Twilio resolves them against the URL of the webhook being answered
// (RFC 3986), so an API Gateway stage prefix such as /prod/ survives (see
// voice's action URLs). The no-answer steps sit under incoming/ so that a
// step can name the next by its leaf alone.
const (
	incoming              = "incoming"
	DialCompleteLeaf      = "dial-complete"
	RecordingCompleteLeaf = "recording-complete"
	ScreenLeaf            = "screen"
	ScreenAnswerLeaf      = "screen-answer"
	DialCompleteRel       = incoming + "/" + DialCompleteLeaf
	RecordingCompleteRel  = incoming + "/" + RecordingCompleteLeaf
	ScreenRel             = incoming + "/" + ScreenLeaf
	RecordingStatusRel    = "events/recording-status"
)

// Paths as API Gateway and the dev server route them.
const (
	// Token issues Voice access tokens (Bubble's API Connector).
	Token = "/token"
	// Voice is the TwiML App's Voice URL: calls placed from browsers.
	Voice = "/voice"
	// Incoming is the tenant's numbers' Voice URL, and DialComplete and
	// RecordingComplete its no-answer steps.
	Incoming          = "/" + incoming
	DialComplete      = "/" + DialCompleteRel
	RecordingComplete = "/" + RecordingCompleteRel
	// Screen and ScreenAnswer are a screened phone's whisper (its <Number
	// url>) and the whisper's <Gather> action (docs/screening.md).
	Screen       = "/" + ScreenRel
	ScreenAnswer = "/" + incoming + "/" + ScreenAnswerLeaf
	// CallStatus and RecordingStatus are Twilio's status callbacks.
	CallStatus      = "/events/call-status"
	RecordingStatus = "/" + RecordingStatusRel
	// Recordings is the prefix of a recording link: Recordings + AccountSid
	// + "/" + RecordingSid.
	Recordings = "/recordings/"
	// Transcripts is the prefix of a transcript link (the full text of a
	// long transcript): Transcripts + AccountSid + "/" + RecordingSid.
	Transcripts = "/transcripts/"

	// Call control: what a browser (or Bubble) asks of a call it is on.
	CallsHold             = "/calls/hold"
	CallsResume           = "/calls/resume"
	CallsTransfer         = "/calls/transfer"
	CallsTransferComplete = "/calls/transfer/complete"
	CallsTransferCancel   = "/calls/transfer/cancel"
	CallsAdd              = "/calls/add"
	CallsRemove           = "/calls/remove"
	// ConferenceStatus is the status callback of a call's conference hub
	// (call control); under /events with Twilio's other callbacks.
	ConferenceStatus = "/events/conference-status"

	// DevEventsTest queues one test event of each type to a tenant's app:
	// the dev server only (no Lambda function mounts it).
	DevEventsTest = "/dev/events/test"
)
