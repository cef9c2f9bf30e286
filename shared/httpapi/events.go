package httpapi

import (
	"context"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"bubble-twilio-voice/shared/events"
	"bubble-twilio-voice/shared/logging"
	"bubble-twilio-voice/shared/metrics"
	"bubble-twilio-voice/shared/queue"
	"bubble-twilio-voice/shared/recordings"
	"bubble-twilio-voice/shared/tenant"
	"bubble-twilio-voice/shared/voice"
)

// EventDeps is what the call-event routes are built from. The Lambda
// functions get theirs from delivery.FromEnv (SQS, S3, the link key) or, in
// incoming, only the queue; the dev server from memory and disk. Its zero
// value queues nothing: the callbacks still answer 2xx.
type EventDeps struct {
	// Queue receives the events of Twilio's callbacks; nil queues none.
	Queue queue.Sender
	// Fetcher's base is the only host a callback's RecordingUrl may have.
	// Default: recordings.DefaultTwilioAPIBase.
	Fetcher *recordings.Fetcher
	// Recordings keeps the copied recordings (S3, or the dev server's
	// directory) and Links checks the links to them (GET /recordings/...).
	Recordings recordings.Store
	Links      *recordings.Links
}

// Bounds on queueing, well inside Twilio's 15 s: a status callback is
// answered only once its event is queued; the no-answer step, which a
// caller is waiting on, gives up sooner and answers its TwiML anyway.
const (
	queueTimeout       = 5 * time.Second
	missedQueueTimeout = 2 * time.Second
)

func (e EventDeps) withDefaults() EventDeps {
	if e.Fetcher == nil {
		e.Fetcher, _ = recordings.NewFetcher(recordings.DefaultTwilioAPIBase)
	}
	return e
}

// handleCallStatus queues the call.completed event of a call status
// callback (the TwiML App's and the numbers' StatusCallback). A non-final
// status is acknowledged and dropped. It answers 204 once the event is
// queued, 503 when the queue failed.
func handleCallStatus(enqueue enqueueFunc, now func() time.Time, log *slog.Logger) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ctx := r.Context()
		t := tenant.FromContext(ctx)
		logging.Add(ctx, slog.String("account_sid", t.AccountSID), slog.String("call_sid", r.PostFormValue("CallSid")))
		// r.Form: the callback URL's query carries a transfer's target.
		e, ok := events.CallCompleted(r.Form, now())
		if !ok {
			log.LogAttrs(ctx, slog.LevelDebug, "call status dropped", slog.String("call_status", r.PostFormValue("CallStatus")))
			w.WriteHeader(http.StatusNoContent)
			return
		}
		answerQueued(w, r, enqueue, t, events.Queued{Version: events.QueuedVersion, Event: e})
	})
}

// handleRecordingStatus queues the voicemail.recorded or call.recorded
// event of a recording status callback. A RecordingUrl that is not on the
// Twilio API host (fetcher's) is refused (400), logged and counted in m;
// nothing is queued, so nothing ever fetches it.
func handleRecordingStatus(fetcher *recordings.Fetcher, enqueue enqueueFunc, now func() time.Time, log *slog.Logger, m *metrics.Emitter) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ctx := r.Context()
		t := tenant.FromContext(ctx)
		logging.Add(ctx, slog.String("account_sid", t.AccountSID), slog.String("call_sid", r.PostFormValue("CallSid")))
		msg, ok := events.Recording(r.Form, now())
		if !ok {
			log.LogAttrs(ctx, slog.LevelDebug, "recording status dropped", slog.String("recording_status", r.PostFormValue("RecordingStatus")))
			w.WriteHeader(http.StatusNoContent)
			return
		}
		if _, err := fetcher.Check(msg.RecordingMediaURL); err != nil {
			log.LogAttrs(ctx, slog.LevelWarn, "recording refused: RecordingUrl is not on the Twilio API host",
				slog.String("recording_host", recordings.Host(msg.RecordingMediaURL)), slog.String("allowed_host", fetcher.Base()))
			m.Count(metrics.RecordingRefused, "", t.AccountSID)
			plain(w, kindInvalid.status(), "recording url not allowed\n")
			return
		}
		queued := []events.Queued{msg}
		// A tenant that transcribes this recording gets a second message:
		// its pending transcript, which the delivery turns into the
		// transcribed event (docs/transcripts.md). Both are queued before
		// Twilio is answered, so neither is lost.
		if tm, ok := events.Transcription(msg); ok && t.Transcribes(msg.Event.Type) {
			queued = append(queued, tm)
		}
		answerQueued(w, r, enqueue, t, queued...)
	})
}

