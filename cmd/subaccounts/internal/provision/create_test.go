package provision_test

import (
	"errors"
	"net/http"
	"reflect"
	"strings"
	"testing"

	"bubble-twilio-voice/cmd/subaccounts/internal/provision"
	fakesm "bubble-twilio-voice/test/fake/secretsmanager"
	"bubble-twilio-voice/test/fake/twilio"
)

const (
	num1 = "+14155550100"
	num2 = "+14155550101"
)

// seedNamedSub makes the subaccount create will find by name, with two
// numbers, so a test can inject faults before the first write.
func seedNamedSub(e *env) twilio.Account {
	sub := e.tw.AddSubaccount("acme")
	e.tw.AddNumber(sub.SID, num1)
	e.tw.AddNumber(sub.SID, num2)
	return sub
}

var acmeOpts = provision.CreateOptions{Name: "acme", Numbers: []string{num1, num2}, Clients: []string{"alice", "bob"}}

func TestCreateFresh(t *testing.T) {
	e := newEnv(t)
	// The subaccount does not exist yet: create makes it, then the test
	// gives it numbers (as buying them would) and reruns.
	out := e.mustCreate(provision.CreateOptions{Name: "acme", CallerID: num1, Clients: []string{"alice"}})
	sub := e.onlySub()
	if sub.FriendlyName != "acme" || !strings.Contains(out, "subaccount "+sub.SID+` ("acme"): created`) {
		t.Errorf("subaccount %+v; output:\n%s", sub, out)
	}
	rec := e.assertProvisioned()
	if rec.CallerID != num1 || !reflect.DeepEqual(rec.Incoming.Default.Clients, []string{"alice"}) {
		t.Errorf("record caller_id %q, default clients %v", rec.CallerID, rec.Incoming.Default.Clients)
	}
	b := bearers(out)
	if len(b) != 1 || len(b[0]) < 32 || !reflect.DeepEqual(rec.TokenAPIKeys, b) {
		t.Errorf("bearer keys printed %d (len %d), record has %d; want the one stored key printed once", len(b), len(b[0]), len(rec.TokenAPIKeys))
	}
	if !strings.Contains(out, "token URL for the Bubble API Connector: "+e.d.TokenURL) {
		t.Errorf("token URL not printed:\n%s", out)
	}
	// CreateSecret twice: the record (holding the key's name before the key
	// exists) and the index; PutSecretValue once: the complete record.
	if e.tw.Calls(twilio.RouteCreateKey) != 1 || e.sm.Calls("CreateSecret") != 2 || e.sm.Calls("PutSecretValue") != 1 {
		t.Errorf("CreateKey %d, CreateSecret %d, PutSecretValue %d; want 1, 2, 1", e.tw.Calls(twilio.RouteCreateKey), e.sm.Calls("CreateSecret"), e.sm.Calls("PutSecretValue"))
	}
}

func TestCreateNumbersAndCallerID(t *testing.T) {
	e := newEnv(t)
	sub := seedNamedSub(e)
	// A number wired to some other app (or Twilio's demo URL) must be taken
	// over (VoiceApplicationSid cleared): it is not another deployment.
	n := e.tw.Numbers(sub.SID)[1]
	n.VoiceApplicationSID = twilio.NewSID("AP")
	n.VoiceURL = "https://demo.twilio.com/welcome/voice/"
	e.tw.SetNumber(sub.SID, n)

	e.mustCreate(acmeOpts)
	rec := e.assertProvisioned(num1, num2)
	if rec.CallerID != num1 || !reflect.DeepEqual(rec.CallerIDs, []string{num2}) {
		t.Errorf("caller_id %q caller_ids %v; want the first number and the rest", rec.CallerID, rec.CallerIDs)
	}
}

