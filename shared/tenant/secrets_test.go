package tenant

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"net"
	"net/http"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager/types"

	fakesm "bubble-twilio-voice/test/fake/secretsmanager"
	"bubble-twilio-voice/test/kit"
)

const (
	secretSIDA    = "AC0123456789abcdef0123456789abcdef"
	secretSIDB    = "ACfedcba9876543210fedcba9876543210"
	secretSIDNone = "AC00000000000000000000000000000000"
)

// secretRecord is a valid tenant record for sid whose auth token is token.
func secretRecord(sid, token string) string {
	return fmt.Sprintf(`{"account_sid":%q,"auth_token":%q,"api_key_sid":"SK0123456789abcdef0123456789abcdef",`+
		`"api_key_secret":"api-key-secret-text","twiml_app_sid":"AP0123456789abcdef0123456789abcdef",`+
		`"caller_id":"+14155550100","token_api_keys":["bubble-key-0123456789"]}`, sid, token)
}

// countLevel counts the slog JSON lines of level in logs, leaving out the
// tenant index's own lines (its outages are the index tests' business).
func countLevel(logs *kit.LogBuffer, level string) int {
	n := 0
	for _, line := range strings.Split(logs.String(), "\n") {
		if strings.Contains(line, `"level":"`+level+`"`) && !strings.Contains(line, `"msg":"tenant index`) {
			n++
		}
	}
	return n
}

// sdkClient is the real SDK client aimed at url with static credentials and
// no retries, so the server's call counts are exact.
func sdkClient(t testing.TB, url string) *secretsmanager.Client {
	t.Helper()
	kit.SetAWSEnv(t, "")
	cfg, err := config.LoadDefaultConfig(context.Background(), config.WithRetryMaxAttempts(1))
	if err != nil {
		t.Fatal(err)
	}
	return secretsmanager.NewFromConfig(cfg, func(o *secretsmanager.Options) { o.BaseEndpoint = aws.String(url) })
}

type secretsHarness struct {
	srv     *fakesm.Server
	store   *SecretsStore
	clock   *kit.Clock
	logs    *kit.LogBuffer
	failed  *int // OnFetchError calls for tenants
	failMu  *sync.Mutex
	baseURL string
}

func (h *secretsHarness) fetchErrors() int {
	h.failMu.Lock()
	defer h.failMu.Unlock()
	return *h.failed
}

