package httpapi

import (
	"bytes"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"strings"

	"bubble-twilio-voice/shared/metrics"
	"bubble-twilio-voice/shared/tenant"
	"bubble-twilio-voice/shared/twiliosig"
)

// MaxWebhookBody bounds the body read before the signature is checked: a
// voice webhook is a few hundred bytes, and an unauthenticated caller must
// not make the function buffer more.
const MaxWebhookBody = 64 << 10

// Reasons a webhook is refused: logged, and the SignatureRejected metric's
// Reason dimension.
const (
	ReasonMethod           = "method_not_allowed"
	ReasonBodyTooLarge     = "body_too_large"
	ReasonBodyUnreadable   = "body_unreadable"
	ReasonMalformedBody    = "malformed_body"
	ReasonMissingSignature = "missing_signature"
	ReasonMissingAccount   = "missing_account_sid"
	ReasonMalformedAccount = "malformed_account_sid"
	ReasonUnknownAccount   = "unknown_account"
	ReasonBadSignature     = "bad_signature"
	ReasonStoreUnavailable = "store_unavailable"
)

// forbidden is the one body for every 403, so a caller cannot tell an
// unknown account from a bad signature and probe for AccountSids.
const forbidden = "invalid signature\n"

// signed lets through only form POSTs signed by Twilio for the account they
// name: it reads the body once (at most MaxWebhookBody), looks up the
// AccountSid's tenant and checks X-Twilio-Signature over the URL Twilio
// called with the tenant's current and previous auth tokens.
//
// next gets r.PostForm and r.Form parsed (so r.PostFormValue works) and the
// tenant in the context (tenant.FromContext). Refusals are 405, 413, 403
// (the same body for every signature or account problem) and 503 when the
// store is down, so that Twilio falls back to the app's fallback URL.
// publicBaseURL is Deps.PublicBaseURL (see signedURL); refusals are logged
// to log and counted in m.
func signed(tenants tenant.Store, publicBaseURL string, log *slog.Logger, m *metrics.Emitter) func(http.Handler) http.Handler {
	refuse := func(w http.ResponseWriter, r *http.Request, k kind, reason, accountSID, callSID, body string) {
		refuseWebhook(w, r, log, m, k, reason, accountSID, callSID, body)
	}
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if r.Method != http.MethodPost {
				w.Header().Set("Allow", http.MethodPost)
				refuse(w, r, kindMethodNotAllowed, ReasonMethod, "", "", "method not allowed\n")
				return
			}
			body, err := readWebhookBody(w, r)
			if err != nil {
				if _, ok := errors.AsType[*http.MaxBytesError](err); ok {
					refuse(w, r, kindTooLarge, ReasonBodyTooLarge, "", "", "request body too large\n")
					return
				}
				refuse(w, r, kindInvalid, ReasonBodyUnreadable, "", "", "bad request\n")
				return
			}
			// Twilio encodes bodies properly, so a pair Go cannot parse means the
			// request is not Twilio's: refuse rather than check a different form.
			form, err := url.ParseQuery(string(body))
			if err != nil {
				refuse(w, r, kindForbidden, ReasonMalformedBody, "", "", forbidden)
				return
			}
			accountSID, callSID := form.Get("AccountSid"), form.Get("CallSid")
			signature := r.Header.Get(twiliosig.Header)
			switch {
			case signature == "":
				refuse(w, r, kindForbidden, ReasonMissingSignature, accountSID, callSID, forbidden)
				return
			case accountSID == "":
				refuse(w, r, kindForbidden, ReasonMissingAccount, "", callSID, forbidden)
				return
			case !tenant.ValidAccountSID(accountSID):
				refuse(w, r, kindForbidden, ReasonMalformedAccount, accountSID, callSID, forbidden)
				return
			}

			t, err := tenants.Lookup(r.Context(), accountSID)
			switch {
			case errors.Is(err, tenant.ErrNotFound):
				refuse(w, r, kindForbidden, ReasonUnknownAccount, accountSID, callSID, forbidden)
				return
			case err != nil:
				// Unavailable, or anything unexpected: 503 so Twilio tries the
				// fallback URL instead of playing an error to the caller. Counted
				// by the store as SecretFetchFailed, not as a rejected signature.
				log.LogAttrs(r.Context(), slog.LevelError, "tenant lookup failed",
					slog.String("account_sid", accountSID), slog.String("path", r.URL.Path), slog.Any("error", err))
				plain(w, kindUnavailable.status(), "service unavailable\n")
				return
			}
			if !validSignature(publicBaseURL, r, form, signature, t.AuthTokens()) {
				refuse(w, r, kindForbidden, ReasonBadSignature, accountSID, callSID, forbidden)
				return
			}

			r.Body = io.NopCloser(bytes.NewReader(body))
			r.PostForm = form
			query, _ := url.ParseQuery(r.URL.RawQuery) // a bad pair is only left out
			r.Form = make(url.Values, len(form)+len(query))
			for _, vals := range []url.Values{form, query} {
				for k, vs := range vals {
					r.Form[k] = append(r.Form[k], vs...)
				}
			}
			next.ServeHTTP(w, r.WithContext(tenant.NewContext(r.Context(), t)))
		})
	}
}

