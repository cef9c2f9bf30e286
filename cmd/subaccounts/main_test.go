package main

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"maps"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"sync"
	"testing"

	"github.com/johannesboyne/gofakes3"
	"github.com/johannesboyne/gofakes3/backend/s3mem"

	"bubble-twilio-voice/cmd/subaccounts/internal/provision"
	"bubble-twilio-voice/shared/recordings"
	"bubble-twilio-voice/shared/tenant"
	fakesm "bubble-twilio-voice/test/fake/secretsmanager"
	"bubble-twilio-voice/test/fake/twilio"
	"bubble-twilio-voice/test/kit"
)

// fakeCloudFormation answers DescribeStacks (awsQuery protocol, XML) for
// one stack with this template's outputs.
func fakeCloudFormation(t *testing.T, stack, base string) *httptest.Server {
	t.Helper()
	outputs := map[string]string{"TokenUrl": base + "/token", "VoiceUrl": base + "/voice", "IncomingUrl": base + "/incoming",
		"RecordingsBucketName": recordingsBucket}
	return fakeStack(t, stack, func() map[string]string { return outputs })
}

// fakeStack answers DescribeStacks for one stack whose outputs are, at
// each call, what outputs returns, and "does not exist" for any other name,
// as CloudFormation does for a stack of another region.
func fakeStack(t *testing.T, stack string, outputs func() map[string]string) *httptest.Server {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if err := r.ParseForm(); err != nil || r.Form.Get("Action") != "DescribeStacks" {
			http.Error(w, "unexpected request", http.StatusBadRequest)
			return
		}
		if r.Form.Get("StackName") != stack {
			w.Header().Set("Content-Type", "text/xml")
			w.WriteHeader(http.StatusBadRequest)
			_, _ = w.Write([]byte(`<ErrorResponse><Error><Type>Sender</Type><Code>ValidationError</Code><Message>Stack with id ` + r.Form.Get("StackName") + ` does not exist</Message></Error><RequestId>1</RequestId></ErrorResponse>`))
			return
		}
		var members strings.Builder
		for k, v := range outputs() {
			members.WriteString("<member><OutputKey>" + k + "</OutputKey><OutputValue>" + v + "</OutputValue></member>\n")
		}
		w.Header().Set("Content-Type", "text/xml")
		_, _ = w.Write([]byte(`<DescribeStacksResponse xmlns="http://cloudformation.amazonaws.com/doc/2010-05-15/">
<DescribeStacksResult><Stacks><member>
<StackName>` + stack + `</StackName><StackId>arn:aws:cloudformation:us-east-1:123456789012:stack/` + stack + `/1</StackId>
<CreationTime>2025-01-01T00:00:00Z</CreationTime><StackStatus>UPDATE_COMPLETE</StackStatus>
<Outputs>
` + members.String() + `</Outputs></member></Stacks></DescribeStacksResult>
<ResponseMetadata><RequestId>2</RequestId></ResponseMetadata></DescribeStacksResponse>`))
	}))
	t.Cleanup(srv.Close)
	return srv
}

// recordingsBucket is the stack's RecordingsBucketName.
const recordingsBucket = "voice-prod-recordingsbucket-1x2y3z"

type world struct {
	tw     *twilio.Server
	sm     *fakesm.Server
	s3     *s3mem.Backend
	getenv func(string) string
	all    *bytes.Buffer // everything printed, scanned for credentials at the end
	seen   map[string]bool
}

func newWorld(t *testing.T) world {
	tw := twilio.Start(t)
	sm := fakesm.Start(t)
	kit.SetAWSEnv(t, sm.URL())
	cfn := fakeCloudFormation(t, "voice-prod", "https://abc123.execute-api.us-east-1.amazonaws.com")
	t.Setenv("AWS_ENDPOINT_URL_CLOUDFORMATION", cfn.URL)
	s3 := s3mem.New()
	if err := s3.CreateBucket(recordingsBucket); err != nil {
		t.Fatal(err)
	}
	s3srv := httptest.NewServer(gofakes3.New(s3).Server())
	t.Cleanup(s3srv.Close)
	t.Setenv("AWS_ENDPOINT_URL_S3", s3srv.URL)
	sid, token := tw.Main()
	env := map[string]string{
		"TWILIO_ACCOUNT_SID":  sid,
		"TWILIO_AUTH_TOKEN":   token,
		"TWILIO_API_BASE_URL": tw.URL(),
	}
	w := world{tw: tw, sm: sm, s3: s3, getenv: func(k string) string { return env[k] }, all: &bytes.Buffer{}, seen: map[string]bool{}}
	t.Cleanup(func() { w.scan(t) })
	return w
}

