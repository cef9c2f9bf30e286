package provision_test

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"bubble-twilio-voice/cmd/subaccounts/internal/provision"
	"bubble-twilio-voice/shared/tenant"
	fakesm "bubble-twilio-voice/test/fake/secretsmanager"
	"bubble-twilio-voice/test/fake/twilio"
)

// studioFlow is a number's earlier setup that create replaces.
const studioFlow = "https://webhooks.twilio.com/v1/Accounts/AC0/Flows/FW0"

// writeCounter cancels a context at the nth write (Twilio non-GET or a
// Secrets Manager write), letting that write through, and counts writes
// after it; at every number update it checks the record the number is
// about to reach exists, loads and is indexed.
type writeCounter struct {
	e      *env
	cancel context.CancelFunc
	at     int // cancel at this write; 0: never

	mu       sync.Mutex
	writes   int
	after    int // writes that started after the cancel
	badRoute []string
}

func (w *writeCounter) write(what string) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.writes++
	if w.at > 0 && w.writes > w.at {
		w.after++
	}
	if w.writes == w.at {
		w.cancel()
	}
}

func (w *writeCounter) install() {
	w.e.tw.SetFault(func(route string, r *http.Request) twilio.Fault {
		if strings.HasPrefix(route, "GET ") {
			return twilio.Fault{}
		}
		if route == twilio.RouteUpdateNumber {
			sub := w.e.onlySub()
			v, ok := w.e.sm.Get(prefix + sub.SID)
			if _, err := tenant.Parse([]byte(v)); !ok || err != nil || !w.e.indexed(sub.SID) {
				w.mu.Lock()
				w.badRoute = append(w.badRoute, r.URL.Path)
				w.mu.Unlock()
			}
		}
		w.write(route)
		return twilio.Fault{}
	})
	w.e.sm.SetFault(func(op, _ string) fakesm.Fault {
		if op == "CreateSecret" || op == "PutSecretValue" || op == "DeleteSecret" {
			w.write(op)
		}
		return fakesm.Fault{}
	})
}

// TestCreateInterrupted interrupts create after each of its writes in turn
// (Ctrl-C cancels the context): the run stops before its next write, no
// number ever points at the deployment before the record loads and is
// indexed, a number's earlier setup stays until then, and a rerun finishes.
func TestCreateInterrupted(t *testing.T) {
	fresh := func() (*env, twilio.Account) {
		e := newEnv(t)
		sub := seedNamedSub(e)
		for _, n := range e.tw.Numbers(sub.SID) {
			n.VoiceURL = studioFlow
			e.tw.SetNumber(sub.SID, n)
		}
		return e, sub
	}
	// How many writes an uninterrupted run makes.
	e, _ := fresh()
	w := &writeCounter{e: e, cancel: func() {}}
	w.install()
	e.mustCreate(acmeOpts)
	total := w.writes
	if total < 6 {
		t.Fatalf("a fresh create made %d writes; expected record note, key, app, record, index, numbers", total)
	}

	for at := 1; at <= total; at++ {
		e, sub := fresh()
		ctx, cancel := context.WithCancel(context.Background())
		w := &writeCounter{e: e, cancel: cancel, at: at}
		w.install()
		out, err := e.createCtx(ctx, acmeOpts)
		cancel()
		if at < total && !errors.Is(err, context.Canceled) {
			t.Fatalf("interrupted at write %d/%d: err = %v\n%s", at, total, err, out)
		}
		if w.after != 0 {
			t.Errorf("interrupted at write %d: %d more writes after the interruption", at, w.after)
		}
		if len(w.badRoute) > 0 {
			t.Errorf("interrupted at write %d: numbers updated while the record was missing or unindexed: %v", at, w.badRoute)
		}
		// Each number still has its Studio Flow, or routes here with a record.
		for _, n := range e.tw.Numbers(sub.SID) {
			if n.VoiceURL != studioFlow && (n.VoiceURL != e.d.IncomingURL || !e.indexed(sub.SID)) {
				t.Errorf("interrupted at write %d: number %s = %q without a usable record", at, n.PhoneNumber, n.VoiceURL)
			}
		}
		e.tw.SetFault(nil)
		e.sm.SetFault(nil)
		if at < total {
			e.mustCreate(acmeOpts)
		}
		e.assertProvisioned(num1, num2)
		e.resetCalls()
		e.mustCreate(acmeOpts)
		if e.tw.Writes() != 0 || e.smWrites() != 0 {
			t.Errorf("interrupted at write %d: the run after the rerun wrote %v", at, e.tw.Log())
		}
	}
}

