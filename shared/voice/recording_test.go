package voice

import (
	"net/url"
	"strings"
	"testing"
)

func TestRecordingCallbackURL(t *testing.T) {
	tests := []struct {
		depth     int
		query     string
		want      string
		from      string // the webhook's URL
		wantFinal string // where Twilio posts the callback
	}{
		{1, "", "events/recording-status", "https://x.example/prod/voice", "https://x.example/prod/events/recording-status"},
		{1, "from=client%3Aalice&to=%2B14155550123", "events/recording-status?from=client%3Aalice&to=%2B14155550123",
			"https://x.example/incoming", "https://x.example/events/recording-status?from=client%3Aalice&to=%2B14155550123"},
		{2, "from=%2B44", "../events/recording-status?from=%2B44",
			"https://x.example/prod/incoming/dial-complete", "https://x.example/prod/events/recording-status?from=%2B44"},
	}
	for _, tc := range tests {
		got := RecordingCallbackURL(tc.depth, tc.query)
		if got != tc.want {
			t.Errorf("RecordingCallbackURL(%d, %q) = %q, want %q", tc.depth, tc.query, got, tc.want)
		}
		// Resolve it as Twilio does (RFC 3986).
		base, _ := url.Parse(tc.from)
		ref, _ := url.Parse(got)
		if final := base.ResolveReference(ref).String(); final != tc.wantFinal {
			t.Errorf("from %s resolves to %s, want %s", tc.from, final, tc.wantFinal)
		}
	}
}

func TestWithRecordingCallback(t *testing.T) {
	const cb = "events/recording-status?from=x"
	tests := []struct {
		name string
		d    Decision
		want string // the attribute in the TwiML, "" for none
	}{
		{"voicemail", Decision{Kind: KindVoicemail, Say: "hi", MaxLength: 60, Action: RecordingCompleteAction},
			`<Record maxLength="60" playBeep="true" action="recording-complete" recordingStatusCallback="events/recording-status?from=x"/>`},
		{"recorded dial", Decision{Kind: KindDial, Number: "+14155550123", Record: true},
			`<Dial answerOnBridge="true" record="record-from-answer-dual" recordingStatusCallback="events/recording-status?from=x">`},
		{"dial without record", Decision{Kind: KindDial, Number: "+14155550123"}, ""},
		{"say", Decision{Kind: KindSay, Say: "no"}, ""},
		{"hangup", Decision{}, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			out := string(tc.d.WithRecordingCallback(cb).AppendTwiML(nil))
			if tc.want == "" {
				if strings.Contains(out, "recordingStatusCallback") {
					t.Errorf("TwiML %s has a recordingStatusCallback", out)
				}
				return
			}
			if !strings.Contains(out, tc.want) {
				t.Errorf("TwiML %s\nlacks %s", out, tc.want)
			}
		})
	}
	// The & of a query is escaped in the XML attribute.
	out := string(Decision{Kind: KindVoicemail}.WithRecordingCallback("a?from=1&to=2").AppendTwiML(nil))
	if !strings.Contains(out, `recordingStatusCallback="a?from=1&amp;to=2"`) {
		t.Errorf("TwiML %s", out)
	}
}