// newSecretsHarness builds a store over the real SDK client talking to a fresh
// fake Secrets Manager at url (the server's own when url is "").
func newSecretsHarness(t *testing.T, cfg SecretsConfig, url string, srv *fakesm.Server) *secretsHarness {
	t.Helper()
	if srv == nil {
		srv = fakesm.Start(t)
	}
	if url == "" {
		url = srv.URL()
	}
	h := &secretsHarness{srv: srv, clock: &kit.Clock{}, logs: &kit.LogBuffer{}, failed: new(int), failMu: new(sync.Mutex), baseURL: url}
	cfg.Now = h.clock.Now
	cfg.Log = slog.New(slog.NewJSONHandler(h.logs, nil))
	cfg.OnFetchError = func(sid string) {
		if sid == "" {
			return // the index's; see the index tests
		}
		h.failMu.Lock()
		defer h.failMu.Unlock()
		*h.failed++
	}
	h.store = NewSecretsStore(sdkClient(t, url), cfg)
	// The deployment's tenant index lists the tests' tenants, as the CLI
	// keeps it.
	index, err := EncodeIndex([]string{secretSIDA, secretSIDB, secretSIDNone}, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	srv.Put(h.store.IndexName(), string(index))
	return h
}

// calls counts the GetSecretValue calls for tenants' secrets (not for the
// index).
func (h *secretsHarness) calls() int {
	return h.srv.Calls("GetSecretValue") - h.srv.CallsFor("GetSecretValue", h.store.IndexName())
}

func mustLookupSecret(t *testing.T, s *SecretsStore, sid string) *Tenant {
	t.Helper()
	tn, err := s.Lookup(context.Background(), sid)
	if err != nil {
		t.Fatalf("Lookup(%s): %v", sid, err)
	}
	if tn.AccountSID != sid {
		t.Fatalf("Lookup(%s) returned tenant %s", sid, tn.AccountSID)
	}
	return tn
}

func TestSecretsStoreMalformedSIDNeverReachesAWS(t *testing.T) {
	h := newSecretsHarness(t, SecretsConfig{}, "", nil)
	for _, sid := range []string{"", "AC", "AC0123", secretSIDA + "0", strings.ToUpper(secretSIDA[:2]) + "zz" + secretSIDA[4:], "SK0123456789abcdef0123456789abcdef", "../../etc/passwd", "ac0123456789abcdef0123456789abcdef"} {
		t.Run(sid, func(t *testing.T) {
			_, err := h.store.Lookup(context.Background(), sid)
			if !errors.Is(err, ErrNotFound) {
				t.Errorf("err = %v, want ErrNotFound", err)
			}
		})
	}
	if n := h.srv.TotalCalls(); n != 0 {
		t.Errorf("%d calls reached AWS", n)
	}
}

func TestSecretsStoreTTL(t *testing.T) {
	h := newSecretsHarness(t, SecretsConfig{}, "", nil)
	h.srv.Put(DefaultSecretPrefix+secretSIDA, secretRecord(secretSIDA, "token-one"))

	steps := []struct {
		name      string
		advance   time.Duration
		rotate    string // new auth token put before the lookup
		wantToken string
		wantCalls int
	}{
		{"cold miss fetches", 0, "", "token-one", 1},
		{"hit makes no call", time.Minute, "", "token-one", 1},
		{"rotation unseen within TTL", 3*time.Minute + 59*time.Second, "token-two", "token-one", 1},
		{"refresh at TTL", time.Second, "", "token-two", 2},
		{"hit after refresh", 4 * time.Minute, "", "token-two", 2},
	}
	for _, st := range steps {
		t.Run(st.name, func(t *testing.T) {
			h.clock.Advance(st.advance)
			if st.rotate != "" {
				h.srv.Put(DefaultSecretPrefix+secretSIDA, secretRecord(secretSIDA, st.rotate))
			}
			if got := mustLookupSecret(t, h.store, secretSIDA).AuthToken; got != st.wantToken {
				t.Errorf("auth token = %q, want %q", got, st.wantToken)
			}
			if n := h.calls(); n != st.wantCalls {
				t.Errorf("calls = %d, want %d", n, st.wantCalls)
			}
		})
	}
	if h.logs.String() != "" {
		t.Errorf("unexpected logs: %s", h.logs)
	}
}

func TestSecretsStorePrefix(t *testing.T) {
	h := newSecretsHarness(t, SecretsConfig{Prefix: "prod/tenants/"}, "", nil)
	h.srv.Put("prod/tenants/"+secretSIDA, secretRecord(secretSIDA, "t"))
	mustLookupSecret(t, h.store, secretSIDA)
}

// flakyEndpoint serves handler on a fixed 127.0.0.1 port that can be taken
// down (connections refused) and brought back.
type flakyEndpoint struct {
	t       *testing.T
	handler http.Handler
	addr    string
	srv     *http.Server
}

func newFlakyEndpoint(t *testing.T, h http.Handler) *flakyEndpoint {
	e := &flakyEndpoint{t: t, handler: h, addr: "127.0.0.1:0"}
	e.up()
	t.Cleanup(e.down)
	return e
}

func (e *flakyEndpoint) up() {
	ln, err := net.Listen("tcp", e.addr)
	if err != nil {
		e.t.Skipf("cannot listen again on %s: %v", e.addr, err)
	}
	e.addr = ln.Addr().String()
	e.srv = &http.Server{Handler: e.handler, ReadHeaderTimeout: 5 * time.Second}
	go func() { _ = e.srv.Serve(ln) }()
}

func (e *flakyEndpoint) down() {
	if e.srv != nil {
		_ = e.srv.Close()
		e.srv = nil
	}
}

// TestSecretsStoreStaleOnError walks each kind of failure through an outage:
// the cached record is served, one warning is logged, AWS is not hammered,
// the stale limit ends service, and a success ends the outage.
func TestSecretsStoreStaleOnError(t *testing.T) {
	only := func(f fakesm.Fault) func(string, string) fakesm.Fault {
		return func(op, _ string) fakesm.Fault {
			if op == "GetSecretValue" {
				return f
			}
			return fakesm.Fault{}
		}
	}
	name := DefaultSecretPrefix + secretSIDA
	tests := []struct {
		name     string
		kind     string
		breakIt  func(h *secretsHarness, ep *flakyEndpoint)
		fixIt    func(h *secretsHarness, ep *flakyEndpoint)
		fetchOut time.Duration
	}{
		{"throttling", "ThrottlingException",
			func(h *secretsHarness, _ *flakyEndpoint) { h.srv.SetFault(only(fakesm.Throttle())) },
			func(h *secretsHarness, _ *flakyEndpoint) { h.srv.SetFault(nil) }, 0},
		{"internal error 500", "InternalServiceError",
			func(h *secretsHarness, _ *flakyEndpoint) { h.srv.SetFault(only(fakesm.InternalError())) },
			func(h *secretsHarness, _ *flakyEndpoint) { h.srv.SetFault(nil) }, 0},
		{"slow past deadline", "timeout",
			func(h *secretsHarness, _ *flakyEndpoint) { h.srv.SetFault(only(fakesm.Slow(time.Minute))) },
			func(h *secretsHarness, _ *flakyEndpoint) { h.srv.SetFault(nil) }, 200 * time.Millisecond},
		{"connection refused", "connection error",
			func(_ *secretsHarness, ep *flakyEndpoint) { ep.down() },
			func(_ *secretsHarness, ep *flakyEndpoint) { ep.up() }, 0},
		{"connection dropped", "connection error",
			func(h *secretsHarness, _ *flakyEndpoint) { h.srv.SetFault(only(fakesm.Hangup())) },
			func(h *secretsHarness, _ *flakyEndpoint) { h.srv.SetFault(nil) }, 0},
		{"malformed JSON", "malformed response",
			func(h *secretsHarness, _ *flakyEndpoint) {
				h.srv.SetFault(only(fakesm.Malformed(`{"SecretString":"{\"auth_token\":\"leak`)))
			},
			func(h *secretsHarness, _ *flakyEndpoint) { h.srv.SetFault(nil) }, 0},
		{"record stops parsing after rotation", "invalid record: api_key_sid",
			func(h *secretsHarness, _ *flakyEndpoint) {
				h.srv.Put(name, strings.Replace(secretRecord(secretSIDA, "rotated-bad"), `"SK0123`, `"XX0123`, 1))
			},
			func(h *secretsHarness, _ *flakyEndpoint) { h.srv.Put(name, secretRecord(secretSIDA, "token-two")) }, 0},
		{"record is not JSON after rotation", "invalid record: (document)",
			func(h *secretsHarness, _ *flakyEndpoint) { h.srv.Put(name, `{"auth_token":"leak`) },
			func(h *secretsHarness, _ *flakyEndpoint) { h.srv.Put(name, secretRecord(secretSIDA, "token-two")) }, 0},
		{"record of another tenant", "invalid record: account_sid does not match the secret name",
			func(h *secretsHarness, _ *flakyEndpoint) { h.srv.Put(name, secretRecord(secretSIDB, "tenant-b-token")) },
			func(h *secretsHarness, _ *flakyEndpoint) { h.srv.Put(name, secretRecord(secretSIDA, "token-two")) }, 0},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			srv := fakesm.Start(t)
			ep := newFlakyEndpoint(t, srv.Handler())
			h := newSecretsHarness(t, SecretsConfig{FetchTimeout: tc.fetchOut}, "http://"+ep.addr, srv)
			h.srv.Put(name, secretRecord(secretSIDA, "token-one"))
			ctx := context.Background()

			mustLookupSecret(t, h.store, secretSIDA)
			tc.breakIt(h, ep)
			h.clock.Advance(DefaultSecretsTTL)
			wantCalls := 2

			check := func(step string, wantToken string, wantErr bool) {
				t.Helper()
				got, err := h.store.Lookup(ctx, secretSIDA)
				switch {
				case wantErr:
					if !errors.Is(err, ErrUnavailable) || got != nil {
						t.Fatalf("%s: got %v, %v; want ErrUnavailable", step, got, err)
					}
					var fe *FetchError
					if !errors.As(err, &fe) || fe.Kind != tc.kind || fe.AccountSID != secretSIDA {
						t.Errorf("%s: error %v, want a FetchError of kind %q", step, err, tc.kind)
					}
				case err != nil:
					t.Fatalf("%s: %v", step, err)
				case got.AuthToken != wantToken:
					t.Errorf("%s: auth token %q, want %q", step, got.AuthToken, wantToken)
				}
				if n := h.calls(); n != wantCalls && tc.name != "connection refused" {
					t.Errorf("%s: calls = %d, want %d", step, n, wantCalls)
				}
			}
			check("first failed refresh serves stale", "token-one", false)
			h.clock.Advance(DefaultRetryAfter - time.Second)
			check("no retry within RetryAfter", "token-one", false)
			h.clock.Advance(time.Second)
			wantCalls++
			check("retry after RetryAfter still stale", "token-one", false)
			if n := countLevel(h.logs, "WARN"); n != 1 {
				t.Errorf("%d warnings during one outage, want 1:\n%s", n, h.logs)
			}
			if n := h.fetchErrors(); n != 2 {
				t.Errorf("OnFetchError called %d times, want 2", n)
			}

			h.clock.Advance(DefaultMaxStale) // now past TTL+MaxStale since the last success
			wantCalls++
			check("stale limit exceeded", "", true)
			check("failure remembered for FailureTTL", "", true)
			h.clock.Advance(DefaultFailureTTL)
			wantCalls++
			check("still down, still unavailable", "", true)
			if n := countLevel(h.logs, "WARN"); n != 1 {
				t.Errorf("%d warnings during one outage, want 1:\n%s", n, h.logs)
			}
			logs := h.logs.String()
			if !strings.Contains(logs, secretSIDA) || !strings.Contains(logs, `"error_kind":"`+tc.kind+`"`) {
				t.Errorf("warning lacks the AccountSid or error kind %q:\n%s", tc.kind, logs)
			}
			for _, secret := range []string{"token-one", "rotated-bad", "leak", "tenant-b-token", "api-key-secret-text", "test-secret"} {
				if strings.Contains(logs, secret) {
					t.Errorf("logs contain secret text %q:\n%s", secret, logs)
				}
			}

			tc.fixIt(h, ep)
			h.clock.Advance(DefaultFailureTTL) // the last failure is remembered that long
			wantCalls++
			got := mustLookupSecret(t, h.store, secretSIDA)
			if got.AuthToken != "token-one" && got.AuthToken != "token-two" {
				t.Errorf("after recovery auth token %q", got.AuthToken)
			}
			if countLevel(h.logs, "INFO") != 1 {
				t.Errorf("recovery not logged once:\n%s", h.logs)
			}

			// A new outage is a new warning.
			tc.breakIt(h, ep)
			h.clock.Advance(DefaultSecretsTTL)
			if _, err := h.store.Lookup(ctx, secretSIDA); err != nil {
				t.Fatalf("second outage: %v", err)
			}
			if n := countLevel(h.logs, "WARN"); n != 2 {
				t.Errorf("%d warnings after two outages, want 2:\n%s", n, h.logs)
			}
		})
	}
}

