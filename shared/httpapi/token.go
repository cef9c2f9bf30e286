package httpapi

import (
	"bytes"
	"cmp"
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"mime"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"bubble-twilio-voice/shared/logging"
	"bubble-twilio-voice/shared/metrics"
	"bubble-twilio-voice/shared/ratelimit"
	"bubble-twilio-voice/shared/tenant"
	"bubble-twilio-voice/shared/token"
)

// MaxTokenBody is the largest request body /token reads.
const MaxTokenBody = 64 << 10

// TokenResponse is the JSON body of a successful /token request.
type TokenResponse struct {
	Token         string `json:"token"`
	Identity      string `json:"identity"`
	AccountSID    string `json:"account_sid"`
	TTLSeconds    int    `json:"ttl_seconds"`
	ExpiresAt     string `json:"expires_at"`
	ExpiresAtUnix int64  `json:"expires_at_unix"`
}

// tokenRequest is the decoded input, from a JSON or form body or, without a
// body, the query string.
type tokenRequest struct {
	AccountSID string
	Identity   string
	TTLSeconds int // 0: the tenant's default
}

// tokenFields are the request's field names, exactly as they must be spelt.
var tokenFields = []string{"account_sid", "identity", "ttl_seconds"}

// handleToken issues a Voice access token for one identity of one
// subaccount (GET and POST; withCORS answers OPTIONS): it authenticates the
// request against the tenant's record in tenants, and issue mints the token.
func handleToken(tenants tenant.Store, issue issueFunc, log *slog.Logger) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodGet && r.Method != http.MethodPost {
			e := newError(kindMethodNotAllowed, "method_not_allowed", "use GET or POST")
			e.allow = "GET, POST, OPTIONS"
			writeError(w, r, log, e)
			return
		}
		resp, err := authorizeToken(r, tenants, issue)
		if err != nil {
			writeError(w, r, log, err)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("Cache-Control", "no-store")
		_ = json.NewEncoder(w).Encode(resp)
	})
}

// withCORS adds CORS headers for the allowed origins (see cors) and answers
// a browser's preflight (OPTIONS) itself, allowing methods (with OPTIONS).
func withCORS(allowed []string, methods string) func(http.Handler) http.Handler {
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			cors(w, r, allowed)
			if r.Method == http.MethodOptions {
				w.Header().Set("Access-Control-Allow-Methods", methods)
				w.Header().Set("Access-Control-Allow-Headers", "Authorization, Content-Type")
				w.Header().Set("Access-Control-Max-Age", "600")
				w.WriteHeader(http.StatusNoContent)
				return
			}
			next.ServeHTTP(w, r)
		})
	}
}

// issueFunc mints the token of identity for t, whose token API key the
// request carried; ttlSeconds 0 is the tenant's default.
type issueFunc func(t *tenant.Tenant, identity string, ttlSeconds int) (*TokenResponse, error)

// issuer returns the token route's issueFunc: it caps tokens per identity
// with limiter (nil: no cap), dates them with now and counts them in m.
func issuer(limiter *ratelimit.Limiter, now func() time.Time, m *metrics.Emitter) issueFunc {
	return func(t *tenant.Tenant, identity string, ttl int) (*TokenResponse, error) {
		ttl = cmp.Or(ttl, t.TokenTTLSeconds)
		at := now()
		if ok, wait := limiter.AllowIdentity(t.AccountSID, identity, at); !ok {
			e := newError(kindRateLimited, "rate_limited", "too many tokens for this identity; retry later")
			e.retryAfter = max(1, int((wait+time.Second-1)/time.Second)) // whole seconds, rounded up
			return nil, e
		}
		tok, err := token.Issue(at, t, identity, time.Duration(ttl)*time.Second)
		if err != nil {
			return nil, err
		}
		m.Count(metrics.TokenIssued, "", t.AccountSID)
		return &TokenResponse{
			Token: tok.JWT, Identity: identity, AccountSID: t.AccountSID, TTLSeconds: ttl,
			ExpiresAt: tok.ExpiresAt.Format(time.RFC3339), ExpiresAtUnix: tok.ExpiresAt.Unix(),
		}, nil
	}
}

