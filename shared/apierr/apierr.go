// Package apierr is the one error type the HTTP handlers return to clients,
// and the one place that maps an error's kind to an HTTP status. Anything
// that is not an *Error is internal: logged, and shown to the client only as
// "internal error".
package apierr

import (
	"bytes"
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"
	"strconv"
)

// Kind classifies an error for the client; Status maps it to HTTP.
type Kind int

// Kinds of client-visible errors.
const (
	Internal Kind = iota
	Invalid
	Unauthorized
	Forbidden
	NotFound
	MethodNotAllowed
	TooLarge
	UnsupportedMedia
	RateLimited
	Unavailable
)

// Status returns the HTTP status for k.
func Status(k Kind) int {
	switch k {
	case Invalid:
		return http.StatusBadRequest
	case Unauthorized:
		return http.StatusUnauthorized
	case Forbidden:
		return http.StatusForbidden
	case NotFound:
		return http.StatusNotFound
	case MethodNotAllowed:
		return http.StatusMethodNotAllowed
	case TooLarge:
		return http.StatusRequestEntityTooLarge
	case UnsupportedMedia:
		return http.StatusUnsupportedMediaType
	case RateLimited:
		return http.StatusTooManyRequests
	case Unavailable:
		return http.StatusServiceUnavailable
	default:
		return http.StatusInternalServerError
	}
}

// Error is a client-visible error: Code is a stable machine-readable string
// ("invalid_identity"), Message a sentence for a person. Err, if set, is
// the internal cause: logged, never sent.
type Error struct {
	Kind    Kind
	Code    string
	Message string
	// RetryAfter, in seconds, is sent as Retry-After on 429 and 503.
	RetryAfter int
	// Allow lists the methods sent as Allow on 405.
	Allow string
	Err   error
}

func (e *Error) Error() string {
	if e.Err != nil {
		return e.Code + ": " + e.Message + ": " + e.Err.Error()
	}
	return e.Code + ": " + e.Message
}

// Unwrap returns the internal cause.
func (e *Error) Unwrap() error { return e.Err }

// New returns a client-visible error.
func New(k Kind, code, message string) *Error {
	return &Error{Kind: k, Code: code, Message: message}
}

// Wrap returns a client-visible error with an internal cause that is logged
// but never sent.
func Wrap(k Kind, code, message string, cause error) *Error {
	return &Error{Kind: k, Code: code, Message: message, Err: cause}
}

// body is the JSON error shape: {"error":{"code":"...","message":"..."}}.
type body struct {
	Error struct {
		Code    string `json:"code"`
		Message string `json:"message"`
	} `json:"error"`
}

// WriteJSON writes err as the JSON error shape with its status. Errors that
// are not *Error become 500 "internal"; their text goes only to the log.
func WriteJSON(w http.ResponseWriter, r *http.Request, log *slog.Logger, err error) {
	var e *Error
	if !errors.As(err, &e) {
		e = Wrap(Internal, "internal", "internal error", err)
	}
	status := Status(e.Kind)
	if log != nil {
		level := slog.LevelInfo
		if status >= 500 {
			level = slog.LevelError
		}
		attrs := []slog.Attr{slog.Int("status", status), slog.String("code", e.Code)}
		if e.Err != nil {
			attrs = append(attrs, slog.String("cause", e.Err.Error()))
		}
		log.LogAttrs(r.Context(), level, "request failed", attrs...)
	}
	var b body
	b.Error.Code, b.Error.Message = e.Code, e.Message
	var out bytes.Buffer
	enc := json.NewEncoder(&out)
	enc.SetEscapeHTML(false) // messages say "<key>"; this is JSON for programs, not HTML
	_ = enc.Encode(b)
	h := w.Header()
	h.Set("Content-Type", "application/json")
	h.Set("Cache-Control", "no-store")
	if e.RetryAfter > 0 {
		h.Set("Retry-After", strconv.Itoa(e.RetryAfter))
	}
	if e.Allow != "" {
		h.Set("Allow", e.Allow)
	}
	w.WriteHeader(status)
	_, _ = w.Write(out.Bytes())
}
