package twiliosig

import (
	"bytes"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"strings"

	"bubble-twilio-voice/shared/tenant"
)

// MaxBodyBytes bounds the body read before the signature is checked: a voice
// webhook is a few hundred bytes, and an unauthenticated caller must not make
// the function buffer more.
const MaxBodyBytes = 64 << 10

// Reasons a request is refused, passed to the onReject hook and logged.
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

// Middleware returns middleware that lets through only POSTs signed by
// Twilio for the account they name. It reads the body once (at most
// MaxBodyBytes), finds the AccountSid in the form body, looks the tenant up
// in store and checks the signature of urlOf(r) with the tenant's current
// and previous auth tokens.
//
// The next handler gets r.Body replaced by the same bytes, r.PostForm and
// r.Form already parsed (so r.PostFormValue works), and the tenant in the
// context (tenant.FromContext). Refusals are 405, 413, 403 (same body for
// every signature or account problem) and 503 when the store is down, so
// that Twilio falls back to the app's fallback URL. log may be nil; onReject,
// if not nil, is called with a Reason* constant on every refusal (for a
// metric).
func Middleware(store tenant.Store, urlOf func(*http.Request) string, log *slog.Logger, onReject func(reason string)) func(http.Handler) http.Handler {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	c := &checker{store: store, urlOf: urlOf, log: log, onReject: onReject}
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			c.serve(w, r, next)
		})
	}
}

type checker struct {
	store    tenant.Store
	urlOf    func(*http.Request) string
	log      *slog.Logger
	onReject func(string)
}

func (c *checker) serve(w http.ResponseWriter, r *http.Request, next http.Handler) {
	if r.Method != http.MethodPost {
		w.Header().Set("Allow", http.MethodPost)
		c.refuse(w, r, http.StatusMethodNotAllowed, ReasonMethod, "", "", "method not allowed\n")
		return
	}
	body, err := readBody(w, r)
	if err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			c.refuse(w, r, http.StatusRequestEntityTooLarge, ReasonBodyTooLarge, "", "", "request body too large\n")
			return
		}
		c.refuse(w, r, http.StatusBadRequest, ReasonBodyUnreadable, "", "", "bad request\n")
		return
	}
	signed := c.urlOf(r)
	query, _ := url.ParseQuery(r.URL.RawQuery) // a bad pair is only left out

	// Twilio encodes bodies properly, so a pair Go cannot parse means the
	// request is not Twilio's: refuse rather than check a different form.
	form, err := url.ParseQuery(string(body))
	if err != nil {
		c.refuse(w, r, http.StatusForbidden, ReasonMalformedBody, "", "", forbidden)
		return
	}
	accountSID, callSID := form.Get("AccountSid"), form.Get("CallSid")

	signature := r.Header.Get(Header)
	switch {
	case signature == "":
		c.refuse(w, r, http.StatusForbidden, ReasonMissingSignature, accountSID, callSID, forbidden)
		return
	case accountSID == "":
		c.refuse(w, r, http.StatusForbidden, ReasonMissingAccount, "", callSID, forbidden)
		return
	case !tenant.ValidAccountSID(accountSID):
		c.refuse(w, r, http.StatusForbidden, ReasonMalformedAccount, accountSID, callSID, forbidden)
		return
	}

	t, err := c.store.Lookup(r.Context(), accountSID)
	switch {
	case errors.Is(err, tenant.ErrNotFound):
		c.refuse(w, r, http.StatusForbidden, ReasonUnknownAccount, accountSID, callSID, forbidden)
		return
	case err != nil:
		// Unavailable, or anything unexpected: 503 so Twilio tries the
		// fallback URL instead of playing an error to the caller.
		c.log.LogAttrs(r.Context(), slog.LevelError, "tenant lookup failed",
			slog.String("account_sid", accountSID), slog.String("path", r.URL.Path), slog.Any("error", err))
		c.reject(ReasonStoreUnavailable)
		plain(w, http.StatusServiceUnavailable, "service unavailable\n")
		return
	}

	if !ValidateForm(signed, form, signature, t.AuthTokens()...) {
		c.refuse(w, r, http.StatusForbidden, ReasonBadSignature, accountSID, callSID, forbidden)
		return
	}

	r.Body = io.NopCloser(bytes.NewReader(body))
	r.PostForm = form
	r.Form = make(url.Values, len(form)+len(query))
	for k, vs := range form {
		r.Form[k] = append(r.Form[k], vs...)
	}
	for k, vs := range query {
		r.Form[k] = append(r.Form[k], vs...)
	}
	next.ServeHTTP(w, r.WithContext(tenant.NewContext(r.Context(), t)))
}

