package lambda

import (
	"encoding/base64"
	"net/url"
	"strconv"
	"strings"

	"bubble-twilio-voice/shared/tenant"
	"bubble-twilio-voice/shared/twiliosig"
)

// The tenant every invocation belongs to. Its secret is seeded in fakesm as
// secretPrefix + accountSID, as the provisioning CLI writes it.
const (
	secretPrefix = tenant.DefaultSecretPrefix
	accountSID   = "ACe2e0c0ffee0123456789abcdef012345"
	authToken    = "e2e_auth_token_0123456789abcdef0"
	apiKeySID    = "SKe2e0c0ffee0123456789abcdef012345"
	apiKeySecret = "e2e_api_key_secret_0123456789abcd"
	twimlAppSID  = "APe2e0c0ffee0123456789abcdef012345"
	bearerKey    = "e2e-bearer-key-0123456789"
	domainName   = "e2e0c0ffee.execute-api.us-east-1.amazonaws.com"
	otherToken   = "not_the_auth_token_0123456789abc"
)

// tenantSecret is the tenant's SecretString.
var tenantSecret = `{
  "account_sid": "` + accountSID + `",
  "auth_token": "` + authToken + `",
  "api_key_sid": "` + apiKeySID + `",
  "api_key_secret": "` + apiKeySecret + `",
  "twiml_app_sid": "` + twimlAppSID + `",
  "caller_id": "+14155550100",
  "token_api_keys": ["` + bearerKey + `"],
  "token_ttl_seconds": 600,
  "incoming": {
    "numbers": {
      "+14155550100": {"clients": ["alice"], "no_answer": {"action": "voicemail"}}
    },
    "default": {"clients": ["support"], "no_answer": {}}
  }
}`

// secretValues are strings that must never appear in a function's output.
var secretValues = []string{authToken, apiKeySecret, bearerKey}

// stage is where an API is deployed: "$default" (no prefix in rawPath) or a
// named stage, whose name starts rawPath.
type stage string

const (
	defaultStage stage = "$default"
	prodStage    stage = "prod"
)

// rawPath is the path as API Gateway reports it for a route path.
func (s stage) rawPath(route string) string {
	if s == defaultStage {
		return route
	}
	return "/" + string(s) + route
}

// request describes one HTTP request as API Gateway would see it.
type request struct {
	method  string
	stage   stage
	route   string // the route path, without the stage
	query   string
	headers map[string]string
	body    string
	base64  bool // deliver body base64 encoded, as API Gateway does for form posts
}

// event builds the HTTP API payload 2.0 event for r, in the shape of the
// recorded events in shared/apigw/testdata.
func (r request) event() map[string]any {
	raw := r.stage.rawPath(r.route)
	headers := map[string]string{
		"accept":            "*/*",
		"host":              domainName,
		"user-agent":        "e2e-test/1.0",
		"x-forwarded-for":   "198.51.100.7",
		"x-forwarded-port":  "443",
		"x-forwarded-proto": "https",
	}
	if r.body != "" {
		headers["content-length"] = strconv.Itoa(len(r.body))
	}
	for k, v := range r.headers {
		headers[strings.ToLower(k)] = v
	}
	body := r.body
	if r.base64 {
		body = base64.StdEncoding.EncodeToString([]byte(r.body))
	}
	routeKey := r.method + " " + r.route
	ev := map[string]any{
		"version":        "2.0",
		"routeKey":       routeKey,
		"rawPath":        raw,
		"rawQueryString": r.query,
		"headers":        headers,
		"requestContext": map[string]any{
			"accountId":    "123456789012",
			"apiId":        "e2e0c0ffee",
			"domainName":   domainName,
			"domainPrefix": "e2e0c0ffee",
			"http": map[string]any{
				"method":    r.method,
				"path":      raw,
				"protocol":  "HTTP/1.1",
				"sourceIp":  "198.51.100.7",
				"userAgent": "e2e-test/1.0",
			},
			"requestId": "e2eRequestId0=",
			"routeKey":  routeKey,
			"stage":     string(r.stage),
			"time":      "13/Nov/2026:15:09:00 +0000",
			"timeEpoch": 1794582540000,
		},
		"isBase64Encoded": r.base64,
	}
	if r.body != "" {
		ev["body"] = body
	}
	return ev
}

// webhook is a form POST from Twilio to route, signed with token for the
// URL Twilio calls ("" leaves it unsigned).
func webhook(st stage, route string, form url.Values, token string, b64 bool) request {
	r := request{
		method: "POST", stage: st, route: route,
		headers: map[string]string{"content-type": "application/x-www-form-urlencoded", "i-twilio-idempotency-token": "e2e"},
		body:    form.Encode(), base64: b64,
	}
	if token != "" {
		r.headers["x-twilio-signature"] = twiliosig.Sign("https://"+domainName+st.rawPath(route), form, token)
	}
	return r
}

// callForm is the form Twilio posts for a call, with fields added or
// overridden by kv pairs.
func callForm(kv ...string) url.Values {
	f := url.Values{
		"AccountSid": {accountSID},
		"ApiVersion": {"2010-04-01"},
		"CallSid":    {"CAe2e0c0ffee0123456789abcdef012345"},
		"CallStatus": {"ringing"},
		"Direction":  {"inbound"},
	}
	for i := 0; i+1 < len(kv); i += 2 {
		f.Set(kv[i], kv[i+1])
	}
	return f
}
