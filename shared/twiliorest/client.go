// Package twiliorest is a small client for the parts of Twilio's
// 2010-04-01 REST API that call control uses (Calls, Conferences,
// Participants), over net/http with HTTP Basic auth. It exists instead of
// twilio-go's aggregate client, which links every Twilio product (6.4 MB
// stripped on its own): this one is a few hundred lines of the standard
// library.
//
// Calls that place an outbound call (creating a Participant) are paced per
// account to Twilio's default of one call per second: a request waits for
// its slot, within its context's deadline, rather than failing with 429.
package twiliorest

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"
)

// APIVersion is the path prefix of every resource this client uses.
const APIVersion = "/2010-04-01"

// maxBody bounds one response body read (a page of 50 calls is ~60 KB).
const maxBody = 4 << 20

// Client sends REST requests for any account to one API base. Its zero
// value is not usable; build it with New. It is safe for concurrent use.
type Client struct {
	base  string
	http  *http.Client
	pacer *Pacer
}

// New returns a client for the API at base (scheme and host: config's
// TWILIO_API_BASE_URL, whose default is recordings.DefaultTwilioAPIBase;
// tests give a fake's URL). hc nil uses a client
// with a 10 s timeout; pacer nil paces nothing.
func New(base string, hc *http.Client, pacer *Pacer) (*Client, error) {
	u, err := url.Parse(strings.TrimRight(base, "/"))
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" || u.User != nil || u.Path != "" || u.RawQuery != "" {
		return nil, fmt.Errorf("twilio API base %q must be a scheme and a host, nothing more", base)
	}
	if hc == nil {
		hc = &http.Client{Timeout: 10 * time.Second}
	}
	return &Client{base: u.String(), http: hc, pacer: pacer}, nil
}

// Credentials authenticate as one account: an API key SID and secret of
// that account (or its SID and auth token).
type Credentials struct {
	AccountSID string
	Username   string // API key SID (SK...) or the account SID
	Password   string // API key secret or auth token; never logged
}

// Account is the client bound to one account's credentials.
type Account struct {
	c    *Client
	cred Credentials
}

// For binds the client to one account.
func (c *Client) For(cred Credentials) *Account { return &Account{c: c, cred: cred} }

// Error is Twilio's error answer: the HTTP status and Twilio's error code
// (https://www.twilio.com/docs/api/errors). Its text never carries the
// request's URL or credentials.
type Error struct {
	Status  int
	Code    int
	Message string
}

func (e *Error) Error() string {
	return fmt.Sprintf("twilio: HTTP %d, error %d: %s", e.Status, e.Code, e.Message)
}

// CodeCallNotActive is Twilio's error code for a call that has ended: it
// cannot be redirected. (Call control reads 404 and 429 by HTTP status.)
const CodeCallNotActive = 21220

// IsNotFound reports whether err is Twilio's 404.
func IsNotFound(err error) bool {
	var e *Error
	return errors.As(err, &e) && e.Status == http.StatusNotFound
}

// IsTooManyRequests reports whether err is Twilio's 429, still there when
// the request's deadline left no time to send it again.
func IsTooManyRequests(err error) bool {
	var e *Error
	return errors.As(err, &e) && e.Status == http.StatusTooManyRequests
}

// IsCallEnded reports whether err says the call is no longer in progress.
func IsCallEnded(err error) bool {
	var e *Error
	return errors.As(err, &e) && e.Code == CodeCallNotActive
}

// do sends one request and decodes a JSON answer into out (nil: discard).
// A 429 is retried after a second when the context allows it: Twilio says
// such a request was never processed.
func (a *Account) do(ctx context.Context, method, path string, form url.Values, out any) error {
	for {
		err := a.once(ctx, method, path, form, out)
		var e *Error
		if !errors.As(err, &e) || e.Status != http.StatusTooManyRequests {
			return err
		}
		if werr := sleep(ctx, retryAfter); werr != nil {
			return err
		}
	}
}

// retryAfter is how long a 429 is waited out before the one request is
// sent again.
const retryAfter = time.Second

func (a *Account) once(ctx context.Context, method, path string, form url.Values, out any) error {
	u := a.c.base + path
	var body io.Reader
	if method == http.MethodGet || method == http.MethodDelete {
		if len(form) > 0 {
			u += "?" + form.Encode()
		}
	} else {
		body = strings.NewReader(form.Encode())
	}
	req, err := http.NewRequestWithContext(ctx, method, u, body)
	if err != nil {
		return fmt.Errorf("twilio %s request: %w", method, err)
	}
	req.SetBasicAuth(a.cred.Username, a.cred.Password)
	req.Header.Set("Accept", "application/json")
	if body != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	resp, err := a.c.http.Do(req)
	if err != nil {
		return fmt.Errorf("twilio %s: %w", method, unwrapURL(err))
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, maxBody))
	if err != nil {
		return fmt.Errorf("twilio %s: read answer: %w", method, err)
	}
	if resp.StatusCode >= 300 {
		e := &Error{Status: resp.StatusCode}
		var tw struct {
			Code    int    `json:"code"`
			Message string `json:"message"`
		}
		if json.Unmarshal(data, &tw) == nil {
			e.Code, e.Message = tw.Code, tw.Message
		}
		return e
	}
	if out == nil || resp.StatusCode == http.StatusNoContent {
		return nil
	}
	if err := json.Unmarshal(data, out); err != nil {
		return fmt.Errorf("twilio %s: decode answer: %w", method, err)
	}
	return nil
}

// unwrapURL drops the *url.Error wrapper, whose text quotes the URL.
func unwrapURL(err error) error {
	if ue, ok := errors.AsType[*url.Error](err); ok {
		return ue.Err
	}
	return err
}

func sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

func (a *Account) path(parts ...string) string {
	var b strings.Builder
	b.WriteString(APIVersion + "/Accounts/")
	b.WriteString(url.PathEscape(a.cred.AccountSID))
	for _, p := range parts {
		b.WriteByte('/')
		b.WriteString(url.PathEscape(p))
	}
	b.WriteString(".json")
	return b.String()
}

func setString(f url.Values, name, v string) {
	if v != "" {
		f.Set(name, v)
	}
}