// collect notes every credential the fakes hold now.
func (w world) collect() {
	sid, token := w.tw.Main()
	w.seen[token] = true
	for _, a := range append(w.tw.Subaccounts(), twilio.Account{SID: sid}) {
		w.seen[a.AuthToken], w.seen[a.Secondary] = true, true
		for _, k := range w.tw.Keys(a.SID) {
			w.seen[k.Secret] = true
		}
	}
	for _, name := range w.sm.Names() {
		v, _ := w.sm.Get(name)
		if rec, err := tenant.Parse([]byte(v)); err == nil {
			w.seen[rec.AuthToken], w.seen[rec.PreviousAuthToken], w.seen[rec.APIKeySecret] = true, true, true
		}
	}
	delete(w.seen, "")
}

// scan fails the test if any output holds a credential, except a bearer
// key printed once on the line after its header.
func (w world) scan(t *testing.T) {
	w.collect()
	out := w.all.String()
	const header = "Bearer key for the Bubble API Connector (shown once; store it in Bubble now):\n"
	for _, part := range strings.Split(out, header)[1:] {
		key, _, _ := strings.Cut(part, "\n")
		if strings.Count(out, key) != 1 {
			t.Errorf("bearer key printed more than once")
		}
	}
	for s := range w.seen {
		if strings.Contains(out, s) {
			t.Errorf("output contains a credential (%d chars)", len(s))
		}
	}
}

func (w world) run(t *testing.T, args ...string) (stdout, stderr string, err error) {
	t.Helper()
	var o, e bytes.Buffer
	w.collect()
	err = run(context.Background(), args, w.getenv, &o, &e)
	w.collect()
	w.all.WriteString(o.String() + e.String())
	if err != nil {
		w.all.WriteString(err.Error())
	}
	return o.String(), e.String(), err
}

func TestRunEndToEnd(t *testing.T) {
	w := newWorld(t)
	sub := w.tw.AddSubaccount("acme")
	w.tw.AddNumber(sub.SID, "+14155550100")

	// Dry run first: nothing changes.
	out, _, err := w.run(t, "create", "--stack", "voice-prod", "--name", "acme", "--number", "+14155550100", "--client", "alice,bob", "--dry-run")
	if err != nil || w.tw.Writes() != 0 || len(w.sm.Names()) != 0 || !strings.Contains(out, "plan: ") {
		t.Fatalf("dry run: err %v, writes %d\n%s", err, w.tw.Writes(), out)
	}

	out, _, err = w.run(t, "create", "--stack", "voice-prod", "--name", "acme", "--number", "+14155550100", "--client", "alice,bob", "--no-wait")
	if err != nil {
		t.Fatalf("create: %v\n%s", err, out)
	}
	v, _ := w.sm.Get(tenant.DefaultSecretPrefix + sub.SID)
	rec, err := tenant.Parse([]byte(v))
	if err != nil {
		t.Fatal(err)
	}
	apps := w.tw.Apps(sub.SID)
	if len(apps) != 1 || !strings.HasPrefix(apps[0].FriendlyName, "bubble-twilio-voice (voice-prod/us-east-1 ") || apps[0].VoiceURL != "https://abc123.execute-api.us-east-1.amazonaws.com/voice" ||
		apps[0].StatusCallback != "https://abc123.execute-api.us-east-1.amazonaws.com/events/call-status" {
		t.Errorf("app %+v", apps)
	}
	if len(rec.Incoming.Default.Clients) != 2 || !strings.Contains(out, "/token") {
		t.Errorf("clients %v; output:\n%s", rec.Incoming.Default.Clients, out)
	}
	if strings.Contains(out, rec.APIKeySecret) || strings.Contains(out, rec.AuthToken) {
		t.Errorf("create printed a credential")
	}

	// Flags after the positional argument work.
	if out, _, err := w.run(t, "check", sub.SID, "--stack", "voice-prod"); err != nil || !strings.Contains(out, "all checks passed") {
		t.Errorf("check: %v\n%s", err, out)
	}
	_, _, err = w.run(t, "check", sub.SID, "--voice-url", "https://other.example.com/voice", "--incoming-url", "https://other.example.com/incoming")
	if !errors.Is(err, provision.ErrCheckFailed) {
		t.Errorf("check against another deployment: %v", err)
	}
	if out, _, err := w.run(t, "rotate-key", sub.SID, "--cache-ttl", "0"); err != nil || !strings.Contains(out, "deleted (replaced") {
		t.Errorf("rotate-key: %v\n%s", err, out)
	}
	if out, _, err := w.run(t, "rotate-auth-token", sub.SID, "--wait=0"); err != nil || !strings.Contains(out, "promoted") {
		t.Errorf("rotate-auth-token: %v\n%s", err, out)
	}
	if out, _, err := w.run(t, "list"); err != nil || !strings.Contains(out, sub.SID) {
		t.Errorf("list: %v\n%s", err, out)
	}
	out, _, err = w.run(t, "show", sub.SID)
	v, _ = w.sm.Get(tenant.DefaultSecretPrefix + sub.SID)
	rec, _ = tenant.Parse([]byte(v))
	if err != nil || strings.Contains(out, rec.AuthToken) || strings.Contains(out, rec.PreviousAuthToken) || strings.Contains(out, rec.TokenAPIKeys[0]) {
		t.Errorf("show: %v (or printed a credential)", err)
	}
}

