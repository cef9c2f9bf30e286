package delivery_test

import (
	"bytes"
	"context"
	"net/url"
	"strings"
	"testing"
	"time"

	"bubble-twilio-voice/shared/delivery"
	"bubble-twilio-voice/shared/events"
	"bubble-twilio-voice/shared/queue"
	"bubble-twilio-voice/shared/recordings"
	"bubble-twilio-voice/shared/recordings/s3store"
	"bubble-twilio-voice/shared/tenant"
	"bubble-twilio-voice/shared/transcribe"
	faketranscribe "bubble-twilio-voice/test/fake/transcribe"
)

// transcriptRig is the delivery rig on S3 with a tenant that transcribes
// voicemails and the transcription step on the Transcribe wire fake, which
// writes its transcripts into the same bucket.
func transcriptRig(t *testing.T, transcribeJSON string) (*deliverRig, *faketranscribe.Server) {
	t.Helper()
	rig := newDeliverRig(t, "s3")
	events := `{"url":"` + rig.app.srv.URL + `/api/1.1/wf/call-event"}`
	if transcribeJSON != "" {
		events += `,"transcribe":` + transcribeJSON // spliced after events
	}
	rig.deps.Store = tenant.NewMemoryStore(testTenant(t, evAccount, events))
	store := rig.store.(*s3store.Store)
	srv := faketranscribe.New(t, func(bucket, key string, body []byte) {
		if bucket != store.Bucket() {
			t.Errorf("transcript written to %s", bucket)
		}
		if err := store.Put(context.Background(), key, bytes.NewReader(body), int64(len(body))); err != nil {
			t.Error(err)
		}
	})
	rig.deps.Transcripts = &transcribe.Step{Jobs: srv.Client(t, rig.clock.Now), Objects: store, Links: rig.deps.Links, Retention: rig.deps.Retention}
	return rig, srv
}

// transcriptMessage is the pending transcript the events function queues
// beside voicemailMessage.
func transcriptMessage(t *testing.T, mediaURL string) []byte {
	t.Helper()
	q, err := events.DecodeQueued(voicemailMessage(mediaURL))
	if err != nil {
		t.Fatal(err)
	}
	tm, ok := events.Transcription(q)
	if !ok {
		t.Fatal("no transcription message")
	}
	return tm.Encode()
}

func TestDeliverTranscript(t *testing.T) {
	rig, srv := transcriptRig(t, `{"voicemail":true,"language":"en-GB"}`)
	rig.app.set(answer(200))
	job := transcribe.JobName(evAccount, evRecording)
	srv.SetOutcome(job, faketranscribe.Outcome{Polls: 1, Transcript: "Hi, it's Sam. Call me back on 0207 183 8750."})
	msg := transcriptMessage(t, rig.media.URL+"/2010-04-01/Accounts/"+evAccount+"/Recordings/"+evRecording)

	// Started, then running: the queue looks again on its schedule, and
	// nothing reaches the app yet.
	for attempt := 1; attempt <= 2; attempt++ {
		res := rig.deliver(msg, attempt, time.Duration(attempt)*time.Second)
		if res.Kind != queue.Retry || res.Reason != "transcription pending" || res.RetryAfter != delivery.TranscriptPoll {
			t.Fatalf("attempt %d: %+v\n%s", attempt, res, rig.logs.String())
		}
	}
	if len(rig.app.events(t)) != 0 {
		t.Fatal("posted before the transcript was ready")
	}
	if res := rig.deliver(msg, 3, 20*time.Second); res.Kind != queue.Delivered {
		t.Fatalf("third attempt: %+v\n%s", res, rig.logs.String())
	}
	evs := rig.app.events(t)
	if len(evs) != 1 {
		t.Fatalf("%d events", len(evs))
	}
	e := evs[0]
	if e.Type != "voicemail.transcribed" || e.TranscriptText != "Hi, it's Sam. Call me back on 0207 183 8750." || e.TranscriptURL != "" ||
		!strings.HasPrefix(e.RecordingURL, publicBase+"/recordings/") || e.From != "+442071838750" || e.RecordingDurationSeconds != 31 {
		t.Errorf("event %+v", e)
	}
	if n := rig.mediaHits.Load(); n != 1 {
		t.Errorf("recording fetched %d times, want once", n)
	}
	if j, _ := srv.Job(job); j.LanguageCode != "en-GB" || j.MediaURI != "s3://recordings/"+recordings.Key(evAccount, evRecording) {
		t.Errorf("job %+v", j)
	}
	if strings.Contains(rig.logs.String(), "Call me back") {
		t.Error("the transcript reached the logs")
	}
}

