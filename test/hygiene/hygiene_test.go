package hygiene_test

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"bubble-twilio-voice/shared/config"
	"bubble-twilio-voice/shared/httpapi"
	"bubble-twilio-voice/shared/logging"
	"bubble-twilio-voice/shared/metrics"
	"bubble-twilio-voice/shared/phone"
	"bubble-twilio-voice/shared/tenant"
	"bubble-twilio-voice/shared/twiliosig"
	fakesm "bubble-twilio-voice/test/fake/secretsmanager"
	"bubble-twilio-voice/test/kit"
)

const publicBase = "https://voice.example.test"

// marker is the text of every internal error the stores make up; it must
// reach the logs at most, never a response.
const marker = "MARKER-internal-7f3a-do-not-show"

var jwtPattern = regexp.MustCompile(`eyJ[A-Za-z0-9_-]+\.eyJ`)

// secrets of one tenant, all distinctive so a substring search is exact.
type secrets struct {
	sid, authToken, prevToken, keySecret, bearer string
}

func newSecrets(n int) secrets {
	return secrets{
		sid:       fmt.Sprintf("AC%032x", 0x4e9e0000+n),
		authToken: fmt.Sprintf("hyg-auth-token-%d-5f1d9c", n),
		prevToken: fmt.Sprintf("hyg-prev-token-%d-77ab1e", n),
		keySecret: fmt.Sprintf("hyg-key-secret-%d-0c9e42", n),
		bearer:    fmt.Sprintf("hyg-bearer-key-%d-3b7d2a1f", n),
	}
}

func (s secrets) list() []string { return []string{s.authToken, s.prevToken, s.keySecret, s.bearer} }

func (s secrets) record() string {
	return fmt.Sprintf(`{"account_sid":%q,"auth_token":%q,"previous_auth_token":%q,"api_key_sid":"SK%032x",
		"api_key_secret":%q,"twiml_app_sid":"AP%032x","caller_id":"+14155550100","token_api_keys":[%q],
		"outbound":{"allowed_countries":["US"],"blocked_prefixes":["+1415555019"]},
		"incoming":{"numbers":{"+14155550100":{"clients":["alice"],"no_answer":{"action":"voicemail"}},
			"+14155550101":{"clients":["bob"],"no_answer":{"action":"forward","forward_to":"+19002345678"}}},
			"default":{"clients":["alice"]}}}`,
		s.sid, s.authToken, s.prevToken, 1, s.keySecret, 1, s.bearer)
}

// Tenants: a and b live in the file store; the others exist only in
// fakesm, where each one's secret fails in its own way.
var (
	tenA, tenB                    = newSecrets(1), newSecrets(2)
	tenMalformed, tenDenied       = newSecrets(3), newSecrets(4)
	tenBadRecord, tenWrongAccount = newSecrets(5), newSecrets(6)
	tenSyntax                     = newSecrets(7)
	allTenants                    = []secrets{tenA, tenB, tenMalformed, tenDenied, tenBadRecord, tenWrongAccount, tenSyntax}
	unknownSID                    = "ACffffffffffffffffffffffffffffffff"
	sigMu                         sync.Mutex
	signaturesUsed                []string
)

// anyOf200Or429 is a step status that accepts either.
const anyOf200Or429 = -1

// step is one request and the status it must get.
type step struct {
	name   string
	store  string // "file", "down", "broken", "secrets"
	req    func() *http.Request
	status int
}

