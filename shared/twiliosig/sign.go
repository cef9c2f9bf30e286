// Package twiliosig checks the X-Twilio-Signature header of Twilio webhooks,
// as pure functions (ValidateForm, ValidateBody) and as net/http middleware
// that finds the tenant by AccountSid and checks with its auth tokens.
//
// The decisions copy twilio-node's validateRequest and validateRequestWithBody
// (src/webhooks/webhooks.ts), because Twilio's back end is inconsistent about
// the URL it signs and that library is the reference Twilio maintains: the URL
// is tried as the WHATWG URL parser serializes it, with and without the
// scheme's default port, and each of those with the query re-encoded by
// Node's legacy querystring module. See url.go for the cases this package
// refuses rather than guess at.
package twiliosig

import (
	"crypto/sha1"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/hex"
	"net/url"
	"slices"
	"unicode/utf8"
)

// sigLen is the length of base64(HMAC-SHA1): any other header is wrong, and
// saying so early leaks nothing (the length is public).
const sigLen = 28

// Sign returns the X-Twilio-Signature Twilio would send for a POST of form to
// rawURL, signed with authToken. The URL is signed exactly as given, as Twilio
// does with the URL configured on the number or TwiML app. It is meant for
// tests and for the dev server's curl examples.
func Sign(rawURL string, form url.Values, authToken string) string {
	var params []byte
	params = appendParams(params, form)
	pads := newKeyPads(authToken)
	var stack [1024]byte
	var out [sigLen]byte
	pads.sign(&out, stack[:0], &urlParts{rawURL}, params)
	return string(out[:])
}

// ValidateForm reports whether signature is a valid X-Twilio-Signature for a
// form-encoded POST of form to rawURL, made with any one of authTokens (the
// current and, during a rotation, the previous one; empty tokens are
// ignored, since anyone can compute an HMAC with an empty key).
func ValidateForm(rawURL string, form url.Values, signature string, authTokens ...string) bool {
	if len(signature) != sigLen || !anyToken(authTokens) {
		return false
	}
	u, ok := parseURL(rawURL)
	if !ok {
		return false
	}
	var pstack [1024]byte
	params := appendParams(pstack[:0], form)
	return u.check(signature, params, authTokens)
}

// ValidateBody reports whether a JSON (or other non-form) webhook is genuine:
// signature must be valid for rawURL, which carries the bodySHA256 query
// parameter, with no POST parameters, and bodySHA256 must be the lower-case
// hex SHA-256 of body. Tokens are as for ValidateForm.
func ValidateBody(rawURL string, body []byte, signature string, authTokens ...string) bool {
	if len(signature) != sigLen || !anyToken(authTokens) {
		return false
	}
	u, ok := parseURL(rawURL)
	if !ok {
		return false
	}
	var want [sha256.Size * 2]byte
	sum := sha256.Sum256(body)
	hex.Encode(want[:], sum[:])
	got, _ := formValue(u.query, "bodySHA256")
	// Both checks run whatever the first says: no early exit to time.
	hashOK := subtle.ConstantTimeCompare([]byte(got), want[:]) == 1
	sigOK := u.check(signature, nil, authTokens)
	return sigOK && hashOK
}

func anyToken(tokens []string) bool {
	for _, t := range tokens {
		if t != "" {
			return true
		}
	}
	return false
}

// check tries every URL form twilio-node tries, cheapest and likeliest first,
// building the costlier forms only when the cheaper ones did not match.
func (u *parsedURL) check(signature string, params []byte, tokens []string) bool {
	var want [sigLen]byte
	copy(want[:], signature)
	var stack [1536]byte
	buf := stack[:0]
	try := func(candidate urlParts) bool {
		ok := false
		var got [sigLen]byte
		for _, t := range tokens {
			if t == "" {
				continue
			}
			pads := newKeyPads(t)
			buf = pads.sign(&got, buf, &candidate, params)
			if subtle.ConstantTimeCompare(got[:], want[:]) == 1 {
				ok = true
			}
		}
		return ok
	}
	if try(u.withoutPort()) || try(u.withPort()) {
		return true
	}
	lq, changed := u.legacyQuery()
	if !changed {
		return false
	}
	if try(u.legacyWithoutPort(lq)) {
		return true
	}
	if u.port == "" {
		return false // the port form re-parses to the form just tried
	}
	return try(u.legacyWithPort(lq))
}

// keyPads are the HMAC key XOR ipad and XOR opad blocks (RFC 2104). HMAC is
// written out over sha1.Sum so one contiguous buffer (ipad, URL, params) is
// hashed per candidate with no allocation; TestHMACMatchesStdlib checks it
// against crypto/hmac.
type keyPads struct {
	ipad, opad [64]byte
}

func newKeyPads(token string) keyPads {
	var key [64]byte
	if len(token) > len(key) {
		sum := sha1.Sum([]byte(token))
		copy(key[:], sum[:])
	} else {
		copy(key[:], token)
	}
	var k keyPads
	for i, b := range key {
		k.ipad[i] = b ^ 0x36
		k.opad[i] = b ^ 0x5c
	}
	return k
}

