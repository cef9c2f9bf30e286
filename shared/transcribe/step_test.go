package transcribe_test

import (
	"bytes"
	"context"
	"io"
	"net/url"
	"strings"
	"testing"
	"time"

	"bubble-twilio-voice/shared/events"
	"bubble-twilio-voice/shared/recordings"
	"bubble-twilio-voice/shared/tenant"
	"bubble-twilio-voice/shared/transcribe"
	faketranscribe "bubble-twilio-voice/test/fake/transcribe"
	"bubble-twilio-voice/test/kit"
)

// memBucket is the kit's in-memory store as the step's bucket.
type memBucket struct{ *kit.Recordings }

func (memBucket) Bucket() string { return bucket }

func (b memBucket) Read(ctx context.Context, key string) (io.ReadCloser, error) {
	obj, err := b.Get(ctx, key)
	if err != nil {
		return nil, err
	}
	return obj.Content, nil
}

func stepSetup(t *testing.T) (*transcribe.Step, *faketranscribe.Server, memBucket) {
	t.Helper()
	store := &kit.Recordings{}
	b := memBucket{store}
	srv := faketranscribe.New(t, func(bkt, key string, body []byte) {
		if bkt != bucket {
			t.Errorf("transcript written to bucket %q", bkt)
		}
		if err := store.Put(context.Background(), key, bytes.NewReader(body), int64(len(body))); err != nil {
			t.Error(err)
		}
	})
	c := srv.Client(t, time.Now)
	links, err := recordings.NewLinks([]byte("0123456789abcdef0123456789abcdef-link-key"), "https://voice.example.test")
	if err != nil {
		t.Fatal(err)
	}
	return &transcribe.Step{Jobs: c, Objects: b, Links: links, Retention: 30 * 24 * time.Hour}, srv, b
}

func stepTenant(t *testing.T, language string) *tenant.Tenant {
	t.Helper()
	tn, err := tenant.Parse([]byte(`{
		"account_sid": "` + account + `", "auth_token": "x", "api_key_sid": "SK0123456789abcdef0123456789abcdef",
		"api_key_secret": "x", "twiml_app_sid": "AP0123456789abcdef0123456789abcdef", "caller_id": "+14155550100",
		"token_api_keys": ["0123456789abcdef"],
		"incoming": {"numbers": {"+14155550100": {"clients": ["alice"], "no_answer": {"action": "voicemail"}, "transcribe_language": "es-US"}},
			"default": {"clients": ["alice"]}},
		"transcribe": {"voicemail": true, "language": "` + language + `"}}`))
	if err != nil {
		t.Fatal(err)
	}
	return tn
}

func pending(to string) *events.Event {
	return &events.Event{Type: tenant.EventVoicemailTranscribed, AccountSID: account, CallSID: "CA0123456789abcdef0123456789abcdef", To: to}
}

var stored = time.Date(2026, 11, 13, 15, 8, 20, 0, time.UTC)

func TestStepTranscribes(t *testing.T) {
	ctx := context.Background()
	step, srv, _ := stepSetup(t)
	tn := stepTenant(t, "en-GB")
	name := transcribe.JobName(account, recording)
	srv.SetOutcome(name, faketranscribe.Outcome{Polls: 1, Transcript: "Hola, soy Sam."})

	e := pending("+14155550100")
	for i, want := range []transcribe.Outcome{transcribe.Pending, transcribe.Pending, transcribe.Transcribed} {
		got, err := step.Run(ctx, tn, e, recording, stored)
		if got != want || err != nil {
			t.Fatalf("attempt %d: %v, %v; want %v", i, got, err, want)
		}
	}
	if e.TranscriptText != "Hola, soy Sam." || e.TranscriptURL != "" {
		t.Errorf("event %+v", e)
	}
	job, _ := srv.Job(name)
	if job.LanguageCode != "es-US" || job.MediaURI != "s3://"+bucket+"/"+recordings.Key(account, recording) ||
		job.OutputKey != transcribe.TranscriptKey(account, recording) {
		t.Errorf("job %+v: want the route's language and the copied recording", job)
	}
	// Another number: the tenant's language.
	e2 := pending("+14155550999")
	step2, srv2, _ := stepSetup(t)
	if _, err := step2.Run(ctx, tn, e2, recording, stored); err != nil {
		t.Fatal(err)
	}
	if job, _ := srv2.Job(name); job.LanguageCode != "en-GB" {
		t.Errorf("default route language %q", job.LanguageCode)
	}
	// A browser's call to the route's number: the tenant's language.
	out := pending("+14155550100")
	out.Direction = events.DirectionOutgoing
	step3, srv3, _ := stepSetup(t)
	if _, err := step3.Run(ctx, tn, out, recording, stored); err != nil {
		t.Fatal(err)
	}
	if job, _ := srv3.Job(name); job.LanguageCode != "en-GB" {
		t.Errorf("outgoing call language %q, want the tenant's", job.LanguageCode)
	}
}

