package events

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"bubble-twilio-voice/shared/tenant"
)

// receiver is an app endpoint that answers with answer and keeps the last
// request it got.
type receiver struct {
	mu     sync.Mutex
	header http.Header
	body   []byte
	n      int
}

func (rc *receiver) serve(answer func(w http.ResponseWriter)) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		rc.mu.Lock()
		rc.header, rc.body = r.Header.Clone(), b
		rc.n++
		rc.mu.Unlock()
		answer(w)
	})
}

func status(code int, kv ...string) func(http.ResponseWriter) {
	return func(w http.ResponseWriter) {
		for i := 0; i+1 < len(kv); i += 2 {
			w.Header().Set(kv[i], kv[i+1])
		}
		w.WriteHeader(code)
	}
}

func TestSendOutcomes(t *testing.T) {
	tests := []struct {
		name       string
		answer     func(http.ResponseWriter)
		want       Outcome
		wantStatus int
		wantAfter  time.Duration
	}{
		{"200", status(200), Delivered, 200, 0},
		{"204", status(204), Delivered, 204, 0},
		{"429 with Retry-After", status(429, "Retry-After", "30"), Retry, 429, 30 * time.Second},
		{"500", status(500), Retry, 500, 0},
		{"503", status(503, "Retry-After", "5"), Retry, 503, 5 * time.Second},
		{"404: Bubble workflow not found", status(404), Rejected, 404, 0},
		{"401: wrong API token", status(401), Rejected, 401, 0},
		{"400", status(400), Rejected, 400, 0},
		{"302 is not followed", status(302, "Location", "https://elsewhere.example/"), Rejected, 302, 0},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			rc := &receiver{}
			srv := httptest.NewServer(rc.serve(tc.answer))
			defer srv.Close()
			r := NewPoster(func() time.Time { return now }).Post(context.Background(), &tenant.Events{URL: srv.URL + "/api/1.1/wf/call-event"}, sample())
			if r.Err != nil || r.Status != tc.wantStatus || r.Outcome() != tc.want || r.RetryAfter != tc.wantAfter {
				t.Errorf("Send = %+v (%s), want status %d (%s) retry after %s", r, r.Outcome(), tc.wantStatus, tc.want, tc.wantAfter)
			}
			if rc.n != 1 {
				t.Errorf("receiver got %d requests, want 1", rc.n)
			}
		})
	}
}

func TestSendHeadersAndSignature(t *testing.T) {
	const bearer, secret = "bubble-api-token-0123456789", "signing-secret-0123456789"
	rc := &receiver{}
	srv := httptest.NewServer(rc.serve(status(200)))
	defer srv.Close()
	e := sample()
	tests := []struct {
		name     string
		dest     tenant.Events
		wantAuth string
		signed   bool
	}{
		{"bearer and signature", tenant.Events{URL: srv.URL, BearerToken: bearer, SigningSecret: secret}, "Bearer " + bearer, true},
		{"neither", tenant.Events{URL: srv.URL}, "", false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if r := NewPoster(time.Now).Post(context.Background(), &tc.dest, e); r.Outcome() != Delivered {
				t.Fatalf("Send = %+v", r)
			}
			h := rc.header
			if got := h.Get("Content-Type"); got != "application/json" {
				t.Errorf("Content-Type %q", got)
			}
			if got := h.Get("X-Event-Id"); got != e.ID {
				t.Errorf("X-Event-Id %q, want %q", got, e.ID)
			}
			if got := h.Get("Authorization"); got != tc.wantAuth {
				t.Errorf("Authorization %q, want %q", got, tc.wantAuth)
			}
			var back Event
			if err := json.Unmarshal(rc.body, &back); err != nil || back != e {
				t.Errorf("body %s does not decode to the event: %v", rc.body, err)
			}
			sig := h.Get("X-Signature")
			if !tc.signed {
				if sig != "" {
					t.Errorf("X-Signature %q without a signing secret", sig)
				}
				return
			}
			// The receiver's check, written the way a receiver would.
			mac := hmac.New(sha256.New, []byte(secret))
			mac.Write(rc.body)
			want := "sha256=" + hex.EncodeToString(mac.Sum(nil))
			if !hmac.Equal([]byte(sig), []byte(want)) {
				t.Errorf("X-Signature %q, want %q", sig, want)
			}
		})
	}
}

func TestSendFailures(t *testing.T) {
	hang := make(chan struct{})
	hanging := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-hang:
		case <-r.Context().Done():
		}
	}))
	defer hanging.Close()
	defer close(hang)
	closed := httptest.NewServer(http.NotFoundHandler())
	closedURL := closed.URL
	closed.Close()

	fast := &http.Client{Timeout: 150 * time.Millisecond}
	tests := []struct {
		name    string
		url     string
		wantErr error
	}{
		{"app hangs", hanging.URL, ErrTimeout},
		{"app down", closedURL, ErrNetwork},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			start := time.Now()
			r := NewPosterWithClient(fast, time.Now).Post(context.Background(), &tenant.Events{URL: tc.url, BearerToken: "tok-0123456789abcdef"}, sample())
			if !errors.Is(r.Err, tc.wantErr) || r.Outcome() != Retry {
				t.Errorf("Send = %+v, want %v and a retry", r, tc.wantErr)
			}
			if el := time.Since(start); el > 5*time.Second {
				t.Errorf("took %s", el)
			}
			if r.Err != nil && (strings.Contains(r.Err.Error(), "127.0.0.1") || strings.Contains(r.Err.Error(), "tok-")) {
				t.Errorf("error %q names the destination", r.Err)
			}
		})
	}
}

func TestNewPosterTimeout(t *testing.T) {
	if s := NewPoster(time.Now); s.client.Timeout != 10*time.Second {
		t.Errorf("timeout %s, want 10 s", s.client.Timeout)
	}
}

func sample() Event {
	e, _ := CallCompleted(form("From", "client:alice", "To", "+14155550123", "CallStatus", "completed", "CallDuration", "42"), now)
	return e
}

func TestPostKeepsTheStartOfTheAnswer(t *testing.T) {
	long := strings.Repeat("x", 5000)
	tests := []struct{ name, body, want string }{
		{"bubble's answer", `{"status":"success","response":{}}`, `{"status":"success","response":{}}`},
		{"long", long, long[:AnswerBodyShown]},
		{"empty", "", ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, tc.body) }))
			defer srv.Close()
			a := NewPoster(time.Now).Post(context.Background(), &tenant.Events{URL: srv.URL}, sample())
			if a.Status != 200 || string(a.Body) != tc.want {
				t.Errorf("Post = status %d body %q, want 200 %q", a.Status, a.Body, tc.want)
			}
		})
	}
}
