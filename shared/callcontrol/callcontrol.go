// Package callcontrol holds, transfers and conferences calls a browser is
// on, through a <Conference> hub Twilio hosts. It keeps no state: every
// request finds the call's legs, its hub (named after the call) and the
// hub's participants (known by label) from Twilio's REST API, so any
// container can answer any request. docs/call-control.md has the Twilio
// primitives, the sequences and the REST calls each operation costs.
//
// A call starts as Twilio's two-leg <Dial> bridge and moves into its hub
// only when hold, a warm transfer or add is asked: ringing, answering and a
// call nobody holds cost no REST call at all. A cold transfer of a bridged
// call needs no hub either: the other party's leg is redirected to a <Dial>
// of the target, which ends the asking browser's leg.
package callcontrol

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"bubble-twilio-voice/shared/twiliorest"
	"bubble-twilio-voice/shared/voice"
)

// API is what call control asks of Twilio's REST API, with one account's
// credentials; *twiliorest.Account implements it.
type API interface {
	FetchCall(ctx context.Context, sid string) (twiliorest.Call, error)
	ListChildCalls(ctx context.Context, parentSID, status string) ([]twiliorest.Call, error)
	UpdateCall(ctx context.Context, sid string, u twiliorest.CallUpdate) (twiliorest.Call, error)
	FindConference(ctx context.Context, name string) (twiliorest.Conference, bool, error)
	ListLiveConferences(ctx context.Context) ([]twiliorest.Conference, error)
	FetchParticipant(ctx context.Context, conferenceSID, who string) (twiliorest.Participant, error)
	ListParticipants(ctx context.Context, conferenceSID string) ([]twiliorest.Participant, error)
	UpdateParticipant(ctx context.Context, conferenceSID, who string, u twiliorest.ParticipantUpdate) (twiliorest.Participant, error)
	DeleteParticipant(ctx context.Context, conferenceSID, who string) error
	CreateParticipant(ctx context.Context, conference string, p twiliorest.NewParticipant) (twiliorest.Participant, error)
}

// Hub names and participant labels. A hub is named after the parent leg of
// the call (Twilio's CallSid, which carries no personal data, as Twilio
// asks of conference names); labels say who each participant is, so no
// request needs to remember call SIDs.
const (
	hubPrefix = "hub-"
	// LabelParty is the other party: the caller of an incoming call, the
	// person a browser called.
	LabelParty = "party"
	// LabelTransfer is the target of a warm transfer until it completes.
	LabelTransfer = "transfer"
	// clientLabelPrefix + identity labels a browser.
	clientLabelPrefix = "client-"
	// addLabelPrefix + the target labels a party brought in with add.
	addLabelPrefix = "add-"
)

// HubName is the conference a call's legs move into: named after the
// call's parent leg.
func HubName(parentCallSID string) string { return hubPrefix + parentCallSID }

// ClientLabel is the participant label of a browser.
func ClientLabel(identity string) string { return clientLabelPrefix + identity }

// AddLabel is the participant label of a party brought in for to (its
// address as Twilio dials it: client:<identity> or an E.164 number),
// written with URL-safe characters only.
func AddLabel(to string) string {
	var b strings.Builder
	b.WriteString(addLabelPrefix)
	for _, r := range to {
		switch {
		case r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z', r >= '0' && r <= '9', r == '_':
			b.WriteRune(r)
		case r == ':':
			b.WriteByte('-')
		}
	}
	return b.String()
}

// groupSep joins a ring group's label and one browser's identity in
// MemberLabel. Identities are letters, digits and underscore, and group
// labels never contain it, so the group is what comes before it.
const groupSep = "--"

// maxLabel is the longest participant label Twilio takes
// (https://www.twilio.com/docs/api/errors/16024).
const maxLabel = 128

// MemberLabel is the participant label of one browser of a route rung by
// a warm transfer (group LabelTransfer) or an add (group AddLabel of the
// route's number): any container tells the group (groupOf) and the person
// apart from the label alone. Cut to Twilio's 128 characters (identities
// run to 121).
func MemberLabel(group, identity string) string {
	l := group + groupSep + identity
	return l[:min(len(l), maxLabel)]
}

// groupOf returns the ring group of a MemberLabel; ok is false for any
// other label.
func groupOf(label string) (group string, ok bool) {
	group, _, ok = strings.Cut(label, groupSep)
	return group, ok
}

// inGroup says whether label is group itself (one target) or one of its
// ring group's browsers.
func inGroup(label, group string) bool {
	g, ok := groupOf(label)
	return label == group || (ok && g == group)
}

// States a successful operation reports.
const (
	StateHeld         = "held"
	StateActive       = "active"
	StateTransferring = "transferring" // a warm transfer's target rings or talks
	StateTransferred  = "transferred"  // the asking browser has left the call
)

// Result is what an operation did.
type Result struct {
	CallSID string
	State   string
	// TransferredTo is the target of a transfer, as the event field
	// transferred_to reports it.
	TransferredTo string
	// Ringing lists the browsers ("client:<identity>") a warm transfer or
	// add to a route rang: those of the route whose outbound call fitted
	// before the request's deadline (Twilio's one call per second).
	Ringing []string
}

// Codes of Error: the API's error codes.
const (
	CodeCallNotFound      = "call_not_found"        // no such call, another tenant's, or the identity is not on it
	CodeCallEnded         = "call_ended"            // the call is over
	CodeNotAnswered       = "call_not_answered"     // nobody has answered yet: nothing to hold
	CodeNotAllowed        = "not_allowed"           // the tenant's outbound rules refuse the target (Reason)
	CodeInvalidTo         = "invalid_to"            // to is missing or names nobody
	CodeNoTransfer        = "no_transfer"           // complete/cancel with no warm transfer under way
	CodeTransferUnderWay  = "transfer_in_progress"  // a second transfer or add while a warm transfer is under way
	CodeTransferNotJoined = "transfer_not_answered" // complete before the target answered
	CodeNotInCall         = "not_in_call"           // remove of someone not on the call
	CodeTwilio            = "twilio_error"          // Twilio refused or failed
	CodeBusy              = "rate_limited"          // the account's outbound call rate left no slot in time
)

// Error is a refusal with the API's code. Reason is the outbound rule of a
// not_allowed; Err the internal cause, for logs only.
type Error struct {
	Code    string
	Message string
	Reason  voice.Reason
	Err     error
}

func (e *Error) Error() string {
	if e.Err != nil {
		return e.Code + ": " + e.Message + ": " + e.Err.Error()
	}
	return e.Code + ": " + e.Message
}

func (e *Error) Unwrap() error { return e.Err }

func fail(code, message string) error { return &Error{Code: code, Message: message} }

// twilioFailed wraps a REST failure: a call that ended under us is
// call_ended, the pacer's refusal or Twilio's 429 past the deadline
// rate_limited, anything else twilio_error.
func twilioFailed(step string, err error) error {
	switch {
	case err == nil:
		return nil
	case twiliorest.IsCallEnded(err):
		return &Error{Code: CodeCallEnded, Message: "the call has ended", Err: err}
	case errors.Is(err, twiliorest.ErrPaced), twiliorest.IsTooManyRequests(err):
		return &Error{Code: CodeBusy, Message: "too many calls are being placed for this account; try again in a few seconds", Err: err}
	}
	if _, ok := errors.AsType[*Error](err); ok {
		return err
	}
	return &Error{Code: CodeTwilio, Message: "Twilio could not " + step, Err: fmt.Errorf("%s: %w", step, err)}
}

func errOr(err error, msg string) error {
	if err != nil {
		return err
	}
	return errors.New(msg)
}
