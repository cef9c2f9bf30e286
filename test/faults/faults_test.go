package faults_test

import (
	"bufio"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"bubble-twilio-voice/shared/config"
	"bubble-twilio-voice/shared/httpapi"
	"bubble-twilio-voice/shared/logging"
	"bubble-twilio-voice/shared/phone"
	"bubble-twilio-voice/shared/tenant"
	"bubble-twilio-voice/shared/twiliosig"
	fakesm "bubble-twilio-voice/test/fake/secretsmanager"
	"bubble-twilio-voice/test/kit"
)

// The configuration under test, read through config.Load as the functions
// read it.
var env = map[string]string{
	"SECRET_CACHE_TTL":     "5m",
	"SECRET_MAX_STALE":     "1h",
	"SECRET_FETCH_TIMEOUT": "500ms",
	"PUBLIC_BASE_URL":      "https://voice.example.test",
}

// retryAfter is the store's pause between refresh attempts while serving
// stale (tenant.DefaultRetryAfter, which the functions use).
const retryAfter = tenant.DefaultRetryAfter

// coldDeadline is the most a webhook may take to give up on a cold fetch:
// far below Twilio's 15 s, so its fallback URL still runs.
const coldDeadline = 5 * time.Second

const (
	warnFetchFailed = "tenant secret fetch failed"
	infoRecovered   = "tenant secret fetch recovered"
)

// fault is one way Secrets Manager fails.
type fault struct {
	name string
	// start begins the outage, stop ends it.
	start, stop func(h *harness)
}

func faults() []fault {
	withFault := func(f fakesm.Fault) (func(*harness), func(*harness)) {
		return func(h *harness) { h.sm.SetFault(func(string, string) fakesm.Fault { return f }) },
			func(h *harness) { h.sm.SetFault(nil) }
	}
	mk := func(name string, f fakesm.Fault) fault {
		start, stop := withFault(f)
		return fault{name, start, stop}
	}
	return []fault{
		mk("throttling", fakesm.Throttle()),
		mk("500", fakesm.InternalError()),
		mk("slow past the deadline", fakesm.Slow(30*time.Second)),
		mk("malformed JSON", fakesm.Malformed(`{"ARN":"arn:aws:secretsmanager:us-east-1:123456789012:secret:x","SecretString":"{\"account_sid`)),
		mk("dropped connection", fakesm.Hangup()),
		{"connection refused", func(h *harness) { h.front.down(h.t) }, func(h *harness) { h.front.up(h.t) }},
		{"rotated to a record that does not parse",
			func(h *harness) {
				for _, tn := range h.tenants {
					h.sm.Put(secretName(tn.sid), strings.Replace(tn.record, `"caller_id"`, `"caller_id":12,"x"`, 1))
				}
			},
			func(h *harness) {
				for _, tn := range h.tenants {
					h.sm.Put(secretName(tn.sid), tn.record)
				}
			}},
	}
}

// TestStaleServing: with tenants cached, an outage is invisible to callers
// until SECRET_MAX_STALE past the TTL; then /token answers 503 with
// Retry-After and webhooks 503; the outage is logged once per tenant, its end
// once, and a second outage once more.
func TestStaleServing(t *testing.T) {
	t.Parallel()
	for _, f := range faults() {
		t.Run(f.name, func(t *testing.T) {
			t.Parallel()
			h := newHarness(t)
			h.expectAll(http.StatusOK) // cold fetch, cached
			cfg := h.cfg
			f.start(h)
			h.clock.Advance(cfg.SecretCacheTTL + time.Second)
			calls := h.tenantCalls()
			for range 5 { // stale served, one failed refresh per RetryAfter
				h.expectAll(http.StatusOK)
			}
			// One refresh per tenant, each of at most 3 SDK attempts.
			if n := h.tenantCalls() - calls; n > 3*len(h.tenants) {
				t.Errorf("%d GetSecretValue calls for 5 rounds of stale requests, want at most %d", n, 3*len(h.tenants))
			}
			h.clock.Advance(retryAfter + time.Second)
			h.expectAll(http.StatusOK) // the next refresh fails too
			// Past MaxStale, nothing usable is left.
			h.clock.Advance(cfg.SecretMaxStale)
			h.expectAll(http.StatusServiceUnavailable)
			for _, tn := range h.tenants {
				if n := h.logCount(warnFetchFailed, tn.sid); n != 1 {
					t.Errorf("%d %q lines for %s during one outage, want 1\n%s", n, warnFetchFailed, tn.sid, h.logs)
				}
			}

			f.stop(h)
			h.clock.Advance(retryAfter + time.Second)
			h.expectAll(http.StatusOK)
			for _, tn := range h.tenants {
				if n := h.logCount(infoRecovered, tn.sid); n != 1 {
					t.Errorf("%d %q lines for %s, want 1", n, infoRecovered, tn.sid)
				}
			}

			f.start(h)
			h.clock.Advance(cfg.SecretCacheTTL + time.Second)
			for range 3 {
				h.expectAll(http.StatusOK)
			}
			for _, tn := range h.tenants {
				if n := h.logCount(warnFetchFailed, tn.sid); n != 2 {
					t.Errorf("%d %q lines for %s after two outages, want 2", n, warnFetchFailed, tn.sid)
				}
			}
			f.stop(h)
		})
	}
}

