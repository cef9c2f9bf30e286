package provision_test

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"testing"

	"bubble-twilio-voice/cmd/subaccounts/internal/provision"
	"bubble-twilio-voice/shared/tenant"
	fakesm "bubble-twilio-voice/test/fake/secretsmanager"
	"bubble-twilio-voice/test/fake/twilio"
)

// faultStep fails the nth call (default the first) of a Twilio route or a
// Secrets Manager operation.
type faultStep struct {
	name string
	tw   string // Twilio route
	sm   string // Secrets Manager operation
	nth  int
}

func (e *env) faultAt(f faultStep) {
	n, nth := 0, max(f.nth, 1)
	hit := func() bool { n++; return n == nth }
	if f.tw != "" {
		e.tw.SetFault(func(route string, _ *http.Request) twilio.Fault {
			if route == f.tw && hit() {
				return twilio.InternalError()
			}
			return twilio.Fault{}
		})
	}
	if f.sm != "" {
		e.sm.SetFault(func(op, _ string) fakesm.Fault {
			if op == f.sm && hit() {
				return fakesm.InternalError()
			}
			return fakesm.Fault{}
		})
	}
}

// faultThenRerun checks, for each step: op fails there with a StepError, a
// rerun finishes (done holds), and the run after that makes no writes.
func faultThenRerun(t *testing.T, steps []faultStep, setup func(t *testing.T) *env, op func(e *env) (string, error), done func(t *testing.T, e *env)) {
	t.Helper()
	for _, f := range steps {
		t.Run(f.name, func(t *testing.T) {
			e := setup(t)
			e.faultAt(f)
			out, err := op(e)
			var se *provision.StepError
			if !errors.As(err, &se) || !strings.Contains(err.Error(), "Internal") {
				t.Fatalf("with the fault: err = %v, want a StepError\n%s", err, out)
			}
			e.tw.SetFault(nil)
			e.sm.SetFault(nil)
			if out, err := op(e); err != nil {
				t.Fatalf("rerun: %v\n%s", err, out)
			}
			done(t, e)
			e.resetCalls()
			if out, err := op(e); err != nil || e.tw.Writes() != 0 || e.smWrites() != 0 {
				t.Errorf("the run after the rerun: err %v, writes %v + %d\n%s", err, e.tw.Log(), e.smWrites(), out)
			}
		})
	}
}

func (e *env) suspend(sid string, dryRun bool) (string, error) {
	return e.run(func(p *provision.Provisioner) error { return p.Suspend(context.Background(), sid) }, dryRun)
}

func (e *env) reactivate(sid string) (string, error) {
	return e.run(func(p *provision.Provisioner) error { return p.Reactivate(context.Background(), sid) }, false)
}

// provisionedWithCalls is a provisioned tenant with two calls in progress,
// one ringing and one finished.
func provisionedWithCalls(t *testing.T) *env {
	e := newEnv(t)
	sub := seedNamedSub(e)
	e.mustCreate(acmeOpts)
	e.tw.AddCall(sub.SID, "+15550001", num1, "in-progress")
	e.tw.AddCall(sub.SID, "client:alice", "+15550002", "in-progress")
	e.tw.AddCall(sub.SID, "+15550003", num2, "ringing")
	e.tw.AddCall(sub.SID, "+15550004", num1, "completed")
	return e
}

func assertSuspended(t *testing.T, e *env) {
	t.Helper()
	sub := e.onlySub()
	if sub.Status != "suspended" {
		t.Errorf("Twilio status %q", sub.Status)
	}
	rec := e.record(sub.SID)
	if !rec.Suspended() || rec.SuspendedAt != e.clock.Now().UTC().Format("2006-01-02T15:04:05Z") {
		t.Errorf("record status %q since %q", rec.Status, rec.SuspendedAt)
	}
	for _, c := range e.tw.CallsOf(sub.SID) {
		if c.Status == "in-progress" || c.Status == "ringing" {
			t.Errorf("call %s still %s", c.SID, c.Status)
		}
	}
}

