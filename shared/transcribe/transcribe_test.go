package transcribe_test

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"bubble-twilio-voice/shared/transcribe"
	faketranscribe "bubble-twilio-voice/test/fake/transcribe"
)

const (
	account   = "AC0123456789abcdef0123456789abcdef"
	recording = "RE0123456789abcdef0123456789abcdef"
	bucket    = "voice-recordings"
)

// bucketFake stands in for the S3 bucket the fake writes transcripts to.
type bucketFake struct {
	mu      sync.Mutex
	objects map[string][]byte
}

func (b *bucketFake) put(bkt, key string, body []byte) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.objects[bkt+"/"+key] = body
}

func setup(t *testing.T) (*transcribe.Client, *faketranscribe.Server, *bucketFake) {
	t.Helper()
	b := &bucketFake{objects: map[string][]byte{}}
	srv := faketranscribe.New(t, b.put)
	return srv.Client(t, time.Now), srv, b
}

func job(lang string) transcribe.Job {
	return transcribe.Job{
		Name:         transcribe.JobName(account, recording),
		LanguageCode: lang,
		MediaURI:     "s3://" + bucket + "/recordings/" + account + "/" + recording + ".mp3",
		OutputBucket: bucket,
		OutputKey:    transcribe.TranscriptKey(account, recording),
	}
}

func TestStartAndPoll(t *testing.T) {
	ctx := context.Background()
	c, srv, b := setup(t)
	j := job("en-US")
	srv.SetOutcome(j.Name, faketranscribe.Outcome{Polls: 2, Transcript: "Hi, it's Sam. Call me back."})

	st, err := c.Start(ctx, j)
	if err != nil || st.State != transcribe.StateQueued {
		t.Fatalf("Start = %+v, %v", st, err)
	}
	// A retried start (the delivery crashed after starting) finds the job
	// (ConflictException, then a Get).
	if st, err = c.Start(ctx, j); err != nil || st.State != transcribe.StateInProgress {
		t.Fatalf("second Start = %+v, %v", st, err)
	}
	if n := srv.Calls(faketranscribe.OpStart); n != 2 {
		t.Errorf("%d starts", n)
	}
	for i, want := range []string{transcribe.StateInProgress, transcribe.StateCompleted, transcribe.StateCompleted} {
		st, err := c.Get(ctx, j.Name)
		if err != nil || st.State != want {
			t.Fatalf("Get %d = %+v, %v; want %s", i, st, err, want)
		}
	}
	rec, _ := srv.Job(j.Name)
	if rec.LanguageCode != "en-US" || rec.IdentifyLanguage || rec.MediaURI != j.MediaURI || rec.OutputKey != j.OutputKey {
		t.Errorf("job as Transcribe saw it: %+v", rec)
	}
	doc := b.objects[bucket+"/"+j.OutputKey]
	text, err := transcribe.ReadTranscript(strings.NewReader(string(doc)))
	if err != nil || text != "Hi, it's Sam. Call me back." {
		t.Errorf("transcript %q, %v", text, err)
	}
}

func TestIdentifyLanguage(t *testing.T) {
	c, srv, _ := setup(t)
	j := job("")
	if _, err := c.Start(context.Background(), j); err != nil {
		t.Fatal(err)
	}
	if rec, _ := srv.Job(j.Name); !rec.IdentifyLanguage || rec.LanguageCode != "" {
		t.Errorf("job %+v, want IdentifyLanguage and no language", rec)
	}
}

func TestFailedJob(t *testing.T) {
	c, srv, _ := setup(t)
	j := job("en-US")
	srv.SetOutcome(j.Name, faketranscribe.Outcome{FailureReason: "The media format provided does not match the detected media format."})
	if _, err := c.Start(context.Background(), j); err != nil {
		t.Fatal(err)
	}
	st, err := c.Get(context.Background(), j.Name)
	if err != nil || st.State != transcribe.StateFailed || !strings.Contains(st.FailureReason, "media format") {
		t.Fatalf("Get = %+v, %v", st, err)
	}
}

