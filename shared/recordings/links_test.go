package recordings_test

import (
	"errors"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"bubble-twilio-voice/shared/recordings"
)

var key = []byte("0123456789abcdef0123456789abcdef-link-key")

func TestLinks(t *testing.T) {
	l, err := recordings.NewLinks(key, "https://voice.example.test/prod/")
	if err != nil {
		t.Fatal(err)
	}
	now := time.Date(2026, 11, 13, 15, 0, 0, 0, time.UTC)
	exp := now.Add(30 * 24 * time.Hour)
	link := l.URL(acct, recSID, exp)
	u, err := url.Parse(link)
	if err != nil {
		t.Fatal(err)
	}
	if u.Scheme != "https" || u.Host != "voice.example.test" || u.Path != "/prod/recordings/"+acct+"/"+recSID {
		t.Errorf("link %s", link)
	}
	q := u.Query()
	if q.Get("expires") != strconv.FormatInt(exp.Unix(), 10) || len(q.Get("sig")) != 64 {
		t.Errorf("query %v", q)
	}
	other, _ := recordings.NewLinks([]byte(strings.Repeat("k", 32)), "https://voice.example.test")
	flip := func(s string) string {
		b := []byte(s)
		if b[0] == 'a' {
			b[0] = 'b'
		} else {
			b[0] = 'a'
		}
		return string(b)
	}
	tests := []struct {
		name              string
		links             *recordings.Links
		account, rec, exp string
		sig               string
		at                time.Time
		want              error
	}{
		{"fresh", l, acct, recSID, q.Get("expires"), q.Get("sig"), now, nil},
		{"a second before expiry", l, acct, recSID, q.Get("expires"), q.Get("sig"), exp.Add(-time.Second), nil},
		{"at expiry", l, acct, recSID, q.Get("expires"), q.Get("sig"), exp, recordings.ErrLinkExpired},
		{"another recording", l, acct, "RE0123456789abcdef0123456789abcdee", q.Get("expires"), q.Get("sig"), now, recordings.ErrLinkInvalid},
		{"another account", l, "AC0123456789abcdef0123456789abcdee", recSID, q.Get("expires"), q.Get("sig"), now, recordings.ErrLinkInvalid},
		{"expiry pushed out", l, acct, recSID, strconv.FormatInt(exp.Unix()+86400, 10), q.Get("sig"), now, recordings.ErrLinkInvalid},
		{"expiry with a leading zero", l, acct, recSID, "0" + q.Get("expires"), q.Get("sig"), now, recordings.ErrLinkInvalid},
		{"expiry not a number", l, acct, recSID, "soon", q.Get("sig"), now, recordings.ErrLinkInvalid},
		{"signature changed", l, acct, recSID, q.Get("expires"), flip(q.Get("sig")), now, recordings.ErrLinkInvalid},
		{"no signature", l, acct, recSID, q.Get("expires"), "", now, recordings.ErrLinkInvalid},
		{"another deployment's key", other, acct, recSID, q.Get("expires"), q.Get("sig"), now, recordings.ErrLinkInvalid},
		{"expired and forged", l, acct, recSID, q.Get("expires"), flip(q.Get("sig")), exp.Add(time.Hour), recordings.ErrLinkInvalid},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if err := tc.links.Verify(tc.account, tc.rec, tc.exp, tc.sig, tc.at); !errors.Is(err, tc.want) || (tc.want == nil && err != nil) {
				t.Errorf("Verify = %v, want %v", err, tc.want)
			}
		})
	}
}

func TestNewLinksShortKey(t *testing.T) {
	if _, err := recordings.NewLinks([]byte("short"), "https://x"); err == nil {
		t.Error("a 5-byte key was accepted")
	}
}

// TestTranscriptLinks: a transcript link opens the transcript only, and a
// recording link never opens a transcript.
func TestTranscriptLinks(t *testing.T) {
	l, err := recordings.NewLinks(key, "https://voice.example.test/prod")
	if err != nil {
		t.Fatal(err)
	}
	now := time.Date(2026, 11, 13, 15, 0, 0, 0, time.UTC)
	exp := now.Add(24 * time.Hour)
	tu, err := url.Parse(l.TranscriptURL(acct, recSID, exp))
	if err != nil {
		t.Fatal(err)
	}
	if tu.Path != "/prod/transcripts/"+acct+"/"+recSID {
		t.Errorf("transcript link %s", tu)
	}
	q := tu.Query()
	if err := l.VerifyTranscript(acct, recSID, q.Get("expires"), q.Get("sig"), now); err != nil {
		t.Errorf("transcript link: %v", err)
	}
	if err := l.Verify(acct, recSID, q.Get("expires"), q.Get("sig"), now); !errors.Is(err, recordings.ErrLinkInvalid) {
		t.Errorf("transcript link opens the recording: %v", err)
	}
	ru, _ := url.Parse(l.URL(acct, recSID, exp))
	rq := ru.Query()
	if err := l.VerifyTranscript(acct, recSID, rq.Get("expires"), rq.Get("sig"), now); !errors.Is(err, recordings.ErrLinkInvalid) {
		t.Errorf("recording link opens the transcript: %v", err)
	}
	if err := l.VerifyTranscript(acct, recSID, q.Get("expires"), q.Get("sig"), exp); !errors.Is(err, recordings.ErrLinkExpired) {
		t.Errorf("expired transcript link: %v", err)
	}
	if got := recordings.ContentTypeOf(recordings.TranscriptTextKey(acct, recSID)); got != recordings.TextContentType {
		t.Errorf("transcript text served as %q", got)
	}
	if got := recordings.ContentTypeOf(recordings.Key(acct, recSID)); got != recordings.ContentType {
		t.Errorf("recording served as %q", got)
	}
}