func TestSecretsStoreColdFailure(t *testing.T) {
	h := newSecretsHarness(t, SecretsConfig{}, "", nil)
	h.srv.Put(DefaultSecretPrefix+secretSIDA, secretRecord(secretSIDA, "t"))
	h.srv.SetFault(func(string, string) fakesm.Fault { return fakesm.Throttle() })
	for i := 1; i <= 3; i++ {
		_, err := h.store.Lookup(context.Background(), secretSIDA)
		if !errors.Is(err, ErrUnavailable) || errors.Is(err, ErrNotFound) {
			t.Fatalf("lookup %d: err = %v, want ErrUnavailable", i, err)
		}
		if strings.Contains(err.Error(), "Rate exceeded") {
			t.Errorf("error quotes the SDK's message: %v", err)
		}
		// Nothing to serve: the failure is remembered for FailureTTL, then
		// the next lookup tries again.
		if n := h.calls(); n != i {
			t.Errorf("calls = %d, want %d", n, i)
		}
		if _, err := h.store.Lookup(context.Background(), secretSIDA); !errors.Is(err, ErrUnavailable) || h.calls() != i {
			t.Errorf("lookup %d within FailureTTL: err = %v, calls = %d, want ErrUnavailable from memory", i, err, h.calls())
		}
		h.clock.Advance(DefaultFailureTTL)
	}
	if n := countLevel(h.logs, "WARN"); n != 1 {
		t.Errorf("%d warnings, want 1:\n%s", n, h.logs)
	}
	h.srv.SetFault(nil)
	mustLookupSecret(t, h.store, secretSIDA)
	if countLevel(h.logs, "INFO") != 1 {
		t.Errorf("recovery not logged:\n%s", h.logs)
	}
}

