package httpapi

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math"
	"net/http"
	"os"
	"strconv"
	"time"

	"bubble-twilio-voice/shared/events"
	"bubble-twilio-voice/shared/logging"
	"bubble-twilio-voice/shared/metrics"
	"bubble-twilio-voice/shared/queue"
	"bubble-twilio-voice/shared/recordings"
	"bubble-twilio-voice/shared/tenant"
)

// maxMessage bounds a queued message (SQS's own limit is 256 KiB).
const maxMessage = 256 << 10

// Attributes of a dead-lettered message, which the dead-letters command
// lists.
const (
	AttrReason   = "reason"
	AttrFailedAt = "failed_at"
)

// handleDeliver delivers one queued event (queue.Dispatch): it looks the
// tenant up (its destination and credentials are read now, never queued),
// copies a recording into the store and links it, and POSTs the event.
// It answers:
//   - 204: delivered, or dropped (the tenant is gone or takes no such
//     event), or moved to the dead-letter queue (the app refused it with a
//     non-retryable status, it kept failing for events.MaxAge, or the
//     message is unreadable);
//   - 503 with Retry-After: try again after the events.Schedule delay;
//   - 500: the dead-letter queue failed; the queue offers it again.
func handleDeliver(d Deps) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodPost {
			w.Header().Set("Allow", http.MethodPost)
			plain(w, kindMethodNotAllowed.status(), "method not allowed\n")
			return
		}
		j := &delivery{d: d, w: w, r: r, dl: queue.ReadDelivery(r)}
		j.run()
	})
}

// delivery is one attempt at one queued event.
type delivery struct {
	d    Deps
	w    http.ResponseWriter
	r    *http.Request
	dl   queue.Delivery
	body []byte
	msg  events.Message
}

func (j *delivery) run() {
	ctx, d := j.r.Context(), j.d
	body, err := io.ReadAll(io.LimitReader(j.r.Body, maxMessage+1))
	j.body = body
	if err != nil {
		j.retry(0, "unreadable request")
		return
	}
	logging.Add(ctx, slog.Int("attempt", j.dl.ReceiveCount))
	if j.msg, err = events.DecodeMessage(body); err != nil || len(body) > maxMessage {
		j.deadLetter("malformed message", 0)
		return
	}
	e := &j.msg.Event
	logging.Add(ctx, slog.String("account_sid", e.AccountSID), slog.String("call_sid", e.CallSID),
		slog.String("event_id", e.ID), slog.String("type", e.Type))

	t, err := d.Store.Lookup(ctx, e.AccountSID)
	switch {
	case errors.Is(err, tenant.ErrNotFound):
		d.Log.LogAttrs(ctx, slog.LevelWarn, "event dropped: the tenant no longer exists")
		j.done()
		return
	case err != nil:
		j.retry(0, "tenant unavailable")
		return
	case !t.Events.Wants(e.Type):
		d.Log.LogAttrs(ctx, slog.LevelInfo, "event dropped: the tenant no longer takes it")
		j.done()
		return
	}

	if j.msg.HasRecording() {
		link, err := d.copyRecording(ctx, t, j.msg)
		switch {
		case errors.Is(err, recordings.ErrForeignHost), errors.Is(err, recordings.ErrTooLarge):
			j.deadLetter(err.Error(), 0)
			return
		case err != nil:
			d.Log.LogAttrs(ctx, slog.LevelWarn, "recording copy failed", slog.String("error", recordingError(err)))
			j.retry(0, "recording copy failed")
			return
		}
		e.RecordingURL = link
	}

	res := d.Events.Sender.Send(ctx, t.Events, *e)
	switch res.Outcome() {
	case events.Delivered:
		d.Log.LogAttrs(ctx, slog.LevelInfo, "event delivered", slog.Int("app_status", res.Status))
		d.Metrics.Count(metrics.EventDelivered, e.Type, e.AccountSID)
		j.done()
	case events.Rejected:
		j.deadLetter(fmt.Sprintf("app answered %d", res.Status), res.Status)
	default:
		reason := "app answered " + strconv.Itoa(res.Status)
		if res.Err != nil {
			reason = res.Err.Error()
		}
		j.retry(res.RetryAfter, reason)
	}
}

// done answers the queue: delete the message.
func (j *delivery) done() { j.w.WriteHeader(http.StatusNoContent) }

