package events

import (
	"encoding/json"
	"errors"
	"net/url"
	"path/filepath"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"bubble-twilio-voice/shared/tenant"
	"bubble-twilio-voice/test/kit"
)

var now = time.Date(2026, 11, 13, 15, 9, 7, 500_000_000, time.UTC)

const (
	acct = "AC0123456789abcdef0123456789abcdef"
	call = "CA0123456789abcdef0123456789abcdef"
	rec  = "RE0123456789abcdef0123456789abcdef"
)

// form is a callback form with kv pairs set on top of AccountSid and CallSid.
func form(kv ...string) url.Values {
	f := url.Values{"AccountSid": {acct}, "CallSid": {call}, "ApiVersion": {"2010-04-01"}}
	for i := 0; i+1 < len(kv); i += 2 {
		f.Set(kv[i], kv[i+1])
	}
	return f
}

// TestBuilders checks each builder's event against a golden JSON document
// (go test ./shared/events -update rewrites them).
func TestBuilders(t *testing.T) {
	type build func(url.Values) (any, bool)
	status := func(f url.Values) (any, bool) { return CallCompleted(f, now) }
	missed := func(f url.Values) (any, bool) { return CallMissed(f, now) }
	recording := func(f url.Values) (any, bool) { return Recording(f, now) }
	tests := []struct {
		name   string
		build  build
		form   url.Values
		wantOK bool
	}{
		{"call_completed_outgoing", status, form("From", "client:alice", "To", "+14155550123", "CallStatus", "completed",
			"CallDuration", "42", "Direction", "inbound", "Timestamp", "Fri, 13 Nov 2026 15:08:59 +0000"), true},
		{"call_completed_incoming", status, form("From", "+442071838750", "To", "+14155550100", "CallStatus", "completed",
			"CallDuration", "7", "Direction", "inbound", "Timestamp", "Fri, 13 Nov 2026 16:08:59 +0100"), true},
		{"call_busy_no_timestamp", status, form("Caller", "client:bob_2", "To", "+14155550123", "CallStatus", "busy"), true},
		{"call_failed_bad_duration", status, form("From", "client:alice", "To", "+1", "CallStatus", "failed", "CallDuration", "-3", "Timestamp", "yesterday"), true},
		{"call_canceled", status, form("From", "+442071838750", "To", "+14155550100", "CallStatus", "canceled", "CallDuration", "0"), true},
		{"call_no_answer", status, form("From", "client:alice", "To", "client:bob", "CallStatus", "no-answer"), true},
		{"call_transferred_to_client", status, form("From", "+442071838750", "To", "+14155550100", "CallStatus", "completed",
			"CallDuration", "95", "transferred_to", "client:bob"), true},
		{"call_transferred_to_number", status, form("From", "client:alice", "To", "+14155550123", "CallStatus", "completed",
			"transferred_to", "+14155550199"), true},
		{"call_transferred_to_garbage", status, form("From", "client:alice", "To", "+14155550123", "CallStatus", "completed",
			"transferred_to", "<script>"), true},
		{"call_ringing", status, form("From", "client:alice", "CallStatus", "ringing"), false},
		{"call_initiated", status, form("From", "client:alice", "CallStatus", "initiated"), false},
		{"call_answered", status, form("From", "client:alice", "CallStatus", "answered"), false},
		{"call_in_progress", status, form("From", "client:alice", "CallStatus", "in-progress"), false},
		{"call_child_leg", status, form("From", "+14155550100", "To", "client:alice", "CallStatus", "completed", "ParentCallSid", "CAffffffffffffffffffffffffffffffff"), false},

		{"missed_no_answer", missed, form("From", "+442071838750", "To", "+14155550100", "DialCallStatus", "no-answer"), true},
		{"missed_busy", missed, form("From", "+442071838750", "To", "+14155550100", "DialCallStatus", "busy"), true},
		{"missed_unknown_status", missed, form("From", "+442071838750", "To", "+14155550100", "DialCallStatus", "something-new"), true},
		{"missed_but_completed", missed, form("From", "+442071838750", "To", "+14155550100", "DialCallStatus", "completed"), false},
		{"missed_but_answered", missed, form("From", "+442071838750", "To", "+14155550100", "DialCallStatus", "answered"), false},
		{"missed_but_bridged", missed, form("From", "+442071838750", "To", "+14155550100", "DialCallStatus", "completed", "DialBridged", "true"), false},
		{"missed_screen_refused", missed, form("From", "+442071838750", "To", "+14155550100", "DialCallStatus", "completed", "DialBridged", "false"), true},
		{"missed_screen_unanswered", missed, form("From", "+442071838750", "To", "+14155550100", "DialCallStatus", "no-answer", "DialBridged", "false"), true},

		{"voicemail", recording, form("RecordingSid", rec, "RecordingUrl", "https://api.twilio.com/2010-04-01/Accounts/"+acct+"/Recordings/"+rec,
			"RecordingStatus", "completed", "RecordingDuration", "31", "RecordingChannels", "1", "RecordingSource", "RecordVerb",
			"RecordingStartTime", "Fri, 13 Nov 2026 15:08:20 +0000", "from", "+442071838750", "to", "+14155550100"), true},
		{"call_recording_outgoing", recording, form("RecordingSid", rec, "RecordingUrl", "https://api.twilio.com/2010-04-01/Accounts/"+acct+"/Recordings/"+rec,
			"RecordingStatus", "completed", "RecordingDuration", "65", "RecordingChannels", "2", "RecordingSource", "DialVerb",
			"from", "client:alice", "to", "+14155550123"), true},
		{"recording_absent", recording, form("RecordingSid", rec, "RecordingStatus", "absent", "RecordingSource", "RecordVerb"), false},
		{"recording_in_progress", recording, form("RecordingSid", rec, "RecordingStatus", "in-progress"), false},
		{"recording_failed", recording, form("RecordingSid", rec, "RecordingStatus", "failed"), false},
		{"recording_bad_sid", recording, form("RecordingSid", "RE../../etc", "RecordingUrl", "https://api.twilio.com/x", "RecordingStatus", "completed"), false},
	}
	names := map[string]bool{}
	for _, tc := range tests {
		names[tc.name] = tc.wantOK
		t.Run(tc.name, func(t *testing.T) {
			got, ok := tc.build(tc.form)
			if ok != tc.wantOK {
				t.Fatalf("ok = %v, want %v", ok, tc.wantOK)
			}
			if !ok {
				return
			}
			b, err := json.MarshalIndent(got, "", "  ")
			if err != nil {
				t.Fatal(err)
			}
			kit.CheckGolden(t, filepath.Join("testdata", "golden", tc.name+".json"), append(b, '\n'))
		})
	}
	golden := map[string]bool{}
	for n, ok := range names {
		if ok {
			golden[n] = true
		}
	}
	kit.CheckNoStrayGolden(t, filepath.Join("testdata", "golden", "*.json"), golden)
}

