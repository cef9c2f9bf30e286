package provision_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"strings"
	"testing"
	"time"

	"bubble-twilio-voice/cmd/subaccounts/internal/provision"
	"bubble-twilio-voice/shared/tenant"
	fakesm "bubble-twilio-voice/test/fake/secretsmanager"
	"bubble-twilio-voice/test/kit"
)

// subSID returns the SID of the subaccount named name.
func (e *env) subSID(name string) string {
	e.t.Helper()
	for _, a := range e.tw.Subaccounts() {
		if a.FriendlyName == name {
			return a.SID
		}
	}
	e.t.Fatalf("no subaccount named %q", name)
	return ""
}

// TestCreateWithLaggingListing is issue 20 item 1. Reproduction on the
// release before it: ListSecrets is eventually consistent ("might not
// reflect changes from the last five minutes"); create rebuilt the index
// from the listing only, printed "index ...: unchanged", and the new tenant
// was refused by every container (401 at /token, 403 at the webhooks) until
// a later create, close or reindex. Now create adds the SID it wrote and
// keeps the ones written lately, and a warm container (index read a minute
// earlier, TTL 5 minutes) serves the new tenant once create returns.
func TestCreateWithLaggingListing(t *testing.T) {
	e := newEnv(t)
	e.sm.SetClock(e.clock.Now)
	e.sm.SetListLag(5 * time.Minute)
	kit.SetAWSEnv(t, e.sm.URL())
	client, err := tenant.NewSecretsClient(os.Getenv)
	if err != nil {
		t.Fatal(err)
	}
	store := tenant.NewSecretsStore(client, tenant.SecretsConfig{Now: e.clock.Now})

	var sids []string
	for i := range 3 {
		name := fmt.Sprint("customer-", i)
		out := e.mustCreate(provision.CreateOptions{Name: name, CallerID: "+14155550100"})
		sids = append(sids, e.subSID(name))
		if !strings.Contains(out, "waiting 13s until every function container admits "+sids[i]) || !strings.HasSuffix(out, "ready\n") {
			t.Errorf("create %d does not wait for every container, then say ready:\n%s", i, out)
		}
		for _, sid := range sids {
			if !e.indexed(sid) {
				t.Errorf("after create %d, the index does not admit %s", i, sid)
			}
			if _, err := store.Lookup(context.Background(), sid); err != nil {
				t.Errorf("after create %d, a warm store refuses %s: %v", i, sid, err)
			}
		}
		e.clock.Advance(time.Minute)
	}
}

// TestBulkOnboarding is issue 20 item 2. Reproduction on the release before
// it: every create rewrote the index secret; Secrets Manager keeps every
// version for 24 hours and refuses a secret's 101st within a day
// (LimitExceededException), so onboarding a few hundred subaccounts in a
// day failed at "write index" around the 100th create. Now 1,000 creates
// with --no-reindex write only their tenants and leave their numbers alone,
// one reindex admits them all (though ListSecrets shows none of them yet),
// a rerun points the numbers, and a plain create that would exceed the
// quota stops before writing anything and says what to do.
func TestBulkOnboarding(t *testing.T) {
	const n = 1000
	e := newEnv(t)
	e.sm.SetClock(e.clock.Now)
	e.sm.SetListLag(5 * time.Minute)
	first := e.tw.AddSubaccount("customer-0")
	e.tw.AddNumber(first.SID, num1)
	firstOpts := provision.CreateOptions{Name: "customer-0", Numbers: []string{num1}, NoReindex: true}
	for i := range n {
		o := provision.CreateOptions{Name: fmt.Sprint("customer-", i), CallerID: "+14155550100", NoReindex: true}
		if i == 0 {
			o = firstOpts
		}
		out, err := e.create(o)
		if err != nil {
			t.Fatalf("create %d: %v\n%s", i, err, out)
		}
		if i == 0 && (!strings.Contains(out, "NOT ready") || !strings.Contains(out, "subaccounts reindex")) {
			t.Errorf("create --no-reindex does not say the tenant is not ready until reindex:\n%s", out)
		}
	}
	index := prefix + tenant.IndexSecretName
	if v := e.sm.Versions(index); v != 0 {
		t.Fatalf("create --no-reindex wrote the index %d times", v)
	}
	if nums := e.tw.Numbers(first.SID); nums[0].VoiceURL == e.d.IncomingURL {
		t.Errorf("create --no-reindex pointed %s at the deployment before it admits the tenant", num1)
	}

	out, err := e.run(func(p *provision.Provisioner) error {
		return p.Reindex(context.Background(), provision.ReindexOptions{})
	}, false)
	if err != nil || !strings.Contains(out, fmt.Sprintf("rebuilt (%d tenant(s))", n)) {
		t.Fatalf("reindex: %v\n%s", err, out)
	}
	subs := e.tw.Subaccounts()
	if len(subs) != n {
		t.Fatalf("%d subaccounts, want %d", len(subs), n)
	}
	for _, a := range subs {
		if !e.indexed(a.SID) {
			t.Fatalf("after reindex, %s (%s) is not in the index", a.SID, a.FriendlyName)
		}
	}
	firstOpts.NoReindex = false
	if out := e.mustCreate(firstOpts); !strings.Contains(out, "ready") || e.tw.Numbers(first.SID)[0].VoiceURL != e.d.IncomingURL {
		t.Errorf("rerun after reindex did not point %s:\n%s", num1, out)
	}

	// Plain creates, each writing the index once, until the quota.
	var refused error
	for i := 0; refused == nil && i < fakesm.VersionsPerSecret; i++ {
		before := e.smWrites() + e.tw.Writes()
		_, refused = e.create(provision.CreateOptions{Name: fmt.Sprint("late-", i), CallerID: "+14155550100"})
		if refused != nil && e.smWrites()+e.tw.Writes() != before {
			t.Errorf("the refused create wrote something")
		}
	}
	if got := e.sm.Versions(index); got != fakesm.VersionsPerSecret {
		t.Errorf("refused with %d index versions, want the %d of the quota", got, fakesm.VersionsPerSecret)
	}
	if refused == nil || !strings.Contains(refused.Error(), "--no-reindex") || !strings.Contains(refused.Error(), "nothing was changed") {
		t.Errorf("plain create over the quota: %v, want a refusal advising --no-reindex and reindex", refused)
	}
}