func TestDeliverLongTranscript(t *testing.T) {
	rig, srv := transcriptRig(t, `{"voicemail":true}`)
	rig.app.set(answer(200))
	long := strings.Repeat("and then ", 2000) // 18,000 characters
	srv.SetOutcome(transcribe.JobName(evAccount, evRecording), faketranscribe.Outcome{Transcript: long})
	msg := transcriptMessage(t, rig.media.URL+"/2010-04-01/Accounts/"+evAccount+"/Recordings/"+evRecording)
	rig.deliver(msg, 1, 0)
	if res := rig.deliver(msg, 2, time.Second); res.Kind != queue.Delivered {
		t.Fatalf("%+v\n%s", res, rig.logs.String())
	}
	e := rig.app.events(t)[0]
	if n := len([]rune(e.TranscriptText)); n > events.MaxTranscriptText || n < events.MaxTranscriptText-20 {
		t.Errorf("transcript_text of %d characters", n)
	}
	u, err := url.Parse(e.TranscriptURL)
	if err != nil || u.Path != "/transcripts/"+evAccount+"/"+evRecording {
		t.Fatalf("transcript_url %q", e.TranscriptURL)
	}
	if err := rig.deps.Links.VerifyTranscript(evAccount, evRecording, u.Query().Get("expires"), u.Query().Get("sig"), rig.clock.Now()); err != nil {
		t.Errorf("transcript link: %v", err)
	}
	assertCleanLogs(t, rig.logs.String(), u.Query().Get("sig"))
}

func TestDeliverTranscriptFailures(t *testing.T) {
	media := "/2010-04-01/Accounts/" + evAccount + "/Recordings/" + evRecording
	t.Run("job failed: dead-lettered with Transcribe's reason", func(t *testing.T) {
		rig, srv := transcriptRig(t, `{"voicemail":true}`)
		srv.SetOutcome(transcribe.JobName(evAccount, evRecording), faketranscribe.Outcome{FailureReason: "The media file is too short."})
		msg := transcriptMessage(t, rig.media.URL+media)
		rig.deliver(msg, 1, 0)
		res := rig.deliver(msg, 2, time.Second)
		dl := rig.dlq.Messages()
		if res.Kind != queue.DeadLettered || len(dl) != 1 || dl[0].Attributes[queue.AttrReason] != "transcription failed: The media file is too short." ||
			!bytes.Equal(dl[0].Body, msg) || len(rig.app.events(t)) != 0 {
			t.Errorf("%+v, dead letters %+v", res, dl)
		}
	})
	t.Run("throttled: retried", func(t *testing.T) {
		rig, srv := transcriptRig(t, `{"voicemail":true}`)
		srv.SetFault(faketranscribe.OpStart, faketranscribe.Fault{Status: 400, Type: "LimitExceededException"})
		res := rig.deliver(transcriptMessage(t, rig.media.URL+media), 1, 0)
		if res.Kind != queue.Retry || res.Reason != "transcription unavailable" {
			t.Errorf("%+v", res)
		}
	})
	t.Run("still running after 24 h: dead-lettered", func(t *testing.T) {
		rig, srv := transcriptRig(t, `{"voicemail":true}`)
		srv.SetOutcome(transcribe.JobName(evAccount, evRecording), faketranscribe.Outcome{Polls: 1000})
		res := rig.deliver(transcriptMessage(t, rig.media.URL+media), 30, 25*time.Hour)
		if res.Kind != queue.DeadLettered || !strings.Contains(res.Reason, "transcription pending") {
			t.Errorf("%+v", res)
		}
	})
	t.Run("tenant stopped transcribing: dropped", func(t *testing.T) {
		rig, srv := transcriptRig(t, "")
		res := rig.deliver(transcriptMessage(t, rig.media.URL+media), 1, 0)
		if res.Kind != queue.Delivered || srv.Calls(faketranscribe.OpStart) != 0 || len(rig.app.events(t)) != 0 || rig.mediaHits.Load() != 0 {
			t.Errorf("%+v", res)
		}
	})
	t.Run("not configured: dead-lettered", func(t *testing.T) {
		rig, _ := transcriptRig(t, `{"voicemail":true}`)
		rig.deps.Transcripts = nil
		res := rig.deliver(transcriptMessage(t, rig.media.URL+media), 1, 0)
		if res.Kind != queue.DeadLettered || res.Reason != "transcription is not configured in this deployment" {
			t.Errorf("%+v", res)
		}
	})
}

