package provision_test

import (
	"bytes"
	"context"
	"encoding/json"
	"strings"
	"sync"
	"testing"
	"time"

	"bubble-twilio-voice/cmd/subaccounts/internal/provision"
	"bubble-twilio-voice/shared/tenant"
	fakesm "bubble-twilio-voice/test/fake/secretsmanager"
	"bubble-twilio-voice/test/fake/twilio"
	"bubble-twilio-voice/test/kit"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
)

const prefix = tenant.DefaultSecretPrefix

// env is one test's world: a fake Twilio, a fake Secrets Manager, real
// clients for both, and everything the code under test printed.
type env struct {
	t   *testing.T
	tw  *twilio.Server
	sm  *fakesm.Server
	d   provision.Deployment
	out bytes.Buffer
	// errs holds the text of every error returned, scanned like out.
	errs strings.Builder

	mu      sync.Mutex
	secrets map[string]bool // every credential seen, to scan output for
	sleeps  []time.Duration
	onSleep func()
	// clock is the provisioner's; a sleep advances it.
	clock *kit.Clock
	// stack and force are the provisioner's Config.Stack and Config.Force.
	stack string
	force bool
}

func newEnv(t *testing.T) *env {
	t.Helper()
	e := &env{t: t, tw: twilio.Start(t), sm: fakesm.Start(t), secrets: map[string]bool{}, clock: &kit.Clock{}}
	e.d = deployment("https://abc123.execute-api.us-east-1.amazonaws.com")
	t.Cleanup(e.scanOutput)
	return e
}

// deployment is the stack "voice-test" answering at base.
func deployment(base string) provision.Deployment {
	return provision.Deployment{
		Label:             "voice-test",
		VoiceURL:          base + "/voice",
		IncomingURL:       base + "/incoming",
		TokenURL:          base + "/token",
		FallbackURL:       provision.DefaultFallbackURL,
		StatusCallbackURL: base + "/events/call-status",
	}
}

// keyPrefix starts the names of the API keys deployment d creates.
func keyPrefix(d provision.Deployment) string { return d.AppName() + " key-" }

func (e *env) provisioner(dryRun bool) *provision.Provisioner {
	return e.provisionerFor(dryRun, e.sm)
}

// provisionerFor uses sm as Secrets Manager: another deployment's, in
// another region or account, has its own.
func (e *env) provisionerFor(dryRun bool, smFake *fakesm.Server) *provision.Provisioner {
	mainSID, mainToken := e.tw.Main()
	tw, err := provision.NewREST(provision.Credentials{AccountSID: mainSID, AuthToken: mainToken},
		provision.RESTOptions{BaseURL: e.tw.URL()})
	if err != nil {
		e.t.Fatal(err)
	}
	sm := secretsmanager.New(secretsmanager.Options{
		Region:       kit.AWSRegion,
		BaseEndpoint: aws.String(smFake.URL()),
		Credentials:  credentials.NewStaticCredentialsProvider(kit.AWSAccessKeyID, kit.AWSSecretAccessKey, ""),
		// A fault fails the step at once: no retry, except at once for a
		// connection error, which the CLI's client retries too. The SDK at
		// times reports "use of closed network connection" reading a body
		// over 4 KiB from a local server (about 1 call in 300 under -race).
		Retryer: retry.NewStandard(func(o *retry.StandardOptions) {
			o.MaxAttempts = 4
			o.Retryables = []retry.IsErrorRetryable{retry.RetryableConnectionError{}}
			o.Backoff = retry.BackoffDelayerFunc(func(int, error) (time.Duration, error) { return 0, nil })
		}),
	})
	return provision.New(provision.Config{
		Twilio: tw, Secrets: provision.NewSecretsManager(sm, ""), SecretPrefix: prefix,
		Out: &e.out, DryRun: dryRun, Now: e.clock.Now, Stack: e.stack, Force: e.force,
		// A sleep advances the clock, unless onSleep cancels the context
		// (an interrupted wait).
		Sleep: func(ctx context.Context, d time.Duration) error {
			e.mu.Lock()
			e.sleeps = append(e.sleeps, d)
			f := e.onSleep
			e.mu.Unlock()
			if f != nil {
				f()
			}
			if err := ctx.Err(); err != nil {
				return err
			}
			e.clock.Advance(d)
			return nil
		},
	})
}

