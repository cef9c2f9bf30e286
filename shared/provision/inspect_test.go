package provision_test

import (
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"bubble-twilio-voice/shared/provision"
	"bubble-twilio-voice/shared/twiliowire"
)

func (e *env) check(sid string) (string, error) {
	return e.run(func(p *provision.Provisioner) error { return p.Check(context.Background(), sid, e.d) }, false)
}

func TestCheck(t *testing.T) {
	for _, tc := range []struct {
		name    string
		breakIt func(e *env, sub twiliowire.Account)
		want    []string // empty: all checks pass; {SUB} is the subaccount SID
	}{
		{"healthy", func(*env, twiliowire.Account) {}, nil},
		{"wrong app voice url", func(e *env, sub twiliowire.Account) {
			app := e.tw.Apps(sub.SID)[0]
			app.VoiceURL = "https://old-stack.example.com/voice"
			e.tw.SetApp(sub.SID, app)
		}, []string{`PROBLEM TwiML App AP`, `Voice URL is "https://old-stack.example.com/voice" (POST), want "` + "https://abc123.execute-api.us-east-1.amazonaws.com/voice", "fix: subaccounts create --account-sid"}},
		{"number elsewhere", func(e *env, sub twiliowire.Account) {
			n := e.tw.Numbers(sub.SID)[1]
			n.VoiceURL = "https://demo.twilio.com/welcome/voice/"
			e.tw.SetNumber(sub.SID, n)
		}, []string{"PROBLEM number " + num2 + ` Voice URL is "https://demo.twilio.com/welcome/voice/"`, "--number " + num2}},
		{"number on an app", func(e *env, sub twiliowire.Account) {
			n := e.tw.Numbers(sub.SID)[0]
			n.VoiceApplicationSID = twiliowire.NewSID("AP")
			e.tw.SetNumber(sub.SID, n)
		}, []string{"PROBLEM number " + num1 + " uses TwiML App"}},
		{"key deleted", func(e *env, sub twiliowire.Account) {
			e.sm.Put(prefix+sub.SID, strings.Replace(mustGet(e, sub.SID), e.record(sub.SID).APIKeySID, twiliowire.NewSID("SK"), 1))
		}, []string{"PROBLEM Twilio rejects API key", "Twilio error 20003 (HTTP 401)", "fix: subaccounts rotate-key {SUB}"}},
		{"stale auth token", func(e *env, sub twiliowire.Account) {
			e.sm.Put(prefix+sub.SID, strings.Replace(mustGet(e, sub.SID), sub.AuthToken, "0123456789abcdef0123456789abcdef", 1))
		}, []string{"PROBLEM auth_token is not the subaccount's current auth token"}},
		{"record invalid", func(e *env, sub twiliowire.Account) {
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
	e.sm.Put(prefix+twiliowire.NewSID("AC"), `{"broken": true}`)
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

// cliOnly are what the CLI may link and the Lambda functions must not (size,
// cold start, attack surface): twilio-go's REST client, this package, and the
// AWS SDK's default configuration chain with its SSO, STS and EC2 metadata
// clients (tenant.NewSecretsClient reads Lambda's environment instead).
var cliOnly = []string{
	"github.com/twilio/twilio-go/rest",
	"bubble-twilio-voice/shared/provision",
	"github.com/aws/aws-sdk-go-v2/config",
	"github.com/aws/aws-sdk-go-v2/feature/ec2/imds",
	"github.com/aws/aws-sdk-go-v2/service/sso",
	"github.com/aws/aws-sdk-go-v2/service/ssooidc",
	"github.com/aws/aws-sdk-go-v2/service/sts",
	"github.com/aws/aws-sdk-go-v2/service/signin",
}

// TestFunctionsDoNotImportCLIOnly checks whichever functions exist when the
// test runs against cliOnly (a package or anything under it).
func TestFunctionsDoNotImportCLIOnly(t *testing.T) {
	root := filepath.Join("..", "..")
	mains, err := filepath.Glob(filepath.Join(root, "functions", "*", "*.go"))
	if err != nil {
		t.Fatal(err)
	}
	dirs := map[string]bool{}
	for _, m := range mains {
		if !strings.HasSuffix(m, "_test.go") {
			dirs["./"+filepath.ToSlash(filepath.Dir(must(filepath.Rel(root, m))))] = true
		}
	}
	if len(dirs) == 0 {
		t.Log("no functions/* packages yet: nothing to check")
		return
	}
	goBin, err := exec.LookPath("go")
	if err != nil {
		goBin = filepath.Join(os.Getenv("GOROOT"), "bin", "go")
	}
	for dir := range dirs {
		t.Run(dir, func(t *testing.T) {
			cmd := exec.Command(goBin, "list", "-deps", dir)
			cmd.Dir = root
			out, err := cmd.CombinedOutput()
			if err != nil {
				t.Fatalf("go list -deps %s: %v\n%s", dir, err, out)
			}
			for _, pkg := range strings.Fields(string(out)) {
				for _, banned := range cliOnly {
					if pkg == banned || strings.HasPrefix(pkg, banned+"/") {
						t.Errorf("%s depends on %s", dir, pkg)
					}
				}
			}
		})
	}
}

func must(s string, err error) string {
	if err != nil {
		panic(err)
	}
	return s
}