// TestColdFetch: a tenant never fetched, during an outage, gets 503 from
// the webhook within the fetch deadline (so Twilio uses the fallback URL)
// and 503 with Retry-After from /token; repeated requests log one warning
// per tenant.
func TestColdFetch(t *testing.T) {
	t.Parallel()
	for _, f := range faults() {
		t.Run(f.name, func(t *testing.T) {
			t.Parallel()
			h := newHarness(t)
			f.start(h)
			defer f.stop(h)
			for range 2 {
				h.expectAll(http.StatusServiceUnavailable)
			}
			for _, tn := range h.tenants {
				if n := h.logCount(warnFetchFailed, tn.sid); n != 1 {
					t.Errorf("%d %q lines for %s, want 1\n%s", n, warnFetchFailed, tn.sid, h.logs)
				}
			}
		})
	}
}

// TestEnvEndpoint checks the production wiring: tenant.NewSecretsClient
// finds fakesm through AWS_ENDPOINT_URL_SECRETS_MANAGER alone, and a
// throttled cold fetch still ends within the deadline. (The parallel tests
// above pass the same endpoint as a client option, because the environment
// is shared by the whole process; this test is not parallel, so it runs
// before them and restores the environment when done.)
func TestEnvEndpoint(t *testing.T) {
	sm := fakesm.Start(t)
	kit.SetAWSEnv(t, sm.URL())
	ctx := context.Background()
	client, err := tenant.NewSecretsClient(os.Getenv)
	if err != nil {
		t.Fatal(err)
	}
	a := newTenant(0)
	sm.Put(secretName(a.sid), a.record)
	store := tenant.NewSecretsStore(client, tenant.SecretsConfig{FetchTimeout: time.Second})
	if tn, err := store.Lookup(ctx, a.sid); err != nil || tn.AccountSID != a.sid {
		t.Fatalf("Lookup = %v, %v", tn, err)
	}
	if n := sm.CallsFor("GetSecretValue", secretName(a.sid)); n != 1 {
		t.Errorf("GetSecretValue calls = %d, want 1", n)
	}
	b := newTenant(1)
	sm.Put(secretName(b.sid), b.record)
	sm.SetFault(func(string, string) fakesm.Fault { return fakesm.Throttle() })
	start := time.Now()
	if _, err := store.Lookup(ctx, b.sid); err == nil {
		t.Fatal("throttled cold Lookup succeeded")
	}
	if d := time.Since(start); d > coldDeadline {
		t.Errorf("throttled cold Lookup took %v", d)
	}
}