// authorizeToken decodes a token request, checks its bearer key against
// the tenant's record and, for an active tenant, has issue mint the token.
func authorizeToken(r *http.Request, tenants tenant.Store, issue issueFunc) (*TokenResponse, error) {
	req, err := decodeTokenRequest(r)
	if err != nil {
		return nil, err
	}
	logging.Add(r.Context(), slog.String("account_sid", req.AccountSID))
	key, ok := bearer(r.Header.Get("Authorization"))
	if !ok {
		return nil, unauthorized(nil)
	}
	t, err := lookupTenant(r.Context(), tenants, req.AccountSID, unauthorized)
	if err != nil {
		return nil, err
	}
	if !keyMatches(t.TokenAPIKeys, key) {
		return nil, unauthorized(nil)
	}
	// Only after the key: a suspended tenant is not revealed to a caller
	// who could not mint its tokens anyway.
	if t.Suspended() {
		return nil, newError(kindForbidden, "tenant_suspended",
			"this subaccount is suspended; tokens are issued again once it is reactivated")
	}
	return issue(t, req.Identity, req.TTLSeconds)
}

// lookupTenant looks accountSID up in tenants. "Not found" is
// unauthorized(err), the same answer as a wrong key, so tenants cannot be
// enumerated; a failing store is 503 with a Retry-After.
func lookupTenant(ctx context.Context, tenants tenant.Store, accountSID string, unauthorized func(error) error) (*tenant.Tenant, error) {
	t, err := tenants.Lookup(ctx, accountSID)
	switch {
	case errors.Is(err, tenant.ErrNotFound):
		return nil, unauthorized(err)
	case err != nil:
		e := wrapError(kindUnavailable, "unavailable", "the tenant store is unavailable; try again shortly", err)
		e.retryAfter = 5
		return nil, e
	}
	return t, nil
}

func unauthorized(cause error) error {
	return wrapError(kindUnauthorized, "unauthorized",
		"missing or wrong API key for this account (send Authorization: Bearer <key>)", cause)
}

// bearer extracts the key from "Bearer <key>" (scheme case-insensitive).
func bearer(h string) (string, bool) {
	scheme, key, ok := strings.Cut(strings.TrimSpace(h), " ")
	key = strings.TrimSpace(key)
	return key, ok && strings.EqualFold(scheme, "Bearer") && key != ""
}

// keyMatches compares key with every allowed key in constant time. Hashing
// first makes the comparison independent of the keys' lengths too.
func keyMatches(allowed []string, key string) bool {
	got := sha256.Sum256([]byte(key))
	match := 0
	for _, a := range allowed {
		want := sha256.Sum256([]byte(a))
		match |= subtle.ConstantTimeCompare(got[:], want[:])
	}
	return match == 1
}

func invalid(code, msg string) error { return newError(kindInvalid, code, msg) }

// decodeTokenRequest reads the request from its body (JSON or form) or, when
// there is no body, from the query string: never from both, so a field
// missing from the body cannot be supplied by the URL. A field given twice,
// or spelt in another case, is refused rather than letting one copy win.
func decodeTokenRequest(r *http.Request) (tokenRequest, error) {
	var fields map[string]string
	body, err := readTokenBody(r)
	if err != nil {
		return tokenRequest{}, err
	}
	if len(body) > 0 {
		fields, err = decodeTokenBody(r.Header.Get("Content-Type"), body)
	} else {
		fields, err = formFields(r.URL.RawQuery, "query string")
	}
	if err != nil {
		return tokenRequest{}, err
	}
	req := tokenRequest{AccountSID: strings.TrimSpace(fields["account_sid"]), Identity: fields["identity"]}
	switch {
	case req.AccountSID == "":
		return req, invalid("invalid_request", "account_sid is required")
	case !tenant.ValidAccountSID(req.AccountSID):
		return req, invalid("invalid_request", "account_sid must be AC followed by 32 hex digits")
	case req.Identity == "":
		return req, invalid("invalid_request", "identity is required")
	case !tenant.ValidIdentity(req.Identity):
		return req, invalid("invalid_identity", "identity "+tenant.IdentityRule)
	}
	// An empty ttl_seconds, in a form or as JSON "" or null, means the
	// tenant's default: Bubble sends an empty dynamic value that way.
	if ttl := strings.TrimSpace(fields["ttl_seconds"]); ttl != "" {
		n, err := strconv.Atoi(ttl)
		if err != nil || n < tenant.MinTokenTTLSeconds || n > tenant.MaxTokenTTLSeconds {
			return req, invalid("invalid_ttl", "ttl_seconds must be a whole number from 60 to 86400")
		}
		req.TTLSeconds = n
	}
	return req, nil
}

// readTokenBody returns a POST's body without surrounding white space; GET
// bodies are not read.
func readTokenBody(r *http.Request) ([]byte, error) {
	if r.Method != http.MethodPost || r.Body == nil || r.ContentLength == 0 {
		return nil, nil
	}
	body, err := readBody(r, MaxTokenBody, "64 KiB")
	return bytes.TrimSpace(body), err
}