// run runs op and collects every credential that exists before and after,
// so scanOutput can look for them. It returns op's error and the output op
// printed.
func (e *env) run(op func(p *provision.Provisioner) error, dryRun bool) (string, error) {
	e.t.Helper()
	e.collect()
	start := e.out.Len()
	err := op(e.provisioner(dryRun))
	e.collect()
	if err != nil {
		e.errs.WriteString(err.Error() + "\n")
	}
	return e.out.String()[start:], err
}

func (e *env) create(o provision.CreateOptions) (string, error) {
	e.t.Helper()
	return e.createCtx(context.Background(), o)
}

func (e *env) createCtx(ctx context.Context, o provision.CreateOptions) (string, error) {
	e.t.Helper()
	o.Deployment = e.d
	return e.run(func(p *provision.Provisioner) error { return p.Create(ctx, o) }, false)
}

func (e *env) dryCreate(o provision.CreateOptions) (string, error) {
	e.t.Helper()
	o.Deployment = e.d
	return e.run(func(p *provision.Provisioner) error { return p.Create(context.Background(), o) }, true)
}

func (e *env) mustCreate(o provision.CreateOptions) string {
	e.t.Helper()
	out, err := e.create(o)
	if err != nil {
		e.t.Fatalf("create: %v\noutput:\n%s", err, out)
	}
	// A setup step: the wait until every container admits the tenant is
	// not what a test of the next step counts.
	e.mu.Lock()
	e.sleeps = nil
	e.mu.Unlock()
	return out
}

// collect notes every credential in both fakes.
func (e *env) collect() {
	e.mu.Lock()
	defer e.mu.Unlock()
	mainSID, mainToken := e.tw.Main()
	e.secrets[mainToken] = true
	accts := append(e.tw.Subaccounts(), twilio.Account{SID: mainSID})
	for _, a := range accts {
		if a.AuthToken != "" {
			e.secrets[a.AuthToken] = true
		}
		if a.Secondary != "" {
			e.secrets[a.Secondary] = true
		}
		for _, k := range e.tw.Keys(a.SID) {
			e.secrets[k.Secret] = true
		}
	}
	for _, name := range e.sm.Names() {
		v, _ := e.sm.Get(name)
		var r struct {
			AuthToken         string   `json:"auth_token"`
			PreviousAuthToken string   `json:"previous_auth_token"`
			APIKeySecret      string   `json:"api_key_secret"`
			TokenAPIKeys      []string `json:"token_api_keys"`
		}
		_ = json.Unmarshal([]byte(v), &r)
		for _, s := range append([]string{r.AuthToken, r.PreviousAuthToken, r.APIKeySecret}, r.TokenAPIKeys...) {
			if s != "" {
				e.secrets[s] = true
			}
		}
	}
}

const bearerHeader = "Bearer key for the Bubble API Connector (shown once; store it in Bubble now):\n"

// bearers returns the bearer keys out printed on purpose.
func bearers(out string) []string {
	var keys []string
	for {
		i := strings.Index(out, bearerHeader)
		if i < 0 {
			return keys
		}
		out = out[i+len(bearerHeader):]
		line, rest, _ := strings.Cut(out, "\n")
		keys = append(keys, line)
		out = rest
	}
}

// scanOutput fails the test if anything printed contains a credential,
// except the bearer keys printed under bearerHeader, each exactly once.
func (e *env) scanOutput() {
	e.collect()
	out := e.out.String()
	for _, b := range bearers(out) {
		if strings.Count(out, b) != 1 {
			e.t.Errorf("bearer key printed %d times, want once", strings.Count(out, b))
		}
		out = strings.Replace(out, bearerHeader+b+"\n", bearerHeader+"(checked)\n", 1)
	}
	out += e.errs.String()
	e.mu.Lock()
	defer e.mu.Unlock()
	for s := range e.secrets {
		if len(s) >= 8 && strings.Contains(out, s) {
			e.t.Errorf("output contains a credential (%d chars, starts %.3s...)", len(s), s)
		}
	}
}

