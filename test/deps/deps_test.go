package deps

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

const module = "bubble-twilio-voice"

// rule is a dependency the binaries under one directory must not have.
type rule struct {
	binaries string // import path prefix of the main packages it applies to
	banned   func(dep string) bool
	why      string
}

var rules = []rule{
	{module + "/functions/", isTestCode, "test code in a Lambda function"},
	{module + "/cmd/", isTestCode, "test code in a command"},
	{module + "/functions/", func(dep string) bool {
		return dep == "github.com/twilio/twilio-go/rest" || strings.HasPrefix(dep, "github.com/twilio/twilio-go/rest/")
	}, "twilio-go's REST client in a Lambda function"},
	// The CLI uses the SDK's default configuration chain; the functions
	// build their clients from Lambda's environment (tenant.NewSecretsClient)
	// and must not carry its SSO, STS and EC2 metadata clients (about 2 MB).
	{module + "/functions/", func(dep string) bool {
		return slices.ContainsFunc(cliOnlyAWS, func(p string) bool { return dep == p || strings.HasPrefix(dep, p+"/") })
	}, "the AWS SDK's default configuration chain in a Lambda function"},
	// sqsqueue calls SQS for the functions; the SDK's SQS client registers
	// every SQS operation's shapes at start (about 330 KB of a bootstrap).
	{module + "/functions/", inModule("github.com/aws/aws-sdk-go-v2/service/sqs"), "the AWS SDK's SQS client in a Lambda function (use sqsqueue)"},
	// Only the events and deliver functions touch the recordings bucket.
	{module + "/functions/token", inModule("github.com/aws/aws-sdk-go-v2/service/s3"), "the S3 client in the token function"},
	{module + "/functions/voice", inModule("github.com/aws/aws-sdk-go-v2/service/s3"), "the S3 client in the voice function"},
	{module + "/functions/incoming", inModule("github.com/aws/aws-sdk-go-v2/service/s3"), "the S3 client in the incoming function"},
	{module + "/functions/calls", inModule("github.com/aws/aws-sdk-go-v2/service/s3"), "the S3 client in the calls function"},
	// Call control decides nothing by a route's hours, and the calls
	// function must stay under 12 MB: no zone database (450 KB).
	{module + "/functions/calls", func(dep string) bool { return dep == "time/tzdata" },
		"the zone database in the calls function"},
}

// inModule matches path and the packages below it.
func inModule(path string) func(dep string) bool {
	return func(dep string) bool { return dep == path || strings.HasPrefix(dep, path+"/") }
}

// cliOnlyAWS are the SDK packages of the default configuration chain.
var cliOnlyAWS = []string{
	"github.com/aws/aws-sdk-go-v2/config",
	"github.com/aws/aws-sdk-go-v2/feature/ec2/imds",
	"github.com/aws/aws-sdk-go-v2/service/sso",
	"github.com/aws/aws-sdk-go-v2/service/ssooidc",
	"github.com/aws/aws-sdk-go-v2/service/sts",
	"github.com/aws/aws-sdk-go-v2/service/signin",
}

// isTestCode reports whether dep is package testing (or below it) or a
// package of this module under test/.
func isTestCode(dep string) bool {
	return dep == "testing" || strings.HasPrefix(dep, "testing/") ||
		dep == module+"/test" || strings.HasPrefix(dep, module+"/test/")
}

// violations returns one line per dependency of binary that a rule forbids.
func violations(binary string, deps []string) []string {
	var out []string
	for _, r := range rules {
		if !strings.HasPrefix(binary, r.binaries) {
			continue
		}
		for _, d := range deps {
			if r.banned(d) {
				out = append(out, binary+" depends on "+d+": "+r.why)
			}
		}
	}
	return out
}

// pkg is one package as go list describes it.
type pkg struct {
	path string
	main bool
	deps []string // transitive, without test files
}

// list runs go list in the module root for patterns.
func list(t *testing.T, patterns ...string) []pkg {
	t.Helper()
	args := append([]string{"list", "-f", `{{.Name}} {{.ImportPath}}{{range .Deps}} {{.}}{{end}}`}, patterns...)
	cmd := exec.Command("go", args...)
	cmd.Dir = filepath.Join("..", "..")
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("go %s: %v\n%s", strings.Join(args, " "), err, stderr.Bytes())
	}
	var pkgs []pkg
	for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		f := strings.Fields(line)
		if len(f) < 2 {
			t.Fatalf("go list line %q", line)
		}
		pkgs = append(pkgs, pkg{path: f[1], main: f[0] == "main", deps: f[2:]})
	}
	return pkgs
}

// TestBinariesLinkNoTestCode is the check itself, over every binary.
func TestBinariesLinkNoTestCode(t *testing.T) {
	var checked []string
	for _, p := range list(t, "./functions/...", "./cmd/...") {
		if !p.main {
			continue
		}
		checked = append(checked, p.path)
		for _, v := range violations(p.path, p.deps) {
			t.Error(v)
		}
	}
	for _, dir := range []string{"/functions/", "/cmd/"} {
		if !slices.ContainsFunc(checked, func(p string) bool { return strings.HasPrefix(p, module+dir) }) {
			t.Errorf("no main package under %s: the check checked nothing there", dir)
		}
	}
	t.Logf("checked %s", strings.Join(checked, ", "))
}

