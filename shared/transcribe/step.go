package transcribe

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	"bubble-twilio-voice/shared/events"
	"bubble-twilio-voice/shared/recordings"
	"bubble-twilio-voice/shared/tenant"
)

// Objects is the deployment's bucket as the step uses it: where the
// recording was copied, where Transcribe writes the transcript, and where
// the full text of a long one is kept. s3store.Store implements it.
type Objects interface {
	Put(ctx context.Context, key string, body io.ReadSeeker, size int64) error
	Read(ctx context.Context, key string) (io.ReadCloser, error)
	// Bucket is the bucket's name, as Transcribe is told (s3://Bucket/key).
	Bucket() string
}

// Jobs is what the step needs of Transcribe; *Client implements it.
type Jobs interface {
	Start(ctx context.Context, job Job) (Status, error)
}

// Step turns a pending transcription message (events.Transcription) into
// its event, one delivery attempt at a time: each attempt starts the job
// (or finds it started) and, once it completed, reads the transcript. It
// keeps no state of its own between attempts: the job lives in
// Transcribe, the message in the queue.
type Step struct {
	Jobs    Jobs
	Objects Objects
	Links   *recordings.Links
	// Retention is how long the transcript link lasts, like the recording
	// link: counted from when the recording was stored.
	Retention time.Duration
}

// Outcome is what one attempt came to.
type Outcome uint8

// Outcomes of Step.Run.
const (
	// Transcribed: the event's TranscriptText (and TranscriptURL) are set;
	// deliver it.
	Transcribed Outcome = iota
	// Pending: the job is queued or running; try again later.
	Pending
	// Failed: the job failed or Transcribe refused it; it will not succeed
	// later. Run's error says why (for the dead-letter reason).
	Failed
	// Retry: something that may pass (throttling, Transcribe or S3
	// unavailable); Run's error says what.
	Retry
)

// maxReason bounds the part of Transcribe's FailureReason kept in a
// dead-letter reason.
const maxReason = 200

// Run does one attempt for the event e of a transcription message whose
// recording (recordingSID) is in the bucket since stored. The language is
// the tenant's for the called number of an incoming call, the tenant's
// own for a browser's (tenant.TranscriptLanguage).
func (s *Step) Run(ctx context.Context, t *tenant.Tenant, e *events.Event, recordingSID string, stored time.Time) (Outcome, error) {
	if s.Jobs == nil || s.Objects == nil {
		return Failed, errors.New("transcription is not configured in this deployment")
	}
	called := e.To
	if e.Direction == events.DirectionOutgoing {
		called = "" // a browser's call: To is whoever it dialled, not a route
	}
	st, err := s.Jobs.Start(ctx, Job{
		Name:         JobName(e.AccountSID, recordingSID),
		LanguageCode: t.TranscriptLanguage(called),
		MediaURI:     "s3://" + s.Objects.Bucket() + "/" + recordings.Key(e.AccountSID, recordingSID),
		OutputBucket: s.Objects.Bucket(),
		OutputKey:    TranscriptKey(e.AccountSID, recordingSID),
	})
	switch {
	case err != nil && Retryable(err):
		return Retry, err
	case err != nil:
		return Failed, fmt.Errorf("transcription refused: %w", err)
	}
	switch st.State {
	case StateCompleted:
	case StateFailed:
		reason := st.FailureReason
		if len(reason) > maxReason {
			// On a character boundary: SQS refuses an attribute that is
			// not valid Unicode, and the reason would be lost.
			reason = strings.ToValidUTF8(reason[:maxReason], "")
		}
		return Failed, fmt.Errorf("transcription failed: %s", reason)
	default: // QUEUED, IN_PROGRESS, or a state Transcribe adds
		return Pending, nil
	}

	body, err := s.Objects.Read(ctx, TranscriptKey(e.AccountSID, recordingSID))
	if err != nil {
		// Transcribe said COMPLETED, so the document is being written or
		// S3 failed: either passes.
		return Retry, fmt.Errorf("reading the transcript: %w", err)
	}
	text, err := ReadTranscript(body)
	body.Close()
	if err != nil {
		return Failed, err
	}
	short, cut := events.CutTranscript(text, events.MaxTranscriptText)
	e.TranscriptText, e.TranscriptURL = short, ""
	if cut {
		if s.Links == nil {
			return Failed, errors.New("no link key configured for a long transcript")
		}
		key := recordings.TranscriptTextKey(e.AccountSID, recordingSID)
		if err := s.Objects.Put(ctx, key, bytes.NewReader([]byte(text)), int64(len(text))); err != nil {
			return Retry, fmt.Errorf("storing the full transcript: %w", err)
		}
		e.TranscriptURL = s.Links.TranscriptURL(e.AccountSID, recordingSID, stored.Add(s.Retention))
	}
	return Transcribed, nil
}
