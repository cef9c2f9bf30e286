package httpapi_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"bubble-twilio-voice/shared/httpapi"
	"bubble-twilio-voice/shared/metrics"
	"bubble-twilio-voice/shared/queue"
	"bubble-twilio-voice/shared/tenant"
	fakesm "bubble-twilio-voice/test/fake/secretsmanager"
	fakesqs "bubble-twilio-voice/test/fake/sqs"
	"bubble-twilio-voice/test/kit"
)

// record is a complete tenant record for sid.
const record = `{
	"account_sid": "` + sid + `",
	"auth_token": "setup_auth_token_00000000000",
	"api_key_sid": "SK0123456789abcdef0123456789abcdef",
	"api_key_secret": "setup_api_key_secret",
	"twiml_app_sid": "AP0123456789abcdef0123456789abcdef",
	"caller_id": "+14155550100",
	"token_api_keys": ["setup-bearer-key"]
}`

// env is m over the process environment, where the AWS settings of the
// Secrets Manager fake live.
func env(m map[string]string) func(string) string {
	return func(k string) string {
		if v, ok := m[k]; ok {
			return v
		}
		return os.Getenv(k)
	}
}

func writeFile(t *testing.T, content string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "tenants.json")
	if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestSetupTenantsFile(t *testing.T) {
	path := writeFile(t, "["+record+"]")
	var stdout bytes.Buffer
	d, err := httpapi.FromEnv(env(map[string]string{
		"TENANTS_FILE": path, "PUBLIC_BASE_URL": "https://voice.example.test/", "LOG_LEVEL": "debug",
	}), "voice", &stdout)
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := d.Store.(*tenant.FileStore); !ok {
		t.Fatalf("store %T, want *tenant.FileStore", d.Store)
	}
	got, err := d.Store.Lookup(context.Background(), sid)
	if err != nil || got.AccountSID != sid || got.CallerID != "+14155550100" {
		t.Fatalf("Lookup = %+v, %v", got, err)
	}
	if _, err := d.Store.Lookup(context.Background(), "AC00000000000000000000000000000000"); !errors.Is(err, tenant.ErrNotFound) {
		t.Errorf("unknown tenant: %v, want ErrNotFound", err)
	}
	if d.PublicBaseURL != "https://voice.example.test" {
		t.Errorf("PublicBaseURL %q", d.PublicBaseURL)
	}
	if d.Now == nil || d.Metrics == nil || d.Log == nil {
		t.Fatalf("deps not all built: %+v", d)
	}

	// Logs and metrics go to stdout (CloudWatch Logs), named for the function.
	d.Log.Debug("hello")
	d.Metrics.Count(metrics.CallDialled, "", sid)
	lines := strings.Split(strings.TrimSpace(stdout.String()), "\n")
	if len(lines) != 2 {
		t.Fatalf("stdout has %d lines, want 2:\n%s", len(lines), stdout.String())
	}
	var logLine, emf map[string]any
	if err := json.Unmarshal([]byte(lines[0]), &logLine); err != nil || logLine["msg"] != "hello" || logLine["function"] != "voice" {
		t.Errorf("log line %s (%v), want msg hello and function voice", lines[0], err)
	}
	if err := json.Unmarshal([]byte(lines[1]), &emf); err != nil || emf["Function"] != "voice" || emf[metrics.CallDialled] != 1.0 {
		t.Errorf("EMF line %s (%v), want Function voice", lines[1], err)
	}
}