// TestCreateSecondDeployment runs create for the same subaccount from a
// second deployment with the same stack name (another region, so another
// URL and another Secrets Manager): it must neither delete the first's
// live key nor re-target its app or numbers without --force.
func TestCreateSecondDeployment(t *testing.T) {
	e := newEnv(t)
	sub := seedNamedSub(e)
	e.mustCreate(acmeOpts)
	first := e.record(sub.SID)
	firstApp := e.tw.Apps(sub.SID)[0]

	// A key the first deployment's run left pending must stay its own
	// business too: the second deployment's record does not list it.
	dB := deployment("https://xyz789.execute-api.eu-west-1.amazonaws.com")
	dB.Region = "eu-west-1"
	smB := fakesm.Start(t)
	createB := func(o provision.CreateOptions) (string, error) {
		o.Deployment = dB
		return e.run(func(p *provision.Provisioner) error {
			return e.provisionerFor(false, smB).Create(context.Background(), o)
		}, false)
	}

	e.resetCalls()
	out, err := createB(acmeOpts)
	if err == nil || !strings.Contains(err.Error(), "another deployment") || !strings.Contains(err.Error(), "--force") {
		t.Fatalf("second deployment with the first's numbers: err = %v\n%s", err, out)
	}
	if e.tw.Writes() != 0 || smB.Calls("CreateSecret")+smB.Calls("PutSecretValue") != 0 {
		t.Errorf("a refused create wrote: %v", e.tw.Log())
	}

	// Without the numbers, B provisions its own key and app next to A's.
	if out, err := createB(provision.CreateOptions{Name: "acme", CallerID: num1, Clients: []string{"alice"}}); err != nil {
		t.Fatalf("second deployment: %v\n%s", err, out)
	}
	if e.tw.Calls(twilio.RouteDeleteKey) != 0 {
		t.Errorf("the second deployment deleted keys: %v", e.tw.Log())
	}
	keys := map[string]bool{}
	for _, k := range e.tw.Keys(sub.SID) {
		keys[k.SID] = true
	}
	if !keys[first.APIKeySID] || len(keys) != 2 {
		t.Errorf("keys after the second deployment: %v; the first's %s must remain beside one new key", keys, first.APIKeySID)
	}
	apps := e.tw.Apps(sub.SID)
	if len(apps) != 2 || apps[0] != firstApp || apps[1].FriendlyName == firstApp.FriendlyName || apps[1].VoiceURL != dB.VoiceURL {
		t.Errorf("apps: %+v; want the first's untouched and one of the second's own", apps)
	}
	// The first deployment is whole, and its rerun leaves B's key alone.
	e.resetCalls()
	if out, err := e.check(sub.SID); err != nil {
		t.Errorf("check of the first deployment: %v\n%s", err, out)
	}
	e.mustCreate(acmeOpts)
	if e.tw.Writes() != 0 {
		t.Errorf("the first deployment's rerun wrote: %v", e.tw.Log())
	}

	// With --force, B takes the numbers over; still no key is deleted.
	o := acmeOpts
	o.Force = true
	if out, err := createB(o); err != nil {
		t.Fatalf("--force: %v\n%s", err, out)
	}
	for _, n := range e.tw.Numbers(sub.SID) {
		if n.VoiceURL != dB.IncomingURL || n.StatusCallback != dB.StatusCallbackURL {
			t.Errorf("number %s not taken over: %+v", n.PhoneNumber, n)
		}
	}
	if e.tw.Calls(twilio.RouteDeleteKey) != 0 || e.tw.Apps(sub.SID)[0] != firstApp {
		t.Errorf("--force touched the first deployment's key or app")
	}
}

