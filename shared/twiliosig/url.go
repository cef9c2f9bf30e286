package twiliosig

import (
	"net/netip"
	"slices"
	"strconv"
	"strings"
)

// parsedURL is a webhook URL split into the parts twilio-node recombines:
// it checks new URL(url) serialized without its port, with its port (the
// scheme's default when it has none), and both of those with the query put
// through Node's legacy querystring.parse and stringify.
//
// Parts are substrings of the URL given whenever the WHATWG serializer would
// leave them unchanged, which is the usual case, so building the forms costs
// no allocation: they are written straight into the HMAC buffer.
//
// parseURL reproduces the WHATWG parser for http and https URLs, which is all
// a webhook can be. It refuses (and so the signature check fails closed) the
// few inputs whose serialization it does not reproduce exactly: fragments,
// hosts that need IDNA mapping or percent-decoding, non-dotted-quad IPv4
// forms, IPv4-mapped IPv6 literals, userinfo needing percent-encoding, '^'
// in the path (its encoding changed between URL standard revisions), and
// slashes other than exactly "//" after the scheme. None of them occur in a
// URL that URLFunc builds.
type parsedURL struct {
	origin   string // scheme "://" userinfo host, without port
	port     string // ":N" when explicit and not the scheme's default
	defPort  string // ":443" or ":80"
	path     string
	query    string
	hasQuery bool // a "?" was present, even with nothing after it
}

// urlParts is one candidate URL as pieces to concatenate.
type urlParts [5]string

func (u *parsedURL) withoutPort() urlParts {
	return urlParts{u.origin, u.path, qmark(u.hasQuery), u.query}
}

func (u *parsedURL) withPort() urlParts {
	if u.port != "" {
		return urlParts{u.origin, u.port, u.path, qmark(u.hasQuery), u.query}
	}
	// twilio-node builds this form from url.search, which is "" for an
	// empty query, so a bare trailing "?" is dropped here only.
	return urlParts{u.origin, u.defPort, u.path, qmark(u.query != ""), u.query}
}

// legacyQuery returns the query as Node's querystring module re-encodes it,
// and whether that differs from the query (when it does not, the legacy
// forms are the forms already tried).
func (u *parsedURL) legacyQuery() (string, bool) {
	if u.query == "" {
		return "", false // twilio-node returns the URL unchanged
	}
	lq := legacyQueryString(u.query)
	return lq, lq != u.query
}

func (u *parsedURL) legacyWithoutPort(lq string) urlParts {
	return urlParts{u.origin, u.path, "?", lq}
}

func (u *parsedURL) legacyWithPort(lq string) urlParts {
	return urlParts{u.origin, u.port, u.path, "?", lq}
}

func qmark(b bool) string {
	if b {
		return "?"
	}
	return ""
}

// parseURL splits raw as the WHATWG URL parser would, or reports false for
// an invalid URL or one of the cases parsedURL's comment lists.
func parseURL(raw string) (parsedURL, bool) {
	var u parsedURL
	raw = cleanURL(raw)
	var scheme, rest string
	switch {
	case len(raw) >= 8 && strings.EqualFold(raw[:8], "https://"):
		scheme, u.defPort, rest = "https://", ":443", raw[8:]
	case len(raw) >= 7 && strings.EqualFold(raw[:7], "http://"):
		scheme, u.defPort, rest = "http://", ":80", raw[7:]
	default:
		return u, false
	}
	if rest == "" || rest[0] == '/' || rest[0] == '\\' {
		return u, false
	}
	end := strings.IndexAny(rest, "/\\?#")
	if end < 0 {
		end = len(rest)
	}
	auth, tail := rest[:end], rest[end:]
	if strings.IndexByte(tail, '#') >= 0 {
		return u, false
	}

	userinfo, rawUserinfo, hostport := "", "", auth
	if at := strings.LastIndexByte(auth, '@'); at >= 0 {
		var ok bool
		if userinfo, ok = serializeUserinfo(auth[:at]); !ok {
			return u, false
		}
		rawUserinfo, hostport = auth[:at+1], auth[at+1:]
	}
	rawHost, port, ok := splitHostPort(hostport)
	if !ok {
		return u, false
	}
	host, ok := serializeHost(rawHost)
	if !ok {
		return u, false
	}
	if u.port, ok = serializePort(port, u.defPort); !ok {
		return u, false
	}
	if raw[:len(scheme)] == scheme && userinfo == rawUserinfo && host == rawHost {
		u.origin = raw[:len(scheme)+len(userinfo)+len(host)] // no allocation
	} else {
		u.origin = scheme + userinfo + host
	}

	pathPart := tail
	if q := strings.IndexByte(tail, '?'); q >= 0 {
		pathPart, u.query, u.hasQuery = tail[:q], tail[q+1:], true
	}
	if u.path, ok = serializePath(pathPart); !ok {
		return u, false
	}
	u.query = encodeSet(u.query, inQuerySet)
	return u, true
}