func TestErrors(t *testing.T) {
	tests := []struct {
		name      string
		fault     faketranscribe.Fault
		retryable bool
	}{
		{"throttled", faketranscribe.Fault{Status: 400, Type: "LimitExceededException"}, true},
		{"internal", faketranscribe.Fault{Status: 500, Type: "InternalFailureException"}, true},
		{"credentials expired in flight", faketranscribe.Fault{Status: 400, Type: "ExpiredTokenException"}, true},
		{"request timed out", faketranscribe.Fault{Status: 400, Type: "RequestTimeoutException"}, true},
		{"bad request", faketranscribe.Fault{Status: 400, Type: "BadRequestException"}, false},
		{"denied", faketranscribe.Fault{Status: 400, Type: "AccessDeniedException"}, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c, srv, _ := setup(t)
			srv.SetFault(faketranscribe.OpStart, tc.fault)
			_, err := c.Start(context.Background(), job("en-US"))
			var apiErr *transcribe.APIError
			if !errors.As(err, &apiErr) || apiErr.Code != tc.fault.Type || apiErr.Status != tc.fault.Status {
				t.Fatalf("err = %v, want %s", err, tc.fault.Type)
			}
			if got := transcribe.Retryable(err); got != tc.retryable {
				t.Errorf("Retryable = %v, want %v", got, tc.retryable)
			}
			if strings.Contains(err.Error(), "fake:") {
				t.Errorf("error text quotes Transcribe's message: %v", err)
			}
		})
	}
	c, _, _ := setup(t)
	if _, err := c.Get(context.Background(), "no-such-job"); transcribe.Retryable(err) {
		t.Errorf("unknown job: %v, want a permanent error", err)
	}
	if _, err := c.Start(context.Background(), transcribe.Job{Name: "a b", MediaURI: "s3://b/k", OutputBucket: "b"}); err == nil {
		t.Error("malformed job name accepted")
	}
	if !transcribe.Retryable(context.DeadlineExceeded) {
		t.Error("a timeout is not retryable")
	}
}

func TestReadTranscript(t *testing.T) {
	tests := []struct {
		name, doc, want string
		err             bool
	}{
		{"one", `{"jobName":"j","results":{"transcripts":[{"transcript":"Hello there."}],"items":[]}}`, "Hello there.", false},
		{"several", `{"results":{"transcripts":[{"transcript":" Hello. "},{"transcript":""},{"transcript":"Bye."}]}}`, "Hello. Bye.", false},
		{"silence", `{"results":{"transcripts":[{"transcript":""}]}}`, "", false},
		{"no results", `{"jobName":"j"}`, "", true},
		{"no transcripts", `{"results":{}}`, "", true},
		{"not JSON", `<Error/>`, "", true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := transcribe.ReadTranscript(strings.NewReader(tc.doc))
			if (err != nil) != tc.err || got != tc.want {
				t.Errorf("ReadTranscript = %q, %v; want %q (error %v)", got, err, tc.want, tc.err)
			}
		})
	}
}

// FuzzReadTranscript reads arbitrary documents: it never panics, an error
// comes with no text, and a text is trimmed and single-joined and comes
// only from a document that has results.transcripts (checked by
// hasTranscripts, written independently of the reader).
func FuzzReadTranscript(f *testing.F) {
	for _, s := range []string{
		`{"results":{"transcripts":[{"transcript":"Hello there."}]}}`,
		`{"results":{"transcripts":[{"transcript":" a "},{"transcript":"b"}]}}`,
		`{"results":{"transcripts":null}}`,
		`{"results":null}`,
		`[]`, ``, `{"results":{"transcripts":[{"transcript":1}]}}`,
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, doc string) {
		got, err := transcribe.ReadTranscript(strings.NewReader(doc))
		if err != nil {
			if got != "" {
				t.Fatalf("text %q with error %v", got, err)
			}
			return
		}
		if got != strings.TrimSpace(got) || strings.Contains(got, "  ") && !strings.Contains(doc, "  ") {
			t.Fatalf("text %q is not trimmed and single-joined", got)
		}
		if !hasTranscripts(doc) {
			t.Fatalf("accepted a document without results.transcripts: %q", doc)
		}
	})
}

// hasTranscripts reports whether doc is a JSON object with a results
// object holding a transcripts list, keys matched case-insensitively as
// encoding/json matches struct fields.
func hasTranscripts(doc string) bool {
	var top any
	if json.Unmarshal([]byte(doc), &top) != nil {
		return false
	}
	field := func(v any, name string) (any, bool) {
		m, ok := v.(map[string]any)
		if !ok {
			return nil, false
		}
		for k, x := range m {
			if strings.EqualFold(k, name) && x != nil {
				return x, true
			}
		}
		return nil, false
	}
	results, ok := field(top, "results")
	if !ok {
		return false
	}
	list, ok := field(results, "transcripts")
	_, isList := list.([]any)
	return ok && isList
}
