package events

import (
	"fmt"
	"maps"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"bubble-twilio-voice/shared/recordings"
	"bubble-twilio-voice/shared/tenant"
)

// TestIDPrefix starts the event_id of every test event (`subaccounts events
// test`, the dev server's POST /dev/events/test), so an app can recognise
// and skip them; a real event_id is 32 hex digits.
const TestIDPrefix = "test_"

// SampleInput makes the sample events look like the tenant's own calls.
type SampleInput struct {
	AccountSID string
	// Number is one of the tenant's numbers: the number called in the
	// incoming samples.
	Number string
	// Identity is a browser user of the tenant: the caller of the outgoing
	// samples.
	Identity string
	// BaseURL is the deployment's base URL; the recording samples'
	// recording_url points at its /recordings/ route (a link that does not
	// play: no recording was made).
	BaseURL string
}

// SampleInputFor makes the samples of tenant t look like its own calls: its
// caller_id is the number called, the first browser user its incoming
// routes ring (the default route's first, else the first number's in
// order) the caller, and baseURL the deployment's.
func SampleInputFor(t *tenant.Tenant, baseURL string) SampleInput {
	in := SampleInput{AccountSID: t.AccountSID, Number: t.CallerID, Identity: "alice", BaseURL: baseURL}
	if t.Incoming == nil {
		return in
	}
	routes := []*tenant.Route{t.Incoming.Default}
	for _, n := range slices.Sorted(maps.Keys(t.Incoming.Numbers)) {
		routes = append(routes, t.Incoming.Numbers[n])
	}
	for _, r := range routes {
		if r != nil && len(r.Clients) > 0 {
			in.Identity = r.Clients[0]
			break
		}
	}
	return in
}

// Sample numbers, from the ranges the docs use.
const (
	sampleCaller = "+442071838750" // calls the tenant's number
	sampleCalled = "+14155550123"  // called from a browser
	// sampleTranscript is the text of the transcribed samples.
	sampleTranscript = "Hi, this is Sam from Acme. Please call me back about tomorrow's delivery. Thanks."
)

// Samples returns one test event of each type (tenant.EventTypes order), or
// only of typ when it is not empty. Each is built by the builder a real
// Twilio callback goes through, from a callback form with realistic values,
// so it has every field with the type and meaning a real one has; only its
// event_id is marked with TestIDPrefix (and differs at every call, so an
// app that drops duplicates does not drop a second test). A recording
// sample carries its recording_url already: nothing is copied from Twilio.
func Samples(in SampleInput, typ string, now time.Time) ([]Event, error) {
	types := tenant.EventTypes
	if typ != "" {
		if !tenant.KnownEventType(typ) {
			return nil, fmt.Errorf("unknown event type %q (want one of %s)", typ, strings.Join(tenant.EventTypes, ", "))
		}
		types = []string{typ}
	}
	at := now.UTC().Add(-time.Minute).Truncate(time.Second)
	stamp := strconv.FormatInt(now.UnixNano(), 10)
	callSID := "CA" + ID("test call", in.AccountSID, stamp, "")
	recSID := "RE" + ID("test recording", in.AccountSID, stamp, "")
	out := make([]Event, 0, len(types))
	for _, t := range types {
		e, err := sampleOf(in, t, callSID, recSID, at, now)
		if err != nil {
			return nil, err
		}
		e.ID = TestIDPrefix + ID(t, in.AccountSID, callSID, stamp)
		out = append(out, e)
	}
	return out, nil
}

// sampleOf builds one event of type t through its real builder.
func sampleOf(in SampleInput, t, callSID, recSID string, at, now time.Time) (Event, error) {
	outgoing := Form{"AccountSid": {in.AccountSID}, "CallSid": {callSID},
		"From": {tenant.ClientPrefix + in.Identity}, "To": {sampleCalled}}
	incoming := Form{"AccountSid": {in.AccountSID}, "CallSid": {callSID},
		"From": {sampleCaller}, "To": {in.Number}}
	var (
		e  Event
		ok bool
	)
	// maps.Clone is enough: the forms' values are replaced (Set, Del),
	// never appended to.
	switch t {
	case tenant.EventCallCompleted:
		f := maps.Clone(outgoing)
		f.Set("CallStatus", StatusCompleted)
		f.Set("CallDuration", "42")
		f.Set("Timestamp", at.Format(time.RFC1123Z))
		e, ok = CallCompleted(f, now)
	case tenant.EventCallMissed:
		f := maps.Clone(incoming)
		f.Set("DialCallStatus", StatusNoAnswer)
		e, ok = CallMissed(f, at)
	case tenant.EventVoicemailTranscribed, tenant.EventCallTranscribed:
		// The transcript of the recorded sample, as the delivery posts it:
		// the recording's link and length, and its text.
		r, err := sampleOf(in, tenant.RecordedType(t), callSID, recSID, at, now)
		if err != nil {
			return Event{}, err
		}
		e, ok = r, true
		e.Type, e.TranscriptText = t, sampleTranscript
	case tenant.EventVoicemailRecorded, tenant.EventCallRecorded:
		f, dur := maps.Clone(incoming), "31"
		f.Set("RecordingSource", "RecordVerb")
		if t == tenant.EventCallRecorded {
			f, dur = maps.Clone(outgoing), "42"
			f.Set("RecordingSource", "DialVerb")
		}
		f.Set("from", f.Get("From"))
		f.Set("to", f.Get("To"))
		f.Del("From")
		f.Del("To")
		f.Set("RecordingSid", recSID)
		f.Set("RecordingStatus", "completed")
		f.Set("RecordingDuration", dur)
		f.Set("RecordingStartTime", at.Format(time.RFC1123Z))
		var m Queued
		m, ok = Recording(f, now)
		e = m.Event
		e.RecordingURL = strings.TrimRight(in.BaseURL, "/") + "/recordings/" + in.AccountSID + "/" + recSID + "?" +
			url.Values{"expires": {strconv.FormatInt(now.AddDate(0, 0, recordings.DefaultRetentionDays).Unix(), 10)}, "sig": {"test"}}.Encode()
	}
	if !ok {
		return Event{}, fmt.Errorf("sample %s: the builder made no event", t) // a builder changed its rules
	}
	return e, nil
}