func TestSecretsStoreColdFetchTimeout(t *testing.T) {
	h := newSecretsHarness(t, SecretsConfig{FetchTimeout: 200 * time.Millisecond}, "", nil)
	h.srv.Put(DefaultSecretPrefix+secretSIDA, secretRecord(secretSIDA, "t"))
	h.srv.SetFault(func(string, string) fakesm.Fault { return fakesm.Slow(time.Minute) })
	start := time.Now()
	_, err := h.store.Lookup(context.Background(), secretSIDA)
	if !errors.Is(err, ErrUnavailable) || !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("err = %v, want ErrUnavailable from a deadline", err)
	}
	if d := time.Since(start); d > 3*time.Second {
		t.Errorf("cold fetch took %v with a 200ms FetchTimeout", d)
	}
}

// TestSecretsStoreCallerDeadline: the caller's own deadline bounds its wait
// even when FetchTimeout is longer.
func TestSecretsStoreCallerDeadline(t *testing.T) {
	h := newSecretsHarness(t, SecretsConfig{FetchTimeout: time.Minute}, "", nil)
	h.srv.Put(DefaultSecretPrefix+secretSIDA, secretRecord(secretSIDA, "t"))
	release := make(chan struct{})
	defer close(release)
	h.srv.SetFault(func(string, string) fakesm.Fault { return fakesm.Fault{Hold: release} })
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	_, err := h.store.Lookup(ctx, secretSIDA)
	if !errors.Is(err, ErrUnavailable) || !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("err = %v", err)
	}
}