// retry answers the queue: offer the message again after the schedule's
// delay, unless it has been failing for events.MaxAge, in which case it is
// dead-lettered.
func (j *delivery) retry(appRetryAfter time.Duration, reason string) {
	ctx, d := j.r.Context(), j.d
	if !j.dl.SentAt.IsZero() && d.Now().Sub(j.dl.SentAt) >= events.MaxAge {
		j.deadLetter("gave up after "+events.MaxAge.String()+": "+reason, 0)
		return
	}
	delay := events.RetryDelay(j.dl.ReceiveCount, appRetryAfter)
	d.Log.LogAttrs(ctx, slog.LevelWarn, "event delivery failed; will retry",
		slog.String("reason", reason), slog.Duration("retry_in", delay))
	d.Metrics.Count(metrics.EventRetried, j.msg.Event.Type, j.msg.Event.AccountSID)
	j.w.Header().Set("Retry-After", strconv.Itoa(int(math.Ceil(delay.Seconds()))))
	plain(j.w, kindUnavailable.status(), "retry later\n")
}

// deadLetter moves the message, unchanged, to the dead-letter queue with
// the reason as an attribute, and answers done; if that fails, 500 so the
// queue offers it again.
func (j *delivery) deadLetter(reason string, appStatus int) {
	ctx, d := j.r.Context(), j.d
	attrs := []slog.Attr{slog.String("reason", reason)}
	if appStatus != 0 {
		attrs = append(attrs, slog.Int("app_status", appStatus))
	}
	if d.Events.DeadLetters == nil {
		d.Log.LogAttrs(ctx, slog.LevelError, "event undeliverable and no dead-letter queue configured", attrs...)
		plain(j.w, kindInternal.status(), "no dead-letter queue\n")
		return
	}
	err := d.Events.DeadLetters.Send(ctx, queue.Message{Body: j.body, Attributes: map[string]string{
		AttrReason:   reason,
		AttrFailedAt: d.Now().UTC().Format(time.RFC3339),
	}})
	if err != nil {
		d.Log.LogAttrs(ctx, slog.LevelError, "event could not be dead-lettered", append(attrs, slog.String("error", logging.ErrorKind(err)))...)
		plain(j.w, kindInternal.status(), "dead-letter queue failed\n")
		return
	}
	d.Log.LogAttrs(ctx, slog.LevelError, "event dead-lettered", attrs...)
	d.Metrics.Count(metrics.EventDeadLettered, j.msg.Event.Type, j.msg.Event.AccountSID)
	j.done()
}

// copyRecording makes sure the recording of m is in the store (fetching it
// from Twilio with the tenant's API key unless an earlier attempt stored
// it) and returns its link, valid for the store's retention counted from
// when it was stored: the bucket's lifecycle rule deletes it then.
func (d Deps) copyRecording(ctx context.Context, t *tenant.Tenant, m events.Message) (string, error) {
	e := d.Events
	if e.Recordings == nil || e.Links == nil {
		return "", errors.New("no recording store or link key configured")
	}
	if _, err := e.Fetcher.Check(m.RecordingMediaURL); err != nil {
		return "", err
	}
	key := recordings.Key(t.AccountSID, m.RecordingSID)
	stored, ok, err := e.Recordings.Stat(ctx, key)
	if err != nil {
		return "", err
	}
	if !ok {
		f, err := os.CreateTemp(e.TempDir, "recording-*.mp3")
		if err != nil {
			return "", err
		}
		defer os.Remove(f.Name())
		defer f.Close()
		n, err := e.Fetcher.Fetch(ctx, m.RecordingMediaURL, t.APIKeySID, t.APIKeySecret, f)
		if err != nil {
			return "", err
		}
		if _, err := f.Seek(0, io.SeekStart); err != nil {
			return "", err
		}
		if err := e.Recordings.Put(ctx, key, f, n); err != nil {
			return "", err
		}
		d.Log.LogAttrs(ctx, slog.LevelInfo, "recording copied", slog.String("recording_sid", m.RecordingSID), slog.Int64("bytes", n))
		// The store's own time, as a later attempt will read it, so every
		// attempt sends the same link.
		if stored, ok, err = e.Recordings.Stat(ctx, key); err != nil || !ok {
			stored = d.Now()
		}
	}
	return e.Links.URL(t.AccountSID, m.RecordingSID, stored.Add(e.Retention)), nil
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
