// Package events turns Twilio's call and recording callbacks into the flat
// call events a tenant's app receives, and delivers them: the Event shape,
// the pure functions that build one from a callback's form (with a clock
// passed in), what is queued for each (Queued), the retry schedule and the
// HTTP poster. It does no I/O except Poster.Post.
package events

import (
	"cmp"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"bubble-twilio-voice/shared/tenant"
)

// Event is what a tenant's app receives: one flat JSON object, because
// Bubble's "Detect data" reads flat keys. Every field is always present
// (empty or 0 when unknown) so the app sees the same shape for each type.
type Event struct {
	// ID is stable for one Twilio callback: a repeated callback, or a
	// redelivery of the same event, carries the same ID, so the app can
	// drop duplicates.
	ID   string `json:"event_id"`
	Type string `json:"type"`

	AccountSID string `json:"account_sid"`
	CallSID    string `json:"call_sid"`
	// Direction is DirectionOutgoing (placed from a browser) or
	// DirectionIncoming (to one of the tenant's numbers).
	Direction string `json:"direction"`
	From      string `json:"from"`
	To        string `json:"to"`
	// Identity is the browser user: the caller of an outgoing call; empty
	// for an incoming call, whose callbacks do not say which browser
	// answered.
	Identity string `json:"identity"`
	// Status is the final status: completed, busy, no-answer, failed or
	// canceled.
	Status          string `json:"status"`
	DurationSeconds int    `json:"duration_seconds"`
	// TransferredTo is where the call was transferred (call control):
	// "client:<identity>", a route's number or an E.164 number; empty when
	// it was not. Set on call.completed only.
	TransferredTo string `json:"transferred_to"`

	// RecordingURL plays without Twilio credentials and stays valid at
	// least 24 h (see shared/recordings); set by the delivery, for the
	// recording types only.
	RecordingURL             string `json:"recording_url"`
	RecordingDurationSeconds int    `json:"recording_duration_seconds"`

	// TranscriptText is the text of the recording, for the transcribed
	// types only (voicemail.transcribed, call.transcribed), cut to
	// MaxTranscriptText; "" for every other type.
	TranscriptText string `json:"transcript_text"`
	// TranscriptURL links the full text when TranscriptText was cut, like
	// RecordingURL; "" otherwise.
	TranscriptURL string `json:"transcript_url"`

	OccurredAt     string `json:"occurred_at"`      // RFC 3339, UTC
	OccurredAtUnix int64  `json:"occurred_at_unix"` // Unix seconds
}

// Directions.
const (
	DirectionOutgoing = "outgoing"
	DirectionIncoming = "incoming"
)

// Final call statuses, the only ones that make an event.
const (
	StatusCompleted = "completed"
	StatusBusy      = "busy"
	StatusNoAnswer  = "no-answer"
	StatusFailed    = "failed"
	StatusCanceled  = "canceled"
)

// ID returns the event ID of one callback: a hash of the event type and
// the SIDs that identify what happened, so the same callback always gets
// the same ID and different ones never share it.
func ID(typ, accountSID, callSID, recordingSID string) string {
	sum := sha256.Sum256([]byte(typ + "\x00" + accountSID + "\x00" + callSID + "\x00" + recordingSID))
	return hex.EncodeToString(sum[:16])
}

// Queued is what is queued between a Twilio callback and the delivery:
// the event, and for the recording types where Twilio keeps the media. It
// holds no secret: the delivery looks the tenant's destination and
// credentials up when it sends.
type Queued struct {
	// Version is QueuedVersion; the delivery refuses others.
	Version int   `json:"v"`
	Event   Event `json:"event"`
	// RecordingSID and RecordingMediaURL (Twilio's RecordingUrl) are set for
	// voicemail.recorded and call.recorded: the delivery copies the media
	// into the deployment's bucket and links it in Event.RecordingURL.
	RecordingSID      string `json:"recording_sid,omitempty"`
	RecordingMediaURL string `json:"recording_media_url,omitempty"`
}

// QueuedVersion is the Queued format this code writes and reads.
const QueuedVersion = 1

// Encode returns m as the queue message body.
func (m Queued) Encode() []byte {
	b, _ := json.Marshal(m) // only strings and numbers: cannot fail
	return b
}

// ErrBadMessage is returned by DecodeQueued for a queue message body that
// is not a Queued this code can deliver.
var ErrBadMessage = errors.New("not a call event message")

// DecodeQueued parses a queue message body.
func DecodeQueued(body []byte) (Queued, error) {
	var m Queued
	if err := json.Unmarshal(body, &m); err != nil {
		return Queued{}, fmt.Errorf("%w: %s", ErrBadMessage, jsonKind(err))
	}
	switch {
	case m.Version != QueuedVersion:
		return Queued{}, fmt.Errorf("%w: version %d", ErrBadMessage, m.Version)
	case !tenant.ValidAccountSID(m.Event.AccountSID):
		return Queued{}, fmt.Errorf("%w: no account_sid", ErrBadMessage)
	case m.Event.ID == "" || m.Event.Type == "":
		return Queued{}, fmt.Errorf("%w: no event_id or type", ErrBadMessage)
	case m.HasRecording() != carriesRecording(m.Event.Type) && !m.isTestRecording():
		return Queued{}, fmt.Errorf("%w: recording fields do not match type %s", ErrBadMessage, m.Event.Type)
	case m.HasRecording() && !tenant.ValidSID("RE", m.RecordingSID):
		return Queued{}, fmt.Errorf("%w: malformed recording_sid", ErrBadMessage)
	}
	return m, nil
}

