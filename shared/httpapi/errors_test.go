package httpapi

import (
	"bytes"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

func TestStatus(t *testing.T) {
	tests := []struct {
		kind kind
		want int
	}{
		{kindInternal, 500},
		{kindInvalid, 400},
		{kindUnauthorized, 401},
		{kindForbidden, 403},
		{kindMethodNotAllowed, 405},
		{kindTooLarge, 413},
		{kindUnsupportedMedia, 415},
		{kindRateLimited, 429},
		{kindUnavailable, 503},
		{kind(99), 500},
	}
	for _, tc := range tests {
		t.Run(fmt.Sprint(tc.want), func(t *testing.T) {
			if got := tc.kind.status(); got != tc.want {
				t.Errorf("status(%d) = %d, want %d", tc.kind, got, tc.want)
			}
		})
	}
}

func TestWriteError(t *testing.T) {
	cause := errors.New("dial tcp 10.0.0.1:443: SECRET-INTERNAL-TEXT")
	limited := newError(kindRateLimited, "rate_limited", "slow down")
	limited.retryAfter = 7
	notAllowed := newError(kindMethodNotAllowed, "method_not_allowed", "use POST")
	notAllowed.allow = "POST"
	tests := []struct {
		name     string
		err      error
		status   int
		body     string
		headers  map[string]string
		logLevel string
	}{
		{"client error", newError(kindInvalid, "invalid_ttl", "ttl_seconds must be 60..86400"), 400,
			`{"error":{"code":"invalid_ttl","message":"ttl_seconds must be 60..86400"}}`, nil, "INFO"},
		{"wrapped cause is not sent", wrapError(kindUnavailable, "unavailable", "try again", cause), 503,
			`{"error":{"code":"unavailable","message":"try again"}}`, nil, "ERROR"},
		{"plain error is internal", cause, 500,
			`{"error":{"code":"internal","message":"internal error"}}`, nil, "ERROR"},
		{"*apiError found through wrapping", fmt.Errorf("serve: %w", newError(kindForbidden, "forbidden", "no such thing")), 403,
			`{"error":{"code":"forbidden","message":"no such thing"}}`, nil, "INFO"},
		{"retry after", limited, 429, `{"error":{"code":"rate_limited","message":"slow down"}}`,
			map[string]string{"Retry-After": "7"}, "INFO"},
		{"allow", notAllowed, 405, `{"error":{"code":"method_not_allowed","message":"use POST"}}`,
			map[string]string{"Allow": "POST", "Retry-After": ""}, "INFO"},
		{"message is escaped", newError(kindInvalid, "invalid_request", `bad "quote" <tag>`), 400,
			`{"error":{"code":"invalid_request","message":"bad \"quote\" <tag>"}}`, nil, "INFO"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var logs bytes.Buffer
			log := slog.New(slog.NewJSONHandler(&logs, nil))
			w := httptest.NewRecorder()
			writeError(w, httptest.NewRequest(http.MethodGet, "/", nil), log, tc.err)
			if w.Code != tc.status {
				t.Errorf("status %d, want %d", w.Code, tc.status)
			}
			if got := strings.TrimSuffix(w.Body.String(), "\n"); got != tc.body {
				t.Errorf("body %s\nwant %s", got, tc.body)
			}
			want := map[string]string{"Content-Type": "application/json", "Cache-Control": "no-store"}
			for k, v := range tc.headers {
				want[k] = v
			}
			for k, v := range want {
				if got := w.Header().Get(k); got != v {
					t.Errorf("%s = %q, want %q", k, got, v)
				}
			}
			if strings.Contains(w.Body.String(), "SECRET-INTERNAL-TEXT") {
				t.Error("body echoes the internal cause")
			}
			if errors.Is(tc.err, cause) && !strings.Contains(logs.String(), "SECRET-INTERNAL-TEXT") {
				t.Errorf("cause not logged: %s", logs.String())
			}
			if !strings.Contains(logs.String(), `"level":"`+tc.logLevel+`"`) {
				t.Errorf("log %s: want level %s", logs.String(), tc.logLevel)
			}
		})
	}
}

func TestErrorText(t *testing.T) {
	cause := errors.New("cause")
	e := wrapError(kindUnauthorized, "unauthorized", "no", cause)
	if e.Error() != "unauthorized: no: cause" || !errors.Is(e, cause) {
		t.Errorf("Error() = %q, Is = %v", e.Error(), errors.Is(e, cause))
	}
	if got := newError(kindInvalid, "x", "y").Error(); got != "x: y" {
		t.Errorf("Error() = %q", got)
	}
}
