package token

import (
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

	"bubble-twilio-voice/shared/apierr"
	"bubble-twilio-voice/shared/config"
	"bubble-twilio-voice/shared/logging"
	"bubble-twilio-voice/shared/metrics"
	"bubble-twilio-voice/shared/ratelimit"
	"bubble-twilio-voice/shared/tenant"
)

// MaxBody is the largest request body the token endpoint reads.
const MaxBody = 64 << 10

// Options are the token handler's dependencies.
type Options struct {
	Store tenant.Store
	Now   func() time.Time
	Log   *slog.Logger
	// CORSAllowedOrigins are browser origins allowed to call the endpoint;
	// "*" allows any. Empty: no CORS headers (server-to-server only, which
	// is how Bubble's API Connector calls it).
	CORSAllowedOrigins []string
	// Limiter caps tokens per tenant+identity; nil allows all.
	Limiter *ratelimit.Limiter
	// OnIssued, if set, is told about each token issued (metrics).
	OnIssued func(accountSID string)
}

// Response is the JSON body of a successful token request.
type Response struct {
	Token         string `json:"token"`
	Identity      string `json:"identity"`
	AccountSID    string `json:"account_sid"`
	TTLSeconds    int    `json:"ttl_seconds"`
	ExpiresAt     string `json:"expires_at"`
	ExpiresAtUnix int64  `json:"expires_at_unix"`
}

// request is the decoded input, from JSON, form or query.
type request struct {
	AccountSID string
	Identity   string
	TTLSeconds int // 0: the tenant's default
}

// NewHandler returns the handler for GET and POST /token.
func NewHandler(o Options) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		cors(w, r, o.CORSAllowedOrigins)
		switch r.Method {
		case http.MethodGet, http.MethodPost:
		case http.MethodOptions:
			w.Header().Set("Access-Control-Allow-Methods", "GET, POST, OPTIONS")
			w.Header().Set("Access-Control-Allow-Headers", "Authorization, Content-Type")
			w.Header().Set("Access-Control-Max-Age", "600")
			w.WriteHeader(http.StatusNoContent)
			return
		default:
			e := apierr.New(apierr.MethodNotAllowed, "method_not_allowed", "use GET or POST")
			e.Allow = "GET, POST, OPTIONS"
			apierr.WriteJSON(w, r, o.Log, e)
			return
		}
		resp, err := serve(r, o)
		if err != nil {
			apierr.WriteJSON(w, r, o.Log, err)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("Cache-Control", "no-store")
		_ = json.NewEncoder(w).Encode(resp)
	})
}

func serve(r *http.Request, o Options) (*Response, error) {
	req, err := decode(r)
	if err != nil {
		return nil, err
	}
	logging.Add(r.Context(), slog.String("account_sid", req.AccountSID))
	key, ok := bearer(r.Header.Get("Authorization"))
	if !ok {
		return nil, unauthorized(nil)
	}
	t, err := o.Store.Lookup(r.Context(), req.AccountSID)
	switch {
	case errors.Is(err, tenant.ErrNotFound):
		// Same answer as a wrong key, so tenants cannot be enumerated.
		return nil, unauthorized(err)
	case err != nil:
		e := apierr.Wrap(apierr.Unavailable, "unavailable", "the tenant store is unavailable; try again shortly", err)
		e.RetryAfter = 5
		return nil, e
	}
	if !keyMatches(t.TokenAPIKeys, key) {
		return nil, unauthorized(nil)
	}
	ttl := req.TTLSeconds
	if ttl == 0 {
		ttl = t.TokenTTLSeconds
	}
	now := o.Now()
	if ok, wait := o.Limiter.Allow(t.AccountSID+"\x00"+req.Identity, now); !ok {
		e := apierr.New(apierr.RateLimited, "rate_limited", "too many tokens for this identity; retry later")
		e.RetryAfter = max(1, int((wait+time.Second-1)/time.Second)) // whole seconds, rounded up
		return nil, e
	}
	tok, err := Issue(now, t, req.Identity, time.Duration(ttl)*time.Second)
	if err != nil {
		return nil, err
	}
	if o.OnIssued != nil {
		o.OnIssued(t.AccountSID)
	}
	return &Response{
		Token: tok.JWT, Identity: req.Identity, AccountSID: t.AccountSID, TTLSeconds: ttl,
		ExpiresAt: tok.ExpiresAt.Format(time.RFC3339), ExpiresAtUnix: tok.ExpiresAt.Unix(),
	}, nil
}