// carriesRecording reports whether messages of type typ carry a
// recording: the recorded types, and the transcribed ones (the delivery
// copies the recording, if no earlier delivery did, to transcribe it).
func carriesRecording(typ string) bool {
	switch typ {
	case tenant.EventVoicemailRecorded, tenant.EventCallRecorded,
		tenant.EventVoicemailTranscribed, tenant.EventCallTranscribed:
		return true
	}
	return false
}

// Transcription returns the pending message of the transcript of the
// recording m carries: the same call and recording, of the transcribed
// type (tenant.TranscribedType), with its own event ID. ok is false when
// m is not of a recorded type. The delivery transcribes it (see
// docs/transcripts.md) and fills TranscriptText.
func Transcription(m Queued) (t Queued, ok bool) {
	typ := tenant.TranscribedType(m.Event.Type)
	if typ == "" || !m.HasRecording() {
		return Queued{}, false
	}
	t = m
	t.Event.Type = typ
	t.Event.ID = ID(typ, m.Event.AccountSID, m.Event.CallSID, m.RecordingSID)
	t.Event.RecordingURL, t.Event.TranscriptText, t.Event.TranscriptURL = "", "", ""
	return t, true
}

// MaxTranscriptText is the longest transcript_text, in characters: a few
// minutes of speech, and well inside what a Bubble text field and a
// backend workflow take. A longer transcript is cut (CutTranscript) and
// linked in full.
const MaxTranscriptText = 10000

// CutTranscript returns text cut to at most max characters, at the last
// space before the limit when there is one (then "…" is appended, within
// max), and whether it was cut.
func CutTranscript(text string, max int) (string, bool) {
	if utf8.RuneCountInString(text) <= max {
		return text, false
	}
	const ellipsis = "…"
	limit := max - 1 // room for the ellipsis
	if limit < 0 {
		return "", true
	}
	end := 0
	for i := range text {
		if limit == 0 {
			end = i
			break
		}
		limit--
	}
	cut := text[:end]
	if text[end] != ' ' { // mid-word: back to the word's start
		if sp := strings.LastIndexByte(cut, ' '); sp > 0 {
			cut = cut[:sp]
		}
	}
	return strings.TrimRight(cut, " ") + ellipsis, true
}

// HasRecording reports whether m carries a recording to copy.
func (m Queued) HasRecording() bool { return m.RecordingSID != "" && m.RecordingMediaURL != "" }

// TestIDPrefix starts the event_id of every test event (`subaccounts events
// test`, the dev server's POST /dev/events/test), so an app can recognise
// and skip them; a real event_id is 32 hex digits.
const TestIDPrefix = "test_"

// isTestRecording reports whether m is a test event of a recording type
// (cmd/internal/eventsamples): no recording was made, so it carries its
// recording_url and no recording to copy, and the delivery sends it as it
// is.
func (m Queued) isTestRecording() bool {
	return strings.HasPrefix(m.Event.ID, TestIDPrefix) && !m.HasRecording() && m.Event.RecordingURL != ""
}

// jsonKind names a JSON error without quoting the input.
func jsonKind(err error) string {
	if syn, ok := errors.AsType[*json.SyntaxError](err); ok {
		return fmt.Sprintf("invalid JSON at byte %d", syn.Offset)
	}
	return "wrong JSON shape"
}

// Form is a Twilio callback's parameters, as url.Values (r.Form).
type Form = url.Values

// CallCompleted builds the call.completed event of a call status callback.
// ok is false for a callback that makes no event: a non-final status
// (initiated, ringing, answered, in-progress), or a child leg (one with a
// ParentCallSid: the event is about the parent call the app knows). So a
// call held or transferred through a conference still makes one event: its
// legs are the same calls, redirected. f includes the callback URL's query,
// whose transferred_to a transfer set.
func CallCompleted(f Form, now time.Time) (e Event, ok bool) {
	status := f.Get("CallStatus")
	if !finalStatus(status) || f.Get("ParentCallSid") != "" {
		return Event{}, false
	}
	e = base(tenant.EventCallCompleted, f, "", twilioTime(f.Get("Timestamp"), now))
	e.Status = status
	e.DurationSeconds = seconds(f.Get("CallDuration"))
	e.TransferredTo = transferTarget(f.Get(QueryTransferredTo))
	return e, true
}

// QueryTransferredTo is the query parameter of the status callback URL a
// transfer sets on the transferred call (call control): the target.
const QueryTransferredTo = "transferred_to"