func TestRunUsageErrors(t *testing.T) {
	w := newWorld(t)
	for _, tc := range []struct {
		name string
		args []string
		want string
	}{
		{"no command", nil, "no command given"},
		{"check without a tenant", []string{"check", "--stack", "voice-prod"}, "check takes one ACCOUNT_SID, or --all"},
		{"repoint without a tenant", []string{"repoint", "--stack", "voice-prod"}, "or --all"},
		{"repoint with both", []string{"repoint", "AC00000000000000000000000000000000", "--all", "--stack", "voice-prod"}, "not both"},
		{"unknown command", []string{"frobnicate"}, `unknown command "frobnicate"`},
		{"missing sid", []string{"show"}, "takes one ACCOUNT_SID"},
		{"extra args", []string{"list", "x"}, "takes no arguments"},
		{"no deployment", []string{"create", "--name", "acme"}, "pass --stack or --voice-url"},
		{"unknown stack", []string{"create", "--name", "acme", "--stack", "nope"}, "describe stack nope"},
		{"bad flag", []string{"create", "--nope"}, "flag provided but not defined"},
		{"events without test", []string{"events", "AC0123456789abcdef0123456789abcdef"}, "usage: events test ACCOUNT_SID"},
		{"events test without sid", []string{"events", "test"}, "usage: events test ACCOUNT_SID"},
		{"events other", []string{"events", "send", "AC0123456789abcdef0123456789abcdef"}, "usage: events test ACCOUNT_SID"},
		{"events test, no record", []string{"events", "test", "AC0123456789abcdef0123456789abcdef", "--voice-url", "https://abc.example/voice"}, "no tenant record"},
		{"events test, bad sid", []string{"events", "test", "AC12", "--type", "call.missed"}, "AC"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, _, err := w.run(t, tc.args...)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("err = %v, want %q", err, tc.want)
			}
		})
	}
	for _, arg := range []string{"help", "-h", "--help"} {
		if out, _, err := w.run(t, arg); err != nil || !strings.Contains(out, "usage: subaccounts COMMAND") {
			t.Errorf("%s: %v (a requested help is a success, on stdout)\n%s", arg, err, out)
		}
	}
	// close -h shows the confirmation as it must be typed: with the SID,
	// two dashes and no value.
	_, stderr, err := w.run(t, "close", "-h")
	if !errors.Is(err, flag.ErrHelp) || !strings.Contains(stderr, "--yes-close-ACCOUNT_SID\n") ||
		!strings.Contains(stderr, "--yes-close-AC0123456789abcdef0123456789abcdef") || strings.Contains(stderr, "-yes-close-ACCOUNT_SID string") {
		t.Errorf("close -h: %v\n%s", err, stderr)
	}
}