// TestEventShape pins the flat field set Bubble's "Detect data" sees.
func TestEventShape(t *testing.T) {
	e, _ := CallCompleted(form("From", "client:alice", "CallStatus", "completed"), now)
	var m map[string]any
	if err := json.Unmarshal(mustJSON(t, e), &m); err != nil {
		t.Fatal(err)
	}
	want := []string{"event_id", "type", "account_sid", "call_sid", "direction", "from", "to", "identity", "status",
		"duration_seconds", "transferred_to", "recording_url", "recording_duration_seconds", "transcript_text", "transcript_url",
		"occurred_at", "occurred_at_unix"}
	if len(m) != len(want) {
		t.Errorf("event has %d fields, want %d: %v", len(m), len(want), m)
	}
	for _, k := range want {
		v, ok := m[k]
		if !ok {
			t.Errorf("no field %q", k)
		}
		switch v.(type) {
		case map[string]any, []any:
			t.Errorf("field %q is nested; Bubble reads flat keys", k)
		}
	}
}

func TestID(t *testing.T) {
	a := ID(tenant.EventCallCompleted, acct, call, "")
	if a != ID(tenant.EventCallCompleted, acct, call, "") {
		t.Error("ID not stable")
	}
	if len(a) != 32 || strings.Trim(a, "0123456789abcdef") != "" {
		t.Errorf("ID %q is not 32 hex digits", a)
	}
	others := []string{
		ID(tenant.EventCallMissed, acct, call, ""),
		ID(tenant.EventCallCompleted, acct, "CA0123456789abcdef0123456789abcdee", ""),
		ID(tenant.EventCallRecorded, acct, call, rec),
		ID(tenant.EventCallRecorded, acct, call, "RE0123456789abcdef0123456789abcdee"),
		ID(tenant.EventCallCompleted, "AC0123456789abcdef0123456789abcdee", call, ""),
		// Fields cannot slide into each other.
		ID(tenant.EventCallCompleted, acct+call, "", ""),
	}
	seen := map[string]bool{a: true}
	for i, o := range others {
		if seen[o] {
			t.Errorf("ID %d collides", i)
		}
		seen[o] = true
	}
	// A repeated callback (same form, later) gets the same ID.
	e1, _ := CallCompleted(form("From", "client:alice", "CallStatus", "completed"), now)
	e2, _ := CallCompleted(form("From", "client:alice", "CallStatus", "completed", "CallDuration", "3"), now.Add(time.Hour))
	if e1.ID != e2.ID {
		t.Error("a repeated callback got another event_id")
	}
}