func TestCreateRerunIsNoOp(t *testing.T) {
	e := newEnv(t)
	sub := seedNamedSub(e)
	e.mustCreate(acmeOpts)
	before, _ := e.sm.Get(prefix + sub.SID)

	// Extra objects and a one-item page size make every list span pages.
	e.tw.AddKey(sub.SID, "someone else's key", false)
	e.tw.AddApp(sub.SID, twilio.App{FriendlyName: "another app"})
	e.tw.SetMaxPageSize(1)
	e.resetCalls()

	for _, o := range []provision.CreateOptions{acmeOpts, {AccountSID: sub.SID, Numbers: []string{num1}}} {
		out := e.mustCreate(o)
		if w := e.tw.Writes(); w != 0 {
			t.Errorf("rerun made %d Twilio writes: %v", w, e.tw.Log())
		}
		if w := e.smWrites(); w != 0 {
			t.Errorf("rerun made %d Secrets Manager writes", w)
		}
		if len(bearers(out)) != 0 {
			t.Errorf("rerun printed a bearer key")
		}
		if !strings.Contains(out, "unchanged") {
			t.Errorf("rerun output does not say the secret is unchanged:\n%s", out)
		}
	}
	if after, _ := e.sm.Get(prefix + sub.SID); after != before {
		t.Errorf("record changed on rerun")
	}
	if e.tw.Calls(twilio.RouteListKeys) < 2 {
		t.Errorf("keys were not listed across pages")
	}
}

func TestCreateDryRun(t *testing.T) {
	t.Run("fresh", func(t *testing.T) {
		e := newEnv(t)
		out, err := e.dryCreate(provision.CreateOptions{Name: "acme", CallerID: num1, Clients: []string{"alice"}})
		if err != nil {
			t.Fatalf("dry run: %v\n%s", err, out)
		}
		if e.tw.Writes() != 0 || e.smWrites() != 0 || len(e.tw.Subaccounts()) != 0 || len(e.sm.Names()) != 0 {
			t.Errorf("dry run wrote: twilio %d, secrets %d", e.tw.Writes(), e.smWrites())
		}
		for _, want := range []string{
			"plan: POST /2010-04-01/Accounts.json FriendlyName=acme",
			"/Keys.json FriendlyName=bubble-twilio-voice+%28voice-test+" + e.d.ID() + "%29+key-",
			"set pending_api_key_names = [",
			"/Applications.json ",
			"plan: Secrets Manager CreateSecret " + prefix,
			"set api_key_secret (redacted)",
			"plan: a new bearer key",
		} {
			if !strings.Contains(out, want) {
				t.Errorf("plan lacks %q:\n%s", want, out)
			}
		}
		if len(bearers(out)) != 0 {
			t.Errorf("dry run printed a bearer key")
		}
	})
	t.Run("existing with drift", func(t *testing.T) {
		e := newEnv(t)
		sub := seedNamedSub(e)
		e.mustCreate(acmeOpts)
		app := e.tw.Apps(sub.SID)[0]
		app.VoiceURL = "https://wrong.example.com/voice"
		e.tw.SetApp(sub.SID, app)
		before, _ := e.sm.Get(prefix + sub.SID)
		e.resetCalls()

		out, err := e.dryCreate(provision.CreateOptions{Name: "acme", Numbers: []string{num1}, Clients: []string{"carol"}, RotateKey: true, Force: true})
		if err != nil {
			t.Fatalf("dry run: %v\n%s", err, out)
		}
		if e.tw.Writes() != 0 || e.smWrites() != 0 {
			t.Errorf("dry run wrote: twilio %v, secrets %d", e.tw.Log(), e.smWrites())
		}
		if after, _ := e.sm.Get(prefix + sub.SID); after != before {
			t.Errorf("dry run changed the record")
		}
		for _, want := range []string{
			"plan: POST /2010-04-01/Accounts/" + sub.SID + "/Applications/" + app.SID + ".json",
			"plan: POST /2010-04-01/Accounts/" + sub.SID + "/Keys.json",
			"plan: Secrets Manager PutSecretValue " + prefix + sub.SID,
			`set incoming = {"default":{"clients":["carol"]}}`,
			"plan: DELETE /2010-04-01/Accounts/" + sub.SID + "/Keys/",
		} {
			if !strings.Contains(out, want) {
				t.Errorf("plan lacks %q:\n%s", want, out)
			}
		}
	})
}