func TestRunNeedsTwilioCredentials(t *testing.T) {
	w := newWorld(t)
	w.getenv = func(string) string { return "" }
	_, _, err := w.run(t, "rotate-key", "AC00000000000000000000000000000000")
	if err == nil || !strings.Contains(err.Error(), "TWILIO_ACCOUNT_SID") {
		t.Errorf("err = %v", err)
	}
}

func TestRunWithMainAPIKey(t *testing.T) {
	w := newWorld(t)
	mainSID, _ := w.tw.Main()
	key := w.tw.AddKey(mainSID, "ops", true)
	env := map[string]string{"TWILIO_ACCOUNT_SID": mainSID, "TWILIO_API_KEY": key.SID, "TWILIO_API_SECRET": key.Secret, "TWILIO_API_BASE_URL": w.tw.URL()}
	w.getenv = func(k string) string { return env[k] }
	out, _, err := w.run(t, "create", "--voice-url", "https://v.example.com/voice", "--incoming-url", "https://v.example.com/incoming", "--name", "acme", "--caller-id", "+14155550100", "--no-wait")
	if err != nil || len(w.tw.Subaccounts()) != 1 {
		t.Fatalf("create with a main API key: %v\n%s", err, out)
	}
	if apps := w.tw.Apps(w.tw.Subaccounts()[0].SID); len(apps) != 1 || !strings.HasPrefix(apps[0].FriendlyName, "bubble-twilio-voice (v.example.com ") {
		t.Errorf("apps %+v", apps)
	}
	if strings.Contains(out, key.Secret) {
		t.Errorf("printed the main key secret")
	}
}

