package logging

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"bubble-twilio-voice/test/kit"
)

// lines decodes every JSON log line in logs.
func lines(t *testing.T, logs string) []map[string]any {
	t.Helper()
	var out []map[string]any
	sc := bufio.NewScanner(strings.NewReader(logs))
	for sc.Scan() {
		var m map[string]any
		if err := json.Unmarshal(sc.Bytes(), &m); err != nil {
			t.Fatalf("log line %q is not JSON: %v", sc.Text(), err)
		}
		out = append(out, m)
	}
	return out
}

func TestMiddlewareAccessLine(t *testing.T) {
	tests := []struct {
		name      string
		requestID string // X-Request-Id sent
		handler   http.HandlerFunc
		status    int
		wantID    func(string) bool
	}{
		{
			name: "honours X-Request-Id", requestID: "abc-123",
			handler: func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(http.StatusCreated) },
			status:  201, wantID: func(id string) bool { return id == "abc-123" },
		},
		{
			name:    "generates an id",
			handler: func(w http.ResponseWriter, r *http.Request) { _, _ = w.Write([]byte("ok")) },
			status:  200, wantID: func(id string) bool { return len(id) == 16 },
		},
		{
			name: "replaces an oversized id", requestID: strings.Repeat("x", 129),
			handler: func(w http.ResponseWriter, r *http.Request) {},
			status:  200, wantID: func(id string) bool { return len(id) == 16 },
		},
		{
			name: "first status wins",
			handler: func(w http.ResponseWriter, r *http.Request) {
				w.WriteHeader(http.StatusNotFound)
				w.WriteHeader(http.StatusInternalServerError)
			},
			status: 404, wantID: func(id string) bool { return id != "" },
		},
		{
			name: "write before WriteHeader is 200",
			handler: func(w http.ResponseWriter, r *http.Request) {
				_, _ = w.Write([]byte("x"))
				w.WriteHeader(http.StatusTeapot)
			},
			status: 200, wantID: func(id string) bool { return id != "" },
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var buf bytes.Buffer
			log := New(&buf, "info")
			h := Middleware(log, (&kit.Clock{Step: 1500 * time.Microsecond}).Now)(tc.handler)
			r := httptest.NewRequest(http.MethodPost, "/token?secret=query", strings.NewReader("body-secret"))
			r.Header.Set("Authorization", "Bearer header-secret")
			if tc.requestID != "" {
				r.Header.Set(RequestIDHeader, tc.requestID)
			}
			w := httptest.NewRecorder()
			h.ServeHTTP(w, r)
			if w.Code != tc.status {
				t.Errorf("client saw %d, want %d", w.Code, tc.status)
			}
			ls := lines(t, buf.String())
			if len(ls) != 1 {
				t.Fatalf("%d log lines, want 1: %s", len(ls), buf.String())
			}
			l := ls[0]
			if l["msg"] != "request" || l["method"] != "POST" || l["path"] != "/token" || l["status"] != float64(tc.status) {
				t.Errorf("access line = %v", l)
			}
			if id, _ := l["request_id"].(string); !tc.wantID(id) {
				t.Errorf("request_id = %q", id)
			}
			if l["duration_ms"] != 1.5 {
				t.Errorf("duration_ms = %v, want 1.5 from the fake clock", l["duration_ms"])
			}
			for _, s := range []string{"header-secret", "body-secret", "secret=query"} {
				if strings.Contains(buf.String(), s) {
					t.Errorf("access line leaks %q: %s", s, buf.String())
				}
			}
		})
	}
}