// sign writes base64(HMAC-SHA1(key, url+params)) to out, using buf as
// scratch, and returns buf for reuse.
func (k *keyPads) sign(out *[sigLen]byte, buf []byte, u *urlParts, params []byte) []byte {
	buf = append(buf[:0], k.ipad[:]...)
	for _, part := range u {
		buf = append(buf, part...)
	}
	buf = append(buf, params...)
	inner := sha1.Sum(buf)
	var outer [64 + sha1.Size]byte
	copy(outer[:], k.opad[:])
	copy(outer[64:], inner[:])
	sum := sha1.Sum(outer[:])
	base64.StdEncoding.Encode(out[:], sum[:])
	return buf
}

// appendParams appends each key and its values as twilio-node concatenates
// them: keys in JavaScript sort order (UTF-16 code units), each key followed
// by one value, or, for repeated keys, by each distinct value in sorted order
// (Array.from(new Set(values)).sort()). Strings are taken as JavaScript
// strings would hold them, so invalid UTF-8 becomes U+FFFD first.
func appendParams(dst []byte, form url.Values) []byte {
	var kstack [48]string
	keys := kstack[:0]
	for k := range form {
		if !utf8.ValidString(k) {
			return appendParamsSlow(dst, form)
		}
		keys = append(keys, k)
	}
	slices.SortFunc(keys, compareUTF16)
	for _, k := range keys {
		dst = appendKeyValues(dst, k, form[k])
	}
	return dst
}

// appendParamsSlow handles keys that are not valid UTF-8, merging the values
// of keys that JavaScript would see as one.
func appendParamsSlow(dst []byte, form url.Values) []byte {
	merged := make(map[string][]string, len(form))
	for k, vs := range form {
		wk := wellFormed(k)
		merged[wk] = append(merged[wk], vs...)
	}
	keys := make([]string, 0, len(merged))
	for k := range merged {
		keys = append(keys, k)
	}
	slices.SortFunc(keys, compareUTF16)
	for _, k := range keys {
		dst = appendKeyValues(dst, k, merged[k])
	}
	return dst
}

func appendKeyValues(dst []byte, k string, vs []string) []byte {
	switch len(vs) {
	case 0:
		return dst
	case 1:
		dst = append(dst, k...)
		return append(dst, wellFormed(vs[0])...)
	}
	var vstack [8]string
	sorted := vstack[:0]
	for _, v := range vs {
		sorted = append(sorted, wellFormed(v))
	}
	slices.SortFunc(sorted, compareUTF16)
	for i, v := range sorted {
		if i > 0 && v == sorted[i-1] {
			continue // new Set(values) keeps one of each
		}
		dst = append(dst, k...)
		dst = append(dst, v...)
	}
	return dst
}

// compareUTF16 orders strings as JavaScript's default sort does: by UTF-16
// code units, which differs from byte (code point) order only when a
// character above U+FFFF meets one in U+E000..U+FFFF.
func compareUTF16(a, b string) int {
	i := 0
	for i < len(a) && i < len(b) && a[i] == b[i] {
		i++
	}
	switch {
	case i == len(a) && i == len(b):
		return 0
	case i == len(a):
		return -1
	case i == len(b):
		return 1
	case a[i] < utf8.RuneSelf && b[i] < utf8.RuneSelf:
		return int(a[i]) - int(b[i])
	}
	for i > 0 && !utf8.RuneStart(a[i]) {
		i--
	}
	ra, _ := utf8.DecodeRuneInString(a[i:])
	rb, _ := utf8.DecodeRuneInString(b[i:])
	if ua, ub := firstUnit(ra), firstUnit(rb); ua != ub {
		return int(ua) - int(ub)
	}
	return int(ra) - int(rb)
}

func firstUnit(r rune) rune {
	if r >= 0x10000 {
		return 0xD800 + (r-0x10000)>>10
	}
	return r
}

// wellFormed returns s as a JavaScript string decoded from UTF-8 would hold
// it: each maximal invalid subsequence replaced by U+FFFD, as the WHATWG
// decoder (and so Node's Buffer.toString) does.
func wellFormed(s string) string {
	if utf8.ValidString(s) {
		return s
	}
	return string(decodeUTF8([]byte(s)))
}

// decodeUTF8 applies the WHATWG UTF-8 decoder's replacement rule to b.
func decodeUTF8(b []byte) []byte {
	out := make([]byte, 0, len(b)+8)
	for i := 0; i < len(b); {
		c := b[i]
		if c < utf8.RuneSelf {
			out = append(out, c)
			i++
			continue
		}
		n, lo, hi := 0, byte(0x80), byte(0xBF)
		switch {
		case c >= 0xC2 && c <= 0xDF:
			n = 2
		case c == 0xE0:
			n, lo = 3, 0xA0
		case c == 0xED:
			n, hi = 3, 0x9F
		case c >= 0xE1 && c <= 0xEF:
			n = 3
		case c == 0xF0:
			n, lo = 4, 0x90
		case c == 0xF4:
			n, hi = 4, 0x8F
		case c >= 0xF1 && c <= 0xF3:
			n = 4
		}
		if n == 0 {
			out = utf8.AppendRune(out, utf8.RuneError)
			i++
			continue
		}
		k := 1
		for ; k < n && i+k < len(b); k++ {
			cb := b[i+k]
			if cb < lo || cb > hi {
				break
			}
			lo, hi = 0x80, 0xBF
		}
		if k == n {
			out = append(out, b[i:i+n]...)
		} else {
			out = utf8.AppendRune(out, utf8.RuneError)
		}
		i += k
	}
	return out
}