// TestRunLifecycle runs the life of a subaccount through the CLI: every
// command against the fakes with the real clients, as a user would.
func TestRunLifecycle(t *testing.T) {
	w := newWorld(t)
	mainSID, _ := w.tw.Main()
	acme := w.tw.AddSubaccount("Acme Dental")
	w.tw.AddNumber(acme.SID, "+14155550100")
	w.tw.AddNumber(acme.SID, "+14155550101")
	beta := w.tw.AddSubaccount("Beta Clinic")
	w.tw.AddNumber(beta.SID, "+14155550102")
	w.tw.AddCall(acme.SID, "+14155550123", "+14155550100", "in-progress")
	w.tw.AddUsage(acme.SID, twilio.Usage{Date: "2026-01-12", Category: "calls", Count: 42, Usage: 318, Price: "5.4060"},
		twilio.Usage{Date: "2026-01-12", Category: "recordings", Count: 3, Usage: 11, Price: "0.0275"},
		twilio.Usage{Date: "2026-01-01", Category: "phonenumbers", Count: 2, Usage: 2, Price: "2.30"})
	w.tw.SetDialingPermission(mainSID, "US", true)

	step := func(wantErr error, args ...string) string {
		t.Helper()
		out, errOut, err := w.run(t, args...)
		t.Logf("$ subaccounts %s\n%s%s", strings.Join(args, " "), out, errOut)
		if wantErr == nil && err != nil || wantErr != nil && !errors.Is(err, wantErr) {
			t.Fatalf("%v: err = %v, want %v\n%s", args, err, wantErr, out)
		}
		return out
	}
	step(nil, "create", "--stack", "voice-prod", "--name", "Acme Dental", "--number", "+14155550100", "--client", "front_desk,dr_smith", "--no-wait")
	step(nil, "create", "--stack", "voice-prod", "--name", "Beta Clinic", "--number", "+14155550102", "--client", "reception", "--no-wait")
	step(nil, "check", acme.SID, "--stack", "voice-prod")

	out := step(nil, "suspend", acme.SID)
	if !strings.Contains(out, "ended 1 call(s)") || w.tw.CallsOf(acme.SID)[0].Status != "completed" {
		t.Errorf("suspend:\n%s", out)
	}
	step(nil, "list")
	step(nil, "reactivate", acme.SID)
	step(nil, "move-number", "+14155550101", "--from", acme.SID, "--to", beta.SID, "--client", "reception", "--stack", "voice-prod")
	out = step(nil, "usage", acme.SID, "--month", "2026-01", "--json")
	if !strings.Contains(out, `"total_price": "7.7335"`) {
		t.Errorf("usage --json:\n%s", out)
	}
	step(nil, "usage", "--all", "--month", "2026-01")
	step(nil, "dialing-permissions", acme.SID)
	step(nil, "rotate-key", acme.SID, "--no-wait")
	for _, rec := range []string{"RE0123456789abcdef0123456789abcdef", "RE0123456789abcdef0123456789abcdee"} {
		if _, err := w.s3.PutObject(recordingsBucket, recordings.Key(acme.SID, rec), map[string]string{}, strings.NewReader("ID3"), 3, nil); err != nil {
			t.Fatal(err)
		}
	}
	if _, _, err := w.run(t, "close", acme.SID, "--yes-close-"+acme.SID); err == nil || !strings.Contains(err.Error(), "--keep-recordings") {
		t.Errorf("close without --stack: %v", err)
	}
	step(provision.ErrNotConfirmed, "close", acme.SID, "--stack", "voice-prod")
	out = step(nil, "close", acme.SID, "--yes-close-"+acme.SID, "--stack", "voice-prod")
	if !strings.Contains(out, "recordings under s3://"+recordingsBucket+"/recordings/"+acme.SID+"/: 2 deleted") {
		t.Errorf("close did not delete the recordings:\n%s", out)
	}
	if left, _ := w.s3.ListBucket(recordingsBucket, &gofakes3.Prefix{}, gofakes3.ListBucketPage{}); len(left.Contents) != 0 {
		t.Errorf("%d objects left in the bucket", len(left.Contents))
	}
	step(nil, "close", acme.SID, "--yes-close-"+acme.SID, "--keep-recordings")
	step(nil, "reindex", "--no-wait")
	if a, _ := w.tw.Account(acme.SID); a.Status != "closed" {
		t.Errorf("acme is %s", a.Status)
	}
}

func TestRunLifecycleUsageErrors(t *testing.T) {
	w := newWorld(t)
	sid := "AC0123456789abcdef0123456789abcdef"
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"move-number", "+14155550100", "--to", "main"}, "needs --from and --to"},
		{[]string{"move-number", "--from", "main", "--to", sid}, "takes one number"},
		{[]string{"usage", "--month", "2026-01", "--start", "2026-01-01"}, "not both"},
		{[]string{"usage", "--month", "January"}, "--month"},
		{[]string{"dialing-permissions", sid, "--inherit", "maybe"}, "want true or false"},
		{[]string{"close"}, "takes one ACCOUNT_SID"},
		{[]string{"reindex", sid}, "takes no arguments"},
	} {
		if _, _, err := w.run(t, tc.args...); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%v: err = %v, want %q", tc.args, err, tc.want)
		}
	}
}

func TestTakeConfirmation(t *testing.T) {
	var confirm string
	rest := takeConfirmation([]string{"AC1", "--yes-close-AC1", "--recovery-days", "7"}, &confirm)
	if confirm != "AC1" || strings.Join(rest, " ") != "AC1 --recovery-days 7" {
		t.Errorf("confirm %q, rest %q", confirm, rest)
	}
	confirm = ""
	takeConfirmation([]string{"-yes-close-AC2"}, &confirm)
	if confirm != "AC2" {
		t.Errorf("single dash: %q", confirm)
	}
	confirm = ""
	if rest := takeConfirmation([]string{"yes-close-AC3"}, &confirm); confirm != "" || len(rest) != 1 {
		t.Errorf("a positional argument taken as the confirmation")
	}
}