func TestAddFieldsAppear(t *testing.T) {
	var buf bytes.Buffer
	log := New(&buf, "debug")
	h := Middleware(log, new(kit.Clock).Now)(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		Add(r.Context(), slog.String("account_sid", "AC1"))
		log.InfoContext(r.Context(), "inner")
		Add(r.Context(), slog.String("call_sid", "CA1"))
		w.WriteHeader(http.StatusAccepted)
	}))
	r := httptest.NewRequest(http.MethodGet, "/voice", nil)
	r.Header.Set(RequestIDHeader, "req-1")
	h.ServeHTTP(httptest.NewRecorder(), r)
	ls := lines(t, buf.String())
	if len(ls) != 2 {
		t.Fatalf("%d lines, want 2: %s", len(ls), buf.String())
	}
	inner, access := ls[0], ls[1]
	if inner["msg"] != "inner" || inner["request_id"] != "req-1" || inner["account_sid"] != "AC1" {
		t.Errorf("inner line = %v", inner)
	}
	if _, ok := inner["call_sid"]; ok {
		t.Errorf("inner line has a field added after it: %v", inner)
	}
	if access["request_id"] != "req-1" || access["account_sid"] != "AC1" || access["call_sid"] != "CA1" || access["status"] != float64(202) {
		t.Errorf("access line = %v", access)
	}
}

func TestAddWithoutFields(t *testing.T) {
	ctx := context.Background()
	Add(ctx, slog.String("k", "v")) // must not panic
	var buf bytes.Buffer
	New(&buf, "info").InfoContext(ctx, "plain")
	if l := lines(t, buf.String()); len(l) != 1 || l[0]["k"] != nil {
		t.Errorf("lines = %v", l)
	}
}

func TestNewLevel(t *testing.T) {
	tests := []struct {
		level     string
		debug     bool
		info      bool
		warn      bool
		errorLine bool
	}{
		{"debug", true, true, true, true},
		{"info", false, true, true, true},
		{"warn", false, false, true, true},
		{"error", false, false, false, true},
		{"nonsense", false, true, true, true},
		{"", false, true, true, true},
	}
	for _, tc := range tests {
		t.Run(tc.level, func(t *testing.T) {
			var buf bytes.Buffer
			l := New(&buf, tc.level)
			l.Debug("d")
			l.Info("i")
			l.Warn("w")
			l.Error("e")
			got := map[string]bool{}
			for _, m := range lines(t, buf.String()) {
				got[m["msg"].(string)] = true
			}
			want := map[string]bool{"d": tc.debug, "i": tc.info, "w": tc.warn, "e": tc.errorLine}
			for k, v := range want {
				if got[k] != v {
					t.Errorf("level %q: %s logged = %v, want %v", tc.level, k, got[k], v)
				}
			}
		})
	}
}

func TestWithAttrsKeepsFields(t *testing.T) {
	var buf bytes.Buffer
	log := New(&buf, "info").With(slog.String("function", "token"))
	ctx := WithFields(context.Background())
	Add(ctx, slog.String("request_id", "r1"))
	log.InfoContext(ctx, "x")
	l := lines(t, buf.String())
	if len(l) != 1 || l[0]["function"] != "token" || l[0]["request_id"] != "r1" {
		t.Errorf("lines = %v", l)
	}
}

// TestConcurrentAdd is for the race detector: a handler's goroutines may add
// fields while another logs.
func TestConcurrentAdd(t *testing.T) {
	var logs kit.LogBuffer
	log := New(&logs, "info")
	ctx := WithFields(context.Background())
	var wg sync.WaitGroup
	for i := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			Add(ctx, slog.Int("n", i))
			log.InfoContext(ctx, "x")
		}()
	}
	wg.Wait()
	if n := len(lines(t, logs.String())); n != 8 {
		t.Errorf("%d lines, want 8", n)
	}
}

func TestStatusRecorderUnwrap(t *testing.T) {
	w := httptest.NewRecorder()
	rec := &statusRecorder{ResponseWriter: w}
	if rec.Unwrap() != w {
		t.Error("Unwrap does not return the wrapped writer")
	}
	if err := http.NewResponseController(rec).Flush(); err != nil {
		t.Errorf("Flush through the recorder: %v", err)
	}
}

func BenchmarkMiddleware(b *testing.B) {
	var buf bytes.Buffer
	log := New(&buf, "info")
	h := Middleware(log, time.Now)(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		Add(r.Context(), slog.String("account_sid", "AC0123456789abcdef0123456789abcdef"))
	}))
	r := httptest.NewRequest(http.MethodPost, "/token", nil)
	b.ReportAllocs()
	for b.Loop() {
		buf.Reset()
		h.ServeHTTP(httptest.NewRecorder(), r)
	}
}
