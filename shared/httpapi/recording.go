package httpapi

import (
	"errors"
	"log/slog"
	"net/http"
	"path"
	"time"

	"bubble-twilio-voice/shared/logging"
	"bubble-twilio-voice/shared/recordings"
	"bubble-twilio-voice/shared/tenant"
)

// linked is what a signed link opens: a recording, or the full text of a
// long transcript (docs/transcripts.md). Each kind is signed under its
// own name, so one kind's link never opens the other.
type linked struct {
	noun   string // in answers and logs
	verify func(l *recordings.Links, accountSID, recordingSID, expires, sig string, now time.Time) error
	key    func(accountSID, recordingSID string) string
}

// The kinds of link the events function serves.
var (
	linkedRecording  = linked{"recording", (*recordings.Links).Verify, recordings.Key}
	linkedTranscript = linked{"transcript", (*recordings.Links).VerifyTranscript, recordings.TranscriptTextKey}
)

// handleRecording serves a recording link (PathRecordings + AccountSid +
// "/" + RecordingSid + "?expires=...&sig=..."), and with linkedTranscript
// a transcript link (PathTranscripts + ...): a link whose signature and
// expiry check out answers 302 to a freshly presigned S3 URL (or, in the
// dev server, the file itself); a forged link 403, an expired one 410. The
// signature is never logged. links and store are nil when recording links
// are not configured: every link then answers 503.
//
// A genuine link of a tenant that is suspended, or that tenants no longer
// knows (a closed subaccount, whose copies `subaccounts close` deletes),
// answers 404, as a recording that is not there: its links stop playing
// the moment it is suspended and play again once it is reactivated. The
// lookup comes after the signature check, so only genuine links cost one.
func handleRecording(kind linked, tenants tenant.Store, links *recordings.Links, store recordings.Store, now func() time.Time, log *slog.Logger) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ctx := r.Context()
		if r.Method != http.MethodGet && r.Method != http.MethodHead {
			w.Header().Set("Allow", "GET, HEAD")
			plain(w, kindMethodNotAllowed.status(), "method not allowed\n")
			return
		}
		account, rec := r.PathValue("account_sid"), r.PathValue("recording_sid")
		if !tenant.ValidAccountSID(account) || !tenant.ValidSID("RE", rec) {
			plain(w, kindNotFound.status(), "not found\n")
			return
		}
		if links == nil || store == nil {
			log.LogAttrs(ctx, slog.LevelError, kind.noun+" links are not configured (LINK_KEY_SECRET_ARN, RECORDINGS_BUCKET)")
			plain(w, kindUnavailable.status(), "service unavailable\n")
			return
		}
		logging.Add(ctx, slog.String("account_sid", account), slog.String("recording_sid", rec))
		q := r.URL.Query()
		switch err := kind.verify(links, account, rec, q.Get("expires"), q.Get("sig"), now()); {
		case errors.Is(err, recordings.ErrLinkExpired):
			plain(w, kindGone.status(), "this "+kind.noun+" link has expired\n")
			return
		case err != nil:
			log.LogAttrs(ctx, slog.LevelWarn, kind.noun+" link refused", slog.String("reason", "bad_signature"))
			plain(w, kindForbidden.status(), "invalid "+kind.noun+" link\n")
			return
		}
		t, err := tenants.Lookup(ctx, account)
		switch {
		case errors.Is(err, tenant.ErrNotFound), err == nil && t.Suspended():
			reason := "tenant_suspended"
			if err != nil {
				reason = "tenant_unknown"
			}
			log.LogAttrs(ctx, slog.LevelInfo, kind.noun+" link refused", slog.String("reason", reason))
			plain(w, kindNotFound.status(), kind.noun+" not found\n")
			return
		case err != nil:
			log.LogAttrs(ctx, slog.LevelWarn, "tenant unavailable", slog.String("error", logging.ErrorKind(err)))
			plain(w, kindUnavailable.status(), "service unavailable\n")
			return
		}
		key := kind.key(account, rec)
		obj, err := store.Get(ctx, key)
		switch {
		case errors.Is(err, recordings.ErrNotFound):
			plain(w, kindNotFound.status(), kind.noun+" not found\n")
			return
		case err != nil:
			log.LogAttrs(ctx, slog.LevelError, kind.noun+" unavailable", slog.String("error", logging.ErrorKind(err)))
			plain(w, kindUnavailable.status(), "service unavailable\n")
			return
		}
		h := w.Header()
		h.Set("Cache-Control", "no-store")
		h.Set("Referrer-Policy", "no-referrer")
		h.Set("X-Content-Type-Options", "nosniff")
		if obj.URL != "" {
			http.Redirect(w, r, obj.URL, http.StatusFound)
			return
		}
		defer obj.Content.Close()
		h.Set("Content-Type", recordings.ContentTypeOf(key))
		http.ServeContent(w, r, path.Base(key), obj.Modified, obj.Content)
	})
}