func unauthorized(cause error) error {
	return apierr.Wrap(apierr.Unauthorized, "unauthorized",
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

func invalid(code, msg string) error { return apierr.New(apierr.Invalid, code, msg) }

// decode reads the request from a JSON or form body, falling back to the
// query string for each field (Bubble's API Connector can send either).
func decode(r *http.Request) (request, error) {
	var req request
	var ttl string
	query := r.URL.Query()
	if r.Method == http.MethodPost && r.ContentLength != 0 {
		body, err := readBody(r)
		if err != nil {
			return req, err
		}
		if len(strings.TrimSpace(string(body))) > 0 {
			if req, ttl, err = decodeBody(r.Header.Get("Content-Type"), body); err != nil {
				return req, err
			}
		}
	}
	if req.AccountSID == "" {
		req.AccountSID = query.Get("account_sid")
	}
	if req.Identity == "" {
		req.Identity = query.Get("identity")
	}
	if ttl == "" {
		ttl = query.Get("ttl_seconds")
	}
	req.AccountSID = strings.TrimSpace(req.AccountSID)
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
	if ttl != "" {
		n, err := strconv.Atoi(strings.TrimSpace(ttl))
		if err != nil || n < tenant.MinTokenTTLSeconds || n > tenant.MaxTokenTTLSeconds {
			return req, invalid("invalid_ttl", "ttl_seconds must be a whole number from 60 to 86400")
		}
		req.TTLSeconds = n
	}
	return req, nil
}

func readBody(r *http.Request) ([]byte, error) {
	body, err := io.ReadAll(http.MaxBytesReader(nil, r.Body, MaxBody))
	var tooBig *http.MaxBytesError
	switch {
	case errors.As(err, &tooBig):
		return nil, apierr.New(apierr.TooLarge, "too_large", "request body is larger than 64 KiB")
	case err != nil:
		return nil, apierr.Wrap(apierr.Invalid, "invalid_request", "could not read the request body", err)
	}
	return body, nil
}

// decodeBody accepts JSON (also when the content type is missing and the
// body looks like JSON) and form bodies. ttl_seconds may be a JSON number or
// a numeric string, as Bubble sends either.
func decodeBody(contentType string, body []byte) (request, string, error) {
	var req request
	mt, _, _ := mime.ParseMediaType(contentType)
	trimmed := strings.TrimSpace(string(body))
	switch {
	case mt == "application/json" || strings.HasSuffix(mt, "+json") || (mt == "" && strings.HasPrefix(trimmed, "{")):
		var in struct {
			AccountSID *string `json:"account_sid"`
			Identity   *string `json:"identity"`
			// Raw, so that a ttl_seconds of the wrong type is invalid_ttl, as
			// it is in a form or query, rather than a JSON error.
			TTLSeconds json.RawMessage `json:"ttl_seconds"`
		}
		dec := json.NewDecoder(strings.NewReader(trimmed))
		if err := dec.Decode(&in); err != nil {
			return req, "", invalid("invalid_request", "body is not valid JSON: send an object with string fields account_sid and identity and an optional number ttl_seconds")
		}
		if dec.More() {
			return req, "", invalid("invalid_request", "body has data after the JSON object")
		}
		var ttl string
		if in.AccountSID != nil {
			req.AccountSID = *in.AccountSID
		}
		if in.Identity != nil {
			req.Identity = *in.Identity
		}
		if raw := string(in.TTLSeconds); raw != "" && raw != "null" {
			if err := json.Unmarshal(in.TTLSeconds, &ttl); err != nil {
				ttl = raw // a number literal, checked by the caller
			}
			if ttl == "" {
				ttl = "invalid"
			}
		}
		return req, ttl, nil
	case mt == "application/x-www-form-urlencoded" || mt == "":
		vals, err := url.ParseQuery(string(body))
		if err != nil {
			return req, "", invalid("invalid_request", "body is not valid form encoding")
		}
		req.AccountSID, req.Identity = vals.Get("account_sid"), vals.Get("identity")
		return req, vals.Get("ttl_seconds"), nil
	default:
		return req, "", apierr.New(apierr.UnsupportedMedia, "unsupported_media_type",
			"send application/json or application/x-www-form-urlencoded")
	}
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

// OptionsFrom builds the handler's options from the configuration, the same
// way for the Lambda function and the dev server.
func OptionsFrom(cfg config.Config, store tenant.Store, now func() time.Time, log *slog.Logger, m *metrics.Emitter) Options {
	return Options{
		Store: store, Now: now, Log: log,
		CORSAllowedOrigins: cfg.CORSAllowedOrigins,
		Limiter:            ratelimit.New(cfg.TokenRatePerIdentity, time.Minute),
		OnIssued:           func(sid string) { m.Count(metrics.TokenIssued, "", sid) },
	}
}
