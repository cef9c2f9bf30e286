package httpapi

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"strconv"
)

// kind classifies an error for the client; status maps it to HTTP.
type kind int

// Kinds of client-visible errors.
const (
	kindInternal kind = iota
	kindInvalid
	kindUnauthorized
	kindForbidden
	kindMethodNotAllowed
	kindTooLarge
	kindUnsupportedMedia
	kindRateLimited
	kindUnavailable
	kindNotFound
	kindGone
	kindConflict
	kindBadGateway
)

// status is the one place an error's kind becomes an HTTP status.
func (k kind) status() int {
	switch k {
	case kindInvalid:
		return http.StatusBadRequest
	case kindUnauthorized:
		return http.StatusUnauthorized
	case kindForbidden:
		return http.StatusForbidden
	case kindMethodNotAllowed:
		return http.StatusMethodNotAllowed
	case kindTooLarge:
		return http.StatusRequestEntityTooLarge
	case kindUnsupportedMedia:
		return http.StatusUnsupportedMediaType
	case kindRateLimited:
		return http.StatusTooManyRequests
	case kindUnavailable:
		return http.StatusServiceUnavailable
	case kindNotFound:
		return http.StatusNotFound
	case kindGone:
		return http.StatusGone
	case kindConflict:
		return http.StatusConflict
	case kindBadGateway:
		return http.StatusBadGateway
	default:
		return http.StatusInternalServerError
	}
}

// apiError is a client-visible error: code is a stable machine-readable
// string ("invalid_identity"), message a sentence for a person. err, if set,
// is the internal cause: logged, never sent.
type apiError struct {
	kind       kind
	code       string
	message    string
	retryAfter int    // seconds, sent as Retry-After on 429 and 503
	allow      string // methods, sent as Allow on 405
	reason     string // the rule behind a refusal (not_allowed), sent as error.reason
	err        error
}

func (e *apiError) Error() string {
	if e.err != nil {
		return e.code + ": " + e.message + ": " + e.err.Error()
	}
	return e.code + ": " + e.message
}

func (e *apiError) Unwrap() error { return e.err }

func newError(k kind, code, message string) *apiError {
	return &apiError{kind: k, code: code, message: message}
}

func wrapError(k kind, code, message string, cause error) *apiError {
	return &apiError{kind: k, code: code, message: message, err: cause}
}

// errorBody is the JSON error shape: {"error":{"code":"...","message":"..."}},
// with "reason" when a rule refused (call control's not_allowed).
type errorBody struct {
	Error struct {
		Code    string `json:"code"`
		Message string `json:"message"`
		Reason  string `json:"reason,omitempty"`
	} `json:"error"`
}

// writeError writes err as the JSON error shape with its status. An error
// that is not an *apiError becomes 500 "internal"; its text goes only to
// the log.
func writeError(w http.ResponseWriter, r *http.Request, log *slog.Logger, err error) {
	var e *apiError
	if !errors.As(err, &e) {
		e = wrapError(kindInternal, "internal", "internal error", err)
	}
	status := e.kind.status()
	level := slog.LevelInfo
	if status >= 500 {
		level = slog.LevelError
	}
	attrs := []slog.Attr{slog.Int("status", status), slog.String("code", e.code)}
	if e.err != nil {
		attrs = append(attrs, slog.String("cause", e.err.Error()))
	}
	log.LogAttrs(r.Context(), level, "request failed", attrs...)

	var b errorBody
	b.Error.Code, b.Error.Message, b.Error.Reason = e.code, e.message, e.reason
	var out bytes.Buffer
	enc := json.NewEncoder(&out)
	enc.SetEscapeHTML(false) // messages say "<key>"; this is JSON for programs, not HTML
	_ = enc.Encode(b)
	h := w.Header()
	h.Set("Content-Type", "application/json")
	h.Set("Cache-Control", "no-store")
	if e.retryAfter > 0 {
		h.Set("Retry-After", strconv.Itoa(e.retryAfter))
	}
	if e.allow != "" {
		h.Set("Allow", e.allow)
	}
	w.WriteHeader(status)
	_, _ = w.Write(out.Bytes())
}

// postOnly serves a JSON POST route (call control, the dev server's test
// events): any other method is 405, run's error the JSON error shape, and
// its answer JSON with status and Cache-Control: no-store.
func postOnly(log *slog.Logger, run func(r *http.Request) (status int, answer any, err error)) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodPost {
			e := newError(kindMethodNotAllowed, "method_not_allowed", "use POST")
			e.allow = http.MethodPost
			writeError(w, r, log, e)
			return
		}
		status, answer, err := run(r)
		if err != nil {
			writeError(w, r, log, err)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("Cache-Control", "no-store")
		w.WriteHeader(status)
		_ = json.NewEncoder(w).Encode(answer)
	})
}

// readBody reads r's body, refusing one larger than limit (written out
// as size in the error).
func readBody(r *http.Request, limit int64, size string) ([]byte, error) {
	body, err := io.ReadAll(http.MaxBytesReader(nil, r.Body, limit))
	var tooBig *http.MaxBytesError
	switch {
	case errors.As(err, &tooBig):
		return nil, newError(kindTooLarge, "too_large", "request body is larger than "+size)
	case err != nil:
		return nil, wrapError(kindInvalid, "invalid_request", "could not read the request body", err)
	}
	return body, nil
}
