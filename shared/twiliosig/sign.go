// Package twiliosig checks the X-Twilio-Signature header of Twilio's
// form-encoded webhooks (voice and status callbacks, the only kind a route
// takes), as pure functions; the middleware that finds the tenant by
// AccountSid and checks with its auth tokens is in shared/httpapi.
//
// Twilio signs base64(HMAC-SHA1(authToken, URL + parameters)). The URL is
// taken as received, which is how Twilio has it configured: it is always API
// Gateway's domainName and rawPath or the validated PUBLIC_BASE_URL and the
// escaped path. Only the port is in doubt, because Twilio's back end is
// inconsistent about the scheme's default port, so, like twilio-go and
// twilio-node, ValidateForm tries the URL with and without it. twilio-node's
// other forms (the URL re-serialized by the WHATWG parser, and that with its
// query re-encoded by Node's legacy querystring module) undo its own
// re-serialization, which a URL taken as received never had.
package twiliosig

import (
	"crypto/hmac"
	"crypto/sha1"
	"encoding/base64"
	"hash"
	"net/url"
	"slices"
	"strings"
)

// Header is the request header carrying Twilio's signature.
const Header = "X-Twilio-Signature"

// sigLen is the length of base64(HMAC-SHA1), the only length a valid
// signature has; saying no early to any other leaks nothing.
const sigLen = 28

// Sign returns the X-Twilio-Signature Twilio would send for a POST of form to
// rawURL, signed with authToken. The URL is signed exactly as given, as Twilio
// does with the URL configured on the number or TwiML app. It is meant for
// tests and for the dev server's curl examples.
func Sign(rawURL string, form url.Values, authToken string) string {
	msg := appendParams([]byte(rawURL), form)
	sig := macBase64(hmac.New(sha1.New, []byte(authToken)), msg[:len(rawURL)], msg[len(rawURL):])
	return string(sig[:])
}

// ValidateForm reports whether signature is a valid X-Twilio-Signature for a
// form-encoded POST of form to rawURL, made with any one of authTokens (the
// current and, during a rotation, the previous one; empty tokens are
// ignored, since anyone can compute an HMAC with an empty key). rawURL must
// be an absolute http or https URL.
func ValidateForm(rawURL string, form url.Values, signature string, authTokens ...string) bool {
	other, ok := togglePort(rawURL)
	if !ok || len(signature) != sigLen {
		return false
	}
	// One buffer holds both URLs and then the parameters, which the two
	// messages to sign share; 1,024 bytes hold a voice webhook's.
	buf := append(append(make([]byte, 0, 1024), rawURL...), other...)
	buf = appendParams(buf, form)
	n := len(rawURL) + len(other)
	urls := [2][]byte{buf[:len(rawURL)], buf[len(rawURL):n]}
	want := []byte(signature)
	valid := false
	for _, token := range authTokens {
		if token == "" {
			continue
		}
		mac := hmac.New(sha1.New, []byte(token))
		for _, u := range urls {
			// Every form and token is tried, with no early exit, so the time
			// taken does not say which one matched.
			got := macBase64(mac, u, buf[n:])
			valid = hmac.Equal(got[:], want) || valid
		}
	}
	return valid
}

// macBase64 returns base64(HMAC(u + params)) as the header carries it. The
// encoded forms are compared, as Twilio's libraries do, so that a header
// that merely decodes to the same bytes (a non-canonical last character)
// is still refused.
func macBase64(mac hash.Hash, u, params []byte) [sigLen]byte {
	mac.Reset()
	mac.Write(u)
	mac.Write(params)
	var sum [sha1.Size]byte
	var sig [sigLen]byte
	base64.StdEncoding.Encode(sig[:], mac.Sum(sum[:0]))
	return sig
}

// togglePort returns rawURL with its port removed if it has one, or with
// the scheme's default port added if it has none: the two ways Twilio may
// have signed a URL received as rawURL (twilio-node's removePort and
// addPort). Only the authority changes; everything else is kept byte for
// byte. It reports false unless rawURL is an absolute http or https URL.
func togglePort(rawURL string) (string, bool) {
	u, err := url.Parse(rawURL)
	if err != nil || u.Host == "" || strings.HasSuffix(u.Host, ":") {
		return "", false // an empty port ("h:") is in no URL Twilio calls
	}
	var defaultPort string
	switch u.Scheme {
	case "https":
		defaultPort = "443"
	case "http":
		defaultPort = "80"
	default:
		return "", false
	}
	// url.Parse has checked that the authority follows "scheme://" and, like
	// it, ends at the first '/', '?' or '#', with the port (digits) last.
	start := len(u.Scheme) + len("://")
	end := len(rawURL)
	if i := strings.IndexAny(rawURL[start:], "/?#"); i >= 0 {
		end = start + i
	}
	if port := u.Port(); port != "" {
		return rawURL[:end-len(":"+port)] + rawURL[end:], true
	}
	return rawURL[:end] + ":" + defaultPort + rawURL[end:], true
}

// appendParams appends the parameters as Twilio signs them: each key, in
// sorted order, followed by its value, and a repeated key once for each
// distinct value, in sorted order (twilio-node's
// Array.from(new Set(values)).sort(); twilio-go keeps only the first value,
// and the vector "repeated key" shows that is not what Twilio signs).
//
// Strings are sorted and signed as their bytes, where JavaScript sorts UTF-16
// code units and reads invalid UTF-8 as U+FFFD. The orders differ only
// between characters above U+FFFF and those in U+E000..U+FFFF, which
// parameter names do not mix, and Twilio sends valid UTF-8; reading bytes
// as they are only tells more inputs apart.
func appendParams(dst []byte, form url.Values) []byte {
	keys := make([]string, 0, len(form))
	for k := range form {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, k := range keys {
		values := form[k]
		if len(values) > 1 {
			values = slices.Compact(slices.Sorted(slices.Values(values)))
		}
		for _, v := range values {
			dst = append(append(dst, k...), v...)
		}
	}
	return dst
}
