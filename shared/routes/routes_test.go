package routes

import (
	"net/url"
	"testing"
)

// TestRelativeForms: the relative forms TwiML writes resolve, as Twilio
// resolves them (RFC 3986), to the routed paths under a stage prefix.
func TestRelativeForms(t *testing.T) {
	const stage = "https://abc.execute-api.us-east-1.amazonaws.com/prod"
	cases := []struct{ from, ref, want string }{
		{Voice, DialCompleteRel, DialComplete},
		{Incoming, DialCompleteRel, DialComplete},
		{Incoming, RecordingCompleteRel, RecordingComplete},
		{Incoming, RecordingStatusRel, RecordingStatus},
		{DialComplete, DialCompleteLeaf, DialComplete},
		{DialComplete, RecordingCompleteLeaf, RecordingComplete},
		{DialComplete, "../" + RecordingStatusRel, RecordingStatus},
	}
	for _, tc := range cases {
		base, err := url.Parse(stage + tc.from)
		if err != nil {
			t.Fatal(err)
		}
		ref, err := url.Parse(tc.ref)
		if err != nil {
			t.Fatal(err)
		}
		if got := base.ResolveReference(ref).String(); got != stage+tc.want {
			t.Errorf("%s from %s = %s, want %s", tc.ref, tc.from, got, stage+tc.want)
		}
	}
}