func TestSecretsStoreSingleflight(t *testing.T) {
	for _, refresh := range []bool{false, true} {
		t.Run(fmt.Sprintf("refresh=%v", refresh), func(t *testing.T) {
			h := newSecretsHarness(t, SecretsConfig{}, "", nil)
			h.srv.Put(DefaultSecretPrefix+secretSIDA, secretRecord(secretSIDA, "t"))
			want := 1
			if refresh {
				mustLookupSecret(t, h.store, secretSIDA)
				h.clock.Advance(DefaultSecretsTTL)
				want = 2
			}
			h.readIndex(t)
			release := make(chan struct{})
			h.srv.SetFault(func(string, string) fakesm.Fault { return fakesm.Fault{Hold: release} })

			const n = 50
			var wg sync.WaitGroup
			results := make(chan *Tenant, n)
			ctx := &waitingCtx{Context: context.Background()}
			for i := 0; i < n; i++ {
				wg.Add(1)
				go func() {
					defer wg.Done()
					tn, err := h.store.Lookup(ctx, secretSIDA)
					if err != nil {
						t.Error(err)
					}
					results <- tn
				}()
			}
			waitForState(t, func() bool { return ctx.waiting() == n })
			close(release)
			wg.Wait()
			close(results)
			var first *Tenant
			for tn := range results {
				if first == nil {
					first = tn
				}
				if tn == nil || tn != first {
					t.Fatal("lookups got different records")
				}
			}
			if c := h.calls(); c != want {
				t.Errorf("calls = %d, want %d", c, want)
			}
		})
	}
}

// waitForState polls cond: it waits for goroutines to reach a state, never for
// time to pass.
func waitForState(t *testing.T, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatal("condition not reached")
		}
		time.Sleep(time.Millisecond)
	}
}

// waitingCtx counts the Lookups waiting on it: the store asks for Done only
// once a lookup has joined a flight and waits for its outcome (the index is
// read before, and the calls run on a detached context that never asks).
type waitingCtx struct {
	context.Context
	mu sync.Mutex
	n  int
}

func (c *waitingCtx) Done() <-chan struct{} {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.n++
	return c.Context.Done()
}

func (c *waitingCtx) waiting() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.n
}

// readIndex makes the store read the tenant index now, so that a test's
// lookups only wait for their tenant's flight.
func (h *secretsHarness) readIndex(t *testing.T) {
	t.Helper()
	if _, err := h.store.currentIndex(context.Background(), false); err != nil {
		t.Fatal(err)
	}
}

// TestSecretsStoreLeaderCancelled: the caller that started a fetch giving up
// fails only itself.
func TestSecretsStoreLeaderCancelled(t *testing.T) {
	for _, warm := range []bool{false, true} {
		t.Run(fmt.Sprintf("warm=%v", warm), func(t *testing.T) {
			h := newSecretsHarness(t, SecretsConfig{}, "", nil)
			h.srv.Put(DefaultSecretPrefix+secretSIDA, secretRecord(secretSIDA, "t"))
			if warm {
				mustLookupSecret(t, h.store, secretSIDA)
				h.clock.Advance(DefaultSecretsTTL)
			}
			h.readIndex(t)
			release := make(chan struct{})
			h.srv.SetFault(func(string, string) fakesm.Fault { return fakesm.Fault{Hold: release} })

			cancelCtx, cancel := context.WithCancel(context.Background())
			leaderCtx := &waitingCtx{Context: cancelCtx}
			leader := make(chan error, 1)
			go func() {
				_, err := h.store.Lookup(leaderCtx, secretSIDA)
				leader <- err
			}()
			waitForState(t, func() bool { return leaderCtx.waiting() == 1 && h.calls() == map[bool]int{false: 1, true: 2}[warm] })
			followerCtx := &waitingCtx{Context: context.Background()}
			follower := make(chan error, 1)
			go func() {
				_, err := h.store.Lookup(followerCtx, secretSIDA)
				follower <- err
			}()
			waitForState(t, func() bool { return followerCtx.waiting() == 1 })
			cancel()
			err := <-leader
			if warm {
				if err != nil { // a record within MaxStale is served at once
					t.Errorf("warm leader: %v", err)
				}
			} else if !errors.Is(err, ErrUnavailable) || !errors.Is(err, context.Canceled) {
				t.Errorf("leader err = %v, want ErrUnavailable from cancellation", err)
			}
			close(release)
			if err := <-follower; err != nil {
				t.Errorf("follower failed with the leader: %v", err)
			}
			if c, want := h.calls(), map[bool]int{false: 1, true: 2}[warm]; c != want {
				t.Errorf("calls = %d, want %d", c, want)
			}
		})
	}
}

func TestSecretsStoreNegativeCache(t *testing.T) {
	h := newSecretsHarness(t, SecretsConfig{}, "", nil)
	for i := 0; i < 100; i++ {
		if _, err := h.store.Lookup(context.Background(), secretSIDNone); !errors.Is(err, ErrNotFound) || errors.Is(err, ErrUnavailable) {
			t.Fatalf("err = %v, want ErrNotFound", err)
		}
	}
	if n := h.calls(); n != 1 {
		t.Errorf("100 lookups made %d calls, want 1", n)
	}
	h.clock.Advance(DefaultNegativeTTL - time.Second)
	_, _ = h.store.Lookup(context.Background(), secretSIDNone)
	if n := h.calls(); n != 1 {
		t.Errorf("within NegativeTTL: %d calls, want 1", n)
	}
	h.clock.Advance(time.Second)
	_, _ = h.store.Lookup(context.Background(), secretSIDNone)
	if n := h.calls(); n != 2 {
		t.Errorf("after NegativeTTL: %d calls, want 2", n)
	}
	// A tenant created meanwhile is found once the negative entry expires.
	h.srv.Put(DefaultSecretPrefix+secretSIDNone, secretRecord(secretSIDNone, "t"))
	h.clock.Advance(DefaultNegativeTTL)
	mustLookupSecret(t, h.store, secretSIDNone)
	if n := countLevel(h.logs, "WARN"); n != 0 {
		t.Errorf("not found is not an outage, got warnings:\n%s", h.logs)
	}
}