// cleanURL strips leading and trailing C0 controls and spaces and removes
// tabs and newlines, as the WHATWG parser does first.
func cleanURL(s string) string {
	s = strings.TrimFunc(s, func(r rune) bool { return r <= ' ' })
	if strings.ContainsAny(s, "\t\n\r") {
		s = strings.NewReplacer("\t", "", "\n", "", "\r", "").Replace(s)
	}
	return s
}

func serializeUserinfo(s string) (string, bool) {
	user, pass, _ := strings.Cut(s, ":")
	for _, part := range []string{user, pass} {
		for i := 0; i < len(part); i++ {
			if !isUserinfoSafe(part[i]) {
				return "", false
			}
		}
	}
	switch {
	case user == "" && pass == "":
		return "", true
	case pass == "":
		return user + "@", true
	default:
		return user + ":" + pass + "@", true
	}
}

func isUserinfoSafe(c byte) bool {
	return isAlnum(c) || strings.IndexByte("-._~!$&'()*+,%", c) >= 0
}

func splitHostPort(hp string) (host, port string, ok bool) {
	if strings.HasPrefix(hp, "[") {
		end := strings.IndexByte(hp, ']')
		if end < 0 {
			return "", "", false
		}
		host, rest := hp[:end+1], hp[end+1:]
		if rest == "" {
			return host, "", true
		}
		if rest[0] != ':' {
			return "", "", false
		}
		return host, rest[1:], true
	}
	host, port, _ = strings.Cut(hp, ":")
	if strings.IndexByte(port, ':') >= 0 {
		return "", "", false
	}
	return host, port, true
}

// serializeHost lower-cases a plain ASCII domain and checks the forms whose
// serialization differs from the input (see parsedURL).
func serializeHost(h string) (string, bool) {
	if h == "" {
		return "", false
	}
	if h[0] == '[' {
		a, err := netip.ParseAddr(h[1 : len(h)-1])
		if err != nil || !a.Is6() || a.Is4In6() || a.Zone() != "" {
			return "", false
		}
		return "[" + a.String() + "]", true
	}
	upper := false
	for i := 0; i < len(h); i++ {
		c := h[i]
		if !isAlnum(c) && c != '-' && c != '.' && c != '_' {
			return "", false
		}
		upper = upper || c >= 'A' && c <= 'Z'
	}
	if upper {
		h = strings.ToLower(h)
	}
	last := strings.TrimSuffix(h, ".")
	if last == "" {
		last = h
	}
	last = last[strings.LastIndexByte(last, '.')+1:]
	if !endsInNumber(last) {
		return h, true
	}
	// An IPv4 address: accept only the canonical dotted quad.
	labels := strings.Split(h, ".")
	if len(labels) != 4 {
		return "", false
	}
	for _, l := range labels {
		n, err := strconv.Atoi(l)
		if err != nil || n > 255 || l != strconv.Itoa(n) {
			return "", false
		}
	}
	return h, true
}