// TestSecondStackSharingThePrefix is issue 20 item 7 where two stacks were
// deployed with one SecretPrefix: the second stack's CLI would rewrite the
// first's index without its tenants. Now the index is tagged with its stack
// and another stack's create, close or reindex is refused before writing
// anything; the first stack's secrets are tagged with it.
func TestSecondStackSharingThePrefix(t *testing.T) {
	e := newEnv(t)
	e.stack = "voice-prod"
	e.mustCreate(provision.CreateOptions{Name: "acme", CallerID: num1})
	acme := e.subSID("acme")
	for _, name := range []string{prefix + acme, prefix + tenant.IndexSecretName} {
		if got := e.sm.Tags(name)[provision.StackTagKey]; got != "voice-prod" {
			t.Errorf("%s tagged %q, want voice-prod", name, got)
		}
	}

	e.stack = "voice-staging"
	e.resetCalls()
	for name, op := range map[string]func(p *provision.Provisioner) error{
		"create": func(p *provision.Provisioner) error {
			return p.Create(context.Background(), provision.CreateOptions{Name: "beta", CallerID: num1, Deployment: e.d})
		},
		"reindex": func(p *provision.Provisioner) error {
			return p.Reindex(context.Background(), provision.ReindexOptions{})
		},
		"close": func(p *provision.Provisioner) error {
			return p.Close(context.Background(), acme, provision.CloseOptions{Confirm: acme})
		},
	} {
		_, err := e.run(op, false)
		if !errors.Is(err, provision.ErrOtherStack) || !strings.Contains(err.Error(), "own SecretPrefix") {
			t.Errorf("%s from another stack: %v, want a refusal asking for its own SecretPrefix", name, err)
		}
	}
	if w := e.smWrites() + e.tw.Writes(); w != 0 {
		t.Errorf("the refused commands made %d writes", w)
	}
}

// TestIndexUpgrade: the first create of this version replaces a version-1
// index (3-byte SID prefixes, which made-up SIDs could match) with a keyed
// version-2 one that still admits every tenant, and keeps its salt after.
func TestIndexUpgrade(t *testing.T) {
	e := newEnv(t)
	const old = "AC0123456789abcdef0123456789abcdef"
	e.sm.Put(prefix+old, "{}")
	e.sm.Put(prefix+tenant.IndexSecretName, `{"version":1,"updated_at":"2026-11-30T09:00:00Z","count":1,"prefixes":"ASNF"}`)
	e.mustCreate(provision.CreateOptions{Name: "acme", CallerID: num1})
	read := func() tenant.Index {
		v, _ := e.sm.Get(prefix + tenant.IndexSecretName)
		x, err := tenant.ParseIndex([]byte(v))
		if err != nil {
			t.Fatal(err)
		}
		return x
	}
	x := read()
	if x.Version() != 2 || !x.MayContain(old) || !x.MayContain(e.subSID("acme")) {
		t.Fatalf("after create: version %d, admits the old tenant %v, the new %v", x.Version(), x.MayContain(old), x.MayContain(e.subSID("acme")))
	}
	if x.MayContain(old[:10] + "ffffffffffffffffffffffff") {
		t.Errorf("a made-up SID sharing the old tenant's prefix passes the new index")
	}
	e.mustCreate(provision.CreateOptions{Name: "beta", CallerID: num1})
	if y := read(); !bytes.Equal(y.Salt(), x.Salt()) || !y.MayContain(old) {
		t.Errorf("the next create changed the salt (%v) or dropped a tenant", !bytes.Equal(y.Salt(), x.Salt()))
	}
}