// TestRotateKeyRerunWaits interrupts rotate-key during its wait; a rerun
// two minutes later must wait the remaining three minutes of the cache TTL
// before deleting the old key, and with --no-wait only say when.
func TestRotateKeyRerunWaits(t *testing.T) {
	e := newEnv(t)
	sub := seedNamedSub(e)
	e.mustCreate(acmeOpts)
	oldKey := e.record(sub.SID).APIKeySID
	replacedAt := e.clock.Now()

	ctx, cancel := context.WithCancel(context.Background())
	e.onSleep = cancel // Ctrl-C during the wait
	out, err := e.rotateKeyOpts(ctx, sub.SID, provision.RotateKeyOptions{CacheTTL: 5 * time.Minute})
	e.onSleep = nil
	if !errors.Is(err, context.Canceled) || !strings.Contains(err.Error(), "not deleted yet") {
		t.Fatalf("interrupted rotation: err = %v\n%s", err, out)
	}
	raw := e.raw(sub.SID)
	if raw["previous_api_key_sid"] != oldKey || raw["previous_api_key_replaced_at"] != replacedAt.UTC().Format(time.RFC3339) {
		t.Fatalf("record does not note the replaced key: %v %v", raw["previous_api_key_sid"], raw["previous_api_key_replaced_at"])
	}
	if e.tw.Calls(twilio.RouteDeleteKey) != 0 {
		t.Fatalf("old key deleted during the interrupted wait")
	}

	e.clock.Advance(2 * time.Minute)
	e.resetCalls()
	out, err = e.rotateKeyOpts(context.Background(), sub.SID, provision.RotateKeyOptions{CacheTTL: 5 * time.Minute, NoWait: true})
	if err != nil || !strings.Contains(out, "can be deleted from "+replacedAt.Add(5*time.Minute).UTC().Format(time.RFC3339)) {
		t.Errorf("--no-wait rerun: %v\n%s", err, out)
	}
	if e.tw.Writes() != 0 || e.smWrites() != 0 {
		t.Errorf("--no-wait rerun before the TTL wrote: %v", e.tw.Log())
	}

	e.sleeps = nil
	e.tw.SetFault(func(route string, _ *http.Request) twilio.Fault {
		if route == twilio.RouteDeleteKey && (len(e.sleeps) != 1 || e.clock.Now().Before(replacedAt.Add(5*time.Minute))) {
			t.Errorf("old key deleted at %v after sleeps %v", e.clock.Now(), e.sleeps)
		}
		return twilio.Fault{}
	})
	out, err = e.rotateKeyOpts(context.Background(), sub.SID, provision.RotateKeyOptions{CacheTTL: 5 * time.Minute})
	if err != nil || !strings.Contains(out, "resuming") {
		t.Fatalf("rerun: %v\n%s", err, out)
	}
	if len(e.sleeps) != 1 || e.sleeps[0] != 3*time.Minute {
		t.Errorf("rerun slept %v, want the 3m left of the cache TTL", e.sleeps)
	}
	if e.tw.Calls(twilio.RouteCreateKey) != 0 {
		t.Errorf("the rerun started another rotation")
	}
	e.assertProvisioned(num1, num2) // one key, no bookkeeping left
	if e.record(sub.SID).APIKeySID == oldKey {
		t.Errorf("record names the old key")
	}

	// create --rotate-key with a finished rotation rotates again, and a
	// second create meanwhile says when the replaced key goes.
	e.tw.SetFault(nil)
	o := acmeOpts
	o.RotateKey, o.CacheTTL, o.NoWait = true, 5*time.Minute, true
	if out := e.mustCreate(o); !strings.Contains(out, "can be deleted from") {
		t.Errorf("create --rotate-key --no-wait:\n%s", out)
	}
	if _, err := e.create(o); err == nil || !strings.Contains(err.Error(), "rotation is not finished") {
		t.Errorf("create --rotate-key during a rotation: %v", err)
	}
}

func TestShowRedactsNestedSecrets(t *testing.T) {
	e := newEnv(t)
	sub := seedNamedSub(e)
	e.mustCreate(acmeOpts)
	nested := []string{"nested-crm-token-value-01", "nested-password-value-02", "nested-credential-value-03", "nested-key-value-0004",
		"nested-url-secret-value-0005"}
	e.mu.Lock()
	for _, s := range nested {
		e.secrets[s] = true // scanOutput fails the test if any is printed
	}
	e.mu.Unlock()
	v := mustGet(e, sub.SID)
	v = strings.Replace(v, "{", `{
  "integrations": {"crm": {"endpoint": "https://crm.example.com", "API_Token": "`+nested[0]+`"},
                   "logins": [{"user": "ops", "password": "`+nested[1]+`"}]},
  "webhook_credentials": {"basic": "`+nested[2]+`"},
  "signing_keys": ["`+nested[3]+`", "`+nested[3]+`"],
  "events": {"url": "https://myapp.bubbleapps.io/api/1.1/wf/call-event?secret=`+nested[4]+`"},`, 1)
	e.sm.Put(prefix+sub.SID, v)

	out, err := e.run(func(p *provision.Provisioner) error { return p.Show(context.Background(), sub.SID) }, false)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{`"endpoint": "https://crm.example.com"`, `"API_Token": "(redacted)"`, `"password": "(redacted)"`,
		`"webhook_credentials": "(redacted)"`, `"signing_keys": [`, `"user": "ops"`, e.record(sub.SID).APIKeySID,
		`"url": "https://myapp.bubbleapps.io/api/1.1/wf/call-event?secret=(redacted)"`} {
		if !strings.Contains(out, want) {
			t.Errorf("show lacks %q:\n%s", want, out)
		}
	}
	// A change to a field holding nested secrets is described redacted too.
	o := acmeOpts
	o.Clients = []string{"carol"}
	e.sm.Put(prefix+sub.SID, strings.Replace(v, `"default": {`, `"default": {"forward_secret": "`+nested[0]+`", `, 1))
	if out := e.mustCreate(o); !strings.Contains(out, `"forward_secret":"(redacted)"`) {
		t.Errorf("create's change report:\n%s", out)
	}
}
