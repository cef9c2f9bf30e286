// Package webhook serves Twilio's voice webhooks: /voice (calls placed from
// the browser) and /incoming with its no-answer steps (calls to the tenant's
// numbers). Each route checks the X-Twilio-Signature with the signing
// tenant's auth token before anything else runs, then asks package voice
// what to do and answers its TwiML.
package webhook

import (
	"log/slog"
	"net/http"

	"bubble-twilio-voice/shared/config"
	"bubble-twilio-voice/shared/logging"
	"bubble-twilio-voice/shared/metrics"
	"bubble-twilio-voice/shared/tenant"
	"bubble-twilio-voice/shared/twiliosig"
	"bubble-twilio-voice/shared/voice"
)

// Paths served. The no-answer steps sit under /incoming because the TwiML
// points at them with relative URLs (see voice.DialCompleteAction).
const (
	PathVoice             = "/voice"
	PathIncoming          = "/incoming"
	PathDialComplete      = "/incoming/dial-complete"
	PathRecordingComplete = "/incoming/recording-complete"
)

// Options are the handler's dependencies.
type Options struct {
	Store tenant.Store
	// PublicBaseURL, when set, is the scheme and host Twilio calls (a custom
	// domain, or the dev server); otherwise the request's own host is used.
	PublicBaseURL string
	// Log may be nil to discard logs; Metrics may be nil to count nothing.
	Log     *slog.Logger
	Metrics *metrics.Emitter
}

// OptionsFrom builds the options from the configuration, the same way for
// the Lambda functions and the dev server.
func OptionsFrom(cfg config.Config, store tenant.Store, log *slog.Logger, m *metrics.Emitter) Options {
	return Options{Store: store, PublicBaseURL: cfg.PublicBaseURL, Log: log, Metrics: m}
}

// NewHandler returns the handler for every webhook path. Unknown paths are
// 404 before any signature work or tenant lookup.
func NewHandler(o Options) http.Handler {
	if o.Log == nil {
		o.Log = slog.New(slog.DiscardHandler)
	}
	signed := twiliosig.Middleware(o.Store, twiliosig.URLFunc(o.PublicBaseURL), o.Log, func(reason string) {
		if reason != twiliosig.ReasonStoreUnavailable { // counted by the store as SecretFetchFailed
			o.Metrics.Count(metrics.SignatureRejected, reason, "")
		}
	})
	mux := http.NewServeMux()
	mux.Handle(PathVoice, signed(o.step("outgoing", voice.Outgoing)))
	mux.Handle(PathIncoming, signed(o.step("incoming", voice.Incoming)))
	mux.Handle(PathDialComplete, signed(o.step("dial_complete", voice.DialComplete)))
	mux.Handle(PathRecordingComplete, signed(o.step("recording_complete", voice.RecordingComplete)))
	return mux
}

// step answers one webhook with decide's TwiML. It runs only behind the
// signature middleware, which put the tenant in the context.
func (o Options) step(name string, decide func(voice.Call, *tenant.Tenant) voice.Decision) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ctx := r.Context()
		t := tenant.FromContext(ctx)
		var d voice.Decision // the zero Decision hangs up
		if t != nil {
			c := voice.Call{
				AccountSID:     t.AccountSID,
				CallSID:        r.PostFormValue("CallSid"),
				From:           r.PostFormValue("From"),
				Caller:         r.PostFormValue("Caller"),
				To:             r.PostFormValue("To"),
				CallerID:       r.PostFormValue("CallerId"),
				DialCallStatus: r.PostFormValue("DialCallStatus"),
			}
			logging.Add(ctx, slog.String("account_sid", t.AccountSID), slog.String("call_sid", c.CallSID))
			d = decide(c, t)
			o.record(r, name, t.AccountSID, d)
		} else {
			o.Log.ErrorContext(ctx, "webhook reached without a tenant; answering hang-up")
		}
		w.Header().Set("Content-Type", "text/xml; charset=utf-8")
		w.Header().Set("Cache-Control", "no-store")
		_, _ = w.Write(d.AppendTwiML(make([]byte, 0, 512)))
	})
}

// record logs the decision and counts it: refusals are warnings, because
// each one is either a user's mistake or someone trying a destination the
// tenant does not pay for.
func (o Options) record(r *http.Request, step, accountSID string, d voice.Decision) {
	attrs := []slog.Attr{slog.String("step", step), slog.String("decision", d.Kind.String())}
	if d.Refused() {
		attrs = append(attrs, slog.String("reason", string(d.Reason)))
		o.Log.LogAttrs(r.Context(), slog.LevelWarn, "call refused", attrs...)
		o.Metrics.Count(metrics.CallRefused, string(d.Reason), accountSID)
		return
	}
	o.Log.LogAttrs(r.Context(), slog.LevelInfo, "call answered", attrs...)
	if d.Kind == voice.KindDial {
		o.Metrics.Count(metrics.CallDialled, "", accountSID)
	}
}
