package events

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"time"

	"bubble-twilio-voice/shared/tenant"
)

// Headers of an event POST.
const (
	HeaderEventID   = "X-Event-Id"
	HeaderSignature = "X-Signature"
)

// Timeout bounds one POST to the app, connection and response included.
const Timeout = 10 * time.Second

// Poster POSTs events to tenants' apps. The zero value is not usable; use
// NewPoster.
type Poster struct {
	client *http.Client
	now    func() time.Time
}

// NewPoster returns a Poster whose POSTs time out after Timeout and do not
// follow redirects (a 3xx is the app refusing the event). now is the clock
// used to read a Retry-After date.
func NewPoster(now func() time.Time) *Poster {
	return NewPosterWithClient(&http.Client{Timeout: Timeout}, now)
}

// NewPosterWithClient is NewPoster with the caller's client (tests set a
// shorter timeout); redirects are turned off on it.
func NewPosterWithClient(c *http.Client, now func() time.Time) *Poster {
	c.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	return &Poster{client: c, now: now}
}

// Answer is the app's answer to one POST. Err is set when no response came; it
// never contains the URL (it could carry a secret a tenant put in a query).
type Answer struct {
	Status     int
	RetryAfter time.Duration
	Err        error
	// Body is the start of the app's answer (at most AnswerBodyShown
	// bytes), for `subaccounts events test` to show a person. It is the
	// app's own text: never logged.
	Body []byte
}

// AnswerBodyShown is how much of the app's answer an Answer keeps.
const AnswerBodyShown = 200

// Outcome classifies the answer.
func (a Answer) Outcome() Outcome { return Classify(a.Status) }

// Errors of Post, for logs.
var (
	ErrTimeout = errors.New("app did not answer in time")
	ErrNetwork = errors.New("app unreachable")
)

// Post POSTs e to dest as JSON with X-Event-Id, the bearer token and the
// body's signature, when dest has them.
func (s *Poster) Post(ctx context.Context, dest *tenant.Events, e Event) Answer {
	body, _ := json.Marshal(e) // only strings and numbers: cannot fail
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, dest.URL, bytes.NewReader(body))
	if err != nil {
		return Answer{Err: ErrNetwork}
	}
	h := req.Header
	h.Set("Content-Type", "application/json")
	h.Set("User-Agent", "bubble-twilio-voice-events/1")
	h.Set(HeaderEventID, e.ID)
	if dest.BearerToken != "" {
		h.Set("Authorization", "Bearer "+dest.BearerToken)
	}
	if dest.SigningSecret != "" {
		h.Set(HeaderSignature, Sign(dest.SigningSecret, body))
	}
	resp, err := s.client.Do(req)
	if err != nil {
		if errors.Is(err, context.DeadlineExceeded) || isTimeout(err) {
			return Answer{Err: ErrTimeout}
		}
		return Answer{Err: ErrNetwork}
	}
	defer resp.Body.Close()
	head, _ := io.ReadAll(io.LimitReader(resp.Body, AnswerBodyShown))
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10)) // keep the connection reusable
	return Answer{Status: resp.StatusCode, RetryAfter: parseRetryAfter(resp.Header.Get("Retry-After"), s.now()), Body: head}
}

// Sign returns the X-Signature value of body: "sha256=" and the hex
// HMAC-SHA256 of the raw body with secret as the key.
func Sign(secret string, body []byte) string {
	mac := hmac.New(sha256.New, []byte(secret))
	mac.Write(body)
	return "sha256=" + hex.EncodeToString(mac.Sum(nil))
}

func isTimeout(err error) bool {
	var t interface{ Timeout() bool }
	return errors.As(err, &t) && t.Timeout()
}