func TestSecretsStoreDeletedTenant(t *testing.T) {
	h := newSecretsHarness(t, SecretsConfig{}, "", nil)
	h.srv.Put(DefaultSecretPrefix+secretSIDA, secretRecord(secretSIDA, "t"))
	mustLookupSecret(t, h.store, secretSIDA)
	h.srv.Delete(DefaultSecretPrefix + secretSIDA)
	h.clock.Advance(DefaultSecretsTTL)
	if _, err := h.store.Lookup(context.Background(), secretSIDA); !errors.Is(err, ErrNotFound) {
		t.Errorf("deleted tenant: err = %v, want ErrNotFound", err)
	}
	if !strings.Contains(h.logs.String(), "deleted") {
		t.Errorf("deletion not logged:\n%s", h.logs)
	}
}

// fakeSecrets is a SecretsClient with a function field, for tests that need
// many calls or no network.
type fakeSecrets struct {
	get func(id string) (*secretsmanager.GetSecretValueOutput, error)
}

func (f fakeSecrets) GetSecretValue(_ context.Context, in *secretsmanager.GetSecretValueInput, _ ...func(*secretsmanager.Options)) (*secretsmanager.GetSecretValueOutput, error) {
	return f.get(aws.ToString(in.SecretId))
}

func TestSecretsStoreBinarySecret(t *testing.T) {
	s := NewSecretsStore(fakeSecrets{func(string) (*secretsmanager.GetSecretValueOutput, error) {
		return &secretsmanager.GetSecretValueOutput{SecretBinary: []byte("{}")}, nil
	}}, SecretsConfig{Now: new(kit.Clock).Now})
	_, err := s.Lookup(context.Background(), secretSIDA)
	var fe *FetchError
	if !errors.As(err, &fe) || !errors.Is(err, ErrUnavailable) || !strings.HasPrefix(fe.Kind, "invalid record") {
		t.Errorf("err = %v", err)
	}
}

// TestSecretsStoreBounded: made-up AccountSids do not grow the cache without
// bound once their negative entries expire.
func TestSecretsStoreBounded(t *testing.T) {
	clock := &kit.Clock{}
	s := NewSecretsStore(fakeSecrets{func(string) (*secretsmanager.GetSecretValueOutput, error) {
		return nil, &types.ResourceNotFoundException{Message: aws.String("no")}
	}}, SecretsConfig{Now: clock.Now, ColdFetchesPerSecond: 1e6, ColdFetchBurst: 1e6}) // no index, no cap: every SID is fetched
	for round := 0; round < 5; round++ {
		for i := 0; i < 1000; i++ {
			sid := fmt.Sprintf("AC%032x", round*1000+i)
			if _, err := s.Lookup(context.Background(), sid); !errors.Is(err, ErrNotFound) {
				t.Fatal(err)
			}
		}
		clock.Advance(DefaultNegativeTTL)
	}
	s.mu.RLock()
	n := len(s.entries)
	s.mu.RUnlock()
	if n > 2*minSweep {
		t.Errorf("cache holds %d entries after 5000 made-up SIDs", n)
	}
}

// TestNewSecretsClient: the client built from the environment reaches the
// endpoint named by AWS_ENDPOINT_URL_SECRETS_MANAGER, and its retries stay
// inside FetchTimeout.
func TestNewSecretsClient(t *testing.T) {
	srv := fakesm.Start(t)
	kit.SetAWSEnv(t, srv.URL())
	srv.Put(DefaultSecretPrefix+secretSIDA, secretRecord(secretSIDA, "t"))
	client, err := NewSecretsClient(os.Getenv)
	if err != nil {
		t.Fatal(err)
	}
	clock := &kit.Clock{}
	// FetchTimeout long enough for a loaded CI machine's first request,
	// short enough that the SDK's retries on a 500 would run past it.
	s := NewSecretsStore(client, SecretsConfig{Now: clock.Now, FetchTimeout: time.Second})
	mustLookupSecret(t, s, secretSIDA)
	if n := srv.CallsFor("GetSecretValue", "twilio-voice/"+secretSIDA); n != 1 {
		t.Fatalf("calls = %d, want 1", n)
	}

	srv.ResetCalls()
	srv.SetFault(func(string, string) fakesm.Fault { return fakesm.InternalError() })
	start := time.Now()
	if _, err := s.Lookup(context.Background(), secretSIDB); !errors.Is(err, ErrUnavailable) {
		t.Errorf("err = %v, want ErrUnavailable", err)
	}
	if d := time.Since(start); d > 3*time.Second {
		t.Errorf("retries took %v, past FetchTimeout", d)
	}
	if n := srv.Calls("GetSecretValue"); n < 2 {
		t.Errorf("the SDK made %d attempts; want its retries on a 500", n)
	}
}