func TestSetupSecretsManager(t *testing.T) {
	srv := fakesm.Start(t)
	kit.SetAWSEnv(t, srv.URL())
	srv.Put("custom/"+sid, record)
	index, err := tenant.EncodeIndex([]string{sid}, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	srv.Put("custom/"+tenant.IndexSecretName, string(index))

	var stdout bytes.Buffer
	d, err := httpapi.FromEnv(env(map[string]string{"SECRET_PREFIX": "custom/"}), "incoming", &stdout)
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := d.Store.(*tenant.SecretsStore); !ok {
		t.Fatalf("store %T, want *tenant.SecretsStore", d.Store)
	}
	if n := srv.TotalCalls(); n != 0 {
		t.Errorf("%d Secrets Manager calls at start-up, want none (a cold start must not wait on AWS)", n)
	}
	for i := range 2 {
		got, err := d.Store.Lookup(context.Background(), sid)
		if err != nil || got.AccountSID != sid {
			t.Fatalf("lookup %d = %+v, %v", i, got, err)
		}
	}
	// The second lookup is served from the cache; the index is read once.
	if n, x := srv.CallsFor("GetSecretValue", "custom/"+sid), srv.CallsFor("GetSecretValue", "custom/"+tenant.IndexSecretName); n != 1 || x != 1 {
		t.Errorf("%d GetSecretValue calls for the tenant and %d for the index, want 1 and 1", n, x)
	}
	if _, err := d.Store.Lookup(context.Background(), "AC00000000000000000000000000000000"); !errors.Is(err, tenant.ErrNotFound) {
		t.Errorf("missing secret: %v, want ErrNotFound", err)
	}
	if n := srv.Calls("GetSecretValue"); n != 2 {
		t.Errorf("a SID outside the index cost a call (%d calls, want 2)", n)
	}
	if strings.Contains(stdout.String(), "SecretFetchFailed") {
		t.Errorf("a missing secret counted as a fetch failure:\n%s", stdout.String())
	}
}

// TestSetupSecretsManagerFetchFailed checks the store's failures reach the
// SecretFetchFailed metric on stdout.
func TestSetupSecretsManagerFetchFailed(t *testing.T) {
	srv := fakesm.Start(t)
	kit.SetAWSEnv(t, srv.URL())
	srv.Put("twilio-voice/"+sid, record)
	srv.SetFault(func(op, _ string) fakesm.Fault {
		if op == "GetSecretValue" {
			return fakesm.AWSError("AccessDeniedException") // not retried
		}
		return fakesm.Fault{}
	})

	var stdout bytes.Buffer
	d, err := httpapi.FromEnv(env(nil), "token", &stdout)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := d.Store.Lookup(context.Background(), sid); !errors.Is(err, tenant.ErrUnavailable) {
		t.Fatalf("lookup: %v, want ErrUnavailable", err)
	}
	var found bool
	for _, line := range strings.Split(strings.TrimSpace(stdout.String()), "\n") {
		var m map[string]any
		if json.Unmarshal([]byte(line), &m) == nil && m[metrics.SecretFetchFailed] == 1.0 {
			if m["Function"] != "token" {
				t.Errorf("SecretFetchFailed line %s, want Function token", line)
			}
			// The tenant index's own failure has no AccountSid.
			found = found || m["AccountSid"] == sid
		}
	}
	if !found {
		t.Errorf("no SecretFetchFailed metric on stdout:\n%s", stdout.String())
	}
	if strings.Contains(stdout.String(), "setup_auth_token") {
		t.Error("stdout holds the tenant's auth token")
	}
}

// TestSetupColdFetchLimit checks SECRET_COLD_FETCHES_PER_SECOND and
// SECRET_COLD_FETCH_BURST reach the store, and its refusals the
// SecretColdFetchLimited metric.
func TestSetupColdFetchLimit(t *testing.T) {
	srv := fakesm.Start(t)
	kit.SetAWSEnv(t, srv.URL()) // no index secret: every well-formed SID is admitted

	var stdout bytes.Buffer
	d, err := httpapi.FromEnv(env(map[string]string{"SECRET_COLD_FETCHES_PER_SECOND": "1", "SECRET_COLD_FETCH_BURST": "2"}), "voice", &stdout)
	if err != nil {
		t.Fatal(err)
	}
	for i, want := range []error{tenant.ErrNotFound, tenant.ErrNotFound, tenant.ErrColdFetchLimit} {
		madeUp := fmt.Sprintf("AC%032x", 0xbad0+i)
		if _, err := d.Store.Lookup(context.Background(), madeUp); !errors.Is(err, want) {
			t.Errorf("lookup %d: %v, want %v", i, err, want)
		}
	}
	if !strings.Contains(stdout.String(), `"SecretColdFetchLimited":1`) {
		t.Errorf("no SecretColdFetchLimited metric on stdout:\n%s", stdout.String())
	}
}

func TestSetupBadConfig(t *testing.T) {
	cases := []struct {
		name    string
		env     map[string]string
		file    string // TENANTS_FILE content, when set
		wantErr string
	}{
		{"log level", map[string]string{"LOG_LEVEL": "loud"}, "[]", "LOG_LEVEL"},
		{"cache TTL", map[string]string{"SECRET_CACHE_TTL": "forever"}, "[]", "SECRET_CACHE_TTL"},
		{"fetch timeout", map[string]string{"SECRET_FETCH_TIMEOUT": "30s"}, "[]", "SECRET_FETCH_TIMEOUT"},
		{"public base URL", map[string]string{"PUBLIC_BASE_URL": "voice.example.test"}, "[]", "PUBLIC_BASE_URL"},
		{"tenants file missing", map[string]string{"TENANTS_FILE": filepath.Join(os.TempDir(), "no-such-dir-httpapi", "tenants.json")}, "", "read tenants file"},
		{"tenants file not JSON", nil, "{", "tenants file"},
		{"tenants file null", nil, "null", "tenants file"},
		{"tenants file bad record", nil, `[{"account_sid": "` + sid + `"}]`, "auth_token"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			e := map[string]string{}
			for k, v := range tc.env {
				e[k] = v
			}
			if tc.file != "" && e["TENANTS_FILE"] == "" {
				e["TENANTS_FILE"] = writeFile(t, tc.file)
			}
			var stdout bytes.Buffer
			d, err := httpapi.FromEnv(env(e), "voice", &stdout)
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
				t.Fatalf("err %v, want one mentioning %q", err, tc.wantErr)
			}
			// No half-built deps: in particular no non-nil Store holding a
			// nil *FileStore.
			if d.Store != nil || d.Log != nil || d.Metrics != nil {
				t.Errorf("deps %+v returned with an error", d)
			}
		})
	}
}

// TestSetupEventsQueue: EVENTS_QUEUE_URL gives the callbacks (and incoming's
// call.missed) the events queue on SQS; without it nothing is queued.
func TestSetupEventsQueue(t *testing.T) {
	fake := fakesqs.Start(t)
	url := fake.CreateQueue("events", 0)
	getenv := kit.Getenv("AWS_ENDPOINT_URL_SQS", fake.URL(), "TENANTS_FILE", writeFile(t, "["+record+"]"), "EVENTS_QUEUE_URL", url)
	d, err := httpapi.FromEnv(getenv, "incoming", io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	if err := d.Events.Queue.Send(context.Background(), queue.Message{Body: []byte("e")}); err != nil || len(fake.Messages("events")) != 1 {
		t.Errorf("send: %v", err)
	}
	d, err = httpapi.FromEnv(kit.Getenv("TENANTS_FILE", writeFile(t, "["+record+"]")), "voice", io.Discard)
	if err != nil || d.Events.Queue != nil {
		t.Errorf("without EVENTS_QUEUE_URL: %v, queue %v", err, d.Events.Queue)
	}
}