func TestExitOnSecondSignal(t *testing.T) {
	t.Run("two signals", func(t *testing.T) {
		ctx, cancel := context.WithCancel(context.Background())
		finished := make(chan struct{})
		defer close(finished)
		sigs := make(chan chan<- os.Signal, 1)
		exited := make(chan struct{})
		var stderr kit.LogBuffer
		go exitOnSecondSignal(ctx, finished, &stderr, func(c chan<- os.Signal) { sigs <- c }, func() { close(exited) })
		cancel() // the first Ctrl-C
		c := <-sigs
		c <- os.Interrupt // the second
		<-exited
		if !strings.Contains(stderr.String(), "press Ctrl-C again to exit at once") || !strings.Contains(stderr.String(), "exiting now") {
			t.Errorf("stderr: %s", stderr.String())
		}
	})
	t.Run("normal end", func(t *testing.T) {
		ctx, cancel := context.WithCancel(context.Background())
		finished := make(chan struct{})
		done := make(chan struct{})
		var stderr kit.LogBuffer
		go func() {
			exitOnSecondSignal(ctx, finished, &stderr, func(chan<- os.Signal) { t.Error("listened for a second signal after a normal end") }, func() { t.Error("exited") })
			close(done)
		}()
		close(finished) // run returned, then stop() cancels ctx
		cancel()
		<-done
		if stderr.String() != "" {
			t.Errorf("stderr: %s", stderr.String())
		}
	})
}