// TestNoSecretsInLogs runs every step, then checks the log buffer and every
// response.
func TestNoSecretsInLogs(t *testing.T) {
	logs := &kit.LogBuffer{}
	handlers := map[string]http.Handler{
		"file": routes(t, fileStore(t), logs),
		"down": routes(t, tenant.StoreFunc(func(context.Context, string) (*tenant.Tenant, error) {
			return nil, fmt.Errorf("%s: %w", marker, tenant.ErrUnavailable)
		}), logs),
		"broken":  routes(t, tenant.StoreFunc(func(context.Context, string) (*tenant.Tenant, error) { return nil, errors.New(marker) }), logs),
		"secrets": routes(t, secretsStore(t, logs), logs),
	}
	for _, s := range steps() {
		t.Run(s.store+"/"+s.name, func(t *testing.T) {
			before := logs.Len()
			w := httptest.NewRecorder()
			handlers[s.store].ServeHTTP(w, s.req())
			if w.Code != s.status && !(s.status == anyOf200Or429 && (w.Code == 200 || w.Code == 429)) {
				t.Errorf("status %d, want %d: %s", w.Code, s.status, w.Body)
			}
			var resp strings.Builder
			_ = w.Header().Write(&resp)
			resp.WriteString(w.Body.String())
			if strings.Contains(resp.String(), marker) {
				t.Errorf("response carries internal error text:\n%s", resp.String())
			}
			checkLog(t, logs.Since(before))
		})
	}
	if logs.Len() == 0 {
		t.Fatal("nothing was logged: the test checks nothing")
	}
	if !strings.Contains(logs.String(), marker) {
		t.Error("the store errors' marker never reached the logs: are the failure paths exercised?")
	}
	for _, want := range []string{`"msg":"request failed"`, `"msg":"webhook refused"`, `"msg":"tenant lookup failed"`,
		`"msg":"tenant secret fetch failed"`, `"msg":"call refused"`, `"msg":"call answered"`, `"_aws"`} {
		if !strings.Contains(logs.String(), want) {
			t.Errorf("no %s line: a path the test means to cover was not run", want)
		}
	}
}

// checkLog fails on any secret, JWT or signature in logged.
func checkLog(t *testing.T, logged string) {
	t.Helper()
	var forbidden []string
	for _, s := range allTenants {
		forbidden = append(forbidden, s.list()...)
	}
	sigMu.Lock()
	forbidden = append(forbidden, signaturesUsed...)
	sigMu.Unlock()
	for _, line := range strings.Split(logged, "\n") {
		for _, f := range forbidden {
			if f != "" && strings.Contains(line, f) {
				t.Errorf("log line holds secret %q: %s", f, line)
			}
		}
		if jwtPattern.MatchString(line) {
			t.Errorf("log line holds a JWT: %s", line)
		}
	}
}