func TestCreateFailureThenRerun(t *testing.T) {
	twilioFault := func(route string) func(e *env) {
		return func(e *env) {
			e.tw.SetFault(func(r string, _ *http.Request) twilio.Fault {
				if r == route {
					return twilio.Error(http.StatusServiceUnavailable, 20429, "Too Many Requests")
				}
				return twilio.Fault{}
			})
		}
	}
	smFault := func(op string) func(e *env) {
		return func(e *env) {
			e.sm.SetFault(func(o, _ string) fakesm.Fault {
				if o == op {
					return fakesm.InternalError()
				}
				return fakesm.Fault{}
			})
		}
	}
	nth := func(op string, n int) func(e *env) {
		return func(e *env) {
			seen := 0
			e.sm.SetFault(func(o, _ string) fakesm.Fault {
				if o == op {
					if seen++; seen == n {
						return fakesm.InternalError()
					}
				}
				return fakesm.Fault{}
			})
		}
	}
	for _, tc := range []struct {
		name     string
		fresh    bool // no subaccount yet: create makes one
		fault    func(e *env)
		wantStep string
		stored   bool // the record (with its bearer key) was written before the fault
	}{
		{"create subaccount", true, twilioFault(twilio.RouteCreateAccount), `create subaccount "acme": Twilio error 20429 (HTTP 503)`, false},
		{"find subaccount", false, twilioFault(twilio.RouteListAccounts), `find subaccount named "acme": Twilio error 20429`, false},
		{"read secret", false, smFault("GetSecretValue"), "read secret " + prefix, false},
		{"list keys", false, twilioFault(twilio.RouteListKeys), "list API keys of AC", false},
		{"create key", false, twilioFault(twilio.RouteCreateKey), "create API key in AC", false},
		{"find app", false, twilioFault(twilio.RouteListApps), "find TwiML App", false},
		{"create app", false, twilioFault(twilio.RouteCreateApp), "create TwiML App", false},
		{"find number", false, twilioFault(twilio.RouteListNumbers), "find number " + num1, false},
		{"update number", false, twilioFault(twilio.RouteUpdateNumber), "update number " + num1, true},
		{"note key name", false, smFault("CreateSecret"), "write secret " + prefix, false},
		{"write record", false, nth("PutSecretValue", 1), "write secret " + prefix, false},
		{"read index", false, nth("GetSecretValue", 2), "read index " + prefix + "index", true},
		{"write index", false, nth("CreateSecret", 2), "write index " + prefix + "index", true},
		{"update app", false, func(e *env) {
			// An existing app with an old status callback needs an update.
			sub := e.tw.Subaccounts()[0]
			e.tw.AddApp(sub.SID, twilio.App{FriendlyName: e.d.AppName(), VoiceURL: e.d.VoiceURL, VoiceMethod: "POST"})
			twilioFault(twilio.RouteUpdateApp)(e)
		}, "update TwiML App", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t)
			if !tc.fresh {
				seedNamedSub(e)
			}
			opts := acmeOpts
			if tc.fresh {
				opts = provision.CreateOptions{Name: "acme", CallerID: num1, Clients: []string{"alice"}}
			}
			tc.fault(e)
			out, err := e.create(opts)
			var se *provision.StepError
			if err == nil || !errors.As(err, &se) || !strings.Contains(err.Error(), tc.wantStep) {
				t.Fatalf("first run: err = %v, want a StepError containing %q\n%s", err, tc.wantStep, out)
			}
			if b := bearers(out); len(b) != map[bool]int{true: 1}[tc.stored] {
				t.Errorf("the failed run printed %d bearer keys (stored before the fault: %v)", len(b), tc.stored)
			}
			e.tw.SetFault(nil)
			e.sm.SetFault(nil)

			out = e.mustCreate(opts)
			if tc.fresh {
				e.assertProvisioned()
			} else {
				e.assertProvisioned(num1, num2)
			}
			if b := bearers(out); len(b) != map[bool]int{false: 1}[tc.stored] {
				t.Errorf("rerun printed %d bearer keys (one was stored before: %v)", len(b), tc.stored)
			}
			e.resetCalls()
			e.mustCreate(opts)
			if e.tw.Writes() != 0 || e.smWrites() != 0 {
				t.Errorf("third run wrote: %v", e.tw.Log())
			}
		})
	}
}