// TestNewSecretsClientEnv: the client is built from Lambda's environment
// alone, and a missing region or credentials fails at start-up.
func TestNewSecretsClientEnv(t *testing.T) {
	lambdaEnv := map[string]string{
		"AWS_REGION":            "eu-west-1",
		"AWS_ACCESS_KEY_ID":     "ASIATEST",
		"AWS_SECRET_ACCESS_KEY": "test-secret",
		"AWS_SESSION_TOKEN":     "test-session",
	}
	with := func(kv ...string) map[string]string {
		env := maps.Clone(lambdaEnv)
		for i := 0; i < len(kv); i += 2 {
			env[kv[i]] = kv[i+1]
		}
		return env
	}
	tests := []struct {
		name         string
		env          map[string]string
		wantErr      string // substring; "" means success
		wantRegion   string
		wantEndpoint string // "" means the SDK's own
		wantSession  string
	}{
		{name: "lambda", env: lambdaEnv, wantRegion: "eu-west-1", wantSession: "test-session"},
		{name: "default region", env: with("AWS_REGION", "", "AWS_DEFAULT_REGION", "us-west-2"), wantRegion: "us-west-2", wantSession: "test-session"},
		{name: "AWS_REGION wins", env: with("AWS_DEFAULT_REGION", "us-west-2"), wantRegion: "eu-west-1", wantSession: "test-session"},
		{name: "no session token", env: with("AWS_SESSION_TOKEN", ""), wantRegion: "eu-west-1"},
		{name: "service endpoint", env: with("AWS_ENDPOINT_URL_SECRETS_MANAGER", "http://127.0.0.1:4566", "AWS_ENDPOINT_URL", "http://other:1"),
			wantRegion: "eu-west-1", wantEndpoint: "http://127.0.0.1:4566", wantSession: "test-session"},
		{name: "global endpoint", env: with("AWS_ENDPOINT_URL", "http://127.0.0.1:4566"),
			wantRegion: "eu-west-1", wantEndpoint: "http://127.0.0.1:4566", wantSession: "test-session"},
		{name: "missing region", env: with("AWS_REGION", ""), wantErr: "AWS_REGION"},
		{name: "missing key id", env: with("AWS_ACCESS_KEY_ID", ""), wantErr: "AWS_ACCESS_KEY_ID"},
		{name: "missing secret key", env: with("AWS_SECRET_ACCESS_KEY", ""), wantErr: "AWS_SECRET_ACCESS_KEY"},
		{name: "empty environment", env: nil, wantErr: "AWS_REGION"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			client, err := NewSecretsClient(func(k string) string { return tc.env[k] })
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("err = %v, want one naming %s", err, tc.wantErr)
				}
				if client != nil {
					t.Error("client returned with the error")
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			o := client.Options()
			if o.Region != tc.wantRegion {
				t.Errorf("Region = %q, want %q", o.Region, tc.wantRegion)
			}
			if got := aws.ToString(o.BaseEndpoint); got != tc.wantEndpoint {
				t.Errorf("BaseEndpoint = %q, want %q", got, tc.wantEndpoint)
			}
			creds, err := o.Credentials.Retrieve(context.Background())
			if err != nil {
				t.Fatal(err)
			}
			if creds.AccessKeyID != tc.env["AWS_ACCESS_KEY_ID"] || creds.SecretAccessKey != tc.env["AWS_SECRET_ACCESS_KEY"] || creds.SessionToken != tc.wantSession {
				t.Errorf("credentials = %q/%q/%q, want the environment's", creds.AccessKeyID, creds.SecretAccessKey, creds.SessionToken)
			}
			if n := o.Retryer.MaxAttempts(); n != secretsClientAttempts {
				t.Errorf("MaxAttempts = %d, want %d", n, secretsClientAttempts)
			}
		})
	}
}

func TestSecretsStoreWarmPathDoesNotAllocate(t *testing.T) {
	s := warmStore(t)
	ctx := context.Background()
	allocs := testing.AllocsPerRun(100, func() {
		if _, err := s.Lookup(ctx, secretSIDA); err != nil {
			t.Fatal(err)
		}
	})
	if allocs != 0 {
		t.Errorf("cache hit allocates %v times", allocs)
	}
}

func warmStore(tb testing.TB) *SecretsStore {
	tb.Helper()
	rec := secretRecord(secretSIDA, "t")
	s := NewSecretsStore(fakeSecrets{func(string) (*secretsmanager.GetSecretValueOutput, error) {
		return &secretsmanager.GetSecretValueOutput{SecretString: &rec}, nil
	}}, SecretsConfig{})
	if _, err := s.Lookup(context.Background(), secretSIDA); err != nil {
		tb.Fatal(err)
	}
	return s
}

