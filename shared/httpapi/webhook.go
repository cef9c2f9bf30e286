package httpapi

import (
	"log/slog"
	"net/http"

	"bubble-twilio-voice/shared/logging"
	"bubble-twilio-voice/shared/metrics"
	"bubble-twilio-voice/shared/tenant"
	"bubble-twilio-voice/shared/voice"
)

// handleStep answers one webhook with decide's TwiML. It runs only behind
// Deps.signed, which put the tenant in the context.
func handleStep(d Deps, step string, decide func(voice.Call, *tenant.Tenant) voice.Decision) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ctx := r.Context()
		t := tenant.FromContext(ctx)
		var dec voice.Decision // the zero Decision hangs up
		if t != nil {
			c := voice.Call{
				AccountSID:     t.AccountSID,
				CallSID:        r.PostFormValue("CallSid"),
				From:           r.PostFormValue("From"),
				Caller:         r.PostFormValue("Caller"),
				To:             r.PostFormValue("To"),
				CallerID:       r.PostFormValue("CallerId"),
				DialCallStatus: r.PostFormValue("DialCallStatus"),
				// Which <Dial> ended: the action URL's query, not the form
				// (see voice.DialCompleteClientsAction).
				Leg: r.URL.Query().Get("leg"),
				Now: d.Now(),
			}
			logging.Add(ctx, slog.String("account_sid", t.AccountSID), slog.String("call_sid", c.CallSID))
			dec = decide(c, t)
			dec = withRecordingCallback(dec, t, c, r.URL.Path)
			record(d, r, step, t.AccountSID, dec)
		} else {
			d.Log.ErrorContext(ctx, "webhook reached without a tenant; answering hang-up")
		}
		w.Header().Set("Content-Type", "text/xml; charset=utf-8")
		w.Header().Set("Cache-Control", "no-store")
		_, _ = w.Write(dec.AppendTwiML(make([]byte, 0, 512)))
	})
}

// record logs the decision and counts it: refusals are warnings, because
// each one is either a user's mistake or someone trying a destination the
// tenant does not pay for.
func record(d Deps, r *http.Request, step, accountSID string, dec voice.Decision) {
	attrs := []slog.Attr{slog.String("step", step), slog.String("decision", dec.Kind.String())}
	if dec.Refused() {
		attrs = append(attrs, slog.String("reason", string(dec.Reason)))
		d.Log.LogAttrs(r.Context(), slog.LevelWarn, "call refused", attrs...)
		d.Metrics.Count(metrics.CallRefused, string(dec.Reason), accountSID)
		return
	}
	d.Log.LogAttrs(r.Context(), slog.LevelInfo, "call answered", attrs...)
	if dec.Kind == voice.KindDial {
		d.Metrics.Count(metrics.CallDialled, "", accountSID)
	}
}
