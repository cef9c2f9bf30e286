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
//
// The key can be rotated (NewRotatingLinks): links are accepted under the
// current key or the previous one, so a rotation breaks no link, and a
// second rotation revokes every link signed before the first (a leaked
// link, with all the others of its time).
type Links struct {
	base string
	// static is the one key of NewLinks; nil for rotating links.
	static *Keys
	ring   *keyring
}

// NewLinks returns links under base (the public URL of the API) signed with
// key (at least MinKeyLength bytes), which never changes (the dev server,
// tests).
func NewLinks(key []byte, base string) (*Links, error) {
	if len(key) < MinKeyLength {
		return nil, errors.New("recording link key is shorter than 32 bytes")
	}
	return &Links{static: &Keys{Current: key}, base: strings.TrimRight(base, "/")}, nil
}

// keys returns the keys to use now: the static key, or the keyring's,
// read again first when they are due.
func (l *Links) keys() Keys {
	if l.static != nil {
		return *l.static
	}
	return l.ring.get()
}

// Kinds of link. Each signs under its own name, so a recording's link
// never opens its transcript or the other way round.
const (
	recordingLink  = "recording-link/v1"
	transcriptLink = "transcript-link/v1"
)

// URL returns the link to a recording, valid until expires, signed with the
// current key, or with the previous one in the minutes after a rotation
// when some containers may not know the new key yet (keyring.signing).
func (l *Links) URL(accountSID, recordingSID string, expires time.Time) string {
	return l.url(recordingLink, routes.Recordings, accountSID, recordingSID, expires)
}

// TranscriptURL returns the link to the full transcript of a recording
// (TranscriptTextKey), valid until expires, signed as URL signs.
func (l *Links) TranscriptURL(accountSID, recordingSID string, expires time.Time) string {
	return l.url(transcriptLink, routes.Transcripts, accountSID, recordingSID, expires)
}

func (l *Links) url(kind, path, accountSID, recordingSID string, expires time.Time) string {
	var key []byte
	if l.static != nil {
		key = l.static.Current
	} else {
		key = l.ring.signing()
	}
	exp := strconv.FormatInt(expires.Unix(), 10)
	q := url.Values{"expires": {exp}, "sig": {sign(key, kind, accountSID, recordingSID, exp)}}
	return l.base + path + accountSID + "/" + recordingSID + "?" + q.Encode()
}

// Verify checks a link's expires and sig query values for the recording at
// now, under the current key or the previous one: ErrLinkInvalid for a
// signature that matches neither (or a malformed expiry), ErrLinkExpired
// for a genuine link past its expiry.
func (l *Links) Verify(accountSID, recordingSID, expires, sig string, now time.Time) error {
	return l.verify(recordingLink, accountSID, recordingSID, expires, sig, now)
}

// VerifyTranscript is Verify for a transcript link (TranscriptURL).
func (l *Links) VerifyTranscript(accountSID, recordingSID, expires, sig string, now time.Time) error {
	return l.verify(transcriptLink, accountSID, recordingSID, expires, sig, now)
}

func (l *Links) verify(kind, accountSID, recordingSID, expires, sig string, now time.Time) error {
	exp, err := strconv.ParseInt(expires, 10, 64)
	if err != nil || exp <= 0 || strconv.FormatInt(exp, 10) != expires {
		return ErrLinkInvalid
	}
	k := l.keys()
	ok := false
	for _, key := range [][]byte{k.Current, k.Previous} {
		if key != nil && hmac.Equal([]byte(sig), []byte(sign(key, kind, accountSID, recordingSID, expires))) {
			ok = true
		}
	}
	if !ok {
		return ErrLinkInvalid
	}
	if now.Unix() >= exp {
		return ErrLinkExpired
	}
	return nil
}

func sign(key []byte, kind, accountSID, recordingSID, expires string) string {
	mac := hmac.New(sha256.New, key)
	mac.Write([]byte(kind + "\n" + accountSID + "\n" + recordingSID + "\n" + expires))
	return hex.EncodeToString(mac.Sum(nil))
}