func endsInNumber(label string) bool {
	if label == "" {
		return false
	}
	if allDigits(label) {
		return true
	}
	if len(label) >= 2 && label[0] == '0' && (label[1] == 'x' || label[1] == 'X') {
		for i := 2; i < len(label); i++ {
			if !isHex(label[i]) {
				return false
			}
		}
		return true
	}
	return false
}

func serializePort(p, def string) (string, bool) {
	if p == "" {
		return "", true
	}
	if !allDigits(p) {
		return "", false
	}
	p = strings.TrimLeft(p, "0")
	if p == "" {
		p = "0"
	}
	if len(p) > 5 {
		return "", false
	}
	n, _ := strconv.Atoi(p)
	if n > 65535 {
		return "", false
	}
	if ":"+p == def {
		return "", true
	}
	return ":" + p, true
}

// serializePath returns the path as the WHATWG serializer writes it for a
// special scheme: "/" when empty, backslashes as slashes, dot segments
// resolved, and the path percent-encode set encoded. The input is returned
// as it is when none of that applies.
func serializePath(p string) (string, bool) {
	if p == "" {
		return "/", true
	}
	rewrite := false
	segStart := 1
	for i := 0; i <= len(p); i++ {
		if i == len(p) || p[i] == '/' || p[i] == '\\' {
			if i > 0 && isDotSegment(p[segStart:i]) {
				rewrite = true
			}
			if i < len(p) && p[i] == '\\' {
				rewrite = true
			}
			segStart = i + 1
			continue
		}
		if p[i] == '^' {
			return "", false
		}
		if inPathSet(p[i]) {
			rewrite = true
		}
	}
	if !rewrite {
		return p, true
	}
	var segs []string
	rest := p[1:]
	for {
		end := strings.IndexAny(rest, "/\\")
		last := end < 0
		seg := rest
		if !last {
			seg = rest[:end]
		}
		switch {
		case isDoubleDot(seg):
			if len(segs) > 0 {
				segs = segs[:len(segs)-1]
			}
			if last {
				segs = append(segs, "")
			}
		case isSingleDot(seg):
			if last {
				segs = append(segs, "")
			}
		default:
			segs = append(segs, encodeSet(seg, inPathSet))
		}
		if last {
			break
		}
		rest = rest[end+1:]
	}
	return "/" + strings.Join(segs, "/"), true
}

func isDotSegment(s string) bool { return isSingleDot(s) || isDoubleDot(s) }

func isSingleDot(s string) bool { return s == "." || strings.EqualFold(s, "%2e") }

func isDoubleDot(s string) bool {
	switch strings.ToLower(s) {
	case "..", ".%2e", "%2e.", "%2e%2e":
		return true
	}
	return false
}

// inPathSet is the WHATWG path percent-encode set ('^' is refused earlier).
func inPathSet(c byte) bool {
	return c <= ' ' || c >= 0x7f || strings.IndexByte("\"#<>?`{}", c) >= 0
}

// inQuerySet is the WHATWG special-query percent-encode set.
func inQuerySet(c byte) bool {
	return c <= ' ' || c >= 0x7f || strings.IndexByte("\"#<>'", c) >= 0
}

// encodeSet percent-encodes the bytes of s that are in the set, returning s
// itself (no allocation) when there are none.
func encodeSet(s string, in func(byte) bool) string {
	i := 0
	for i < len(s) && !in(s[i]) {
		i++
	}
	if i == len(s) {
		return s
	}
	var b strings.Builder
	b.Grow(len(s) + 8)
	b.WriteString(s[:i])
	for ; i < len(s); i++ {
		if c := s[i]; in(c) {
			b.WriteByte('%')
			b.WriteByte(upperHex[c>>4])
			b.WriteByte(upperHex[c&15])
		} else {
			b.WriteByte(c)
		}
	}
	return b.String()
}

const upperHex = "0123456789ABCDEF"