func steps() []step {
	json := func(body, bearer string) func() *http.Request {
		return func() *http.Request {
			r := httptest.NewRequest(http.MethodPost, "/token", strings.NewReader(body))
			r.Header.Set("Content-Type", "application/json")
			if bearer != "" {
				r.Header.Set("Authorization", "Bearer "+bearer)
			}
			return r
		}
	}
	tokenBody := func(sid, identity string) string {
		return fmt.Sprintf(`{"account_sid":%q,"identity":%q}`, sid, identity)
	}
	raw := func(method, target, ctype, body, bearer string) func() *http.Request {
		return func() *http.Request {
			r := httptest.NewRequest(method, target, strings.NewReader(body))
			if ctype != "" {
				r.Header.Set("Content-Type", ctype)
			}
			if bearer != "" {
				r.Header.Set("Authorization", "Bearer "+bearer)
			}
			return r
		}
	}
	a := tenA
	q := url.Values{"account_sid": {a.sid}, "identity": {"alice"}, "key": {a.bearer}}.Encode()
	big := strings.Repeat(a.authToken+a.bearer, httpapi.MaxTokenBody/len(a.authToken+a.bearer)+1)
	var out []step
	out = append(out,
		step{"token JSON", "file", json(tokenBody(a.sid, "alice"), a.bearer), 200},
		step{"token form", "file", raw("POST", "/token", "application/x-www-form-urlencoded", "account_sid="+a.sid+"&identity=alice&ttl_seconds=600", a.bearer), 200},
		step{"token query with a key in it", "file", raw("GET", "/token?"+q, "", "", a.bearer), 200},
		step{"token for the other tenant's key", "file", json(tokenBody(tenB.sid, "alice"), a.bearer), 401},
		step{"token with the auth token as key", "file", json(tokenBody(a.sid, "alice"), a.authToken), 401},
		step{"token with the API key secret as key", "file", json(tokenBody(a.sid, "alice"), a.keySecret), 401},
		step{"token without key", "file", json(tokenBody(a.sid, "alice"), ""), 401},
		step{"token unknown account", "file", json(tokenBody(unknownSID, "alice"), a.bearer), 401},
		step{"token secret as account_sid", "file", json(tokenBody(a.authToken, "alice"), a.bearer), 400},
		step{"token secret as identity", "file", json(tokenBody(a.sid, a.keySecret), a.bearer), 400},
		step{"token no account_sid", "file", json(`{"identity":"alice"}`, a.bearer), 400},
		step{"token no identity", "file", json(`{"account_sid":"`+a.sid+`"}`, a.bearer), 400},
		step{"token bad ttl", "file", json(`{"account_sid":"`+a.sid+`","identity":"alice","ttl_seconds":"`+a.bearer+`"}`, a.bearer), 400},
		step{"token broken JSON quoting a secret", "file", json(`{"account_sid":"`+a.authToken+`",`, a.bearer), 400},
		step{"token trailing data", "file", json(tokenBody(a.sid, "alice")+a.keySecret, a.bearer), 400},
		step{"token bad form", "file", raw("POST", "/token", "application/x-www-form-urlencoded", "x=%zz"+a.authToken, a.bearer), 400},
		step{"token unsupported media", "file", raw("POST", "/token", "text/plain", a.authToken, a.bearer), 415},
		step{"token too large", "file", raw("POST", "/token", "application/json", big, a.bearer), 413},
		step{"token PUT", "file", raw("PUT", "/token", "", "", a.bearer), 405},
		step{"token OPTIONS", "file", raw("OPTIONS", "/token", "", "", ""), 204},
		step{"token store down", "down", json(tokenBody(a.sid, "alice"), a.bearer), 503},
		step{"token store broken", "broken", json(tokenBody(a.sid, "alice"), a.bearer), 503},
	)
	// Past the per-identity limit of 30 per minute: the first 30 always
	// pass (a full bucket), the last is refused unless the run took 20 s
	// (refill is one token per 2 s); in between either may happen.
	for i := range 40 {
		status := anyOf200Or429
		switch {
		case i < 30:
			status = 200
		case i == 39:
			status = 429
		}
		out = append(out, step{fmt.Sprintf("token rate %d", i), "file", json(tokenBody(a.sid, "rate_limited"), a.bearer), status})
	}

	form := func(sid string, kv ...string) url.Values {
		f := url.Values{"AccountSid": {sid}, "CallSid": {"CA00000000000000000000000000000007"}, "ApiVersion": {"2010-04-01"}}
		for i := 0; i+1 < len(kv); i += 2 {
			f.Set(kv[i], kv[i+1])
		}
		return f
	}
	for _, p := range []string{httpapi.PathVoice, httpapi.PathIncoming, httpapi.PathDialComplete, httpapi.PathRecordingComplete} {
		f := form(a.sid, "From", "+13105550142", "To", "+14155550100", "DialCallStatus", "no-answer")
		out = append(out,
			step{"signed " + p, "file", signed(p, f, a.authToken), 200},
			step{"signed with previous token " + p, "file", signed(p, f, a.prevToken), 200},
			step{"unsigned " + p, "file", unsigned(p, f, ""), 403},
			step{"bogus signature " + p, "file", unsigned(p, f, "Zm9yZ2VkLXNpZ25hdHVyZS0wMDAwMDA="), 403},
			step{"signed with the other tenant's token " + p, "file", signed(p, f, tenB.authToken), 403},
			step{"signed with the API key secret " + p, "file", signed(p, f, a.keySecret), 403},
		)
	}
	out = append(out,
		step{"voice dial", "file", signed(httpapi.PathVoice, form(a.sid, "From", "client:alice", "To", "+13105550142"), a.authToken), 200},
		step{"voice refused caller id", "file", signed(httpapi.PathVoice, form(a.sid, "From", "client:alice", "To", "+13105550142", "CallerId", "+12125550100"), a.authToken), 200},
		step{"voice refused premium", "file", signed(httpapi.PathVoice, form(a.sid, "From", "client:alice", "To", "+19002345678"), a.authToken), 200},
		step{"voice refused blocked", "file", signed(httpapi.PathVoice, form(a.sid, "From", "client:alice", "To", "+14155550199"), a.authToken), 200},
		step{"voice refused country", "file", signed(httpapi.PathVoice, form(a.sid, "From", "client:alice", "To", "+442071838750"), a.authToken), 200},
		step{"voice secret as number", "file", signed(httpapi.PathVoice, form(a.sid, "From", "client:alice", "To", a.authToken), a.authToken), 200},
		step{"voice secret as identity", "file", signed(httpapi.PathVoice, form(a.sid, "From", "client:"+a.keySecret, "To", "bob"), a.authToken), 200},
		step{"dial-complete forward refused", "file", signed(httpapi.PathDialComplete, form(a.sid, "To", "+14155550101", "DialCallStatus", "busy"), a.authToken), 200},
		step{"webhook JSON body (form only)", "file", signedJSON(httpapi.PathVoice, a), 403},
		step{"webhook GET", "file", raw("GET", httpapi.PathVoice+"?AccountSid="+a.sid, "", "", ""), 405},
		step{"webhook too large", "file", unsigned(httpapi.PathVoice, form(a.sid, "Pad", strings.Repeat(a.authToken, httpapi.MaxWebhookBody/len(a.authToken)+1)), "Zm9yZ2VkLXNpZ25hdHVyZS0xMTExMTE="), 413},
		step{"webhook malformed body", "file", rawSigned(httpapi.PathVoice, "AccountSid="+a.sid+"&x=%zz"+a.authToken, "Zm9yZ2VkLXNpZ25hdHVyZS0yMjIyMjI="), 403},
		step{"webhook secret as AccountSid", "file", signed(httpapi.PathVoice, form(a.authToken, "CallSid", a.keySecret), a.authToken), 403},
		step{"webhook no AccountSid", "file", signed(httpapi.PathVoice, url.Values{"From": {a.bearer}}, a.authToken), 403},
		step{"webhook unknown account", "file", signed(httpapi.PathVoice, form(unknownSID), a.authToken), 403},
		step{"webhook unknown path", "file", signed("/nope", form(a.sid), a.authToken), 404},
		step{"webhook store down", "down", signed(httpapi.PathIncoming, form(a.sid, "To", "+14155550100"), a.authToken), 503},
		step{"webhook store broken", "broken", signed(httpapi.PathIncoming, form(a.sid, "To", "+14155550100"), a.authToken), 503},
	)
	for _, s := range []secrets{tenMalformed, tenDenied, tenBadRecord, tenWrongAccount, tenSyntax} {
		for range 2 {
			out = append(out,
				step{"token secret fetch fails " + s.sid, "secrets", json(tokenBody(s.sid, "alice"), s.bearer), 503},
				step{"webhook secret fetch fails " + s.sid, "secrets", signed(httpapi.PathIncoming, form(s.sid, "To", "+14155550100"), s.authToken), 503},
			)
		}
	}
	out = append(out,
		step{"token from Secrets Manager", "secrets", json(tokenBody(tenA.sid, "alice"), tenA.bearer), 200},
		step{"webhook from Secrets Manager", "secrets", signed(httpapi.PathIncoming, form(tenA.sid, "To", "+14155550100"), tenA.authToken), 200},
	)
	return out
}