func BenchmarkLookupCached(b *testing.B) {
	s := warmStore(b)
	ctx := context.Background()
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if _, err := s.Lookup(ctx, secretSIDA); err != nil {
				b.Fatal(err)
			}
		}
	})
}

func TestSecretsStoreMarkedForDeletion(t *testing.T) {
	h := newSecretsHarness(t, SecretsConfig{}, "", nil)
	h.srv.Put(DefaultSecretPrefix+secretSIDA, secretRecord(secretSIDA, "t"))
	mustLookupSecret(t, h.store, secretSIDA)
	h.srv.SetFault(func(string, string) fakesm.Fault {
		return fakesm.Fault{Code: "InvalidRequestException", Message: "You can't perform this operation on the secret because it was marked for deletion."}
	})
	h.clock.Advance(DefaultSecretsTTL)
	if _, err := h.store.Lookup(context.Background(), secretSIDA); !errors.Is(err, ErrNotFound) {
		t.Fatalf("secret marked for deletion: err = %v, want ErrNotFound (not served stale)", err)
	}
	// Any other InvalidRequestException is an outage: the cached record is served.
	h.srv.SetFault(func(string, string) fakesm.Fault { return fakesm.AWSError("InvalidRequestException") })
	h.srv.Put(DefaultSecretPrefix+secretSIDB, secretRecord(secretSIDB, "b"))
	h.srv.SetFault(nil)
	mustLookupSecret(t, h.store, secretSIDB)
	h.srv.SetFault(func(string, string) fakesm.Fault { return fakesm.AWSError("InvalidRequestException") })
	h.clock.Advance(DefaultSecretsTTL)
	if got := mustLookupSecret(t, h.store, secretSIDB); got.AccountSID != secretSIDB {
		t.Errorf("stale record for %s: %s", secretSIDB, got.AccountSID)
	}
}

// TestSecretsStoreTenantOfAnotherStack: a tenant whose secret another
// stack took over (subaccounts create --force there tags it for that
// stack), which this stack's functions' policy no longer lets them read.
// Before, AWS's AccessDeniedException was an outage: the cached record
// went on being served for MaxStale (an hour), then every request was 503
// and counted as SecretFetchFailed (its alarm), and the deliver function
// dead-lettered the tenant's queued events as "tenant unavailable". Now,
// while the index (same prefix, same policy) reads fine, the tenant is
// simply not this stack's: ErrNotFound at once, not served stale, not a
// fetch failure. Without an index read the policy itself may be broken,
// and that stays an outage.
func TestSecretsStoreTenantOfAnotherStack(t *testing.T) {
	denied := func(op, id string) fakesm.Fault {
		if op == "GetSecretValue" && id == DefaultSecretPrefix+secretSIDA {
			return fakesm.Fault{Code: "AccessDeniedException", Message: "User: arn:aws:sts::123456789012:assumed-role/voice-prod-IncomingFunctionRole/voice-prod-incoming is not authorized to perform: secretsmanager:GetSecretValue on resource: " + id + " because no identity-based policy allows the secretsmanager:GetSecretValue action"}
		}
		return fakesm.Fault{}
	}
	for _, tc := range []struct {
		name        string
		noIndex     bool
		wantFound   bool // errors.Is(err, ErrNotFound)
		wantFailure int  // OnFetchError calls
	}{
		{"index readable: another stack's tenant", false, true, 0},
		{"no index: an outage", true, false, 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := newSecretsHarness(t, SecretsConfig{}, "", nil)
			if tc.noIndex {
				h.srv.Delete(h.store.IndexName())
			}
			h.srv.Put(DefaultSecretPrefix+secretSIDA, secretRecord(secretSIDA, "t"))
			mustLookupSecret(t, h.store, secretSIDA)
			h.srv.SetFault(denied)
			h.clock.Advance(DefaultSecretsTTL)
			tn, err := h.store.Lookup(context.Background(), secretSIDA)
			if tc.wantFound {
				if tn != nil || !errors.Is(err, ErrNotFound) || errors.Is(err, ErrUnavailable) {
					t.Fatalf("Lookup = %v, %v; want ErrNotFound, no stale record", tn, err)
				}
				if !strings.Contains(h.logs.String(), "tagged for another stack") {
					t.Errorf("not logged:\n%s", h.logs)
				}
			} else if tn == nil || err != nil {
				// Served stale, as through any outage.
				t.Fatalf("Lookup = %v, %v; want the cached record served stale", tn, err)
			}
			if n := h.fetchErrors(); n != tc.wantFailure {
				t.Errorf("%d fetch failures counted, want %d", n, tc.wantFailure)
			}
			if strings.Contains(h.logs.String(), "not authorized") {
				t.Errorf("AWS's message (the role's ARN) reached the logs:\n%s", h.logs)
			}
		})
	}
}