// record returns the stored tenant of accountSID, failing if it does not
// parse.
func (e *env) record(accountSID string) *tenant.Tenant {
	e.t.Helper()
	v, ok := e.sm.Get(prefix + accountSID)
	if !ok {
		e.t.Fatalf("no secret %s%s", prefix, accountSID)
	}
	t, err := tenant.Parse([]byte(v))
	if err != nil {
		e.t.Fatalf("stored record does not parse: %v", err)
	}
	return t
}

// raw returns the stored record as a generic JSON object.
func (e *env) raw(accountSID string) map[string]any {
	e.t.Helper()
	v, _ := e.sm.Get(prefix + accountSID)
	var m map[string]any
	if err := json.Unmarshal([]byte(v), &m); err != nil {
		e.t.Fatal(err)
	}
	return m
}

// smWrites counts Secrets Manager writes since the last ResetCalls.
func (e *env) smWrites() int {
	return e.sm.Calls("CreateSecret") + e.sm.Calls("PutSecretValue") + e.sm.Calls("DeleteSecret")
}

func (e *env) resetCalls() {
	e.tw.ResetCalls()
	e.sm.ResetCalls()
}

// onlySub returns the single subaccount, failing if there is not exactly one.
func (e *env) onlySub() twilio.Account {
	e.t.Helper()
	subs := e.tw.Subaccounts()
	if len(subs) != 1 {
		e.t.Fatalf("%d subaccounts, want 1", len(subs))
	}
	return subs[0]
}

// assertProvisioned checks the end state of a successful create of the
// only subaccount with numbers routed.
func (e *env) assertProvisioned(numbers ...string) *tenant.Tenant {
	e.t.Helper()
	sub := e.onlySub()
	rec := e.record(sub.SID)
	if rec.AuthToken != sub.AuthToken {
		e.t.Errorf("record auth_token is not the subaccount's")
	}
	var ours []twilio.Key
	for _, k := range e.tw.Keys(sub.SID) {
		if strings.HasPrefix(k.FriendlyName, keyPrefix(e.d)) {
			ours = append(ours, k)
		}
	}
	if len(ours) != 1 || ours[0].SID != rec.APIKeySID || ours[0].Secret != rec.APIKeySecret {
		e.t.Errorf("keys named %q*: %d (want exactly the record's key %s)", keyPrefix(e.d), len(ours), rec.APIKeySID)
	}
	if raw := e.raw(sub.SID); raw["pending_api_key_names"] != nil || raw["previous_api_key_sid"] != nil {
		e.t.Errorf("record keeps key bookkeeping after a finished run: pending %v, previous %v", raw["pending_api_key_names"], raw["previous_api_key_sid"])
	}
	if !e.indexed(sub.SID) {
		e.t.Errorf("the index does not list %s", sub.SID)
	}
	apps := e.tw.Apps(sub.SID)
	if len(apps) != 1 || apps[0].SID != rec.TwiMLAppSID {
		e.t.Fatalf("apps: %+v, want one with the record's SID %s", apps, rec.TwiMLAppSID)
	}
	if a := apps[0]; a.FriendlyName != e.d.AppName() || a.VoiceURL != e.d.VoiceURL || a.VoiceMethod != "POST" ||
		a.VoiceFallbackURL != e.d.FallbackURL || a.VoiceFallbackMethod != "POST" ||
		a.StatusCallback != e.d.StatusCallbackURL || a.StatusCallbackMethod != "POST" {
		e.t.Errorf("app = %+v", a)
	}
	for _, want := range numbers {
		found := false
		for _, n := range e.tw.Numbers(sub.SID) {
			if n.PhoneNumber == want {
				found = true
				if n.VoiceURL != e.d.IncomingURL || n.VoiceMethod != "POST" || n.VoiceApplicationSID != "" || n.VoiceFallbackURL != e.d.FallbackURL ||
					n.StatusCallback != e.d.StatusCallbackURL || n.StatusCallbackMethod != "POST" {
					e.t.Errorf("number %s = %+v", want, n)
				}
			}
		}
		if !found {
			e.t.Errorf("number %s missing", want)
		}
	}
	return rec
}

// indexed reports whether the index secret lets accountSID through.
func (e *env) indexed(accountSID string) bool {
	v, ok := e.sm.Get(prefix + tenant.IndexSecretName)
	if !ok {
		return false
	}
	x, err := tenant.ParseIndex([]byte(v))
	return err == nil && x.MayContain(accountSID)
}
