package hygiene_test

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/johannesboyne/gofakes3"
	"github.com/johannesboyne/gofakes3/backend/s3mem"

	"bubble-twilio-voice/shared/delivery"
	"bubble-twilio-voice/shared/events"
	"bubble-twilio-voice/shared/httpapi"
	"bubble-twilio-voice/shared/logging"
	"bubble-twilio-voice/shared/metrics"
	"bubble-twilio-voice/shared/queue"
	"bubble-twilio-voice/shared/recordings"
	"bubble-twilio-voice/shared/recordings/s3store"
	"bubble-twilio-voice/shared/tenant"
	"bubble-twilio-voice/shared/twiliosig"
	"bubble-twilio-voice/test/kit"
)

// Secrets of the call-event path, all distinctive.
const (
	evBearer    = "hyg-events-bearer-5c1e77a0"
	evSigning   = "hyg-events-signing-secret-9d3f"
	evURLSecret = "hyg-url-query-secret-61b0" // events.url's ?secret= (docs/bubble.md)
	evLinkKey   = "hyg-link-key-0123456789abcdef-4e2a9c"
	evRecSID    = "RE0000000000000000000000000000c0de"
)

// TestNoSecretsInEventLogs drives every call-event path (callbacks,
// delivery with each app answer, recording copy and links) with debug logs
// and checks no line holds a secret, a link signature or a presigned URL.
func TestNoSecretsInEventLogs(t *testing.T) {
	s := tenA
	logs := &kit.LogBuffer{}
	var appStatus atomic.Int64
	app := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body) // so the server notices the client giving up
		if appStatus.Load() == 0 {
			<-r.Context().Done() // hang
			return
		}
		w.WriteHeader(int(appStatus.Load()))
	}))
	defer app.Close()
	media := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if _, p, ok := r.BasicAuth(); !ok || p != s.keySecret {
			w.WriteHeader(401)
			return
		}
		_, _ = w.Write([]byte("ID3-mp3-bytes"))
	}))
	defer media.Close()
	backend := s3mem.New()
	_ = backend.CreateBucket("rec")
	s3srv := httptest.NewServer(gofakes3.New(backend).Server())
	defer s3srv.Close()
	client, err := s3store.NewClient(kit.Getenv("AWS_ENDPOINT_URL_S3", s3srv.URL))
	if err != nil {
		t.Fatal(err)
	}

	rec := strings.TrimSuffix(s.record(), "}") + `,"events":{"url":"` + app.URL + `/wf/call-event?secret=` + evURLSecret +
		`","bearer_token":"` + evBearer + `","signing_secret":"` + evSigning + `"}}`
	tn, err := tenant.Parse([]byte(rec))
	if err != nil {
		t.Fatal(err)
	}
	fetcher, _ := recordings.NewFetcher(media.URL)
	links, _ := recordings.NewLinks([]byte(evLinkKey), publicBase)
	q := &kit.Queue{}
	d := httpapi.Deps{
		Store: tenant.NewMemoryStore(tn), PublicBaseURL: publicBase,
		Log: logging.New(logs, "debug"), Metrics: metrics.New(logs, "hygiene", time.Now), Now: time.Now,
		Events: httpapi.EventDeps{Queue: q, Fetcher: fetcher, Recordings: s3store.New(client, "rec"), Links: links},
	}
	deliver := delivery.Deps{
		Store: d.Store, Log: d.Log, Metrics: d.Metrics, Now: d.Now,
		Poster:      events.NewPosterWithClient(&http.Client{Timeout: 200 * time.Millisecond}, time.Now),
		DeadLetters: &kit.Queue{}, Fetcher: fetcher, Recordings: d.Events.Recordings, Links: links,
		Retention: 30 * 24 * time.Hour, TempDir: t.TempDir(),
	}
	public := httpapi.All(d)
	post := func(path string, f url.Values) int {
		r := httptest.NewRequest(http.MethodPost, path, strings.NewReader(f.Encode()))
		r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		sig := twiliosig.Sign(publicBase+path, f, s.authToken)
		r.Header.Set(twiliosig.Header, sig)
		sigMu.Lock()
		signaturesUsed = append(signaturesUsed, sig)
		sigMu.Unlock()
		w := httptest.NewRecorder()
		public.ServeHTTP(w, r)
		return w.Code
	}
	form := func(kv ...string) url.Values {
		f := url.Values{"AccountSid": {s.sid}, "CallSid": {"CA00000000000000000000000000000009"}}
		for i := 0; i+1 < len(kv); i += 2 {
			f.Set(kv[i], kv[i+1])
		}
		return f
	}
	mediaURL := media.URL + "/2010-04-01/Accounts/" + s.sid + "/Recordings/" + evRecSID
	for _, c := range []struct {
		path string
		f    url.Values
		want int
	}{
		{httpapi.PathCallStatus, form("From", "client:alice", "To", "+13105550142", "CallStatus", "completed"), 204},
		{httpapi.PathCallStatus, form("From", "client:alice", "CallStatus", "ringing"), 204},
		{httpapi.PathDialComplete, form("From", "+13105550142", "To", "+14155550100", "DialCallStatus", "no-answer"), 200},
		{httpapi.PathRecordingStatus + "?from=%2B13105550142&to=%2B14155550100", form("RecordingSid", evRecSID, "RecordingUrl", mediaURL,
			"RecordingStatus", "completed", "RecordingSource", "RecordVerb"), 204},
		{httpapi.PathRecordingStatus, form("RecordingSid", evRecSID, "RecordingUrl", "https://evil.example/x?"+evURLSecret,
			"RecordingStatus", "completed"), 400},
	} {
		if got := post(c.path, c.f); got != c.want {
			t.Errorf("POST %s: %d, want %d", c.path, got, c.want)
		}
	}
	// Deliver what was queued under each app answer: hang, 503, 404, 200.
	ctx := context.Background()
	for _, status := range []int64{0, 503, 404, 200} {
		appStatus.Store(status)
		for _, m := range q.Messages() {
			deliver.Deliver(ctx, queue.Delivery{MessageID: "m", Body: m.Body, ReceiveCount: 1, SentAt: time.Now()})
		}
	}
	// Follow links: good (a presigned redirect), forged, expired.
	good := links.URL(s.sid, evRecSID, time.Now().Add(time.Hour))
	var presigned string
	for _, l := range []string{good, strings.Replace(good, "sig=", "sig=0", 1), links.URL(s.sid, evRecSID, time.Now().Add(-time.Hour))} {
		u, _ := url.Parse(l)
		w := httptest.NewRecorder()
		public.ServeHTTP(w, httptest.NewRequest(http.MethodGet, u.RequestURI(), nil))
		if loc := w.Header().Get("Location"); loc != "" {
			presigned = loc
		}
	}
	if presigned == "" {
		t.Fatal("no presigned redirect: the link path did not run")
	}

	out := logs.String()
	forbidden := []string{evBearer, evSigning, evURLSecret, evLinkKey, s.keySecret, s.authToken, mustQuery(good, "sig"), presigned,
		mustQuery(presigned, "X-Amz-Signature"), "X-Amz-Credential", events.Sign(evSigning, []byte("{}"))[:12]}
	for _, line := range strings.Split(out, "\n") {
		for _, f := range forbidden {
			if f != "" && strings.Contains(line, f) {
				t.Errorf("log line holds %q: %s", f, line)
			}
		}
	}
	checkLog(t, out)
	for _, want := range []string{`"msg":"event queued"`, `"msg":"event delivered"`, `"msg":"event dead-lettered"`,
		`"msg":"event delivery failed; will retry"`, `"msg":"recording copied"`, `"msg":"recording link refused"`,
		`"msg":"recording refused: RecordingUrl is not on the Twilio API host"`} {
		if !strings.Contains(out, want) {
			t.Errorf("no %s line: a path the test means to cover was not run", want)
		}
	}
	if !bytes.Contains([]byte(out), []byte(s.sid)) {
		t.Error("no line names the account: is anything logged?")
	}
}

func mustQuery(link, k string) string {
	u, err := url.Parse(link)
	if err != nil {
		return ""
	}
	return u.Query().Get(k)
}
