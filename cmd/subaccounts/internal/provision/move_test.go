package provision_test

import (
	"context"
	"net/http"
	"reflect"
	"slices"
	"strings"
	"testing"

	"bubble-twilio-voice/cmd/subaccounts/internal/provision"
	"bubble-twilio-voice/test/fake/twilio"
)

func (e *env) move(o provision.MoveOptions, dryRun bool) (string, error) {
	o.Deployment = e.d
	return e.run(func(p *provision.Provisioner) error { return p.MoveNumber(context.Background(), o) }, dryRun)
}

// movable is "acme" (num1 the caller ID, num2 with its own route) and
// "beta" (num3, routed per number, so no default route).
func movable(t *testing.T) (*env, twilio.Account, twilio.Account) {
	e := newEnv(t)
	a := seedNamedSub(e)
	e.mustCreate(acmeOpts)
	e.mustCreate(provision.CreateOptions{Name: "acme", Numbers: []string{num2}, Clients: []string{"support"}, PerNumber: true})
	b := e.tw.AddSubaccount("beta")
	e.tw.AddNumber(b.SID, num3)
	e.mustCreate(provision.CreateOptions{Name: "beta", Numbers: []string{num3}, Clients: []string{"bob"}, PerNumber: true})
	return e, a, b
}

func numberIn(e *env, acct, e164 string) (twilio.Number, bool) {
	for _, n := range e.tw.Numbers(acct) {
		if n.PhoneNumber == e164 {
			return n, true
		}
	}
	return twilio.Number{}, false
}

// assertMoved checks num2 moved from a to b with its route and webhooks.
func assertMoved(t *testing.T, e *env, a, b string) {
	t.Helper()
	n, ok := numberIn(e, b, num2)
	if !ok {
		t.Fatalf("%s is not in %s", num2, b)
	}
	if _, still := numberIn(e, a, num2); still {
		t.Errorf("%s still in %s", num2, a)
	}
	if n.VoiceURL != e.d.IncomingURL || n.StatusCallback != e.d.StatusCallbackURL || n.VoiceFallbackURL != e.d.FallbackURL {
		t.Errorf("webhooks not re-applied: %+v", n)
	}
	rb := e.record(b)
	if r := rb.Incoming.Numbers[num2]; r == nil || !reflect.DeepEqual(r.Clients, []string{"support"}) || !slices.Contains(rb.CallerIDs, num2) {
		t.Errorf("gaining record: route %+v, caller_ids %v", r, rb.CallerIDs)
	}
	ra := e.record(a)
	if ra.Incoming.Numbers[num2] != nil || slices.Contains(ra.CallerIDs, num2) {
		t.Errorf("losing record keeps the number: route %+v, caller_ids %v", ra.Incoming.Numbers[num2], ra.CallerIDs)
	}
}

func TestMoveNumberBetweenSiblings(t *testing.T) {
	e, a, b := movable(t)
	o := provision.MoveOptions{Number: num2, From: a.SID, To: b.SID}
	e.resetCalls()
	out, err := e.move(o, true)
	if err != nil || e.tw.Writes() != 0 || e.smWrites() != 0 || !strings.Contains(out, "AccountSid="+b.SID+" (transfer)") {
		t.Fatalf("dry run: %v %v\n%s", err, e.tw.Log(), out)
	}
	// When Twilio transfers, the gaining record already routes the number.
	e.tw.SetFault(func(route string, r *http.Request) twilio.Fault {
		if route == twilio.RouteUpdateNumber && r.Form.Get("AccountSid") != "" && e.record(b.SID).Incoming.Numbers[num2] == nil {
			t.Errorf("transferred before the gaining record routes the number")
		}
		return twilio.Fault{}
	})
	if out, err := e.move(o, false); err != nil {
		t.Fatalf("move: %v\n%s", err, out)
	}
	assertMoved(t, e, a.SID, b.SID)
	e.tw.SetFault(nil)
	e.resetCalls()
	if out, err := e.move(o, false); err != nil || e.tw.Writes() != 0 || e.smWrites() != 0 || !strings.Contains(out, "already in "+b.SID) {
		t.Errorf("rerun: %v %v\n%s", err, e.tw.Log(), out)
	}
	for _, sid := range []string{a.SID, b.SID} {
		if out, err := e.check(sid); err != nil {
			t.Errorf("check %s after the move: %v\n%s", sid, err, out)
		}
	}
}

