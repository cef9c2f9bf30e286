// Package logging builds the JSON slog logger every binary uses, and carries
// per-request fields (request id, CallSid, AccountSid) in the context so that
// every line logged with a request's context names the request it belongs to.
package logging

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"sync"
	"time"

	"github.com/aws/smithy-go"
	smithyhttp "github.com/aws/smithy-go/transport/http"
)

// New returns a JSON logger writing to w at level ("debug", "info", "warn",
// "error"; anything else is info) that adds the context's request fields to
// each record.
func New(w io.Writer, level string) *slog.Logger {
	var l slog.Level
	_ = l.UnmarshalText([]byte(level))
	return slog.New(&ctxHandler{slog.NewJSONHandler(w, &slog.HandlerOptions{Level: l})})
}

type fieldsKey struct{}

// fields is mutable so a handler deep in the chain (the webhook, which learns
// the CallSid) can add to the access line the middleware writes at the end.
type fields struct {
	mu    sync.Mutex
	attrs []slog.Attr
}

// WithFields returns ctx with an empty set of request fields.
func WithFields(ctx context.Context) context.Context {
	return context.WithValue(ctx, fieldsKey{}, &fields{})
}

// Add attaches attrs to every later log line made with ctx (and to the
// request's access line). It is a no-op for a context without fields.
func Add(ctx context.Context, attrs ...slog.Attr) {
	f, _ := ctx.Value(fieldsKey{}).(*fields)
	if f == nil {
		return
	}
	f.mu.Lock()
	f.attrs = append(f.attrs, attrs...)
	f.mu.Unlock()
}

type ctxHandler struct{ slog.Handler }

func (h *ctxHandler) Handle(ctx context.Context, r slog.Record) error {
	if f, _ := ctx.Value(fieldsKey{}).(*fields); f != nil {
		f.mu.Lock()
		r.AddAttrs(f.attrs...)
		f.mu.Unlock()
	}
	return h.Handler.Handle(ctx, r)
}

func (h *ctxHandler) WithAttrs(attrs []slog.Attr) slog.Handler {
	return &ctxHandler{h.Handler.WithAttrs(attrs)}
}

func (h *ctxHandler) WithGroup(name string) slog.Handler {
	return &ctxHandler{h.Handler.WithGroup(name)}
}

// RequestIDHeader carries the request id: API Gateway's own id (set by the
// apigw adapter) or a caller-supplied one on the dev server.
const RequestIDHeader = "X-Request-Id"

// Middleware gives each request a fields context with its request id and
// writes one access line when it is done. It logs method, path, status and
// duration: never headers or bodies, which hold keys and signatures.
func Middleware(log *slog.Logger, now func() time.Time) func(http.Handler) http.Handler {
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			start := now()
			id := r.Header.Get(RequestIDHeader)
			if id == "" || len(id) > 128 {
				id = newID()
			}
			ctx := WithFields(r.Context())
			Add(ctx, slog.String("request_id", id))
			rec := &statusRecorder{ResponseWriter: w, status: http.StatusOK}
			next.ServeHTTP(rec, r.WithContext(ctx))
			log.LogAttrs(ctx, slog.LevelInfo, "request",
				slog.String("method", r.Method),
				slog.String("path", r.URL.Path),
				slog.Int("status", rec.status),
				slog.Float64("duration_ms", float64(now().Sub(start).Microseconds())/1000),
			)
		})
	}
}

type statusRecorder struct {
	http.ResponseWriter
	status int
	wrote  bool
}

func (s *statusRecorder) WriteHeader(code int) {
	if !s.wrote {
		s.status, s.wrote = code, true
	}
	s.ResponseWriter.WriteHeader(code)
}

func (s *statusRecorder) Write(b []byte) (int, error) {
	s.wrote = true
	return s.ResponseWriter.Write(b)
}

// Unwrap lets http.ResponseController reach the underlying writer.
func (s *statusRecorder) Unwrap() http.ResponseWriter { return s.ResponseWriter }

func newID() string {
	var b [8]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

// ErrorKind names an error for a log line without its text, which for an
// AWS error may quote a request or a malformed response (and so a secret):
// "timeout", "canceled", the AWS error code ("ThrottlingException"),
// "malformed response", "connection error" or "request failed".
func ErrorKind(err error) string {
	var api smithy.APIError
	var de *smithy.DeserializationError
	var se *smithyhttp.RequestSendError
	switch {
	case errors.Is(err, context.DeadlineExceeded):
		return "timeout"
	case errors.Is(err, context.Canceled):
		return "canceled"
	case errors.As(err, &api):
		return api.ErrorCode()
	case errors.As(err, &de):
		return "malformed response"
	case errors.As(err, &se):
		return "connection error"
	default:
		return "request failed"
	}
}