// legacyQueryString is querystring.stringify(querystring.parse(q)) from
// Node, which twilio-node applies to the query of its fallback URL forms:
// '+' becomes a space, escapes are decoded (leniently) and re-encoded with
// encodeURIComponent's rules, repeated keys are grouped at the place of
// their first occurrence, and integer-like keys move to the front in
// numeric order (JavaScript's object key order). Node's parser stops after
// 1,000 pairs; this one does not, because that cap would let a forger pad a
// signed URL with empty pairs and append unsigned parameters.
func legacyQueryString(q string) string {
	type entry struct {
		key    string
		values []string
	}
	var entries []entry
	index := make(map[string]int)
	for pair := range strings.SplitSeq(q, "&") {
		if pair == "" {
			continue
		}
		k, v, _ := strings.Cut(pair, "=")
		k, v = decodeComponent(k), decodeComponent(v)
		if i, ok := index[k]; ok {
			entries[i].values = append(entries[i].values, v)
			continue
		}
		index[k] = len(entries)
		entries = append(entries, entry{k, []string{v}})
	}
	slices.SortStableFunc(entries, func(a, b entry) int {
		ai, aok := arrayIndex(a.key)
		bi, bok := arrayIndex(b.key)
		switch {
		case aok && bok:
			return int(ai - bi)
		case aok:
			return -1
		case bok:
			return 1
		}
		return 0
	})
	var b strings.Builder
	b.Grow(len(q) + 16)
	for _, e := range entries {
		for _, v := range e.values {
			if b.Len() > 0 {
				b.WriteByte('&')
			}
			escapeComponent(&b, e.key)
			b.WriteByte('=')
			escapeComponent(&b, v)
		}
	}
	return b.String()
}

// arrayIndex reports whether k is a canonical array index (0..2^32-2),
// which JavaScript lists before other keys.
func arrayIndex(k string) (int64, bool) {
	if k == "" || len(k) > 10 || !allDigits(k) || (len(k) > 1 && k[0] == '0') {
		return 0, false
	}
	n, err := strconv.ParseInt(k, 10, 64)
	if err != nil || n > 1<<32-2 {
		return 0, false
	}
	return n, true
}

// escapeComponent is Node's querystring.escape: everything but
// A-Z a-z 0-9 - _ . ! ~ * ' ( ) is percent-encoded as UTF-8.
func escapeComponent(b *strings.Builder, s string) {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if isAlnum(c) || strings.IndexByte("-_.!~*'()", c) >= 0 {
			b.WriteByte(c)
			continue
		}
		b.WriteByte('%')
		b.WriteByte(upperHex[c>>4])
		b.WriteByte(upperHex[c&15])
	}
}

// decodeComponent decodes one application/x-www-form-urlencoded name or
// value as both Node's querystring and URLSearchParams do: '+' is a space,
// %XX is a byte, a '%' not followed by two hex digits stays, and the bytes
// are read as UTF-8 with U+FFFD for invalid sequences.
func decodeComponent(s string) string {
	if strings.IndexByte(s, '%') < 0 && strings.IndexByte(s, '+') < 0 {
		return s
	}
	b := make([]byte, 0, len(s))
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case c == '+':
			b = append(b, ' ')
		case c == '%' && i+2 < len(s) && isHex(s[i+1]) && isHex(s[i+2]):
			b = append(b, unhex(s[i+1])<<4|unhex(s[i+2]))
			i += 2
		default:
			b = append(b, c)
		}
	}
	return string(decodeUTF8(b))
}

// formValue returns the first value of name in the query q, as
// URLSearchParams.get does.
func formValue(q, name string) (string, bool) {
	for pair := range strings.SplitSeq(q, "&") {
		if pair == "" {
			continue
		}
		k, v, _ := strings.Cut(pair, "=")
		if decodeComponent(k) == name {
			return decodeComponent(v), true
		}
	}
	return "", false
}

func allDigits(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

func isAlnum(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9'
}

func isHex(c byte) bool {
	return c >= '0' && c <= '9' || c >= 'a' && c <= 'f' || c >= 'A' && c <= 'F'
}

func unhex(c byte) byte {
	switch {
	case c >= 'a':
		return c - 'a' + 10
	case c >= 'A':
		return c - 'A' + 10
	}
	return c - '0'
}