// answerQueued queues ms and answers Twilio: 204 once all are queued (or
// the tenant takes no such event), 503 when the queue failed, and Twilio
// retries the callback (a message queued before the failure is then
// queued again: same event_id, which the app drops).
func answerQueued(w http.ResponseWriter, r *http.Request, enqueue enqueueFunc, t *tenant.Tenant, ms ...events.Queued) {
	ctx, cancel := context.WithTimeout(r.Context(), queueTimeout)
	defer cancel()
	for _, m := range ms {
		if err := enqueue(ctx, t, m); err != nil {
			plain(w, kindUnavailable.status(), "service unavailable\n")
			return
		}
	}
	w.WriteHeader(http.StatusNoContent)
}

// enqueueFunc puts m on the queue when tenant t takes its type.
type enqueueFunc func(ctx context.Context, t *tenant.Tenant, m events.Queued) error

// enqueuer returns the enqueueFunc sending to q (nil: events are dropped
// with a warning); it logs the outcome to log (a failure as an error, with
// the event's identity only) and counts queued events in met.
func enqueuer(q queue.Sender, log *slog.Logger, met *metrics.Emitter) enqueueFunc {
	return func(ctx context.Context, t *tenant.Tenant, m events.Queued) error {
		attrs := []slog.Attr{slog.String("event_id", m.Event.ID), slog.String("type", m.Event.Type)}
		switch {
		case !t.Events.Wants(m.Event.Type):
			log.LogAttrs(ctx, slog.LevelDebug, "event not wanted by the tenant", attrs...)
			return nil
		case q == nil:
			log.LogAttrs(ctx, slog.LevelWarn, "event dropped: no queue configured", attrs...)
			return nil
		}
		if err := q.Send(ctx, queue.Message{Body: m.Encode()}); err != nil {
			log.LogAttrs(ctx, slog.LevelError, "event not queued", append(attrs, slog.String("error", logging.ErrorKind(err)))...)
			return err
		}
		log.LogAttrs(ctx, slog.LevelInfo, "event queued", attrs...)
		met.Count(metrics.EventQueued, m.Event.Type, t.AccountSID)
		return nil
	}
}

// queueMissed queues the call.missed event of a <Dial> action request
// (DialCallStatus other than completed or answered) before next answers
// the no-answer step. The caller is on the line, so the queueing is bounded
// by missedQueueTimeout and its failure is only logged.
func queueMissed(enqueue enqueueFunc, now func() time.Time) func(http.Handler) http.Handler {
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if t := tenant.FromContext(r.Context()); t != nil && t.Events.Wants(tenant.EventCallMissed) {
				if e, ok := events.CallMissed(r.PostForm, now()); ok {
					ctx, cancel := context.WithTimeout(r.Context(), missedQueueTimeout)
					_ = enqueue(ctx, t, events.Queued{Version: events.QueuedVersion, Event: e})
					cancel()
				}
			}
			next.ServeHTTP(w, r)
		})
	}
}

// withRecordingCallback gives a decision that records (a voicemail, or a
// <Dial> of a tenant with record_calls) a recordingStatusCallback to
// PathRecordingStatus when the tenant takes that recording's event. The URL
// is relative to the webhook at path, so a stage prefix survives, and
// carries the call's From and To, which recording callbacks leave out.
func withRecordingCallback(dec voice.Decision, t *tenant.Tenant, c voice.Call, path string) voice.Decision {
	typ := tenant.EventCallRecorded
	if dec.Kind == voice.KindVoicemail {
		typ = tenant.EventVoicemailRecorded
	}
	if !dec.Records() || !t.Events.Wants(typ) {
		return dec
	}
	depth := strings.Count(strings.Trim(path, "/"), "/") + 1
	return dec.WithRecordingCallback(voice.RecordingCallbackURL(depth, events.CallbackQuery(c.From, c.Caller, c.To)))
}
