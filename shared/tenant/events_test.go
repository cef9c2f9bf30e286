package tenant

import (
	"errors"
	"strings"
	"testing"
)

const (
	testEventsBearer = "EVENTSBEARER-secret-value-0005"
	testEventsSecret = "EVENTSSIGNING-secret-value-0006"
	testURLSecret    = "EVENTSURL-secret-value-0007"
)

func TestParseEvents(t *testing.T) {
	tests := []struct {
		name      string
		events    any // the "events" value; nil leaves it out
		wantField string
	}{
		{"absent", nil, ""},
		{"url only", map[string]any{"url": "https://myapp.bubbleapps.io/api/1.1/wf/call-event"}, ""},
		{"version-test url with everything", map[string]any{
			"url": "https://myapp.bubbleapps.io/version-test/api/1.1/wf/call-event", "bearer_token": testEventsBearer,
			"signing_secret": testEventsSecret, "types": []any{"call.missed", "voicemail.recorded"}}, ""},
		{"http to 127.0.0.1", map[string]any{"url": "http://127.0.0.1:3001/events"}, ""},
		{"http to localhost", map[string]any{"url": "http://localhost/events"}, ""},
		{"a query of the app's own that does not parse whole (kept, as before ?secret=)", map[string]any{"url": "https://a.example/x?a=1;b=2"}, ""},
		{"http to [::1]", map[string]any{"url": "http://[::1]:8080/"}, ""},
		{"every type", map[string]any{"url": "https://a.example/", "types": []any{"call.completed", "call.missed", "voicemail.recorded", "call.recorded"}}, ""},

		{"not an object", "https://a.example/", "(document)"},
		{"secret parameter", map[string]any{"url": "https://myapp.bubbleapps.io/api/1.1/wf/call-event?secret=" + testURLSecret}, ""},
		{"secret parameter among others", map[string]any{"url": "https://a.example/x?a=1&secret=" + testURLSecret + "&b=2"}, ""},
		{"no url", map[string]any{"bearer_token": testEventsBearer}, "events.url"},
		{"short secret parameter", map[string]any{"url": "https://a.example/x?secret=fifteen-chars-x"}, "events.url"},
		{"secret parameter twice", map[string]any{"url": "https://a.example/x?secret=" + testURLSecret + "&secret=" + testURLSecret}, "events.url"},
		{"secret parameter percent-encoded", map[string]any{"url": "https://a.example/x?secret=" + testURLSecret + "%2B"}, "events.url"},
		{"secret parameter with a plus", map[string]any{"url": "https://a.example/x?secret=" + testURLSecret + "+x"}, "events.url"},
		{"secret parameter empty", map[string]any{"url": "https://a.example/x?secret="}, "events.url"},
		{"malformed query", map[string]any{"url": "https://a.example/x?secret=%zz" + testURLSecret}, "events.url"},
		{"bubble api_token in the url", map[string]any{"url": "https://myapp.bubbleapps.io/api/1.1/wf/call-event?api_token=" + testEventsBearer}, "events.url"},
		{"http to a public host", map[string]any{"url": "http://myapp.bubbleapps.io/api/1.1/wf/x"}, "events.url"},
		{"http to a host named like loopback", map[string]any{"url": "http://127.0.0.1.example.com/x"}, "events.url"},
		{"ftp", map[string]any{"url": "ftp://a.example/x"}, "events.url"},
		{"relative", map[string]any{"url": "/api/1.1/wf/x"}, "events.url"},
		{"credentials in the url", map[string]any{"url": "https://user:" + testEventsSecret + "@a.example/x"}, "events.url"},
		{"fragment", map[string]any{"url": "https://a.example/x#frag"}, "events.url"},
		{"bearer with a space", map[string]any{"url": "https://a.example/", "bearer_token": "two words"}, "events.bearer_token"},
		{"bearer with a newline", map[string]any{"url": "https://a.example/", "bearer_token": testEventsBearer + "\r\nX-Injected: 1"}, "events.bearer_token"},
		{"short signing secret", map[string]any{"url": "https://a.example/", "signing_secret": "fifteen-chars-x"}, "events.signing_secret"},
		{"unknown type", map[string]any{"url": "https://a.example/", "types": []any{"call.completed", "call.answered"}}, "events.types[1]"},
		{"duplicate type", map[string]any{"url": "https://a.example/", "types": []any{"call.missed", "call.missed"}}, "events.types[1]"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			rec := validRecord()
			if tc.events != nil {
				rec["events"] = tc.events
			}
			got, err := Parse(mustJSON(t, rec))
			if tc.wantField == "" {
				if err != nil {
					t.Fatalf("Parse: %v", err)
				}
				if (tc.events == nil) != (got.Events == nil) {
					t.Errorf("Events = %+v", got.Events)
				}
				return
			}
			var fe *FieldError
			if !errors.As(err, &fe) || fe.Field != tc.wantField {
				t.Fatalf("error %v, want one for field %s", err, tc.wantField)
			}
			for _, s := range []string{testEventsBearer, testEventsSecret, "fifteen-chars-x", testURLSecret} {
				if strings.Contains(err.Error(), s) {
					t.Errorf("error %q carries a secret value", err)
				}
			}
		})
	}
}

func TestEventsWants(t *testing.T) {
	var none *Events
	all := &Events{URL: "https://a.example/"}
	some := &Events{URL: "https://a.example/", Types: []string{EventCallMissed, EventVoicemailRecorded}}
	tests := []struct {
		name string
		e    *Events
		typ  string
		want bool
	}{
		{"no events object", none, EventCallCompleted, false},
		{"default: all", all, EventCallRecorded, true},
		{"listed", some, EventVoicemailRecorded, true},
		{"not listed", some, EventCallCompleted, false},
		{"unknown type", all, "call.answered", true}, // Wants does not validate; Parse does
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := tc.e.Wants(tc.typ); got != tc.want {
				t.Errorf("Wants(%q) = %v, want %v", tc.typ, got, tc.want)
			}
		})
	}
}

func TestEventsRedactedURL(t *testing.T) {
	tests := []struct{ url, want string }{
		{"https://myapp.bubbleapps.io/api/1.1/wf/call-event", "https://myapp.bubbleapps.io/api/1.1/wf/call-event"},
		{"https://myapp.bubbleapps.io/version-test/api/1.1/wf/call-event?secret=" + testURLSecret,
			"https://myapp.bubbleapps.io/version-test/api/1.1/wf/call-event?secret=(redacted)"},
		{"https://a.example/x?a=1&secret=" + testURLSecret + "&flag", "https://a.example/x?a=(redacted)&secret=(redacted)&flag=(redacted)"},
		{"http://127.0.0.1:3001/events?token=" + testEventsBearer, "http://127.0.0.1:3001/events?token=(redacted)"},
		{"%zz?secret=" + testURLSecret, "(redacted)"},
	}
	for _, tc := range tests {
		got := (&Events{URL: tc.url}).RedactedURL()
		if got != tc.want {
			t.Errorf("RedactedURL(%q) = %q, want %q", tc.url, got, tc.want)
		}
		for _, s := range []string{testURLSecret, testEventsBearer} {
			if strings.Contains(got, s) {
				t.Errorf("RedactedURL(%q) = %q shows a secret", tc.url, got)
			}
		}
	}
}