// TestRunDomainMove moves a deployment's tenants to a custom domain as
// docs/deploy.md says: the stack's outputs change to the domain (the
// execute-api URL stays as ExecuteApiUrl), check --all finds every tenant
// still on the old URL, repoint --all moves them, one line per tenant and
// a total, skipping (and failing) one that points at another deployment,
// and a rerun changes nothing.
func TestRunDomainMove(t *testing.T) {
	tw := twilio.Start(t)
	sm := fakesm.Start(t)
	kit.SetAWSEnv(t, sm.URL())
	const api = "https://abc123.execute-api.us-east-1.amazonaws.com"
	outputs := map[string]string{"BaseUrl": api, "ExecuteApiUrl": api, "TokenUrl": api + "/token", "VoiceUrl": api + "/voice", "IncomingUrl": api + "/incoming",
		"SecretsKmsKeyArn": "arn:aws:kms:us-east-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab"}
	var mu sync.Mutex
	t.Setenv("AWS_ENDPOINT_URL_CLOUDFORMATION", fakeStack(t, "voice-prod", func() map[string]string {
		mu.Lock()
		defer mu.Unlock()
		return maps.Clone(outputs)
	}).URL)
	sid, token := tw.Main()
	env := map[string]string{"TWILIO_ACCOUNT_SID": sid, "TWILIO_AUTH_TOKEN": token, "TWILIO_API_BASE_URL": tw.URL()}
	w := world{tw: tw, sm: sm, getenv: func(k string) string { return env[k] }, all: &bytes.Buffer{}, seen: map[string]bool{}}
	t.Cleanup(func() { w.scan(t) })

	var sids []string
	for i, name := range []string{"acme", "globex", "initech"} {
		sub := tw.AddSubaccount(name)
		number := fmt.Sprintf("+1415555010%d", i)
		tw.AddNumber(sub.SID, number)
		if out, _, err := w.run(t, "create", "--stack", "voice-prod", "--name", name, "--number", number, "--client", "alice", "--no-wait"); err != nil {
			t.Fatalf("create %s: %v\n%s", name, err, out)
		}
		sids = append(sids, sub.SID)
		// The stack's key encrypts the secrets the CLI creates.
		if got := sm.KmsKeyID(tenant.DefaultSecretPrefix + sub.SID); got != outputs["SecretsKmsKeyArn"] {
			t.Errorf("secret of %s created with KmsKeyId %q, want the stack's key", name, got)
		}
	}
	// The third tenant's app was taken over by another deployment of this
	// service: repoint must not take it back without --force.
	initech := sids[2]
	app := tw.Apps(initech)[0]
	app.VoiceURL, app.StatusCallback = "https://other.example.com/voice", "https://other.example.com/events/call-status"
	tw.SetApp(initech, app)

	// The first deploy with the domain: the outputs move to it.
	const domain = "https://voice.example.com/calls"
	mu.Lock()
	outputs["BaseUrl"], outputs["TokenUrl"], outputs["VoiceUrl"], outputs["IncomingUrl"] = domain, domain+"/token", domain+"/voice", domain+"/incoming"
	mu.Unlock()

	out, _, err := w.run(t, "check", "--all", "--stack", "voice-prod")
	if !errors.Is(err, provision.ErrCheckFailed) || !strings.Contains(out, "check: 3 tenant(s): 0 ok, 3 with problems") ||
		!strings.Contains(out, "subaccounts repoint "+sids[0]) {
		t.Errorf("check --all before the move: %v\n%s", err, out)
	}
	writes := tw.Writes()
	if out, _, err = w.run(t, "repoint", "--all", "--stack", "voice-prod", "--dry-run"); tw.Writes() != writes || !strings.Contains(out, sids[0]+": would update (app, 1 number(s))") {
		t.Errorf("repoint --dry-run: %v, %d writes\n%s", err, tw.Writes()-writes, out)
	}
	out, _, err = w.run(t, "repoint", "--all", "--stack", "voice-prod")
	if !errors.Is(err, provision.ErrRepointFailed) {
		t.Errorf("repoint --all with a tenant of another deployment: %v", err)
	}
	for _, want := range []string{
		sids[0] + ": updated (app, 1 number(s))",
		sids[1] + ": updated (app, 1 number(s))",
		initech + ": FAILED: TwiML App " + app.SID + " points at https://other.example.com/voice, another deployment",
		"repoint: 3 tenant(s): 2 updated, 0 already right, 1 failed",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("repoint --all: no %q in\n%s", want, out)
		}
	}
	for _, s := range sids[:2] {
		a := tw.Apps(s)[0]
		n := tw.Numbers(s)[0]
		if a.VoiceURL != domain+"/voice" || a.StatusCallback != domain+"/events/call-status" || n.VoiceURL != domain+"/incoming" || n.StatusCallback != domain+"/events/call-status" {
			t.Errorf("%s after repoint: app %+v, number %+v", s, a, n)
		}
	}
	if a := tw.Apps(initech)[0]; a.VoiceURL != "https://other.example.com/voice" {
		t.Errorf("repoint took over another deployment's app: %+v", a)
	}

	// Resumed: a rerun changes nothing that is right and retries the rest.
	writes = tw.Writes()
	out, _, _ = w.run(t, "repoint", "--all", "--stack", "voice-prod")
	if tw.Writes() != writes || !strings.Contains(out, "repoint: 3 tenant(s): 0 updated, 2 already right, 1 failed") {
		t.Errorf("rerun made %d writes:\n%s", tw.Writes()-writes, out)
	}
	if out, _, err = w.run(t, "repoint", initech, "--stack", "voice-prod", "--force"); err != nil || !strings.Contains(out, initech+": updated (app, 1 number(s))") {
		t.Errorf("repoint --force: %v\n%s", err, out)
	}
	if out, _, err = w.run(t, "check", "--all", "--stack", "voice-prod"); err != nil || !strings.Contains(out, "check: 3 tenant(s): 3 ok, 0 with problems") {
		t.Errorf("check --all after the move: %v\n%s", err, out)
	}

	// Another stack's tenant under the same prefix: --all leaves it out, and
	// named, it is refused without a write.
	sm.SetTags(tenant.DefaultSecretPrefix+initech, map[string]string{provision.StackTagKey: "voice-staging"})
	if out, _, err = w.run(t, "check", "--all", "--stack", "voice-prod"); err != nil || !strings.Contains(out, "check: 2 tenant(s)") {
		t.Errorf("check --all with another stack's tenant: %v\n%s", err, out)
	}
	writes = tw.Writes()
	if out, _, err = w.run(t, "repoint", initech, "--stack", "voice-prod"); !errors.Is(err, provision.ErrRepointFailed) || tw.Writes() != writes ||
		!strings.Contains(out, initech+": FAILED: secret "+tenant.DefaultSecretPrefix+initech+" belongs to stack \"voice-staging\"") {
		t.Errorf("repoint of another stack's tenant: %v, %d writes\n%s", err, tw.Writes()-writes, out)
	}

	// Interrupted before it starts: nothing written, the error says so.
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := run(ctx, []string{"repoint", "--all", "--stack", "voice-prod"}, w.getenv, io.Discard, io.Discard); !errors.Is(err, context.Canceled) {
		t.Errorf("repoint with a cancelled context: %v", err)
	}
}