// TestTranscriptSettingChangedDuringJob: the tenant's record changes while
// its Transcribe job runs. Every attempt reads the record afresh (nothing
// of it is queued), so the change holds from the next attempt: switched
// off, or the type left out of events.types, the event is not sent and
// Transcribe is not asked again; a suspension changes nothing (its events
// are still delivered).
func TestTranscriptSettingChangedDuringJob(t *testing.T) {
	media := "/2010-04-01/Accounts/" + evAccount + "/Recordings/" + evRecording
	for _, tc := range []struct {
		name     string
		after    string // the record's events after the first attempt, with {url}, and what follows it
		wantSent int
	}{
		{"unchanged", `{"url":"{url}"},"transcribe":{"voicemail":true}`, 1},
		{"transcribe switched off", `{"url":"{url}"}`, 0},
		{"voicemail transcripts switched off", `{"url":"{url}"},"transcribe":{"call":true}`, 0},
		{"type left out of events.types", `{"url":"{url}","types":["voicemail.recorded"]},"transcribe":{"voicemail":true}`, 0},
		{"tenant suspended", `{"url":"{url}"},"transcribe":{"voicemail":true},"status":"suspended","suspended_at":"2026-12-07T12:00:00Z"`, 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rig, srv := transcriptRig(t, `{"voicemail":true}`)
			rig.app.set(answer(200))
			srv.SetOutcome(transcribe.JobName(evAccount, evRecording), faketranscribe.Outcome{Transcript: "Call me back."})
			msg := transcriptMessage(t, rig.media.URL+media)
			if res := rig.deliver(msg, 1, 0); res.Kind != queue.Retry || res.Reason != "transcription pending" {
				t.Fatalf("first attempt %+v", res)
			}
			polls := srv.Calls(faketranscribe.OpGet)
			rig.deps.Store = tenant.NewMemoryStore(testTenant(t, evAccount, strings.ReplaceAll(tc.after, "{url}", rig.app.srv.URL+"/api/1.1/wf/call-event")))
			res := rig.deliver(msg, 2, time.Second)
			if res.Kind != queue.Delivered || len(rig.app.events(t)) != tc.wantSent {
				t.Fatalf("second attempt %+v, %d posts, want %d\n%s", res, len(rig.app.events(t)), tc.wantSent, rig.logs.String())
			}
			if tc.wantSent == 0 && srv.Calls(faketranscribe.OpGet) != polls {
				t.Error("Transcribe asked again for a transcript the tenant no longer takes")
			}
		})
	}
}
