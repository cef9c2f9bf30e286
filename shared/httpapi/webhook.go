package httpapi

import (
	"log/slog"
	"net/http"
	"time"

	"bubble-twilio-voice/shared/callcontrol"
	"bubble-twilio-voice/shared/logging"
	"bubble-twilio-voice/shared/metrics"
	"bubble-twilio-voice/shared/tenant"
	"bubble-twilio-voice/shared/voice"
)

// handleStep answers one webhook with decide's TwiML, logging the decision
// to log and counting it in m. It runs only behind signed, which put the
// tenant in the context.
func handleStep(step string, decide func(voice.Call, *tenant.Tenant) voice.Decision, now func() time.Time, log *slog.Logger, m *metrics.Emitter) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ctx := r.Context()
		t := tenant.FromContext(ctx)
		var dec voice.Decision // the zero Decision hangs up
		if t != nil {
			query := r.URL.Query()
			c := voice.Call{
				AccountSID:     t.AccountSID,
				CallSID:        r.PostFormValue("CallSid"),
				From:           r.PostFormValue("From"),
				Caller:         r.PostFormValue("Caller"),
				To:             r.PostFormValue("To"),
				CallerID:       r.PostFormValue("CallerId"),
				DialCallStatus: r.PostFormValue("DialCallStatus"),
				DialBridged:    r.PostFormValue("DialBridged"),
				Digits:         r.PostFormValue("Digits"),
				// Which <Dial> ended: the action URL's query, not the form
				// (see voice.DialCompleteClientsAction).
				Leg: query.Get("leg"),
				// Who a whisper announces: its URL's query, which Twilio
				// signed (see voice.ScreenURL).
				Parent: voice.Display{Caller: query.Get(voice.ParamCaller), Called: query.Get(voice.ParamCalled)},
				// A transfer's route (call control), likewise.
				Route: query.Get(callcontrol.QueryRoute),
				Now:   now(),
			}
			logging.Add(ctx, slog.String("account_sid", t.AccountSID), slog.String("call_sid", c.CallSID))
			dec = decide(c, t)
			dec = withRecordingCallback(dec, t, c, r.URL.Path)
			record(r, log, m, step, t.AccountSID, dec)
		} else {
			log.ErrorContext(ctx, "webhook reached without a tenant; answering hang-up")
		}
		w.Header().Set("Content-Type", "text/xml; charset=utf-8")
		w.Header().Set("Cache-Control", "no-store")
		_, _ = w.Write(dec.AppendTwiML(make([]byte, 0, 512)))
	})
}

// record logs the decision and counts it: refusals are warnings, because
// each one is either a user's mistake or someone trying a destination the
// tenant does not pay for.
func record(r *http.Request, log *slog.Logger, m *metrics.Emitter, step, accountSID string, dec voice.Decision) {
	attrs := []slog.Attr{slog.String("step", step), slog.String("decision", dec.Kind.String())}
	if dec.Refused() {
		attrs = append(attrs, slog.String("reason", string(dec.Reason)))
		log.LogAttrs(r.Context(), slog.LevelWarn, "call refused", attrs...)
		m.Count(metrics.CallRefused, string(dec.Reason), accountSID)
		return
	}
	log.LogAttrs(r.Context(), slog.LevelInfo, "call answered", attrs...)
	if dec.Kind == voice.KindDial {
		m.Count(metrics.CallDialled, "", accountSID)
	}
}