func TestMoveNumberFailureThenRerun(t *testing.T) {
	var a, b string
	setup := func(t *testing.T) *env {
		e, sa, sb := movable(t)
		a, b = sa.SID, sb.SID
		return e
	}
	faultThenRerun(t, []faultStep{
		{name: "fetch account", tw: twilio.RouteFetchAccount},
		{name: "find number", tw: twilio.RouteListNumbers},
		{name: "write gaining record", sm: "PutSecretValue"},
		{name: "transfer", tw: twilio.RouteUpdateNumber},
		{name: "set webhooks", tw: twilio.RouteUpdateNumber, nth: 2},
		{name: "write losing record", sm: "PutSecretValue", nth: 2},
	}, setup, func(e *env) (string, error) {
		return e.move(provision.MoveOptions{Number: num2, From: a, To: b}, false)
	}, func(t *testing.T, e *env) { assertMoved(t, e, a, b) })
}

func TestMoveNumberWithMain(t *testing.T) {
	e, a, b := movable(t)
	mainSID, _ := e.tw.Main()
	e.tw.AddNumber(mainSID, "+14155550199")

	// Parent -> subaccount: the gaining tenant has no default route, so
	// --client is needed.
	o := provision.MoveOptions{Number: "+14155550199", From: provision.MainAccount, To: b.SID}
	if _, err := e.move(o, false); err == nil || !strings.Contains(err.Error(), "nobody would ring") {
		t.Fatalf("move without a route: %v", err)
	}
	if _, ok := numberIn(e, mainSID, "+14155550199"); !ok {
		t.Fatalf("a refused move transferred the number")
	}
	o.Clients = []string{"bob"}
	if out, err := e.move(o, false); err != nil {
		t.Fatalf("main -> beta: %v\n%s", err, out)
	}
	if n, ok := numberIn(e, b.SID, "+14155550199"); !ok || n.VoiceURL != e.d.IncomingURL {
		t.Errorf("number after main -> beta: %+v %v", n, ok)
	}
	if r := e.record(b.SID).Incoming.Numbers["+14155550199"]; r == nil || r.Clients[0] != "bob" {
		t.Errorf("route %+v", r)
	}

	// Subaccount -> parent: the losing tenant forgets it.
	out, err := e.move(provision.MoveOptions{Number: num2, From: a.SID, To: provision.MainAccount}, false)
	if err != nil || !strings.Contains(out, "no longer reaches this deployment") {
		t.Fatalf("acme -> main: %v\n%s", err, out)
	}
	if _, ok := numberIn(e, mainSID, num2); !ok || e.record(a.SID).Incoming.Numbers[num2] != nil {
		t.Errorf("after acme -> main: in main %v, acme route %+v", ok, e.record(a.SID).Incoming.Numbers[num2])
	}

	// The losing tenant's caller ID cannot leave.
	e.resetCalls()
	if _, err := e.move(provision.MoveOptions{Number: num1, From: a.SID, To: b.SID, Clients: []string{"bob"}}, false); err == nil || !strings.Contains(err.Error(), "caller_id") {
		t.Errorf("moving the caller ID: %v", err)
	}
	if e.tw.Writes() != 0 || e.smWrites() != 0 {
		t.Errorf("a refused move wrote: %v", e.tw.Log())
	}
	// Nor can a number move to a subaccount without a tenant record.
	c := e.tw.AddSubaccount("gamma")
	if _, err := e.move(provision.MoveOptions{Number: num3, From: b.SID, To: c.SID}, false); err == nil || !strings.Contains(err.Error(), "no tenant record") {
		t.Errorf("moving to a subaccount without a record: %v", err)
	}
}