// A key created by a run whose record write failed is an orphan (its name
// was noted in the record before it was created): the rerun deletes it;
// if that delete fails too, the next run does it.
func TestCreateOrphanedKeyDeleted(t *testing.T) {
	e := newEnv(t)
	sub := seedNamedSub(e)
	e.sm.SetFault(func(op, _ string) fakesm.Fault {
		if op == "PutSecretValue" {
			return fakesm.InternalError()
		}
		return fakesm.Fault{}
	})
	if _, err := e.create(acmeOpts); err == nil {
		t.Fatal("first run succeeded despite the fault")
	}
	e.sm.SetFault(nil)
	orphan := e.tw.Keys(sub.SID)[0].SID

	e.tw.SetFault(func(r string, _ *http.Request) twilio.Fault {
		if r == twilio.RouteDeleteKey {
			return twilio.InternalError()
		}
		return twilio.Fault{}
	})
	out, err := e.create(acmeOpts)
	if err == nil || !strings.Contains(err.Error(), "delete API key "+orphan+" left by an interrupted run") || !strings.Contains(err.Error(), "Twilio error 20500") {
		t.Fatalf("second run: err = %v\n%s", err, out)
	}
	if rec := e.record(sub.SID); rec.APIKeySID == orphan {
		t.Fatalf("the orphan was stored")
	}
	e.tw.SetFault(nil)

	out = e.mustCreate(acmeOpts)
	if !strings.Contains(out, "API key "+orphan+": deleted (created by an interrupted run") {
		t.Errorf("orphan not deleted:\n%s", out)
	}
	if len(bearers(out)) != 0 {
		t.Errorf("third run printed a bearer key; the second stored one")
	}
	e.assertProvisioned(num1, num2)
}

func TestCreateMergeKeepsUnknownFields(t *testing.T) {
	e := newEnv(t)
	sub := seedNamedSub(e)
	key := e.tw.AddKey(sub.SID, "hand-made key", false)
	existing := `{
  "account_sid": "` + sub.SID + `",
  "auth_token": "` + sub.AuthToken + `",
  "api_key_sid": "` + key.SID + `",
  "api_key_secret": "` + key.Secret + `",
  "twiml_app_sid": "` + twilio.NewSID("AP") + `",
  "caller_id": "+14155550199",
  "token_api_keys": ["existing-bearer-key-0123456789abcdef"],
  "token_ttl_seconds": 900,
  "outbound": {"allowed_countries": ["US", "CA"], "blocked_prefixes": ["+1900"], "allow_client_calls": false},
  "record_calls": true,
  "incoming": {
    "numbers": {"` + num2 + `": {"clients": ["support"], "ring_seconds": 15, "no_answer": {"action": "forward", "forward_to": "+14155550142"}}},
    "default": {"clients": ["alice"], "ring_seconds": 30, "no_answer": {"action": "voicemail", "max_length_seconds": 60}, "future_route_field": "kept"}
  },
  "future_field": {"nested": [1, 2, 3]}
}`
	e.sm.Put(prefix+sub.SID, existing)

	out := e.mustCreate(provision.CreateOptions{AccountSID: sub.SID, Numbers: []string{num1}, Clients: []string{"bob"}})
	if len(bearers(out)) != 0 {
		t.Errorf("a bearer key was printed though the record has one")
	}
	rec := e.record(sub.SID)
	if rec.APIKeySID != key.SID || rec.CallerID != "+14155550199" || rec.TokenTTLSeconds != 900 || !rec.RecordCalls {
		t.Errorf("managed-but-right or unmanaged fields changed: key %s caller %s ttl %d", rec.APIKeySID, rec.CallerID, rec.TokenTTLSeconds)
	}
	raw := e.raw(sub.SID)
	if !reflect.DeepEqual(raw["future_field"], map[string]any{"nested": []any{1.0, 2.0, 3.0}}) {
		t.Errorf("future_field = %v", raw["future_field"])
	}
	if !reflect.DeepEqual(raw["outbound"], map[string]any{"allowed_countries": []any{"US", "CA"}, "blocked_prefixes": []any{"+1900"}, "allow_client_calls": false}) {
		t.Errorf("outbound = %v", raw["outbound"])
	}
	inc := raw["incoming"].(map[string]any)
	def := inc["default"].(map[string]any)
	if !reflect.DeepEqual(def["clients"], []any{"bob"}) || def["ring_seconds"] != 30.0 || def["future_route_field"] != "kept" ||
		def["no_answer"].(map[string]any)["action"] != "voicemail" {
		t.Errorf("incoming.default = %v", def)
	}
	if nums := inc["numbers"].(map[string]any); nums[num2].(map[string]any)["ring_seconds"] != 15.0 {
		t.Errorf("incoming.numbers = %v", nums)
	}
	if !reflect.DeepEqual(raw["token_api_keys"], []any{"existing-bearer-key-0123456789abcdef"}) {
		t.Errorf("token_api_keys = %v", raw["token_api_keys"])
	}
	// The record's TwiML App did not exist: one was created and stored.
	if apps := e.tw.Apps(sub.SID); len(apps) != 1 || rec.TwiMLAppSID != apps[0].SID {
		t.Errorf("apps %v, record app %s", apps, rec.TwiMLAppSID)
	}
}

