// Package delivery delivers queued call events to the tenants' apps: Deliver
// takes one message off the events queue, looks its tenant up (destination
// and credentials are read now, never queued), copies a recording into the
// store and links it, turns a pending transcript into its text
// (transcribe.Step, one attempt each time the queue offers it), POSTs the
// event, and says what the queue should do with
// the message. The SQS Lambda adapter (sqsqueue.Handler) and the dev
// server's in-memory queue call it; the retry policy lives here, so both
// apply the same one.
package delivery

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"os"
	"strconv"
	"time"

	"bubble-twilio-voice/shared/events"
	"bubble-twilio-voice/shared/logging"
	"bubble-twilio-voice/shared/metrics"
	"bubble-twilio-voice/shared/queue"
	"bubble-twilio-voice/shared/recordings"
	"bubble-twilio-voice/shared/tenant"
	"bubble-twilio-voice/shared/transcribe"
)

// maxMessage bounds a queued message (SQS's own limit is 256 KiB).
const maxMessage = 256 << 10

// deadLetterTimeout bounds sending a message to the dead-letter queue,
// which runs even when the message's deadline has passed (within the
// margin sqsqueue.Handler keeps back).
const deadLetterTimeout = 5 * time.Second

// Deps is what Deliver works with. The zero values of Log and Metrics are
// usable (discard, count nothing); Now defaults to time.Now and Retention to
// recordings.DefaultRetentionDays.
type Deps struct {
	Store   tenant.Store
	Log     *slog.Logger
	Metrics *metrics.Emitter
	Now     func() time.Time
	// Poster POSTs the events to the apps.
	Poster *events.Poster
	// DeadLetters receives the events the app refused, that ran out of
	// retries or that cannot be read, unchanged, with their reason.
	DeadLetters queue.Sender
	// Fetcher downloads recordings from Twilio, only from its base host.
	Fetcher *recordings.Fetcher
	// Recordings keeps the copied recordings (S3, or the dev server's
	// directory); Links signs the links to them.
	Recordings recordings.Store
	Links      *recordings.Links
	// Retention is how long a stored recording, and so its link, lasts
	// (config's RECORDING_RETENTION_DAYS).
	Retention time.Duration
	// TempDir holds recordings between download and upload ("": the
	// system's, /tmp on Lambda).
	TempDir string
	// Transcripts turns pending transcripts (voicemail.transcribed,
	// call.transcribed) into their events, on Amazon Transcribe; nil where
	// transcription is not configured (the dev server): such a message is
	// dead-lettered with that reason.
	Transcripts *transcribe.Step
}

// Deliver delivers one queued event and returns what the queue should do
// with it. Nothing is lost: the message is either delivered, not sent on
// purpose and counted (its tenant no longer takes such events:
// metrics.EventNotWanted), moved to the dead-letter queue with its reason
// (the app refused it with a non-retryable status, it kept failing for
// events.MaxAge, its tenant stayed unknown for events.MaxAge:
// ReasonTenantNotFound, or it cannot be read), or kept to retry after the
// events.RetryDelay schedule, which is also the answer when the dead-letter
// queue fails. It writes one log line
// per message at the end, tagged with the message id as request_id.
func (d Deps) Deliver(ctx context.Context, m queue.Delivery) queue.Result {
	if d.Log == nil {
		d.Log = slog.New(slog.DiscardHandler)
	}
	if d.Now == nil {
		d.Now = time.Now
	}
	if d.Retention <= 0 {
		d.Retention = recordings.DefaultRetentionDays * 24 * time.Hour
	}
	start := d.Now()
	ctx = logging.WithFields(ctx)
	logging.Add(ctx, slog.String("request_id", m.MessageID), slog.Int("attempt", m.ReceiveCount))
	a := &attempt{d: d, m: m}
	res := a.run(ctx)
	d.Log.LogAttrs(ctx, slog.LevelInfo, "message handled", slog.String("result", res.Kind.String()),
		slog.Float64("duration_ms", float64(d.Now().Sub(start).Microseconds())/1000))
	return res
}

// attempt is one attempt at one queued event.
type attempt struct {
	d Deps
	m queue.Delivery
	q events.Queued
}

