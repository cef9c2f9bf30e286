package provision_test

import (
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"testing"

	"bubble-twilio-voice/cmd/subaccounts/internal/provision"
	"bubble-twilio-voice/test/fake/twilio"
)

func (e *env) usage(o provision.UsageOptions) (string, error) {
	return e.run(func(p *provision.Provisioner) error { return p.Usage(context.Background(), o) }, false)
}

func seedUsage(e *env, a, b string) {
	e.tw.AddUsage(a,
		twilio.Usage{Date: "2026-01-05", Category: "calls", Count: 10, Usage: 42, Price: "3.15"},
		twilio.Usage{Date: "2026-01-20", Category: "calls", Count: 5, Usage: 8, Price: "0.74"},
		twilio.Usage{Date: "2026-01-20", Category: "recordings", Count: 3, Usage: 7, Price: "0.0175"},
		twilio.Usage{Date: "2026-01-01", Category: "phonenumbers", Count: 2, Usage: 2, Price: "2.30"},
		twilio.Usage{Date: "2026-02-01", Category: "calls", Count: 99, Usage: 999, Price: "99.00"}, // not in January
	)
	// A price float32 cannot hold: the report must keep every digit.
	e.tw.AddUsage(b, twilio.Usage{Date: "2026-01-31", Category: "calls", Count: 40000, Usage: 987654, Price: "12345.6789"})
}

func TestUsage(t *testing.T) {
	e, a, b := twoTenants(t)
	seedUsage(e, a.SID, b.SID)
	start, end, err := provision.MonthPeriod("2026-01")
	if err != nil || start != "2026-01-01" || end != "2026-01-31" {
		t.Fatalf("MonthPeriod: %s %s %v", start, end, err)
	}
	e.resetCalls()
	out, err := e.usage(provision.UsageOptions{All: true, Start: start, End: end})
	if err != nil {
		t.Fatalf("usage --all: %v\n%s", err, out)
	}
	if e.tw.Writes() != 0 || e.smWrites() != 0 {
		t.Errorf("usage wrote")
	}
	for _, want := range []string{"usage from 2026-01-01 to 2026-01-31", "TOTAL_PRICE", a.SID, "acme", b.SID, "beta",
		"15", "50", "6.2075 USD", "40000", "987654", "12345.6789 USD"} {
		if !strings.Contains(out, want) {
			t.Errorf("table lacks %q:\n%s", want, out)
		}
	}
	if mainSID, _ := e.tw.Main(); strings.Contains(out, mainSID) {
		t.Errorf("usage --all reported the main account")
	}

	out, err = e.usage(provision.UsageOptions{AccountSIDs: []string{a.SID}, Start: start, End: end, JSON: true})
	if err != nil {
		t.Fatal(err)
	}
	var doc struct {
		Accounts []provision.UsageReport
	}
	if err := json.Unmarshal([]byte(out), &doc); err != nil || len(doc.Accounts) != 1 {
		t.Fatalf("JSON %v:\n%s", err, out)
	}
	r := doc.Accounts[0]
	want := provision.UsageReport{AccountSID: a.SID, FriendlyName: "acme", Status: "active", Start: start, End: end,
		Calls:        provision.UsageAmount{Count: "15", Usage: "50", Unit: "minutes", Price: "3.89"},
		Recordings:   provision.UsageAmount{Count: "3", Usage: "7", Unit: "minutes", Price: "0.0175"},
		PhoneNumbers: provision.UsageAmount{Count: "2", Price: "2.30"},
		TotalPrice:   "6.2075", PriceUnit: "USD"}
	if r != want {
		t.Errorf("report\n got %+v\nwant %+v", r, want)
	}

	// Last month by default (the clock reads 2026-01-02).
	if out, err := e.usage(provision.UsageOptions{AccountSIDs: []string{a.SID}}); err != nil || !strings.Contains(out, "2025-12-01 to 2025-12-31") {
		t.Errorf("default period: %v\n%s", err, out)
	}

	// One subaccount failing is reported in its row; the others still are.
	e.tw.SetFault(func(route string, r *http.Request) twilio.Fault {
		if route == twilio.RouteListUsage && strings.Contains(r.URL.Path, b.SID) {
			return twilio.InternalError()
		}
		return twilio.Fault{}
	})
	out, err = e.usage(provision.UsageOptions{All: true, Start: start, End: end})
	if err == nil || !strings.Contains(out, "error: Twilio error 20500") || !strings.Contains(out, "6.2075 USD") {
		t.Errorf("usage with one failure: %v\n%s", err, out)
	}
	e.tw.SetFault(nil)

	for _, bad := range []provision.UsageOptions{{}, {All: true, AccountSIDs: []string{a.SID}}, {All: true, Start: "2026-01-31", End: "2026-01-01"}, {All: true, Start: "jan"}} {
		if _, err := e.usage(bad); err == nil {
			t.Errorf("usage %+v succeeded", bad)
		}
	}
}

