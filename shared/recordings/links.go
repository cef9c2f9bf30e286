package recordings

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"net/url"
	"strconv"
	"strings"
	"time"

	"bubble-twilio-voice/shared/routes"
)

// MinKeyLength is the shortest link key accepted.
const MinKeyLength = 32

// Errors of Links.Verify.
var (
	ErrLinkInvalid = errors.New("recording link is not valid")
	ErrLinkExpired = errors.New("recording link has expired")
)

// Links signs and checks recording links: base + "/recordings/<AccountSid>/
// <RecordingSid>?expires=<unix>&sig=<hex HMAC-SHA256>". A link stays valid
// until expires whatever happens to the AWS credentials of the function
// that made it, which a presigned S3 URL does not (it dies with the
// session that signed it); the route behind the link presigns a fresh
// short-lived S3 URL at each click.
type Links struct {
	key  []byte
	base string
}

// NewLinks returns links under base (the public URL of the API) signed with
// key (at least MinKeyLength bytes).
func NewLinks(key []byte, base string) (*Links, error) {
	if len(key) < MinKeyLength {
		return nil, errors.New("recording link key is shorter than 32 bytes")
	}
	return &Links{key: key, base: strings.TrimRight(base, "/")}, nil
}

// URL returns the link to a recording, valid until expires.
func (l *Links) URL(accountSID, recordingSID string, expires time.Time) string {
	exp := strconv.FormatInt(expires.Unix(), 10)
	q := url.Values{"expires": {exp}, "sig": {l.sign(accountSID, recordingSID, exp)}}
	return l.base + routes.Recordings + accountSID + "/" + recordingSID + "?" + q.Encode()
}

// Verify checks a link's expires and sig query values for the recording at
// now: ErrLinkInvalid for a signature that does not match (or a malformed
// expiry), ErrLinkExpired for a genuine link past its expiry.
func (l *Links) Verify(accountSID, recordingSID, expires, sig string, now time.Time) error {
	exp, err := strconv.ParseInt(expires, 10, 64)
	if err != nil || exp <= 0 || strconv.FormatInt(exp, 10) != expires {
		return ErrLinkInvalid
	}
	if !hmac.Equal([]byte(sig), []byte(l.sign(accountSID, recordingSID, expires))) {
		return ErrLinkInvalid
	}
	if now.Unix() >= exp {
		return ErrLinkExpired
	}
	return nil
}

func (l *Links) sign(accountSID, recordingSID, expires string) string {
	mac := hmac.New(sha256.New, l.key)
	mac.Write([]byte("recording-link/v1\n" + accountSID + "\n" + recordingSID + "\n" + expires))
	return hex.EncodeToString(mac.Sum(nil))
}