// readBody reads at most MaxBodyBytes, returning *http.MaxBytesError past it
// (and, through w, telling net/http to close the connection).
func readBody(w http.ResponseWriter, r *http.Request) ([]byte, error) {
	if r.Body == nil {
		return nil, nil
	}
	defer r.Body.Close()
	if r.ContentLength > MaxBodyBytes {
		return nil, &http.MaxBytesError{Limit: MaxBodyBytes}
	}
	limited := http.MaxBytesReader(w, r.Body, MaxBodyBytes)
	n := r.ContentLength
	if n < 0 || n > MaxBodyBytes {
		n = 512
	}
	buf := bytes.NewBuffer(make([]byte, 0, n+1))
	_, err := buf.ReadFrom(limited)
	return buf.Bytes(), err
}

// refuse logs a warning naming only what is safe to log: never the
// signature, the token or the body, and the AccountSid and CallSid only when
// well-formed (anything else is attacker-chosen text).
func (c *checker) refuse(w http.ResponseWriter, r *http.Request, status int, reason, accountSID, callSID, body string) {
	attrs := make([]slog.Attr, 0, 4)
	attrs = append(attrs, slog.String("reason", reason), slog.String("path", r.URL.Path))
	if tenant.ValidAccountSID(accountSID) {
		attrs = append(attrs, slog.String("account_sid", accountSID))
	}
	if validCallSID(callSID) {
		attrs = append(attrs, slog.String("call_sid", callSID))
	}
	c.log.LogAttrs(r.Context(), slog.LevelWarn, "webhook refused", attrs...)
	c.reject(reason)
	plain(w, status, body)
}

func (c *checker) reject(reason string) {
	if c.onReject != nil {
		c.onReject(reason)
	}
}

func plain(w http.ResponseWriter, status int, body string) {
	h := w.Header()
	h.Set("Content-Type", "text/plain; charset=utf-8")
	h.Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(status)
	_, _ = io.WriteString(w, body)
}

// validCallSID reports whether s looks like a CallSid: CA and 32 hex digits.
func validCallSID(s string) bool {
	if len(s) != 34 || !strings.HasPrefix(s, "CA") {
		return false
	}
	for i := 2; i < len(s); i++ {
		if !isHex(s[i]) {
			return false
		}
	}
	return true
}

func isHex(c byte) bool {
	return '0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F'
}

// URLFunc returns how the middleware rebuilds the URL Twilio called. With a
// publicBaseURL (a custom domain, or the dev server behind a tunnel) it is
// that base plus the request's path and query. Otherwise it is
// "https://" + r.Host + r.RequestURI, which the API Gateway adapter sets to
// the domain and the path as called, stage prefix included, because that is
// the URL Twilio signed (r.URL.Path has the stage stripped for routing).
func URLFunc(publicBaseURL string) func(*http.Request) string {
	base := strings.TrimRight(publicBaseURL, "/")
	if base != "" {
		return func(r *http.Request) string {
			u := base + r.URL.EscapedPath()
			if r.URL.RawQuery != "" {
				u += "?" + r.URL.RawQuery
			}
			return u
		}
	}
	return func(r *http.Request) string {
		uri := r.RequestURI
		if !strings.HasPrefix(uri, "/") { // empty, or absolute-form from a proxy
			uri = r.URL.RequestURI()
		}
		return "https://" + r.Host + uri
	}
}
