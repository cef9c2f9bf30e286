package eventsamples

import (
	"encoding/json"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"bubble-twilio-voice/shared/events"
	"bubble-twilio-voice/shared/tenant"
	"bubble-twilio-voice/test/kit"
)

func TestBuild(t *testing.T) {
	now := time.Date(2026, 11, 13, 15, 9, 0, 0, time.UTC)
	in := input{AccountSID: "AC0123456789abcdef0123456789abcdef", Number: "+14155550100", Identity: "alice",
		BaseURL: "https://abc123.execute-api.us-east-1.amazonaws.com/"}
	all, err := build(in, "", now)
	if err != nil {
		t.Fatal(err)
	}
	if len(all) != len(tenant.EventTypes) {
		t.Fatalf("%d samples, want one of each of %v", len(all), tenant.EventTypes)
	}
	documented := kit.DocumentedEventFields(t, filepath.Join("..", "..", ".."))
	ids := map[string]bool{}
	for i, e := range all {
		body, _ := json.Marshal(e)
		var fields map[string]any
		_ = json.Unmarshal(body, &fields)
		if missing := kit.MissingEventFields(body, documented); len(missing) > 0 || len(fields) != len(documented) {
			t.Errorf("%s: %d fields, lacking %v; docs/call-events.md documents %v", e.Type, len(fields), missing, documented)
		}
		if e.Type != tenant.EventTypes[i] {
			t.Errorf("sample %d is %s, want %s", i, e.Type, tenant.EventTypes[i])
		}
		if !strings.HasPrefix(e.ID, events.TestIDPrefix) || len(e.ID) != len(events.TestIDPrefix)+32 || ids[e.ID] {
			t.Errorf("%s: event_id %q is not test_ and 32 hex digits, or repeats", e.Type, e.ID)
		}
		ids[e.ID] = true
		if e.AccountSID != in.AccountSID || len(e.CallSID) != 34 || !strings.HasPrefix(e.CallSID, "CA") ||
			e.Status == "" || e.From == "" || e.To == "" || e.OccurredAt != "2026-11-13T15:08:00Z" || e.OccurredAtUnix != now.Add(-time.Minute).Unix() {
			t.Errorf("%s: not a realistic event: %+v", e.Type, e)
		}
		// Queued as is, each goes through the delivery: nothing to copy.
		if back, err := events.DecodeQueued(events.Queued{Version: events.QueuedVersion, Event: e}.Encode()); err != nil || back.Event != e || back.HasRecording() {
			t.Errorf("%s: queued, decodes to %+v, %v", e.Type, back, err)
		}
		recording := tenant.RecordedType(e.Type) != "" || tenant.TranscribedType(e.Type) != ""
		if recording != (e.RecordingURL != "") || recording != (e.RecordingDurationSeconds > 0) {
			t.Errorf("%s: recording_url %q, recording_duration_seconds %d", e.Type, e.RecordingURL, e.RecordingDurationSeconds)
		}
		if transcript := tenant.RecordedType(e.Type) != ""; transcript != (e.TranscriptText != "") || e.TranscriptURL != "" {
			t.Errorf("%s: transcript_text %q, transcript_url %q", e.Type, e.TranscriptText, e.TranscriptURL)
		}
		if recording && !strings.HasPrefix(e.RecordingURL, "https://abc123.execute-api.us-east-1.amazonaws.com/recordings/"+in.AccountSID+"/RE") {
			t.Errorf("%s: recording_url %q is not the deployment's recording route", e.Type, e.RecordingURL)
		}
		switch e.Direction {
		case events.DirectionOutgoing:
			if e.Identity != "alice" || e.From != "client:alice" {
				t.Errorf("%s: outgoing from %q, identity %q", e.Type, e.From, e.Identity)
			}
		case events.DirectionIncoming:
			if e.Identity != "" || e.To != in.Number {
				t.Errorf("%s: incoming to %q, identity %q", e.Type, e.To, e.Identity)
			}
		default:
			t.Errorf("%s: direction %q", e.Type, e.Direction)
		}
	}
	again, _ := build(in, "", now.Add(time.Nanosecond))
	if again[0].ID == all[0].ID {
		t.Error("two test runs share an event_id: an app dropping duplicates would drop the second")
	}

	one, err := build(in, tenant.EventCallMissed, now)
	if err != nil || len(one) != 1 || one[0].Type != tenant.EventCallMissed || one[0].Status != events.StatusNoAnswer || one[0].DurationSeconds != 0 {
		t.Errorf("build(call.missed) = %+v, %v", one, err)
	}
	if _, err := build(in, "call.answered", now); err == nil || !strings.Contains(err.Error(), "call.completed") {
		t.Errorf("unknown type: error %v, want one listing the types", err)
	}
}

func TestInputFor(t *testing.T) {
	tn := &tenant.Tenant{AccountSID: "AC0123456789abcdef0123456789abcdef", CallerID: "+14155550100"}
	if in := inputFor(tn, "http://127.0.0.1:3000"); in.Identity != "alice" || in.Number != "+14155550100" || in.BaseURL != "http://127.0.0.1:3000" {
		t.Errorf("no routes: %+v", in)
	}
	tn.Incoming = &tenant.Incoming{Numbers: map[string]*tenant.Route{
		"+14155550102": {Clients: []string{"zed"}}, "+14155550101": {Clients: []string{"front_desk"}}}}
	if in := inputFor(tn, ""); in.Identity != "front_desk" {
		t.Errorf("numbers only: identity %q, want the first number's first client", in.Identity)
	}
	tn.Incoming.Default = &tenant.Route{Clients: []string{"dr_smith"}}
	if in := inputFor(tn, ""); in.Identity != "dr_smith" {
		t.Errorf("with a default route: identity %q, want its first client", in.Identity)
	}
}