func TestSuspend(t *testing.T) {
	e := provisionedWithCalls(t)
	sub := e.onlySub()
	before, _ := e.sm.Get(prefix + sub.SID)
	e.resetCalls()
	out, err := e.suspend(sub.SID, true)
	if err != nil || e.tw.Writes() != 0 || e.smWrites() != 0 {
		t.Fatalf("dry run: err %v, writes %v\n%s", err, e.tw.Log(), out)
	}
	for _, want := range []string{"plan: POST /2010-04-01/Accounts/" + sub.SID + ".json Status=suspended", "Calls/", "Status=completed", "Status=canceled", "plan: 3 live call(s) would be ended"} {
		if !strings.Contains(out, want) {
			t.Errorf("plan lacks %q:\n%s", want, out)
		}
	}
	if after, _ := e.sm.Get(prefix + sub.SID); after != before {
		t.Errorf("dry run changed the record")
	}

	// The record is marked before Twilio suspends, so /token refuses first.
	e.tw.SetFault(func(route string, _ *http.Request) twilio.Fault {
		if route == twilio.RouteUpdateAccount && !e.record(sub.SID).Suspended() {
			t.Errorf("Twilio suspended before the record was marked")
		}
		return twilio.Fault{}
	})
	out, err = e.suspend(sub.SID, false)
	if err != nil || !strings.Contains(out, "calls: ended 3 call(s) in progress") || !strings.Contains(out, "suspended in Twilio") {
		t.Fatalf("suspend: %v\n%s", err, out)
	}
	assertSuspended(t, e)
	if calls := e.tw.CallsOf(sub.SID); calls[0].Status != "completed" || calls[2].Status != "canceled" {
		t.Errorf("calls after suspend: %+v", calls)
	}

	e.tw.SetFault(nil)
	e.resetCalls()
	out, err = e.suspend(sub.SID, false)
	if err != nil || e.tw.Writes() != 0 || e.smWrites() != 0 || !strings.Contains(out, "already suspended") || !strings.Contains(out, "calls: none in progress") {
		t.Errorf("rerun: %v, writes %v\n%s", err, e.tw.Log(), out)
	}
	if out, err := e.check(sub.SID); err != nil || !strings.Contains(out, "is suspended (since") {
		t.Errorf("check of a suspended tenant: %v\n%s", err, out)
	}

	out, err = e.reactivate(sub.SID)
	if err != nil || e.onlySub().Status != "active" || e.record(sub.SID).Suspended() || e.raw(sub.SID)["suspended_at"] != nil {
		t.Fatalf("reactivate: %v\n%s", err, out)
	}
	e.resetCalls()
	if out, err := e.reactivate(sub.SID); err != nil || e.tw.Writes() != 0 || e.smWrites() != 0 {
		t.Errorf("reactivate rerun: %v %v\n%s", err, e.tw.Log(), out)
	}
	if out, err := e.check(sub.SID); err != nil {
		t.Errorf("check after reactivate: %v\n%s", err, out)
	}
}

func TestSuspendFailureThenRerun(t *testing.T) {
	faultThenRerun(t, []faultStep{
		{name: "fetch account", tw: twilio.RouteFetchAccount},
		{name: "read record", sm: "GetSecretValue"},
		{name: "mark record", sm: "PutSecretValue"},
		{name: "suspend in Twilio", tw: twilio.RouteUpdateAccount},
		{name: "list calls", tw: twilio.RouteListCalls},
		{name: "list ringing calls", tw: twilio.RouteListCalls, nth: 2},
		{name: "end a call", tw: twilio.RouteUpdateCall, nth: 2},
	}, provisionedWithCalls, func(e *env) (string, error) { return e.suspend(e.onlySub().SID, false) }, assertSuspended)
}

func TestReactivateFailureThenRerun(t *testing.T) {
	setup := func(t *testing.T) *env {
		e := provisionedWithCalls(t)
		if out, err := e.suspend(e.onlySub().SID, false); err != nil {
			t.Fatalf("suspend: %v\n%s", err, out)
		}
		return e
	}
	faultThenRerun(t, []faultStep{
		{name: "reactivate in Twilio", tw: twilio.RouteUpdateAccount},
		{name: "read record", sm: "GetSecretValue"},
		{name: "unmark record", sm: "PutSecretValue"},
	}, setup, func(e *env) (string, error) { return e.reactivate(e.onlySub().SID) }, func(t *testing.T, e *env) {
		if sub := e.onlySub(); sub.Status != "active" || e.record(sub.SID).Suspended() {
			t.Errorf("after reactivate: Twilio %s, record suspended %v", sub.Status, e.record(sub.SID).Suspended())
		}
	})
}

func TestSuspendRefusals(t *testing.T) {
	e := newEnv(t)
	sub := seedNamedSub(e)
	mainSID, _ := e.tw.Main()
	if _, err := e.suspend(mainSID, false); err == nil || !strings.Contains(err.Error(), "main account") {
		t.Errorf("suspend main: %v", err)
	}
	// No record: Twilio is suspended anyway, and said so.
	out, err := e.suspend(sub.SID, false)
	if err != nil || !strings.Contains(out, "no tenant record") || e.onlySub().Status != "suspended" {
		t.Errorf("suspend without a record: %v\n%s", err, out)
	}
	e.tw.SetStatus(sub.SID, "closed")
	if _, err := e.reactivate(sub.SID); err == nil || !strings.Contains(err.Error(), "closed") {
		t.Errorf("reactivate closed: %v", err)
	}
}