func TestMessageRoundTrip(t *testing.T) {
	m, ok := Recording(form("RecordingSid", rec, "RecordingUrl", "https://api.twilio.com/x", "RecordingStatus", "completed", "RecordingSource", "RecordVerb"), now)
	if !ok {
		t.Fatal("no message")
	}
	got, err := DecodeQueued(m.Encode())
	if err != nil {
		t.Fatal(err)
	}
	if got != m {
		t.Errorf("round trip\n got %+v\nwant %+v", got, m)
	}
}

func TestDecodeMessageRefuses(t *testing.T) {
	good, _ := CallCompleted(form("From", "client:alice", "CallStatus", "completed"), now)
	enc := func(m Queued) string { return string(m.Encode()) }
	tests := []struct {
		name, body string
	}{
		{"not JSON", "{"},
		{"array", "[]"},
		{"version 0", enc(Queued{Event: good})},
		{"version 2", enc(Queued{Version: 2, Event: good})},
		{"no account", enc(Queued{Version: 1, Event: Event{ID: "x", Type: tenant.EventCallCompleted}})},
		{"no id", func() string { e := good; e.ID = ""; return enc(Queued{Version: 1, Event: e}) }()},
		{"recording type without recording", func() string {
			e := good
			e.Type = tenant.EventVoicemailRecorded
			return enc(Queued{Version: 1, Event: e})
		}()},
		{"test recording type without its recording_url", func() string {
			e := good
			e.Type, e.ID = tenant.EventVoicemailRecorded, TestIDPrefix+e.ID
			return enc(Queued{Version: 1, Event: e})
		}()},
		{"recording_url on a real recording type without recording", func() string {
			e := good
			e.Type, e.RecordingURL = tenant.EventCallRecorded, "https://abc123.example/recordings/x"
			return enc(Queued{Version: 1, Event: e})
		}()},
		{"recording on a call event", enc(Queued{Version: 1, Event: good, RecordingSID: rec, RecordingMediaURL: "https://api.twilio.com/x"})},
		{"malformed recording sid", func() string {
			e := good
			e.Type = tenant.EventCallRecorded
			return enc(Queued{Version: 1, Event: e, RecordingSID: "RE/../x", RecordingMediaURL: "https://api.twilio.com/x"})
		}()},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := DecodeQueued([]byte(tc.body)); !errors.Is(err, ErrBadMessage) {
				t.Errorf("DecodeQueued = %v, want ErrBadMessage", err)
			}
		})
	}
}