// signed is a form POST to path signed with authToken; the signature is
// remembered as a secret.
func signed(path string, form url.Values, authToken string) func() *http.Request {
	return unsigned(path, form, twiliosig.Sign(publicBase+path, form, authToken))
}

// unsigned is a form POST carrying signature as given ("" for none).
func unsigned(path string, form url.Values, signature string) func() *http.Request {
	return rawSigned(path, form.Encode(), signature)
}

func rawSigned(path, body, signature string) func() *http.Request {
	return func() *http.Request {
		r := httptest.NewRequest(http.MethodPost, path, strings.NewReader(body))
		r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		if signature != "" {
			r.Header.Set(twiliosig.Header, signature)
			sigMu.Lock()
			signaturesUsed = append(signaturesUsed, signature)
			sigMu.Unlock()
		}
		return r
	}
}

// signedJSON is a JSON webhook: the signature covers a URL whose
// bodySHA256 is the hash of the body. No route takes one (Twilio's voice and
// status callbacks are form-encoded), so it is refused, and must be refused
// without logging the secrets around it.
func signedJSON(path string, s secrets) func() *http.Request {
	return func() *http.Request {
		body := fmt.Sprintf(`{"AccountSid":%q,"CallSid":"CA00000000000000000000000000000008","From":"client:alice","To":"+13105550142"}`, s.sid)
		sum := sha256.Sum256([]byte(body))
		q := "bodySHA256=" + hex.EncodeToString(sum[:])
		sig := twiliosig.Sign(publicBase+path+"?"+q, nil, s.authToken)
		r := httptest.NewRequest(http.MethodPost, path+"?"+q, strings.NewReader(body))
		r.Header.Set("Content-Type", "application/json")
		r.Header.Set(twiliosig.Header, sig)
		sigMu.Lock()
		signaturesUsed = append(signaturesUsed, sig)
		sigMu.Unlock()
		return r
	}
}