func TestCreatePerNumberRouting(t *testing.T) {
	e := newEnv(t)
	sub := seedNamedSub(e)
	e.mustCreate(provision.CreateOptions{Name: "acme", Numbers: []string{num1, num2}, Clients: []string{"desk"}, PerNumber: true})
	rec := e.record(sub.SID)
	if rec.Incoming.Default != nil {
		t.Errorf("default route set with --per-number")
	}
	for _, n := range []string{num1, num2} {
		if r := rec.Incoming.Numbers[n]; r == nil || !reflect.DeepEqual(r.Clients, []string{"desk"}) {
			t.Errorf("route of %s = %+v", n, r)
		}
	}
}

func TestCreateRefusals(t *testing.T) {
	for _, tc := range []struct {
		name string
		opts provision.CreateOptions
		want string
	}{
		{"no name", provision.CreateOptions{}, "pass --name"},
		{"bad number", provision.CreateOptions{Name: "x", Numbers: []string{"4155550100"}}, "E.164"},
		{"bad client", provision.CreateOptions{Name: "x", CallerID: num1, Clients: []string{"a b"}}, "--client"},
		{"number not in subaccount", provision.CreateOptions{Name: "acme", Numbers: []string{"+14155550999"}}, "not a phone number of subaccount"},
		{"no caller id", provision.CreateOptions{Name: "acme"}, "needs a caller ID"},
		{"main account", provision.CreateOptions{AccountSID: "main"}, "is the main account"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t)
			seedNamedSub(e)
			if tc.opts.AccountSID == "main" {
				tc.opts.AccountSID, _ = e.tw.Main()
			}
			out, err := e.create(tc.opts)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err = %v, want %q\n%s", err, tc.want, out)
			}
			if len(e.sm.Names()) != 0 {
				t.Errorf("a refused create wrote a secret")
			}
		})
	}
}

func TestDescribeTwilioError(t *testing.T) {
	e := newEnv(t)
	e.tw.SetFault(func(string, *http.Request) twilio.Fault {
		return twilio.Error(http.StatusBadRequest, 21452, "No more subaccounts allowed")
	})
	_, err := e.create(provision.CreateOptions{Name: "acme", CallerID: num1})
	want := `find subaccount named "acme": Twilio error 21452 (HTTP 400): No more subaccounts allowed (https://www.twilio.com/docs/errors/21452)`
	if err == nil || err.Error() != want {
		t.Errorf("err = %v\nwant  %s", err, want)
	}
}