func TestCallbackQuery(t *testing.T) {
	tests := []struct{ from, caller, to, want string }{
		{"client:alice", "", "+14155550123", "from=client%3Aalice&to=%2B14155550123"},
		{"", "+442071838750", "+14155550100", "from=%2B442071838750&to=%2B14155550100"},
	}
	for _, tc := range tests {
		got := CallbackQuery(tc.from, tc.caller, tc.to)
		if got != tc.want {
			t.Errorf("CallbackQuery(%q, %q, %q) = %q, want %q", tc.from, tc.caller, tc.to, got, tc.want)
		}
		// What Twilio posts back to that URL reads as the same parties.
		q, _ := url.ParseQuery(got)
		f := form("RecordingSid", rec, "RecordingUrl", "u", "RecordingStatus", "completed", "from", q.Get("from"), "to", q.Get("to"))
		m, _ := Recording(f, now)
		if m.Event.To != tc.to || (m.Event.From != tc.from && m.Event.From != tc.caller) {
			t.Errorf("round trip gave from %q to %q", m.Event.From, m.Event.To)
		}
	}
}

func mustJSON(t *testing.T, v any) []byte {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestTranscription(t *testing.T) {
	f := form("from", "+442071838750", "to", "+14155550100", "RecordingStatus", "completed",
		"RecordingSid", "RE0123456789abcdef0123456789abcdef", "RecordingSource", "RecordVerb", "RecordingDuration", "31",
		"RecordingUrl", "https://api.twilio.com/2010-04-01/Accounts/AC0123456789abcdef0123456789abcdef/Recordings/RE0123456789abcdef0123456789abcdef")
	rec, ok := Recording(f, time.Unix(1794582500, 0))
	if !ok {
		t.Fatal("no recording message")
	}
	tr, ok := Transcription(rec)
	if !ok || tr.Event.Type != tenant.EventVoicemailTranscribed || tr.Event.ID == rec.Event.ID ||
		tr.RecordingSID != rec.RecordingSID || tr.RecordingMediaURL != rec.RecordingMediaURL || tr.Event.From != rec.Event.From {
		t.Fatalf("Transcription = %+v, %v", tr, ok)
	}
	if tr.Event.ID != ID(tenant.EventVoicemailTranscribed, rec.Event.AccountSID, rec.Event.CallSID, rec.RecordingSID) {
		t.Errorf("event_id %s is not the transcribed type's", tr.Event.ID)
	}
	back, err := DecodeQueued(tr.Encode())
	if err != nil || back != tr {
		t.Errorf("round trip: %+v, %v", back, err)
	}
	if _, ok := Transcription(Queued{Version: QueuedVersion, Event: Event{Type: tenant.EventCallMissed}}); ok {
		t.Error("a call.missed has a transcription")
	}
	// A transcribed type without its recording is not a message.
	tr.RecordingSID = ""
	if _, err := DecodeQueued(tr.Encode()); err == nil {
		t.Error("transcribed message without a recording decoded")
	}
}

func TestCutTranscript(t *testing.T) {
	tests := []struct {
		text string
		max  int
		want string
		cut  bool
	}{
		{"short", 10, "short", false},
		{"exactly ten", 11, "exactly ten", false},
		{"one two three four", 10, "one two…", true},
		{"onetwothreefour", 10, "onetwothr…", true},
		{"héllo wörld ünïcode", 12, "héllo wörld…", true},
		{"", 0, "", false},
		{"abc", 0, "", true},
	}
	for _, tc := range tests {
		got, cut := CutTranscript(tc.text, tc.max)
		if got != tc.want || cut != tc.cut {
			t.Errorf("CutTranscript(%q, %d) = %q, %v; want %q, %v", tc.text, tc.max, got, cut, tc.want, tc.cut)
		}
		if n := utf8.RuneCountInString(got); n > tc.max {
			t.Errorf("CutTranscript(%q, %d) has %d characters", tc.text, tc.max, n)
		}
	}
}