func (e *env) close(sid, confirm string, dryRun bool) (string, error) {
	return e.run(func(p *provision.Provisioner) error {
		return p.Close(context.Background(), sid, provision.CloseOptions{Confirm: confirm})
	}, dryRun)
}

// twoTenants provisions "acme" (two numbers) and "beta" (one).
func twoTenants(t *testing.T) (*env, twilio.Account, twilio.Account) {
	e := newEnv(t)
	a := seedNamedSub(e)
	e.mustCreate(acmeOpts)
	b := e.tw.AddSubaccount("beta")
	e.tw.AddNumber(b.SID, num3)
	e.mustCreate(provision.CreateOptions{Name: "beta", Numbers: []string{num3}, Clients: []string{"bob"}})
	return e, a, b
}

const num3 = "+14155550102"

func TestClose(t *testing.T) {
	e, a, b := twoTenants(t)
	e.resetCalls()
	out, err := e.close(a.SID, "", false)
	if !errors.Is(err, provision.ErrNotConfirmed) || e.tw.Writes() != 0 || e.smWrites() != 0 {
		t.Fatalf("close without confirmation: err %v, writes %v\n%s", err, e.tw.Log(), out)
	}
	for _, want := range []string{"cannot be undone", "releases its 2 phone number(s): " + num1 + ", " + num2, "move-number " + num1,
		"tenant record " + prefix + a.SID + " is deleted (recoverable for 30 days", "--yes-close-" + a.SID} {
		if !strings.Contains(out, want) {
			t.Errorf("close output lacks %q:\n%s", want, out)
		}
	}
	if _, err := e.close(a.SID, b.SID, false); !errors.Is(err, provision.ErrNotConfirmed) {
		t.Errorf("another subaccount's confirmation closed it: %v", err)
	}
	out, err = e.close(a.SID, "", true)
	if err != nil || e.tw.Writes() != 0 || e.smWrites() != 0 || !strings.Contains(out, "plan: POST /2010-04-01/Accounts/"+a.SID+".json Status=closed") ||
		!strings.Contains(out, "plan: Secrets Manager DeleteSecret "+prefix+a.SID+" RecoveryWindowInDays=30") {
		t.Errorf("dry run: %v %v\n%s", err, e.tw.Log(), out)
	}

	out, err = e.close(a.SID, a.SID, false)
	if err != nil {
		t.Fatalf("close: %v\n%s", err, out)
	}
	assertClosed(t, e, a.SID, b.SID)
}

func assertClosed(t *testing.T, e *env, closed, other string) {
	t.Helper()
	if acct, _ := e.tw.Account(closed); acct.Status != "closed" || len(e.tw.Numbers(closed)) != 0 {
		t.Errorf("Twilio: %s, %d numbers", acct.Status, len(e.tw.Numbers(closed)))
	}
	if when, ok := e.sm.DeletionDate(prefix + closed); !ok || when.IsZero() {
		t.Errorf("secret not scheduled for deletion")
	}
	if e.indexed(closed) || !e.indexed(other) {
		t.Errorf("index: closed listed %v, other listed %v", e.indexed(closed), e.indexed(other))
	}
}

func TestCloseFailureThenRerun(t *testing.T) {
	var other string
	setup := func(t *testing.T) *env {
		e, _, b := twoTenants(t)
		other = b.SID
		return e
	}
	acme := func(e *env) string { return e.tw.Subaccounts()[0].SID }
	faultThenRerun(t, []faultStep{
		{name: "fetch account", tw: twilio.RouteFetchAccount},
		{name: "list numbers", tw: twilio.RouteListNumbers},
		{name: "close in Twilio", tw: twilio.RouteUpdateAccount},
		{name: "delete secret", sm: "DeleteSecret"},
		{name: "list secrets", sm: "ListSecrets"},
		{name: "write index", sm: "PutSecretValue"},
	}, setup, func(e *env) (string, error) { return e.close(acme(e), acme(e), false) }, func(t *testing.T, e *env) {
		assertClosed(t, e, acme(e), other)
	})
}