// TestAnotherStacksTenantRefused is issue 20 item 7 at the CLI. Reproduction
// on the release before it: two stacks in one account and region with the
// default SecretPrefix shared their tenants, and one stack's CLI changed,
// reindexed and closed the other's without a word. Now what the CLI writes
// is tagged with the stack, and a tenant tagged for another stack is
// refused (and left unchanged) without --force.
func TestAnotherStacksTenantRefused(t *testing.T) {
	w := newWorld(t)
	ours := w.tw.AddSubaccount("Acme Dental")
	theirs := w.tw.AddSubaccount("Staging Clinic")
	if out, _, err := w.run(t, "create", "--stack", "voice-prod", "--name", "Acme Dental", "--caller-id", "+14155550100", "--no-wait"); err != nil {
		t.Fatalf("create: %v\n%s", err, out)
	}
	tag := provision.StackTagKey
	for _, name := range []string{ours.SID, tenant.IndexSecretName} {
		if got := w.sm.Tags(tenant.DefaultSecretPrefix + name)[tag]; got != "voice-prod" {
			t.Errorf("%s tagged %s=%q, want voice-prod", name, tag, got)
		}
	}
	// The other stack's tenant, under the same (default) prefix.
	theirName := tenant.DefaultSecretPrefix + theirs.SID
	theirRecord := `{"account_sid":"` + theirs.SID + `","auth_token":"t","api_key_sid":"SK00000000000000000000000000000000","api_key_secret":"s","twiml_app_sid":"AP00000000000000000000000000000000","caller_id":"+14155550199","token_api_keys":["k"]}`
	w.sm.Put(theirName, theirRecord)
	w.sm.SetTags(theirName, map[string]string{tag: "voice-staging"})

	for _, args := range [][]string{
		{"suspend", theirs.SID, "--stack", "voice-prod"},
		{"suspend", theirs.SID}, // the stack the index is tagged for
		{"close", theirs.SID, "--yes-close-" + theirs.SID, "--keep-recordings"},
		{"create", "--stack", "voice-prod", "--account-sid", theirs.SID, "--no-wait"},
	} {
		out, _, err := w.run(t, args...)
		if !errors.Is(err, provision.ErrOtherStack) || !strings.Contains(err.Error(), `"voice-staging"`) || !strings.Contains(err.Error(), "--force") {
			t.Errorf("%v: err = %v, want a refusal naming voice-staging and --force\n%s", args, err, out)
		}
		if v, _ := w.sm.Get(theirName); v != theirRecord {
			t.Errorf("%v changed the other stack's record", args)
		}
		if a, _ := w.tw.Account(theirs.SID); a.Status != "active" {
			t.Errorf("%v changed the other stack's subaccount: %s", args, a.Status)
		}
	}
	out, _, err := w.run(t, "reindex", "--no-wait")
	if err != nil || !strings.Contains(out, "tagged for another stack") {
		t.Errorf("reindex: %v\n%s", err, out)
	}
	if x, err := tenant.ParseIndex([]byte(mustGet(t, w, tenant.DefaultSecretPrefix+tenant.IndexSecretName))); err != nil || x.MayContain(theirs.SID) || !x.MayContain(ours.SID) {
		t.Errorf("reindex: the index admits the other stack's tenant or not ours (%v)", err)
	}

	if out, _, err := w.run(t, "suspend", theirs.SID, "--force"); err != nil {
		t.Fatalf("suspend --force: %v\n%s", err, out)
	}
	if got := w.sm.Tags(theirName)[tag]; got != "voice-prod" {
		t.Errorf("after --force the tenant is tagged %q, want voice-prod (taken over)", got)
	}
}

func mustGet(t *testing.T, w world, name string) string {
	t.Helper()
	v, ok := w.sm.Get(name)
	if !ok {
		t.Fatalf("no secret %s", name)
	}
	return v
}
