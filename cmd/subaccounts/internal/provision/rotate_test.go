package provision_test

import (
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	"bubble-twilio-voice/cmd/subaccounts/internal/provision"
	fakesm "bubble-twilio-voice/test/fake/secretsmanager"
	"bubble-twilio-voice/test/fake/twilio"
)

func (e *env) rotateKey(sid string, cacheTTL time.Duration) (string, error) {
	return e.rotateKeyOpts(context.Background(), sid, provision.RotateKeyOptions{CacheTTL: cacheTTL})
}

func (e *env) rotateKeyOpts(ctx context.Context, sid string, o provision.RotateKeyOptions) (string, error) {
	return e.run(func(p *provision.Provisioner) error { return p.RotateKey(ctx, sid, o) }, false)
}

func (e *env) rotateAuthToken(sid string, o provision.RotateAuthTokenOptions, dryRun bool) (string, error) {
	return e.run(func(p *provision.Provisioner) error { return p.RotateAuthToken(context.Background(), sid, o) }, dryRun)
}

func TestRotateKeyOrder(t *testing.T) {
	e := newEnv(t)
	sub := seedNamedSub(e)
	e.mustCreate(acmeOpts)
	oldKey := e.record(sub.SID).APIKeySID
	bearerBefore := e.record(sub.SID).TokenAPIKeys

	// When the old key is deleted, the record must already hold the new one,
	// and the wait must have happened.
	var deleted []string
	e.tw.SetFault(func(route string, r *http.Request) twilio.Fault {
		if route != twilio.RouteDeleteKey {
			return twilio.Fault{}
		}
		rec := e.record(sub.SID)
		if rec.APIKeySID == oldKey || strings.Contains(r.URL.Path, rec.APIKeySID) {
			t.Errorf("DELETE %s while the record holds %s", r.URL.Path, rec.APIKeySID)
		}
		e.mu.Lock()
		if len(e.sleeps) != 1 || e.sleeps[0] != 5*time.Minute {
			t.Errorf("deleting before waiting: sleeps %v", e.sleeps)
		}
		e.mu.Unlock()
		deleted = append(deleted, r.URL.Path)
		return twilio.Fault{}
	})
	out, err := e.rotateKey(sub.SID, 5*time.Minute)
	if err != nil {
		t.Fatalf("rotate-key: %v\n%s", err, out)
	}
	rec := e.assertProvisioned(num1, num2)
	if rec.APIKeySID == oldKey || len(deleted) != 1 || !strings.HasSuffix(deleted[0], oldKey+".json") {
		t.Errorf("new key %s, deleted %v (old %s)", rec.APIKeySID, deleted, oldKey)
	}
	if strings.Join(rec.TokenAPIKeys, ",") != strings.Join(bearerBefore, ",") || len(bearers(out)) != 0 {
		t.Errorf("rotate-key touched the bearer keys")
	}
}

func TestRotateKeyStoreFailsThenRerun(t *testing.T) {
	e := newEnv(t)
	sub := seedNamedSub(e)
	e.mustCreate(acmeOpts)
	oldKey := e.record(sub.SID).APIKeySID
	puts := 0
	e.sm.SetFault(func(op, _ string) fakesm.Fault {
		// The first write notes the new key's name; the second, storing
		// the key, fails.
		if op == "PutSecretValue" {
			if puts++; puts == 2 {
				return fakesm.Throttle()
			}
		}
		return fakesm.Fault{}
	})
	out, err := e.rotateKey(sub.SID, 0)
	if err == nil || !strings.Contains(err.Error(), "write secret") {
		t.Fatalf("err = %v\n%s", err, out)
	}
	if e.record(sub.SID).APIKeySID != oldKey || e.tw.Calls(twilio.RouteDeleteKey) != 0 {
		t.Fatalf("old key lost or deleted after a failed store")
	}
	e.sm.SetFault(nil)
	if out, err := e.rotateKey(sub.SID, 0); err != nil {
		t.Fatalf("rerun: %v\n%s", err, out)
	}
	e.assertProvisioned(num1, num2) // exactly one key of ours: the orphan and the old key are gone
	if e.tw.Calls(twilio.RouteDeleteKey) != 2 {
		t.Errorf("deletes: %d, want orphan + old key", e.tw.Calls(twilio.RouteDeleteKey))
	}
}