// TestMain keeps the SDK away from the machine's AWS configuration and
// metadata service, with the kit's static test credentials, for the whole
// process, so the tests can run in parallel.
func TestMain(m *testing.M) {
	for _, kv := range kit.AWSEnv("") {
		k, v, _ := strings.Cut(kv, "=")
		if err := os.Setenv(k, v); err != nil {
			panic(err)
		}
	}
	// The fault cases spend their time waiting on fetch deadlines and SDK
	// backoff, not on CPU, so run them all at once unless -parallel was
	// given: the default (GOMAXPROCS) would queue them two by two on a
	// small CI machine.
	flag.Parse()
	explicit := false
	flag.Visit(func(f *flag.Flag) { explicit = explicit || f.Name == "test.parallel" })
	if !explicit {
		if err := flag.Set("test.parallel", "16"); err != nil {
			panic(err)
		}
	}
	os.Exit(m.Run())
}

// testTenant is one tenant's record and credentials.
type testTenant struct {
	sid, authToken, bearer, record string
}

func newTenant(i int) testTenant {
	tn := testTenant{
		sid:       fmt.Sprintf("AC%032x", 0xfa017000+i),
		authToken: fmt.Sprintf("faults-auth-token-%d", i),
		bearer:    fmt.Sprintf("faults-bearer-key-%02d-0123456789", i),
	}
	tn.record = fmt.Sprintf(`{"account_sid":%q,"auth_token":%q,"api_key_sid":"SK%032x","api_key_secret":"faults-key-secret-%d",
		"twiml_app_sid":"AP%032x","caller_id":"+14155550100","token_api_keys":[%q],
		"outbound":{"allowed_countries":["US"]},"incoming":{"default":{"clients":["alice"]}}}`,
		tn.sid, tn.authToken, i, i, i, tn.bearer)
	return tn
}

func secretName(sid string) string { return tenant.DefaultSecretPrefix + sid }

// endpoint serves fakesm on a loopback port it can close and reopen, so
// "down" is a refused connection, not a slow one.
type endpoint struct {
	h    http.Handler
	addr string
	srv  *http.Server
}

func (e *endpoint) up(t *testing.T) {
	t.Helper()
	addr := e.addr
	if addr == "" {
		addr = "127.0.0.1:0"
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		t.Fatalf("listen %s: %v", addr, err)
	}
	e.addr = ln.Addr().String()
	e.srv = &http.Server{Handler: e.h, ReadHeaderTimeout: 5 * time.Second}
	go func() { _ = e.srv.Serve(ln) }()
}

func (e *endpoint) down(t *testing.T) {
	t.Helper()
	if err := e.srv.Close(); err != nil {
		t.Errorf("close endpoint: %v", err)
	}
}

// harness is the real token and webhook handlers over a SecretsStore over
// the real SDK client, aimed at one fakesm server.
type harness struct {
	t       *testing.T
	cfg     config.Config
	sm      *fakesm.Server
	front   *endpoint
	clock   *kit.Clock
	logs    *kit.LogBuffer
	tenants []testTenant
	token   http.Handler
	hooks   http.Handler
}

func newHarness(t *testing.T) *harness {
	t.Helper()
	cfg, err := config.Load(func(k string) string { return env[k] })
	if err != nil {
		t.Fatal(err)
	}
	h := &harness{
		t: t, cfg: cfg, sm: fakesm.Start(t),
		clock:   kit.NewClock(time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)),
		logs:    &kit.LogBuffer{},
		tenants: []testTenant{newTenant(0), newTenant(1)},
	}
	sids := make([]string, 0, len(h.tenants))
	for _, tn := range h.tenants {
		h.sm.Put(secretName(tn.sid), tn.record)
		sids = append(sids, tn.sid)
	}
	// The deployment's tenant index, as the CLI keeps it; an outage hits it
	// like every other secret.
	index, err := tenant.EncodeIndex(sids, h.clock.Now())
	if err != nil {
		t.Fatal(err)
	}
	h.sm.Put(secretName(tenant.IndexSecretName), string(index))
	h.front = &endpoint{h: h.sm.Handler()}
	h.front.up(t)
	t.Cleanup(func() { _ = h.front.srv.Close() })

	// As the functions build it (httpapi.Setup), with the fake clock and
	// this harness's endpoint in place of the process-wide one.
	getenv := func(k string) string {
		if k == "AWS_ENDPOINT_URL_SECRETS_MANAGER" {
			return "http://" + h.front.addr
		}
		return os.Getenv(k)
	}
	d, err := httpapi.Setup(cfg, getenv, "faults", h.logs, h.clock.Now)
	if err != nil {
		t.Fatal(err)
	}
	d.Numbers = phone.Library{}
	h.token, h.hooks = httpapi.Token(d), httpapi.Voice(d)
	return h
}

