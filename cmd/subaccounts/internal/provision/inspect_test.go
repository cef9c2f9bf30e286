package provision_test

import (
	"context"
	"errors"
	"strings"
	"testing"

	"bubble-twilio-voice/cmd/subaccounts/internal/provision"
	"bubble-twilio-voice/test/fake/twilio"
)

func (e *env) check(sid string) (string, error) {
	return e.run(func(p *provision.Provisioner) error { return p.Check(context.Background(), sid, e.d) }, false)
}

func TestCheck(t *testing.T) {
	for _, tc := range []struct {
		name    string
		breakIt func(e *env, sub twilio.Account)
		want    []string // empty: all checks pass; {SUB} is the subaccount SID
	}{
		{"healthy", func(*env, twilio.Account) {}, nil},
		{"wrong app voice url", func(e *env, sub twilio.Account) {
			app := e.tw.Apps(sub.SID)[0]
			app.VoiceURL = "https://old-stack.example.com/voice"
			e.tw.SetApp(sub.SID, app)
		}, []string{`PROBLEM TwiML App AP`, `Voice URL is "https://old-stack.example.com/voice" (POST), want "` + "https://abc123.execute-api.us-east-1.amazonaws.com/voice", "fix: subaccounts create --account-sid"}},
		{"number elsewhere", func(e *env, sub twilio.Account) {
			n := e.tw.Numbers(sub.SID)[1]
			n.VoiceURL = "https://demo.twilio.com/welcome/voice/"
			e.tw.SetNumber(sub.SID, n)
		}, []string{"PROBLEM number " + num2 + ` Voice URL is "https://demo.twilio.com/welcome/voice/"`, "--number " + num2}},
		{"number on an app", func(e *env, sub twilio.Account) {
			n := e.tw.Numbers(sub.SID)[0]
			n.VoiceApplicationSID = twilio.NewSID("AP")
			e.tw.SetNumber(sub.SID, n)
		}, []string{"PROBLEM number " + num1 + " uses TwiML App"}},
		{"key deleted", func(e *env, sub twilio.Account) {
			e.sm.Put(prefix+sub.SID, strings.Replace(mustGet(e, sub.SID), e.record(sub.SID).APIKeySID, twilio.NewSID("SK"), 1))
		}, []string{"PROBLEM Twilio rejects API key", "Twilio error 20003 (HTTP 401)", "fix: subaccounts rotate-key {SUB}"}},
		{"stale auth token", func(e *env, sub twilio.Account) {
			e.sm.Put(prefix+sub.SID, strings.Replace(mustGet(e, sub.SID), sub.AuthToken, "0123456789abcdef0123456789abcdef", 1))
		}, []string{"PROBLEM auth_token is not the subaccount's current auth token"}},
		{"app status callback missing", func(e *env, sub twilio.Account) {
			app := e.tw.Apps(sub.SID)[0]
			app.StatusCallback = ""
			e.tw.SetApp(sub.SID, app)
		}, []string{`PROBLEM TwiML App AP`, `status callback is "" (POST), want "https://abc123.execute-api.us-east-1.amazonaws.com/events/call-status" (POST)`}},
		{"number status callback at another deployment", func(e *env, sub twilio.Account) {
			n := e.tw.Numbers(sub.SID)[0]
			n.StatusCallback = "https://other.execute-api.eu-west-1.amazonaws.com/events/call-status"
			e.tw.SetNumber(sub.SID, n)
		}, []string{"PROBLEM number " + num1 + " status callback is", "--number " + num1 + " --force (the number points at another deployment"}},
		{"not in the index", func(e *env, sub twilio.Account) {
			e.sm.Delete(prefix + "index")
		}, []string{"PROBLEM index " + prefix + "index does not exist", "fix: subaccounts reindex"}},
		{"suspended in Twilio only", func(e *env, sub twilio.Account) {
			e.tw.SetStatus(sub.SID, "suspended")
		}, []string{"PROBLEM subaccount {SUB} is suspended in Twilio but its record is not marked", "fix: subaccounts suspend {SUB}"}},
		{"rotation unfinished", func(e *env, sub twilio.Account) {
			e.sm.Put(prefix+sub.SID, strings.Replace(mustGet(e, sub.SID), "{", `{"previous_api_key_sid": "SK00000000000000000000000000000000", "previous_api_key_replaced_at": "2026-01-02T03:04:05Z", "status": "active",`, 1))
			e.tw.SetStatus(sub.SID, "closed")
		}, []string{"note    API key SK00000000000000000000000000000000 was replaced", "PROBLEM subaccount {SUB} is closed"}},
		{"record invalid", func(e *env, sub twilio.Account) {
			e.sm.Put(prefix+sub.SID, `{"account_sid":"`+sub.SID+`"}`)
		}, []string{"PROBLEM tenant record " + prefix}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t)
			sub := seedNamedSub(e)
			e.mustCreate(acmeOpts)
			tc.breakIt(e, sub)
			out, err := e.check(sub.SID)
			if len(tc.want) == 0 {
				if err != nil || !strings.Contains(out, "all checks passed") {
					t.Fatalf("check: %v\n%s", err, out)
				}
				return
			}
			if !errors.Is(err, provision.ErrCheckFailed) {
				t.Fatalf("check err = %v, want ErrCheckFailed\n%s", err, out)
			}
			for _, w := range tc.want {
				w = strings.ReplaceAll(w, "{SUB}", sub.SID)
				if !strings.Contains(out, w) {
					t.Errorf("output lacks %q:\n%s", w, out)
				}
			}
		})
	}
}

func mustGet(e *env, sid string) string {
	v, ok := e.sm.Get(prefix + sid)
	if !ok {
		e.t.Fatal("no record")
	}
	return v
}

func TestListAndShow(t *testing.T) {
	e := newEnv(t)
	sub := seedNamedSub(e)
	e.mustCreate(acmeOpts)
	e.sm.Put(prefix+twilio.NewSID("AC"), `{"broken": true}`)
	e.sm.Put("other-prefix/x", `{}`)

	out, err := e.run(func(p *provision.Provisioner) error { return p.List(context.Background()) }, false)
	if err != nil {
		t.Fatal(err)
	}
	rec := e.record(sub.SID)
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if len(lines) != 3 || !strings.Contains(out, sub.SID) || !strings.Contains(out, rec.TwiMLAppSID) || !strings.Contains(out, "invalid: tenant record: account_sid") {
		t.Errorf("list:\n%s", out)
	}

	out, err = e.run(func(p *provision.Provisioner) error { return p.Show(context.Background(), sub.SID) }, false)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{`"api_key_secret": "(redacted)"`, `"auth_token": "(redacted)"`, `"(redacted)"`, rec.APIKeySID, "record is valid"} {
		if !strings.Contains(out, want) {
			t.Errorf("show lacks %q:\n%s", want, out)
		}
	}
}