// readWebhookBody reads at most MaxWebhookBody, returning
// *http.MaxBytesError past it (and, through w, telling net/http to close the
// connection).
func readWebhookBody(w http.ResponseWriter, r *http.Request) ([]byte, error) {
	if r.Body == nil {
		return nil, nil
	}
	defer r.Body.Close()
	if r.ContentLength > MaxWebhookBody {
		return nil, &http.MaxBytesError{Limit: MaxWebhookBody}
	}
	return io.ReadAll(http.MaxBytesReader(w, r.Body, MaxWebhookBody))
}

// refuseWebhook answers a refused webhook with body and logs a warning
// naming only what is safe to log: never the signature, the token or the
// body, and the AccountSid and CallSid only when well-formed (anything else
// is attacker-chosen text).
func refuseWebhook(w http.ResponseWriter, r *http.Request, log *slog.Logger, m *metrics.Emitter, k kind, reason, accountSID, callSID, body string) {
	attrs := make([]slog.Attr, 0, 4)
	attrs = append(attrs, slog.String("reason", reason), slog.String("path", r.URL.Path))
	if tenant.ValidAccountSID(accountSID) {
		attrs = append(attrs, slog.String("account_sid", accountSID))
	}
	if tenant.ValidSID("CA", callSID) {
		attrs = append(attrs, slog.String("call_sid", callSID))
	}
	log.LogAttrs(r.Context(), slog.LevelWarn, "webhook refused", attrs...)
	m.Count(metrics.SignatureRejected, reason, "")
	plain(w, k.status(), body)
}

func plain(w http.ResponseWriter, status int, body string) {
	h := w.Header()
	h.Set("Content-Type", "text/plain; charset=utf-8")
	h.Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(status)
	_, _ = io.WriteString(w, body)
}

// validSignature checks the signature over the URL Twilio was given
// (signedURL). A request that came in on another host than publicBaseURL's
// is also checked against the URL as called: while a deployment moves to a
// custom domain its execute-api endpoint stays on, and subaccounts not yet
// repointed call it there (docs/deploy.md, "Move to a custom domain without
// an outage"). Either way the signature was made with the tenant's auth
// token for the very URL of the request. On publicBaseURL's own host only
// the public URL counts (a base path left out is refused).
func validSignature(publicBaseURL string, r *http.Request, form url.Values, signature string, tokens []string) bool {
	if twiliosig.ValidateForm(signedURL(publicBaseURL, r), form, signature, tokens...) {
		return true
	}
	if publicBaseURL == "" {
		return false
	}
	if u, err := url.Parse(publicBaseURL); err != nil || strings.EqualFold(u.Host, r.Host) {
		return false
	}
	return twiliosig.ValidateForm(signedURL("", r), form, signature, tokens...)
}

// signedURL is the URL Twilio called, which is the URL it signed. With a
// publicBaseURL (a custom domain, or the dev server behind a tunnel) it is
// that base, its base path included, plus the route path (r.URL.Path, from
// which serve has stripped the base path if it was there) and the query.
// Otherwise it is "https://" + r.Host + r.RequestURI, which the API Gateway
// adapter sets to the domain and the path as called: a named stage's prefix
// included on the execute-api host, left out on a custom domain (r.URL.Path
// has the stage stripped for routing).
func signedURL(publicBaseURL string, r *http.Request) string {
	if publicBaseURL != "" {
		u := strings.TrimRight(publicBaseURL, "/") + r.URL.EscapedPath()
		if r.URL.RawQuery != "" {
			u += "?" + r.URL.RawQuery
		}
		return u
	}
	uri := r.RequestURI
	if !strings.HasPrefix(uri, "/") { // empty, or absolute-form from a proxy
		uri = r.URL.RequestURI()
	}
	return "https://" + r.Host + uri
}