func (a *attempt) run(ctx context.Context) queue.Result {
	d := a.d
	var err error
	if a.q, err = events.DecodeQueued(a.m.Body); err != nil || len(a.m.Body) > maxMessage {
		return a.deadLetter(ctx, "malformed message", 0)
	}
	e := &a.q.Event
	logging.Add(ctx, slog.String("account_sid", e.AccountSID), slog.String("call_sid", e.CallSID),
		slog.String("event_id", e.ID), slog.String("type", e.Type))

	// The events function knew the tenant when it queued the event, so a
	// "not found" this store remembers may be older than the tenant (a new
	// subaccount): look it up without it. A cached tenant costs nothing
	// more; an unknown one one capped call.
	t, err := tenant.LookupFresh(ctx, d.Store, e.AccountSID)
	switch {
	case errors.Is(err, tenant.ErrNotFound):
		// Still unknown: retried on the schedule, each time with a fresh
		// lookup, then dead-lettered. A closed subaccount's events end
		// there too, after events.MaxAge.
		if a.expired() {
			return a.deadLetter(ctx, ReasonTenantNotFound, 0)
		}
		return a.retry(ctx, 0, ReasonTenantNotFound)
	case err != nil:
		return a.retry(ctx, 0, "tenant unavailable")
	case !t.Events.Wants(e.Type):
		// A deliberate setting: the tenant removed events, or this type
		// from events.types, after the event was queued. Counted, so it
		// is seen on a dashboard and not only in a log line.
		d.Log.LogAttrs(ctx, slog.LevelInfo, "event not sent: the tenant no longer takes this type")
		d.Metrics.Count(metrics.EventNotWanted, e.Type, e.AccountSID)
		return queue.Result{Kind: queue.Delivered}
	}

	recorded := tenant.RecordedType(e.Type) // "" unless a transcript
	if recorded != "" && a.q.HasRecording() && !t.Transcribes(recorded) {
		d.Log.LogAttrs(ctx, slog.LevelInfo, "transcript not made: the tenant no longer transcribes such recordings")
		d.Metrics.Count(metrics.EventNotWanted, e.Type, e.AccountSID)
		return queue.Result{Kind: queue.Delivered}
	}
	if a.q.HasRecording() {
		link, stored, err := d.copyRecording(ctx, t, a.q)
		switch {
		case errors.Is(err, recordings.ErrForeignHost), errors.Is(err, recordings.ErrTooLarge):
			return a.deadLetter(ctx, err.Error(), 0)
		case err != nil:
			d.Log.LogAttrs(ctx, slog.LevelWarn, "recording copy failed", slog.String("error", recordingError(err)))
			return a.retry(ctx, 0, recordingFailure(t, err))
		}
		e.RecordingURL = link
		if recorded != "" {
			if res, done := a.transcribe(ctx, t, stored); !done {
				return res
			}
		}
	}

	ans := d.Poster.Post(ctx, t.Events, *e)
	switch ans.Outcome() {
	case events.Delivered:
		d.Log.LogAttrs(ctx, slog.LevelInfo, "event delivered", slog.Int("app_status", ans.Status))
		d.Metrics.Count(metrics.EventDelivered, e.Type, e.AccountSID)
		return queue.Result{Kind: queue.Delivered}
	case events.Rejected:
		return a.deadLetter(ctx, "app answered "+strconv.Itoa(ans.Status), ans.Status)
	default:
		reason := "app answered " + strconv.Itoa(ans.Status)
		if ans.Err != nil {
			reason = ans.Err.Error()
		}
		return a.retry(ctx, ans.RetryAfter, reason)
	}
}

// transcribe runs one attempt of the transcription step for a pending
// transcript whose recording was stored at stored. done is true when the
// event's text is set and it is to be posted; otherwise res is what the
// queue does with the message: look again later (the job is running),
// retry (Transcribe or S3 unavailable), or dead-letter (the job failed or
// was refused) with the reason.
func (a *attempt) transcribe(ctx context.Context, t *tenant.Tenant, stored time.Time) (res queue.Result, done bool) {
	if a.d.Transcripts == nil {
		return a.deadLetter(ctx, "transcription is not configured in this deployment", 0), false
	}
	outcome, err := a.d.Transcripts.Run(ctx, t, &a.q.Event, a.q.RecordingSID, stored)
	switch outcome {
	case transcribe.Transcribed:
		a.d.Log.LogAttrs(ctx, slog.LevelInfo, "recording transcribed",
			slog.Int("transcript_chars", len([]rune(a.q.Event.TranscriptText))), slog.Bool("cut", a.q.Event.TranscriptURL != ""))
		return queue.Result{}, true
	case transcribe.Pending:
		return a.later(ctx, transcriptWait(a.m.ReceiveCount), "transcription pending", false), false
	case transcribe.Failed:
		return a.deadLetter(ctx, err.Error(), 0), false
	default: // transcribe.Retry
		a.d.Log.LogAttrs(ctx, slog.LevelWarn, "transcription step failed", slog.String("error", logging.ErrorKind(err)))
		return a.retry(ctx, 0, "transcription unavailable"), false
	}
}