// decodeTokenBody accepts JSON (also when the content type is missing and
// the body looks like JSON) and form bodies.
func decodeTokenBody(contentType string, body []byte) (map[string]string, error) {
	mt, _, _ := mime.ParseMediaType(contentType)
	switch {
	case mt == "application/json" || strings.HasSuffix(mt, "+json") || (mt == "" && body[0] == '{'):
		return jsonFields(body)
	case mt == "application/x-www-form-urlencoded" && body[0] == '{':
		// curl -d sends JSON with this type unless told otherwise.
		return nil, invalid("invalid_request", "body is JSON but Content-Type says a form: send Content-Type: application/json")
	case mt == "application/x-www-form-urlencoded" || mt == "":
		return formFields(string(body), "body")
	default:
		return nil, newError(kindUnsupportedMedia, "unsupported_media_type",
			"send application/json or application/x-www-form-urlencoded")
	}
}

// formFields reads the request's fields from form encoding.
func formFields(encoded, where string) (map[string]string, error) {
	vals, err := url.ParseQuery(encoded)
	if err != nil {
		return nil, invalid("invalid_request", where+" is not valid form encoding")
	}
	fields := make(map[string]string, len(tokenFields))
	for k, vs := range vals {
		known, err := checkFieldName(k, tokenFields)
		if err != nil {
			return nil, err
		}
		if len(vs) > 1 {
			return nil, invalid("invalid_request", k+" is given more than once")
		}
		if known {
			fields[k] = vs[0]
		}
	}
	return fields, nil
}

// jsonFields reads one JSON object. account_sid and identity must be
// strings; ttl_seconds a number or a numeric string (Bubble sends either).
// Other fields are ignored.
func jsonFields(body []byte) (map[string]string, error) {
	const notJSON = "body is not valid JSON: send an object with string fields account_sid and identity and an optional number ttl_seconds"
	return objectFields(body, tokenFields, true, notJSON, func(k string, v any) (string, error) {
		switch v := v.(type) {
		case string:
			return v, nil
		case json.Number:
			if k == "ttl_seconds" {
				return v.String(), nil
			}
		default:
			if k == "ttl_seconds" {
				return "", invalid("invalid_ttl", "ttl_seconds must be a whole number from 60 to 86400")
			}
		}
		return "", invalid("invalid_request", k+" must be a string")
	})
}

// objectFields reads body as one JSON object and returns the values of its
// fields named in names, as value converts them; a null is absent and
// other fields are ignored. Every field may appear once. useNumber
// decodes numbers as json.Number; notJSON is the error message for a body
// that is not one object.
func objectFields(body []byte, names []string, useNumber bool, notJSON string, value func(k string, v any) (string, error)) (map[string]string, error) {
	dec := json.NewDecoder(bytes.NewReader(bytes.TrimSpace(body)))
	if useNumber {
		dec.UseNumber()
	}
	if tok, err := dec.Token(); err != nil || tok != json.Delim('{') {
		return nil, invalid("invalid_request", notJSON)
	}
	fields := make(map[string]string, len(names))
	seen := map[string]bool{}
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return nil, invalid("invalid_request", notJSON)
		}
		k, _ := tok.(string)
		if seen[k] {
			return nil, invalid("invalid_request", k+" is given more than once")
		}
		seen[k] = true
		known, err := checkFieldName(k, names)
		if err != nil {
			return nil, err
		}
		var v any
		if err := dec.Decode(&v); err != nil {
			return nil, invalid("invalid_request", notJSON)
		}
		if !known || v == nil {
			continue
		}
		if fields[k], err = value(k, v); err != nil {
			return nil, err
		}
	}
	if _, err := dec.Token(); err != nil { // the closing brace
		return nil, invalid("invalid_request", notJSON)
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, invalid("invalid_request", "body has data after the JSON object")
	}
	return fields, nil
}

// checkFieldName reports whether k is one of names, and refuses a field
// spelt like one of them in another case ("IDENTITY", "Account_Sid"):
// encoding/json would have matched it, and a request that means something
// else than it says is better refused.
func checkFieldName(k string, names []string) (known bool, err error) {
	for _, f := range names {
		if k == f {
			known = true
		} else if strings.EqualFold(k, f) {
			return false, invalid("invalid_request", "field "+strconv.Quote(k)+" must be spelt "+f)
		}
	}
	return known, nil
}

// cors adds CORS headers when the request's Origin is allowed.
func cors(w http.ResponseWriter, r *http.Request, allowed []string) {
	origin := r.Header.Get("Origin")
	if origin == "" || len(allowed) == 0 {
		return
	}
	w.Header().Add("Vary", "Origin")
	for _, a := range allowed {
		if a == "*" || a == origin {
			w.Header().Set("Access-Control-Allow-Origin", origin)
			return
		}
	}
}