func TestReindex(t *testing.T) {
	e := newEnv(t)
	var sids []string
	for i := range 130 { // two ListSecrets pages
		sid := "AC" + strings.Repeat("0", 26) + "000000"
		sid = sid[:2] + hex6(i) + sid[8:]
		sids = append(sids, sid)
		e.sm.Put(prefix+sid, "{}")
	}
	e.sm.Put(prefix+"not-a-tenant", "{}")
	e.sm.Put("other/"+sids[0], "{}")
	reindex := func() (string, error) {
		return e.run(func(p *provision.Provisioner) error {
			return p.Reindex(context.Background(), provision.ReindexOptions{})
		}, false)
	}
	out, err := reindex()
	if err != nil || !strings.Contains(out, "rebuilt (130 tenant(s))") || e.sm.Calls("ListSecrets") < 2 { // two pages (a connection retry may add one)
		t.Fatalf("reindex: %v, %d ListSecrets\n%s", err, e.sm.Calls("ListSecrets"), out)
	}
	v, _ := e.sm.Get(prefix + tenant.IndexSecretName)
	x, err := tenant.ParseIndex([]byte(v))
	if err != nil || x.Count() != 130 {
		t.Fatalf("index: %v, count %d", err, x.Count())
	}
	for _, sid := range sids {
		if !x.MayContain(sid) {
			t.Errorf("index lacks %s", sid)
		}
	}
	e.resetCalls()
	if out, err := reindex(); err != nil || e.smWrites() != 0 || !strings.Contains(out, "unchanged (130 tenant(s))") {
		t.Errorf("rerun: %v, %d writes\n%s", err, e.smWrites(), out)
	}
	e.sm.Delete(prefix + sids[7])
	e.clock.Advance(1)
	if out, err := reindex(); err != nil || !strings.Contains(out, "rebuilt (129 tenant(s))") || e.indexed(sids[7]) {
		t.Errorf("after a removal: %v\n%s", err, out)
	}
}

func hex6(i int) string {
	const digits = "0123456789abcdef"
	b := make([]byte, 6)
	for j := 5; j >= 0; j-- {
		b[j] = digits[i%16]
		i /= 16
	}
	return string(b)
}

// TestRotateKeyFailureThenRerun fails rotate-key at each step. A rerun
// finishes that rotation: once the new key is stored it starts no other
// (rotate-key is the one command that changes something every time it is
// run afresh, so there is no "no writes" run here).
func TestRotateKeyFailureThenRerun(t *testing.T) {
	for _, tc := range []struct {
		f faultStep
		// creates is how many keys Twilio is asked for by the failed run and
		// the rerun: the rerun creates none once the new key is stored.
		creates int
	}{
		{faultStep{name: "read record", sm: "GetSecretValue"}, 1},
		{faultStep{name: "list keys", tw: twilio.RouteListKeys}, 1},
		{faultStep{name: "note key name", sm: "PutSecretValue"}, 1},
		{faultStep{name: "create key", tw: twilio.RouteCreateKey}, 2},
		{faultStep{name: "store key", sm: "PutSecretValue", nth: 2}, 2},
		{faultStep{name: "delete old key", tw: twilio.RouteDeleteKey}, 1},
		{faultStep{name: "clear previous", sm: "PutSecretValue", nth: 3}, 1},
	} {
		t.Run(tc.f.name, func(t *testing.T) {
			e := newEnv(t)
			sub := seedNamedSub(e)
			e.mustCreate(acmeOpts)
			oldKey := e.record(sub.SID).APIKeySID
			e.resetCalls()
			e.faultAt(tc.f)
			out, err := e.rotateKey(sub.SID, 0)
			var se *provision.StepError
			if !errors.As(err, &se) {
				t.Fatalf("with the fault: err = %v, want a StepError\n%s", err, out)
			}
			e.tw.SetFault(nil)
			e.sm.SetFault(nil)
			if out, err := e.rotateKey(sub.SID, 0); err != nil {
				t.Fatalf("rerun: %v\n%s", err, out)
			}
			rec := e.assertProvisioned(num1, num2) // one key of ours, no bookkeeping left
			if rec.APIKeySID == oldKey || e.tw.Calls(twilio.RouteCreateKey) != tc.creates {
				t.Errorf("key %s (old %s); %d keys created, want %d", rec.APIKeySID, oldKey, e.tw.Calls(twilio.RouteCreateKey), tc.creates)
			}
		})
	}
}

func TestReindexFailureThenRerun(t *testing.T) {
	setup := func(t *testing.T) *env {
		e, _, _ := twoTenants(t)
		e.sm.Put(prefix+"ACffffff00000000000000000000000000", "{}") // made by hand
		return e
	}
	faultThenRerun(t, []faultStep{
		{name: "list secrets", sm: "ListSecrets"},
		{name: "read index", sm: "GetSecretValue"},
		{name: "write index", sm: "PutSecretValue"},
	}, setup, func(e *env) (string, error) {
		return e.run(func(p *provision.Provisioner) error {
			return p.Reindex(context.Background(), provision.ReindexOptions{})
		}, false)
	}, func(t *testing.T, e *env) {
		if !e.indexed("ACffffff00000000000000000000000000") {
			t.Errorf("the hand-made tenant is not indexed")
		}
	})
}