// tenantCalls counts the GetSecretValue calls for the tenants' secrets, not
// the index's.
func (h *harness) tenantCalls() int {
	return h.sm.Calls("GetSecretValue") - h.sm.CallsFor("GetSecretValue", secretName(tenant.IndexSecretName))
}

// expectAll runs expect for every tenant at once, as concurrent traffic
// for different tenants would arrive.
func (h *harness) expectAll(status int) {
	h.t.Helper()
	var wg sync.WaitGroup
	for _, tn := range h.tenants {
		wg.Go(func() { h.expect(tn, status) })
	}
	wg.Wait()
	if h.t.Failed() {
		h.t.FailNow()
	}
}

// expect sends one token request and one /voice webhook for tn and checks
// both answer status; cold failures must come back within coldDeadline.
func (h *harness) expect(tn testTenant, status int) {
	h.t.Helper()
	body := fmt.Sprintf(`{"account_sid":%q,"identity":"alice"}`, tn.sid)
	r := httptest.NewRequest(http.MethodPost, "/token", strings.NewReader(body))
	r.Header.Set("Content-Type", "application/json")
	r.Header.Set("Authorization", "Bearer "+tn.bearer)
	w := h.serve(h.token, r)
	if w.Code != status {
		h.t.Errorf("token for %s: status %d, want %d: %s", tn.sid, w.Code, status, w.Body)
	}
	if status == http.StatusServiceUnavailable && w.Header().Get("Retry-After") == "" {
		h.t.Errorf("token 503 without Retry-After")
	}
	if status == http.StatusOK && !strings.Contains(w.Body.String(), `"token":"eyJ`) {
		h.t.Errorf("token 200 without a token: %s", w.Body)
	}

	form := url.Values{
		"AccountSid": {tn.sid}, "CallSid": {"CA00000000000000000000000000000001"},
		"From": {"client:alice"}, "To": {"+14155550123"},
	}
	u := h.cfg.PublicBaseURL + httpapi.PathVoice
	r = httptest.NewRequest(http.MethodPost, httpapi.PathVoice, strings.NewReader(form.Encode()))
	r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	r.Header.Set(twiliosig.Header, twiliosig.Sign(u, form, tn.authToken))
	w = h.serve(h.hooks, r)
	if w.Code != status {
		h.t.Errorf("webhook for %s: status %d, want %d: %s", tn.sid, w.Code, status, w.Body)
	}
	if status == http.StatusOK && !strings.Contains(w.Body.String(), "<Number>+14155550123</Number>") {
		h.t.Errorf("webhook 200 without the Dial: %s", w.Body)
	}
}

// serve runs one request through logging.Middleware, as the functions do,
// and bounds its wall time.
func (h *harness) serve(next http.Handler, r *http.Request) *httptest.ResponseRecorder {
	h.t.Helper()
	w := httptest.NewRecorder()
	start := time.Now()
	logging.Middleware(slogDiscard, h.clock.Now)(next).ServeHTTP(w, r)
	if d := time.Since(start); d > coldDeadline {
		h.t.Errorf("%s took %v, more than %v", r.URL.Path, d, coldDeadline)
	}
	return w
}

// logCount counts JSON log lines with message msg for accountSID.
func (h *harness) logCount(msg, accountSID string) int {
	n := 0
	sc := bufio.NewScanner(strings.NewReader(h.logs.String()))
	for sc.Scan() {
		var line struct {
			Msg        string `json:"msg"`
			AccountSID string `json:"account_sid"`
		}
		if json.Unmarshal(sc.Bytes(), &line) != nil {
			h.t.Errorf("log line is not JSON: %s", sc.Bytes())
			continue
		}
		if line.Msg == msg && line.AccountSID == accountSID {
			n++
		}
	}
	return n
}

// slogDiscard drops the access lines: the store's own lines are counted.
var slogDiscard = slog.New(slog.DiscardHandler)