func TestRotateAuthToken(t *testing.T) {
	e := newEnv(t)
	sub := seedNamedSub(e)
	e.mustCreate(acmeOpts)
	oldToken := sub.AuthToken

	// During the wait Twilio still signs with the old token and has not
	// promoted; the record must accept both.
	e.onSleep = func() {
		a, _ := e.tw.Account(sub.SID)
		rec := e.record(sub.SID)
		if a.AuthToken != oldToken || a.Secondary == "" || rec.AuthToken != a.Secondary || rec.PreviousAuthToken != oldToken {
			t.Errorf("before promotion: record does not hold secondary + previous")
		}
		if got := rec.AuthTokens(); len(got) != 2 {
			t.Errorf("AuthTokens() = %d tokens", len(got))
		}
	}
	out, err := e.rotateAuthToken(sub.SID, provision.RotateAuthTokenOptions{Wait: time.Minute}, false)
	if err != nil {
		t.Fatalf("rotate-auth-token: %v\n%s", err, out)
	}
	e.onSleep = nil
	a, _ := e.tw.Account(sub.SID)
	rec := e.record(sub.SID)
	if a.AuthToken == oldToken || rec.AuthToken != a.AuthToken || rec.PreviousAuthToken != oldToken || a.Secondary != "" {
		t.Fatalf("after: twilio primary changed %v, record current %v, previous kept %v",
			a.AuthToken != oldToken, rec.AuthToken == a.AuthToken, rec.PreviousAuthToken == oldToken)
	}
	if len(e.sleeps) != 1 {
		t.Errorf("sleeps %v, want one wait before promotion", e.sleeps)
	}

	// create sees nothing to do after a finished rotation.
	e.resetCalls()
	e.mustCreate(acmeOpts)
	if e.smWrites() != 0 {
		t.Errorf("create rewrote the record after rotation")
	}

	out, err = e.rotateAuthToken(sub.SID, provision.RotateAuthTokenOptions{DropPrevious: true}, false)
	if err != nil {
		t.Fatalf("--drop-previous: %v\n%s", err, out)
	}
	if rec := e.record(sub.SID); rec.PreviousAuthToken != "" || rec.AuthToken != a.AuthToken {
		t.Errorf("previous_auth_token not dropped")
	}
}

func TestRotateAuthTokenResumesAfterPromoteFailure(t *testing.T) {
	e := newEnv(t)
	sub := seedNamedSub(e)
	e.mustCreate(acmeOpts)
	oldToken := sub.AuthToken
	e.tw.SetFault(func(route string, _ *http.Request) twilio.Fault {
		if route == twilio.RoutePromoteSecondary {
			return twilio.InternalError()
		}
		return twilio.Fault{}
	})
	out, err := e.rotateAuthToken(sub.SID, provision.RotateAuthTokenOptions{}, false)
	if err == nil || !strings.Contains(err.Error(), "promote secondary auth token") || !strings.Contains(err.Error(), "20500") {
		t.Fatalf("err = %v\n%s", err, out)
	}
	if rec := e.record(sub.SID); rec.PreviousAuthToken != oldToken {
		t.Fatalf("secondary not stored before promotion")
	}
	// create in between must not undo the pending rotation.
	e.tw.SetFault(nil)
	e.resetCalls()
	out = e.mustCreate(acmeOpts)
	if e.smWrites() != 0 || !strings.Contains(out, "rotation is in progress") {
		t.Errorf("create during a rotation: writes %d\n%s", e.smWrites(), out)
	}

	e.resetCalls()
	out, err = e.rotateAuthToken(sub.SID, provision.RotateAuthTokenOptions{}, false)
	if err != nil || !strings.Contains(out, "resuming") {
		t.Fatalf("rerun: %v\n%s", err, out)
	}
	if e.tw.Calls(twilio.RouteCreateSecondary) != 0 || e.tw.Calls(twilio.RoutePromoteSecondary) != 1 {
		t.Errorf("rerun calls: %v", e.tw.Log())
	}
	a, _ := e.tw.Account(sub.SID)
	if rec := e.record(sub.SID); rec.AuthToken != a.AuthToken || rec.PreviousAuthToken != oldToken {
		t.Errorf("after resume: record not current")
	}
}

func TestRotateAuthTokenDryRun(t *testing.T) {
	e := newEnv(t)
	sub := seedNamedSub(e)
	e.mustCreate(acmeOpts)
	before, _ := e.sm.Get(prefix + sub.SID)
	e.resetCalls()
	out, err := e.rotateAuthToken(sub.SID, provision.RotateAuthTokenOptions{Wait: time.Minute}, true)
	if err != nil {
		t.Fatalf("dry run: %v\n%s", err, out)
	}
	if e.tw.Writes() != 0 || e.smWrites() != 0 || len(e.sleeps) != 0 {
		t.Errorf("dry run wrote or slept: %v, %d, %v", e.tw.Log(), e.smWrites(), e.sleeps)
	}
	if after, _ := e.sm.Get(prefix + sub.SID); after != before {
		t.Errorf("dry run changed the record")
	}
	for _, want := range []string{"plan: POST https://accounts.twilio.com/v1/AuthTokens/Secondary", "plan: wait 1m0s", "plan: POST https://accounts.twilio.com/v1/AuthTokens/Promote"} {
		if !strings.Contains(out, want) {
			t.Errorf("plan lacks %q:\n%s", want, out)
		}
	}
}

func TestRotateRefusals(t *testing.T) {
	e := newEnv(t)
	sub := seedNamedSub(e)
	if _, err := e.rotateKey(sub.SID, 0); err == nil || !strings.Contains(err.Error(), "no tenant record") {
		t.Errorf("rotate-key without a record: %v", err)
	}
	if _, err := e.rotateKey("nope", 0); err == nil {
		t.Errorf("rotate-key of a non-SID succeeded")
	}
	e.sm.Put(prefix+sub.SID, `{"account_sid":"`+sub.SID+`"}`)
	if _, err := e.rotateAuthToken(sub.SID, provision.RotateAuthTokenOptions{}, false); err == nil || !strings.Contains(err.Error(), "invalid") {
		t.Errorf("rotate-auth-token of an invalid record: %v", err)
	}
}
