package recordings

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"path"
	"strings"
	"time"
)

// DefaultTwilioAPIBase is Twilio's REST API host, where it serves
// recording media; the default of TWILIO_API_BASE_URL, which tests point at
// a fake (the functions here, the provisioning CLI there).
const DefaultTwilioAPIBase = "https://api.twilio.com"

// MaxBytes bounds one recording (a 4-hour dual-channel call in MP3 is
// about 230 MB; Lambda's /tmp holds 512 MB).
const MaxBytes = 400 << 20

// FetchTimeout bounds one download.
const FetchTimeout = 2 * time.Minute

// Errors of the Fetcher.
var (
	// ErrForeignHost: the RecordingUrl is not on the Twilio API host; it
	// is never requested.
	ErrForeignHost = errors.New("recording URL is not on the Twilio API host")
	// ErrTooLarge: the recording is over MaxBytes.
	ErrTooLarge = errors.New("recording too large")
	// ErrNotFound: no such recording.
	ErrNotFound = errors.New("recording not found")
)

// FetchError is a download that got an HTTP status other than 200.
type FetchError struct{ Status int }

// Error names the status; never the URL.
func (e *FetchError) Error() string {
	return fmt.Sprintf("twilio answered %d to the recording download", e.Status)
}

// Fetcher downloads recording media from Twilio's API host.
type Fetcher struct {
	base   *url.URL
	client *http.Client
}

// NewFetcher returns a fetcher for the Twilio API at base (scheme and host,
// e.g. DefaultTwilioAPIBase; tests give a loopback server).
func NewFetcher(base string) (*Fetcher, error) {
	u, err := url.Parse(strings.TrimRight(base, "/"))
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" || u.User != nil || (u.Path != "" && u.Path != "/") || u.RawQuery != "" {
		return nil, fmt.Errorf("TWILIO_API_BASE_URL %q must be a scheme and host such as %s", base, DefaultTwilioAPIBase)
	}
	f := &Fetcher{base: u}
	f.client = &http.Client{Timeout: FetchTimeout, CheckRedirect: f.checkRedirect}
	return f, nil
}

// Base is the Twilio API base the fetcher accepts.
func (f *Fetcher) Base() string { return f.base.String() }

// Check parses a RecordingUrl and reports ErrForeignHost unless it is on the
// Twilio API host, with the same scheme.
func (f *Fetcher) Check(recordingURL string) (*url.URL, error) {
	u, err := url.Parse(recordingURL)
	if err != nil || u.Scheme != f.base.Scheme || !strings.EqualFold(u.Host, f.base.Host) || u.User != nil {
		return nil, ErrForeignHost
	}
	return u, nil
}

// Host returns the host of a RecordingUrl for a log line ("" when it does
// not parse), never the rest of it.
func Host(recordingURL string) string {
	u, err := url.Parse(recordingURL)
	if err != nil {
		return ""
	}
	return u.Host
}

// Fetch downloads the MP3 of recordingURL with HTTP basic auth (the
// subaccount's API key SID and secret: Twilio may require authentication on
// media URLs) into dst, and returns the number of bytes written. A URL on
// any other host than the Twilio API's is refused with ErrForeignHost and
// never requested. Twilio may redirect to its storage; net/http drops the
// credentials when the redirect leaves the API host.
func (f *Fetcher) Fetch(ctx context.Context, recordingURL, user, password string, dst io.Writer) (int64, error) {
	u, err := f.Check(recordingURL)
	if err != nil {
		return 0, err
	}
	if path.Ext(u.Path) == "" {
		u.Path += ".mp3" // no extension serves WAV, ten times larger
		u.RawPath = ""
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u.String(), nil)
	if err != nil {
		return 0, ErrForeignHost
	}
	req.SetBasicAuth(user, password)
	resp, err := f.client.Do(req)
	if err != nil {
		return 0, fmt.Errorf("recording download: %w", redact(err))
	}
	defer resp.Body.Close()
	switch {
	case resp.StatusCode == http.StatusNotFound:
		return 0, ErrNotFound
	case resp.StatusCode != http.StatusOK:
		return 0, &FetchError{Status: resp.StatusCode}
	case resp.ContentLength > MaxBytes:
		return 0, ErrTooLarge
	}
	n, err := io.Copy(dst, io.LimitReader(resp.Body, MaxBytes+1))
	if err != nil {
		return n, fmt.Errorf("recording download: %w", redact(err))
	}
	if n > MaxBytes {
		return n, ErrTooLarge
	}
	return n, nil
}

// checkRedirect follows at most 3 redirects and only to https (or the
// base's own scheme, for tests).
func (f *Fetcher) checkRedirect(req *http.Request, via []*http.Request) error {
	if len(via) >= 3 {
		return errors.New("too many redirects")
	}
	if req.URL.Scheme != "https" && req.URL.Scheme != f.base.Scheme {
		return errors.New("redirect to a non-https URL")
	}
	return nil
}

// redact drops the URL from a *url.Error: a redirect target may carry a
// signature in its query.
func redact(err error) error {
	if ue, ok := errors.AsType[*url.Error](err); ok {
		return fmt.Errorf("%s: %w", ue.Op, ue.Err)
	}
	return err
}