// ReasonTenantNotFound is the dead-letter reason of an event whose tenant
// was still unknown after events.MaxAge of fresh lookups.
const ReasonTenantNotFound = "tenant_not_found"

// expired reports whether the message has been failing for events.MaxAge.
func (a *attempt) expired() bool {
	return !a.m.SentAt.IsZero() && a.d.Now().Sub(a.m.SentAt) >= events.MaxAge
}

// retry offers the message again after the schedule's delay (at least the
// app's Retry-After), unless it has been failing for events.MaxAge, in
// which case it is dead-lettered.
func (a *attempt) retry(ctx context.Context, appRetryAfter time.Duration, reason string) queue.Result {
	return a.later(ctx, appRetryAfter, reason, true)
}

// TranscriptPoll is how long a transcript whose Transcribe job is still
// running waits before the delivery looks again, for its first
// transcriptPolls receives: flat, not the failure schedule, because a
// running job is no failure. The schedule would hide the message up to 5
// minutes after a 2-minute job (its fourth step) and keep it in flight
// meanwhile, which EventsRetryingAlarm counts as an app refusing events.
const TranscriptPoll = 30 * time.Second

// transcriptPolls is how many receives poll every TranscriptPoll (five
// minutes of job time).
const transcriptPolls = 10

// transcriptWait is the wait after the receives-th receive of a transcript
// whose job still runs: TranscriptPoll, then, for a job running longer,
// the failure schedule from its 15-minute step, so a stuck job reaches
// events.MaxAge (and its dead-letter reason) in about 18 receives, before
// the queue's own redrive (maxReceiveCount 25) would move it without one.
func transcriptWait(receives int) time.Duration {
	if receives <= transcriptPolls {
		return TranscriptPoll
	}
	return events.RetryDelay(receives-transcriptPolls+4, 0) // receive 11: Schedule[4], 15 min
}

// later offers the message again: after the schedule's delay (or the app's
// Retry-After), as retry does, when failed; after wait, when not failed
// (an expected wait: a transcription still running, logged at info and not
// counted as a retry). Either way a message older than events.MaxAge is
// dead-lettered.
func (a *attempt) later(ctx context.Context, wait time.Duration, reason string, failed bool) queue.Result {
	d := a.d
	if errors.Is(ctx.Err(), context.DeadlineExceeded) {
		// The message's share of the invocation ran out (sqsqueue.Handler):
		// say so, rather than blame the app or Twilio.
		reason = "out of time (the invocation's deadline): " + reason
	}
	if a.expired() {
		return a.deadLetter(ctx, "gave up after "+events.MaxAge.String()+": "+reason, 0)
	}
	delay := wait
	if failed {
		delay = events.RetryDelay(a.m.ReceiveCount, wait)
		d.Log.LogAttrs(ctx, slog.LevelWarn, "event delivery failed; will retry",
			slog.String("reason", reason), slog.Duration("retry_in", delay))
		d.Metrics.Count(metrics.EventRetried, a.q.Event.Type, a.q.Event.AccountSID)
	} else {
		d.Log.LogAttrs(ctx, slog.LevelInfo, "event not ready; will look again",
			slog.String("reason", reason), slog.Duration("retry_in", delay))
	}
	return queue.Result{Kind: queue.Retry, RetryAfter: delay, Reason: reason}
}