func TestStepLongTranscript(t *testing.T) {
	ctx := context.Background()
	step, srv, b := stepSetup(t)
	long := strings.Repeat("word ", 3000) // 15,000 characters
	srv.SetOutcome(transcribe.JobName(account, recording), faketranscribe.Outcome{Transcript: long})
	e := pending("+14155550100")
	if got, _ := step.Run(ctx, stepTenant(t, "auto"), e, recording, stored); got != transcribe.Pending {
		t.Fatalf("first attempt %v", got)
	}
	if got, err := step.Run(ctx, stepTenant(t, "auto"), e, recording, stored); got != transcribe.Transcribed {
		t.Fatalf("second attempt %v, %v", got, err)
	}
	if n := len([]rune(e.TranscriptText)); n > events.MaxTranscriptText || !strings.HasSuffix(e.TranscriptText, "…") {
		t.Errorf("transcript_text of %d characters: %q…", n, e.TranscriptText[:20])
	}
	u, err := url.Parse(e.TranscriptURL)
	if err != nil || u.Path != "/transcripts/"+account+"/"+recording {
		t.Fatalf("transcript_url %q", e.TranscriptURL)
	}
	q := u.Query()
	if err := step.Links.VerifyTranscript(account, recording, q.Get("expires"), q.Get("sig"), stored.Add(29*24*time.Hour)); err != nil {
		t.Errorf("link: %v", err)
	}
	full, err := b.Read(ctx, recordings.TranscriptTextKey(account, recording))
	if err != nil {
		t.Fatal(err)
	}
	defer full.Close()
	if got, _ := io.ReadAll(full); string(got) != strings.TrimSpace(long) {
		t.Errorf("full text of %d bytes, want %d", len(got), len(strings.TrimSpace(long)))
	}
}

func TestStepFailures(t *testing.T) {
	ctx := context.Background()
	name := transcribe.JobName(account, recording)
	tests := []struct {
		name   string
		setup  func(*faketranscribe.Server)
		want   transcribe.Outcome
		reason string
	}{
		{"job failed", func(s *faketranscribe.Server) {
			s.SetOutcome(name, faketranscribe.Outcome{FailureReason: "Unsupported audio format"})
		}, transcribe.Failed, "transcription failed: Unsupported audio format"},
		{"long reason cut on a character boundary", func(s *faketranscribe.Server) {
			s.SetOutcome(name, faketranscribe.Outcome{FailureReason: strings.Repeat("a", 199) + "é and more"})
		}, transcribe.Failed, "transcription failed: " + strings.Repeat("a", 199)},
		{"refused", func(s *faketranscribe.Server) {
			s.SetFault(faketranscribe.OpStart, faketranscribe.Fault{Status: 400, Type: "BadRequestException"})
		}, transcribe.Failed, "transcription refused: transcribe: BadRequestException (HTTP 400)"},
		{"throttled", func(s *faketranscribe.Server) {
			s.SetFault(faketranscribe.OpStart, faketranscribe.Fault{Status: 400, Type: "LimitExceededException"})
		}, transcribe.Retry, "transcribe: LimitExceededException (HTTP 400)"},
		{"unavailable", func(s *faketranscribe.Server) {
			s.SetFault(faketranscribe.OpStart, faketranscribe.Fault{Status: 503, Type: "ServiceUnavailableException"})
		}, transcribe.Retry, "transcribe: ServiceUnavailableException (HTTP 503)"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			step, srv, _ := stepSetup(t)
			tc.setup(srv)
			e := pending("+14155550100")
			var got transcribe.Outcome
			var err error
			for range 3 { // the job fails at its first Get
				if got, err = step.Run(ctx, stepTenant(t, "auto"), e, recording, stored); got != transcribe.Pending {
					break
				}
			}
			if got != tc.want || err == nil || err.Error() != tc.reason {
				t.Errorf("Run = %v, %v; want %v, %q", got, err, tc.want, tc.reason)
			}
			if e.TranscriptText != "" {
				t.Errorf("text set on failure: %q", e.TranscriptText)
			}
		})
	}
	var unconfigured transcribe.Step
	if got, err := unconfigured.Run(ctx, stepTenant(t, "auto"), pending("+1"), recording, stored); got != transcribe.Failed || err == nil {
		t.Errorf("unconfigured step: %v, %v", got, err)
	}
}