func (e *env) dialing(sid string, inherit *bool, dryRun bool) (string, error) {
	return e.run(func(p *provision.Provisioner) error {
		return p.DialingPermissions(context.Background(), sid, provision.DialingOptions{Inherit: inherit})
	}, dryRun)
}

// dialable is a tenant allowing US and CA where the main account permits
// only the US.
func dialable(t *testing.T) *env {
	e := newEnv(t)
	sub := seedNamedSub(e)
	e.mustCreate(acmeOpts)
	e.sm.Put(prefix+sub.SID, strings.Replace(mustGet(e, sub.SID), "{", `{"outbound": {"allowed_countries": ["US", "CA"]},`, 1))
	mainSID, _ := e.tw.Main()
	e.tw.SetDialingPermission(mainSID, "US", true)
	e.tw.SetDialingPermission(mainSID, "CA", false)
	e.tw.SetDialingPermission(sub.SID, "US", true) // its own, once it stops inheriting
	return e
}

func TestDialingPermissions(t *testing.T) {
	e := dialable(t)
	sub := e.onlySub()
	e.resetCalls()
	out, err := e.dialing(sub.SID, nil, false)
	if err != nil || e.tw.Writes() != 0 {
		t.Fatalf("show: %v %v\n%s", err, e.tw.Log(), out)
	}
	for _, want := range []string{"inherits the main account's voice dialing permissions: yes", "allows calls to: US, CA", "ok      US", "BLOCKED CA"} {
		if !strings.Contains(out, want) {
			t.Errorf("show lacks %q:\n%s", want, out)
		}
	}
	no := false
	if out, err := e.dialing(sub.SID, &no, true); err != nil || e.tw.Writes() != 0 || !strings.Contains(out, "plan: POST https://voice.twilio.com/v1/Settings DialingPermissionsInheritance=false") {
		t.Errorf("dry run: %v %v\n%s", err, e.tw.Log(), out)
	}
	if out, err := e.dialing(sub.SID, &no, false); err != nil || !strings.Contains(out, "permissions: no (changed)") || !strings.Contains(out, "its own permissions apply") {
		t.Errorf("set: %v\n%s", err, out)
	}
	if e.tw.DialingInheritance(sub.SID) {
		t.Errorf("still inherits")
	}
	e.tw.SetStatus(sub.SID, "suspended")
	if _, err := e.dialing(sub.SID, nil, false); err == nil || !strings.Contains(err.Error(), "suspended") {
		t.Errorf("dialing-permissions of a suspended subaccount: %v", err)
	}
}

func TestDialingPermissionsFailureThenRerun(t *testing.T) {
	no := false
	faultThenRerun(t, []faultStep{
		{name: "fetch account", tw: twilio.RouteFetchAccount},
		{name: "fetch settings", tw: twilio.RouteFetchDialingSettings},
		{name: "update settings", tw: twilio.RouteUpdateDialingSetting},
		{name: "fetch country", tw: twilio.RouteFetchDialingCountry},
	}, dialable, func(e *env) (string, error) {
		return e.dialing(e.onlySub().SID, &no, false)
	}, func(t *testing.T, e *env) {
		if e.tw.DialingInheritance(e.onlySub().SID) {
			t.Errorf("still inherits")
		}
	})
}
