package httpapi_test

import (
	"bytes"
	"context"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"bubble-twilio-voice/shared/httpapi"
	"bubble-twilio-voice/shared/logging"
	"bubble-twilio-voice/shared/recordings"
	"bubble-twilio-voice/shared/tenant"
	"bubble-twilio-voice/test/kit"
)

var (
	linkKey  = []byte("link-key-for-tests-0123456789abcdef")
	mediaMP3 = append([]byte("ID3\x04\x00\x00\x00"), bytes.Repeat([]byte{0xff, 0xf3, 0x44, 0xc4}, 1000)...)
)

// linkRig serves the recording links (GET /recordings/...) from a store
// that hands out content, as the dev server's does (the S3 store's redirect is followed in
// shared/delivery's TestDeliverRecording).
type linkRig struct {
	store  recordings.Store
	links  *recordings.Links
	clock  *kit.Clock
	logs   kit.LogBuffer
	public http.Handler
}

func newLinkRig(t *testing.T) *linkRig {
	t.Helper()
	// The store stamps files with the real time, so the clock starts now.
	rig := &linkRig{clock: kit.NewClock(time.Now().Truncate(time.Second))}
	rig.store = &kit.Recordings{}
	var err error
	if rig.links, err = recordings.NewLinks(linkKey, publicBase); err != nil {
		t.Fatal(err)
	}
	rig.public = httpapi.All(httpapi.Deps{
		Store: tenant.NewMemoryStore(eventTenant(t, evAccount, evAuthToken, "")), PublicBaseURL: publicBase,
		Log: logging.New(&rig.logs, "debug"), Now: rig.clock.Now,
		Events: httpapi.EventDeps{Recordings: rig.store, Links: rig.links},
	})
	return rig
}

func TestRecordingLink(t *testing.T) {
	rig := newLinkRig(t)
	links := rig.links
	if err := rig.store.Put(context.Background(), recordings.Key(evAccount, evRecording), bytes.NewReader(mediaMP3), int64(len(mediaMP3))); err != nil {
		t.Fatal(err)
	}
	good := links.URL(evAccount, evRecording, rig.clock.Now().Add(time.Hour))
	missing := links.URL(evAccount, "RE00000000000000000000000000000000", rig.clock.Now().Add(time.Hour))
	expired := links.URL(evAccount, evRecording, rig.clock.Now().Add(-time.Second))
	other, _ := recordings.NewLinks([]byte(strings.Repeat("x", 40)), publicBase)
	forged := other.URL(evAccount, evRecording, rig.clock.Now().Add(time.Hour))
	tests := []struct {
		name, method, link string
		want               int
	}{
		{"good", "GET", good, 200},
		{"HEAD", "HEAD", good, 200},
		{"POST", "POST", good, 405},
		{"expired", "GET", expired, 410},
		{"forged", "GET", forged, 403},
		{"no signature", "GET", strings.Split(good, "?")[0], 403},
		{"no such recording", "GET", missing, 404},
		{"not a recording sid", "GET", publicBase + "/recordings/" + evAccount + "/RE" + strings.Repeat("z", 32) + "?expires=1&sig=x", 404},
		{"not an account", "GET", publicBase + "/recordings/ACnope/" + evRecording + "?expires=1&sig=x", 404},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			u, _ := url.Parse(tc.link)
			w := httptest.NewRecorder()
			r := httptest.NewRequest(tc.method, u.RequestURI(), nil)
			r.Host = publicHost
			rig.public.ServeHTTP(w, r)
			if w.Code != tc.want {
				t.Errorf("%s %s: %d, want %d: %s", tc.method, u.Path, w.Code, tc.want, w.Body)
			}
		})
	}
	assertCleanLogs(t, rig.logs.String(), mustQuery(good, "sig"), mustQuery(forged, "sig"))

	// With no store or key configured (a misconfigured function), the
	// route serves nothing.
	bare := httpapi.All(httpapi.Deps{Store: tenant.NewMemoryStore()})
	w := httptest.NewRecorder()
	u, _ := url.Parse(good)
	bare.ServeHTTP(w, httptest.NewRequest("GET", u.RequestURI(), nil))
	if w.Code != 503 {
		t.Errorf("unconfigured: %d", w.Code)
	}
}

func mustQuery(link, k string) string {
	u, _ := url.Parse(link)
	return u.Query().Get(k)
}

// assertCleanLogs fails if a log holds the link key or anything in extra.
func assertCleanLogs(tb testing.TB, logs string, extra ...string) {
	tb.Helper()
	for _, s := range append([]string{string(linkKey)}, extra...) {
		if s != "" && strings.Contains(logs, s) {
			tb.Errorf("logs hold %q", s)
		}
	}
}

// TestTranscriptLink: a transcript link serves the full text as plain
// text; a recording's link (the same SIDs and key) does not open it.
func TestTranscriptLink(t *testing.T) {
	rig := newLinkRig(t)
	text := strings.Repeat("every word of a long call ", 500)
	if err := rig.store.Put(context.Background(), recordings.TranscriptTextKey(evAccount, evRecording), strings.NewReader(text), int64(len(text))); err != nil {
		t.Fatal(err)
	}
	good := rig.links.TranscriptURL(evAccount, evRecording, rig.clock.Now().Add(time.Hour))
	recordingLink := rig.links.URL(evAccount, evRecording, rig.clock.Now().Add(time.Hour))
	asTranscript := httpapi.PathTranscripts + evAccount + "/" + evRecording + "?" + strings.Split(recordingLink, "?")[1]
	for _, tc := range []struct {
		name, path string
		want       int
	}{
		{"good", strings.TrimPrefix(good, publicBase), 200},
		{"a recording link's signature", asTranscript, 403},
		{"expired", strings.TrimPrefix(rig.links.TranscriptURL(evAccount, evRecording, rig.clock.Now().Add(-time.Second)), publicBase), 410},
	} {
		t.Run(tc.name, func(t *testing.T) {
			w := httptest.NewRecorder()
			r := httptest.NewRequest("GET", tc.path, nil)
			r.Host = publicHost
			rig.public.ServeHTTP(w, r)
			if w.Code != tc.want {
				t.Fatalf("%d, want %d: %s", w.Code, tc.want, w.Body)
			}
			if tc.want == 200 && (w.Body.String() != text || w.Header().Get("Content-Type") != recordings.TextContentType) {
				t.Errorf("served %d bytes as %q", w.Body.Len(), w.Header().Get("Content-Type"))
			}
		})
	}
	assertCleanLogs(t, rig.logs.String(), mustQuery(good, "sig"))
}