// transferTarget keeps a transferred_to that has the shape call control
// writes ("client:<identity>" or E.164); anything else is dropped.
func transferTarget(s string) string {
	if id, ok := strings.CutPrefix(s, tenant.ClientPrefix); ok && tenant.ValidIdentity(id) {
		return s
	}
	if tenant.ValidE164(s) {
		return s
	}
	return ""
}

// CallMissed builds the call.missed event of the <Dial> action request
// (/incoming/dial-complete) of a call to one of the tenant's numbers. ok is
// false when someone answered (DialCallStatus completed or answered, and
// DialBridged not "false"). A screened leg that was picked up but never
// bridged (its callee did not press 1, or its voicemail answered:
// DialBridged false) is missed, reported as no-answer, as is a
// DialCallStatus that is not a final status (docs/screening.md).
func CallMissed(f Form, now time.Time) (e Event, ok bool) {
	dial := f.Get("DialCallStatus")
	pickedUp := dial == StatusCompleted || dial == "answered"
	if pickedUp && f.Get("DialBridged") != "false" {
		return Event{}, false
	}
	e = base(tenant.EventCallMissed, f, "", now)
	e.Direction, e.Identity = DirectionIncoming, ""
	e.Status = dial
	if pickedUp || !finalStatus(dial) {
		e.Status = StatusNoAnswer
	}
	return e, true
}

// Recording builds the message of a recording status callback. The call's
// From and To are not in that callback; the TwiML that asked for it put them
// in the callback URL's query as "from" and "to" (see CallbackQuery), which
// Twilio's signature covers and f includes. ok is false unless
// RecordingStatus is completed (in-progress, absent or failed make no
// event), nor for a malformed RecordingSid. The type is voicemail.recorded for a <Record> (RecordingSource
// RecordVerb) and call.recorded otherwise.
func Recording(f Form, now time.Time) (m Queued, ok bool) {
	if f.Get("RecordingStatus") != "completed" || !tenant.ValidSID("RE", f.Get("RecordingSid")) {
		return Queued{}, false
	}
	typ := tenant.EventCallRecorded
	if f.Get("RecordingSource") == "RecordVerb" {
		typ = tenant.EventVoicemailRecorded
	}
	recSID := f.Get("RecordingSid")
	e := base(typ, f, recSID, twilioTime(f.Get("RecordingStartTime"), now))
	e.From, e.To = f.Get("from"), f.Get("to")
	e.Direction, e.Identity = direction(e.From)
	e.Status = StatusCompleted
	e.RecordingDurationSeconds = seconds(f.Get("RecordingDuration"))
	return Queued{Version: QueuedVersion, Event: e, RecordingSID: recSID, RecordingMediaURL: f.Get("RecordingUrl")}, true
}

// CallbackQuery is the query the recordingStatusCallback URL carries for
// Recording: the call's From (else Caller) and To, which Twilio's recording
// callbacks leave out.
func CallbackQuery(from, caller, to string) string {
	from = cmp.Or(from, caller)
	return url.Values{"from": {from}, "to": {to}}.Encode()
}

// base fills what every event has from a callback's form.
func base(typ string, f Form, recordingSID string, at time.Time) Event {
	from := cmp.Or(f.Get("From"), f.Get("Caller"))
	e := Event{
		ID:         ID(typ, f.Get("AccountSid"), f.Get("CallSid"), recordingSID),
		Type:       typ,
		AccountSID: f.Get("AccountSid"),
		CallSID:    f.Get("CallSid"),
		From:       from,
		To:         f.Get("To"),
	}
	e.Direction, e.Identity = direction(from)
	at = at.UTC().Truncate(time.Second)
	e.OccurredAt, e.OccurredAtUnix = at.Format(time.RFC3339), at.Unix()
	return e
}

// direction reads who placed a call from its From: a browser
// ("client:<identity>") placed an outgoing call; anything else is a call to
// one of the tenant's numbers.
func direction(from string) (dir, identity string) {
	if id, ok := strings.CutPrefix(from, tenant.ClientPrefix); ok {
		return DirectionOutgoing, id
	}
	return DirectionIncoming, ""
}

func finalStatus(s string) bool {
	switch s {
	case StatusCompleted, StatusBusy, StatusNoAnswer, StatusFailed, StatusCanceled:
		return true
	}
	return false
}

// seconds reads a whole number of seconds; anything else is 0 (unknown).
func seconds(s string) int {
	n, err := strconv.Atoi(s)
	if err != nil || n < 0 {
		return 0
	}
	return n
}

// twilioTime reads Twilio's RFC 2822 timestamps ("Mon, 16 Aug 2010 03:45:01
// +0000"), falling back to now. It also falls back for a time whose UTC year
// is not four digits (year 9999 at -0100 is year 10000 in UTC): occurred_at
// is RFC 3339, which cannot write it.
func twilioTime(s string, now time.Time) time.Time {
	for _, layout := range []string{time.RFC1123Z, time.RFC1123} {
		if t, err := time.Parse(layout, s); err == nil {
			if y := t.UTC().Year(); y < 0 || y > 9999 {
				return now
			}
			return t
		}
	}
	return now
}