// routes is what cmd/devserver and the functions mount, logging and
// counting metrics into logs as Lambda's stdout would hold both.
func routes(t *testing.T, store tenant.Store, logs *kit.LogBuffer) http.Handler {
	t.Helper()
	cfg, err := config.Load(func(k string) string {
		return map[string]string{"PUBLIC_BASE_URL": publicBase, "LOG_LEVEL": "debug"}[k]
	})
	if err != nil {
		t.Fatal(err)
	}
	log := logging.New(logs, cfg.LogLevel)
	m := metrics.New(logs, "hygiene", time.Now)
	d := httpapi.NewDeps(cfg, store, log, m, time.Now)
	d.Numbers = phone.Library{}
	return httpapi.All(d)
}

func fileStore(t *testing.T) tenant.Store {
	t.Helper()
	s, err := tenant.ParseFile([]byte("[" + tenA.record() + "," + tenB.record() + "]"))
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// secretsStore is a SecretsStore over the real SDK client and fakesm, where
// each failing tenant's secret fails with its own secrets (and the marker)
// in what Secrets Manager answers.
func secretsStore(t *testing.T, logs *kit.LogBuffer) tenant.Store {
	t.Helper()
	sm := fakesm.Start(t)
	kit.SetAWSEnv(t, sm.URL())
	name := func(s secrets) string { return tenant.DefaultSecretPrefix + s.sid }
	sm.Put(name(tenA), tenA.record())
	// A record that fails validation, holding its secrets.
	sm.Put(name(tenBadRecord), strings.Replace(tenBadRecord.record(), `"caller_id":"+14155550100"`, `"caller_id":"`+tenBadRecord.authToken+`"`, 1))
	// Another tenant's SID inside, so it does not match its name.
	sm.Put(name(tenWrongAccount), strings.Replace(tenWrongAccount.record(), tenWrongAccount.sid, tenB.sid, 1))
	// Not JSON: cut in the middle of a secret.
	rec := tenSyntax.record()
	sm.Put(name(tenSyntax), rec[:strings.Index(rec, tenSyntax.keySecret)+len(tenSyntax.keySecret)]+`"x`+marker)
	sm.SetFault(func(op, id string) fakesm.Fault {
		switch id {
		case name(tenMalformed):
			s := tenMalformed
			return fakesm.Malformed(`{"Name":"` + id + `","SecretString":"{\"auth_token\":\"` + s.authToken + `\",\"api_key_secret\":\"` +
				s.keySecret + `\",\"token_api_keys\":[\"` + s.bearer + `\"],\"previous_auth_token\":\"` + s.prevToken + `\"` + marker)
		case name(tenDenied):
			s := tenDenied
			return fakesm.Fault{Code: "AccessDeniedException", Message: marker + " " + strings.Join(s.list(), " ")}
		}
		return fakesm.Fault{}
	})
	client, err := tenant.NewSecretsClient(os.Getenv)
	if err != nil {
		t.Fatal(err)
	}
	return tenant.NewSecretsStore(client, tenant.SecretsConfig{
		FetchTimeout: time.Second,
		Log:          logging.New(logs, "debug"),
	})
}
