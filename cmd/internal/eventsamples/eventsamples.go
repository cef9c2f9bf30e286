// Package eventsamples makes the test events of `subaccounts events test`
// and the dev server's POST /dev/events/test: one event of each type, built
// as a real one is. No Lambda function sends them, so they live with the two
// commands, not in shared/events.
package eventsamples

import (
	"fmt"
	"maps"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"bubble-twilio-voice/shared/events"
	"bubble-twilio-voice/shared/recordings"
	"bubble-twilio-voice/shared/routes"
	"bubble-twilio-voice/shared/tenant"
)

// For returns test events that look like tenant t's own calls (inputFor),
// their recording links under baseURL: one of each event type, or only of
// typ when it is not empty (build).
func For(t *tenant.Tenant, baseURL, typ string, now time.Time) ([]events.Event, error) {
	return build(inputFor(t, baseURL), typ, now)
}

// input makes the sample events look like the tenant's own calls.
type input struct {
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

// inputFor makes the samples of tenant t look like its own calls: its
// caller_id is the number called, the first browser user its incoming
// routes ring (the default route's first, else the first number's in
// order) the caller, and baseURL the deployment's.
func inputFor(t *tenant.Tenant, baseURL string) input {
	in := input{AccountSID: t.AccountSID, Number: t.CallerID, Identity: "alice", BaseURL: baseURL}
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

// build returns one test event of each type (tenant.EventTypes order), or
// only of typ when it is not empty. Each is built by the builder a real
// Twilio callback goes through, from a callback form with realistic values,
// so it has every field with the type and meaning a real one has; only its
// event_id is marked with events.TestIDPrefix (and differs at every call,
// so an app that drops duplicates does not drop a second test). A recording
// sample carries its recording_url already: nothing is copied from Twilio.
func build(in input, typ string, now time.Time) ([]events.Event, error) {
	types := tenant.EventTypes
	if typ != "" {
		if !tenant.KnownEventType(typ) {
			return nil, fmt.Errorf("unknown event type %q (want one of %s)", typ, strings.Join(tenant.EventTypes, ", "))
		}
		types = []string{typ}
	}
	at := now.UTC().Add(-time.Minute).Truncate(time.Second)
	stamp := strconv.FormatInt(now.UnixNano(), 10)
	callSID := "CA" + events.ID("test call", in.AccountSID, stamp, "")
	recSID := "RE" + events.ID("test recording", in.AccountSID, stamp, "")
	out := make([]events.Event, 0, len(types))
	for _, t := range types {
		e, err := sampleOf(in, t, callSID, recSID, at, now)
		if err != nil {
			return nil, err
		}
		e.ID = events.TestIDPrefix + events.ID(t, in.AccountSID, callSID, stamp)
		out = append(out, e)
	}
	return out, nil
}

// sampleOf builds one event of type t through its real builder.
func sampleOf(in input, t, callSID, recSID string, at, now time.Time) (events.Event, error) {
	outgoing := events.Form{"AccountSid": {in.AccountSID}, "CallSid": {callSID},
		"From": {tenant.ClientPrefix + in.Identity}, "To": {sampleCalled}}
	incoming := events.Form{"AccountSid": {in.AccountSID}, "CallSid": {callSID},
		"From": {sampleCaller}, "To": {in.Number}}
	var (
		e  events.Event
		ok bool
	)
	// maps.Clone is enough: the forms' values are replaced (Set, Del),
	// never appended to.
	switch t {
	case tenant.EventCallCompleted:
		f := maps.Clone(outgoing)
		f.Set("CallStatus", events.StatusCompleted)
		f.Set("CallDuration", "42")
		f.Set("Timestamp", at.Format(time.RFC1123Z))
		e, ok = events.CallCompleted(f, now)
	case tenant.EventCallMissed:
		f := maps.Clone(incoming)
		f.Set("DialCallStatus", events.StatusNoAnswer)
		e, ok = events.CallMissed(f, at)
	case tenant.EventVoicemailTranscribed, tenant.EventCallTranscribed:
		// The transcript of the recorded sample, as the delivery posts it:
		// the recording's link and length, and its text.
		r, err := sampleOf(in, tenant.RecordedType(t), callSID, recSID, at, now)
		if err != nil {
			return events.Event{}, err
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
		var m events.Queued
		m, ok = events.Recording(f, now)
		e = m.Event
		e.RecordingURL = strings.TrimRight(in.BaseURL, "/") + routes.Recordings + in.AccountSID + "/" + recSID + "?" +
			url.Values{"expires": {strconv.FormatInt(now.AddDate(0, 0, recordings.DefaultRetentionDays).Unix(), 10)}, "sig": {"test"}}.Encode()
	}
	if !ok {
		return events.Event{}, fmt.Errorf("sample %s: the builder made no event", t) // a builder changed its rules
	}
	return e, nil
}