// TestViolations shows the rules catch what they are for, and only that.
func TestViolations(t *testing.T) {
	tests := []struct {
		name   string
		binary string
		deps   []string
		want   []string // the offending dependencies
	}{
		{"clean function", module + "/functions/token", []string{"fmt", "net/http", module + "/shared/tenant", "github.com/twilio/twilio-go/client/jwt"}, nil},
		{"function with testing", module + "/functions/voice", []string{"fmt", "testing"}, []string{"testing"}},
		{"command with testing/fstest", module + "/cmd/devserver", []string{"testing/fstest"}, []string{"testing/fstest"}},
		{"command with the kit", module + "/cmd/devserver", []string{module + "/test/kit", module + "/test/fake/twilio"}, []string{module + "/test/kit", module + "/test/fake/twilio"}},
		{"a name that only starts like test/", module + "/cmd/devserver", []string{module + "/testdata", "testingx"}, nil},
		{"function with the SDK's SQS client", module + "/functions/incoming", []string{"github.com/aws/aws-sdk-go-v2/service/sqs/types"}, []string{"github.com/aws/aws-sdk-go-v2/service/sqs/types"}},
		{"voice with the S3 client", module + "/functions/voice", []string{"github.com/aws/aws-sdk-go-v2/service/s3"}, []string{"github.com/aws/aws-sdk-go-v2/service/s3"}},
		{"deliver with the S3 client", module + "/functions/deliver", []string{"github.com/aws/aws-sdk-go-v2/service/s3"}, nil},
		{"function with the REST client", module + "/functions/incoming", []string{"github.com/twilio/twilio-go/rest/api/v2010"}, []string{"github.com/twilio/twilio-go/rest/api/v2010"}},
		{"function with the SDK's config chain", module + "/functions/voice", []string{"github.com/aws/aws-sdk-go-v2/config", "github.com/aws/aws-sdk-go-v2/service/sts"}, []string{"github.com/aws/aws-sdk-go-v2/config", "github.com/aws/aws-sdk-go-v2/service/sts"}},
		{"the CLI may use the config chain", module + "/cmd/subaccounts", []string{"github.com/aws/aws-sdk-go-v2/config"}, nil},
		{"the CLI may provision", module + "/cmd/subaccounts", []string{"github.com/twilio/twilio-go/rest/api/v2010", module + "/cmd/subaccounts/internal/provision"}, nil},
		{"not a binary directory", module + "/test/benchreport", []string{"testing"}, nil},
		{"calls with the zone database", module + "/functions/calls", []string{"time/tzdata", "net/http"}, []string{"time/tzdata"}},
		{"voice may embed the zone database", module + "/functions/voice", []string{"time/tzdata"}, nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := violations(tc.binary, tc.deps)
			if len(got) != len(tc.want) {
				t.Fatalf("violations = %q, want %d for %q", got, len(tc.want), tc.want)
			}
			for i, d := range tc.want {
				if !strings.Contains(got[i], " depends on "+d+": ") {
					t.Errorf("violation %d = %q, want one for %s", i, got[i], d)
				}
			}
		})
	}
}

// TestCheckSeesTestCode runs go list on real test support, as if it were a
// binary under cmd/: the check must flag it, or TestBinariesLinkNoTestCode
// passing would mean nothing.
func TestCheckSeesTestCode(t *testing.T) {
	for _, p := range list(t, "./test/kit", "./test/fake/...") {
		if v := violations(module+"/cmd/pretend", p.deps); !slices.ContainsFunc(v, func(s string) bool { return strings.Contains(s, " depends on testing:") }) {
			t.Errorf("%s: testing not flagged in its dependencies (%q)", p.path, v)
		}
	}
}

// TestFunctionsServeNoDevRoute: the dev server's own route (POST
// /dev/events/test, mounted by httpapi.DevServer alone) is in no Lambda
// function: their mains mount their own routes, and the linker leaves out
// what nothing calls.
func TestFunctionsServeNoDevRoute(t *testing.T) {
	mains, err := filepath.Glob(filepath.Join("..", "..", "functions", "*", "main.go"))
	if err != nil || len(mains) < 5 {
		t.Fatalf("functions' mains: %v %v", mains, err)
	}
	for _, m := range mains {
		src, err := os.ReadFile(m)
		if err != nil {
			t.Fatal(err)
		}
		if strings.Contains(string(src), "DevServer(") || strings.Contains(string(src), "httpapi.All(") {
			t.Errorf("%s mounts the dev server's routes", m)
		}
	}
	dev, err := os.ReadFile(filepath.Join("..", "..", "cmd", "devserver", "main.go"))
	if err != nil || !strings.Contains(string(dev), "httpapi.DevServer(") {
		t.Errorf("cmd/devserver does not mount httpapi.DevServer (%v): this check checks nothing", err)
	}
}