// deadLetter moves the message, unchanged, to the dead-letter queue with
// the reason as an attribute. If that fails, the message is kept to retry
// after the queue's visibility timeout, so it is never lost.
func (a *attempt) deadLetter(ctx context.Context, reason string, appStatus int) queue.Result {
	d := a.d
	attrs := []slog.Attr{slog.String("reason", reason)}
	if appStatus != 0 {
		attrs = append(attrs, slog.Int("app_status", appStatus))
	}
	keep := queue.Result{Kind: queue.Retry, Reason: reason}
	if d.DeadLetters == nil {
		d.Log.LogAttrs(ctx, slog.LevelError, "event undeliverable and no dead-letter queue configured", attrs...)
		return keep
	}
	// Decided: the message's own deadline must not cut the send short.
	sendCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), deadLetterTimeout)
	defer cancel()
	err := d.DeadLetters.Send(sendCtx, queue.Message{Body: a.m.Body, Attributes: map[string]string{
		queue.AttrReason:   reason,
		queue.AttrFailedAt: d.Now().UTC().Format(time.RFC3339),
	}})
	if err != nil {
		d.Log.LogAttrs(ctx, slog.LevelError, "event could not be dead-lettered", append(attrs, slog.String("error", logging.ErrorKind(err)))...)
		return keep
	}
	d.Log.LogAttrs(ctx, slog.LevelError, "event dead-lettered", attrs...)
	d.Metrics.Count(metrics.EventDeadLettered, a.q.Event.Type, a.q.Event.AccountSID)
	return queue.Result{Kind: queue.DeadLettered, Reason: reason}
}

// copyRecording makes sure the recording of q is in the store (fetching it
// from Twilio with the tenant's API key unless an earlier attempt stored
// it) and returns its link, valid for the store's retention counted from
// when it was stored: the bucket's lifecycle rule deletes it then.
func (d Deps) copyRecording(ctx context.Context, t *tenant.Tenant, q events.Queued) (link string, stored time.Time, err error) {
	if d.Recordings == nil || d.Links == nil || d.Fetcher == nil {
		return "", time.Time{}, errors.New("no recording store, link key or fetcher configured")
	}
	if _, err := d.Fetcher.Check(q.RecordingMediaURL); err != nil {
		return "", time.Time{}, err
	}
	key := recordings.Key(t.AccountSID, q.RecordingSID)
	stored, ok, err := d.Recordings.Stat(ctx, key)
	if err != nil {
		return "", time.Time{}, err
	}
	if !ok {
		f, err := os.CreateTemp(d.TempDir, "recording-*.mp3")
		if err != nil {
			return "", time.Time{}, err
		}
		defer os.Remove(f.Name())
		defer f.Close()
		n, err := d.Fetcher.Fetch(ctx, q.RecordingMediaURL, t.APIKeySID, t.APIKeySecret, f)
		if err != nil {
			return "", time.Time{}, err
		}
		if _, err := f.Seek(0, io.SeekStart); err != nil {
			return "", time.Time{}, err
		}
		if err := d.Recordings.Put(ctx, key, f, n); err != nil {
			return "", time.Time{}, err
		}
		d.Log.LogAttrs(ctx, slog.LevelInfo, "recording copied", slog.String("recording_sid", q.RecordingSID), slog.Int64("bytes", n))
		// The store's own time, as a later attempt will read it, so every
		// attempt sends the same link.
		if stored, ok, err = d.Recordings.Stat(ctx, key); err != nil || !ok {
			stored = d.Now()
		}
	}
	return d.Links.URL(t.AccountSID, q.RecordingSID, stored.Add(d.Retention)), stored, nil
}

// ReasonSuspendedRecording ends the reason of a recording event whose copy
// Twilio refused because its tenant is suspended.
const ReasonSuspendedRecording = "the tenant is suspended (Twilio refuses its key until reactivate)"

// recordingFailure is the retry (and, after events.MaxAge, dead-letter)
// reason of a failed recording copy. A suspended subaccount cannot use its
// own credentials (Twilio errors 20403 and 10001), so its recording events
// wait for reactivate and, after a longer suspension, are dead-lettered:
// the reason says why, so an operator redrives them after reactivate
// rather than looking for a fault.
func recordingFailure(t *tenant.Tenant, err error) string {
	var fe *recordings.FetchError
	if t.Suspended() && errors.As(err, &fe) && (fe.Status == 401 || fe.Status == 403) {
		return "recording copy failed: " + ReasonSuspendedRecording
	}
	return "recording copy failed"
}

// recordingError names a recording failure for a log line: the Fetcher's
// errors carry no URL, an AWS error is reduced to its code.
func recordingError(err error) string {
	var fe *recordings.FetchError
	switch {
	case errors.As(err, &fe), errors.Is(err, recordings.ErrNotFound):
		return err.Error()
	default:
		return logging.ErrorKind(err)
	}
}
