package secretsmanager_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager/types"
	"github.com/aws/smithy-go"

	fakesm "bubble-twilio-voice/test/fake/secretsmanager"
	"bubble-twilio-voice/test/kit"
)

// client is the real SDK client aimed at url, with static credentials and
// retries without backoff (attempts 1 = no retries) so counts are exact.
func client(t *testing.T, url string, attempts int) *secretsmanager.Client {
	t.Helper()
	kit.SetAWSEnv(t, "")
	cfg, err := config.LoadDefaultConfig(context.Background(),
		config.WithRetryer(func() aws.Retryer {
			return retry.NewStandard(func(o *retry.StandardOptions) {
				o.MaxAttempts = attempts
				o.Backoff = retry.BackoffDelayerFunc(func(int, error) (time.Duration, error) { return 0, nil })
			})
		}),
	)
	if err != nil {
		t.Fatal(err)
	}
	return secretsmanager.NewFromConfig(cfg, func(o *secretsmanager.Options) { o.BaseEndpoint = aws.String(url) })
}

func TestSecretLifecycle(t *testing.T) {
	srv := fakesm.Start(t)
	sm := client(t, srv.URL(), 1)
	ctx := context.Background()

	created, err := sm.CreateSecret(ctx, &secretsmanager.CreateSecretInput{
		Name: aws.String("twilio-voice/AC1"), SecretString: aws.String(`{"v":1}`), Description: aws.String("tenant one"),
	})
	if err != nil {
		t.Fatalf("CreateSecret: %v", err)
	}
	arn := aws.ToString(created.ARN)
	if !strings.HasPrefix(arn, "arn:aws:secretsmanager:us-east-1:123456789012:secret:twilio-voice/AC1-") || len(arn) != len("arn:aws:secretsmanager:us-east-1:123456789012:secret:twilio-voice/AC1-AbCdEf") {
		t.Errorf("ARN = %q", arn)
	}
	firstVersion := aws.ToString(created.VersionId)

	get := func() *secretsmanager.GetSecretValueOutput {
		t.Helper()
		out, err := sm.GetSecretValue(ctx, &secretsmanager.GetSecretValueInput{SecretId: aws.String("twilio-voice/AC1")})
		if err != nil {
			t.Fatalf("GetSecretValue: %v", err)
		}
		return out
	}
	if got := get(); aws.ToString(got.SecretString) != `{"v":1}` || aws.ToString(got.Name) != "twilio-voice/AC1" || aws.ToString(got.ARN) != arn ||
		aws.ToString(got.VersionId) != firstVersion || len(got.VersionStages) != 1 || got.VersionStages[0] != "AWSCURRENT" {
		t.Errorf("GetSecretValue = %+v", got)
	}

	put, err := sm.PutSecretValue(ctx, &secretsmanager.PutSecretValueInput{SecretId: aws.String("twilio-voice/AC1"), SecretString: aws.String(`{"v":2}`)})
	if err != nil {
		t.Fatalf("PutSecretValue: %v", err)
	}
	if aws.ToString(put.VersionId) == firstVersion || aws.ToString(put.ARN) != arn {
		t.Errorf("PutSecretValue = %+v", put)
	}
	if got := get(); aws.ToString(got.SecretString) != `{"v":2}` {
		t.Errorf("after PutSecretValue: %s", aws.ToString(got.SecretString))
	}

	// Seeding through the Go API replaces the value the same way.
	srv.Put("twilio-voice/AC1", `{"v":3}`)
	if got := get(); aws.ToString(got.SecretString) != `{"v":3}` {
		t.Errorf("after Put: %s", aws.ToString(got.SecretString))
	}
	if v, ok := srv.Get("twilio-voice/AC1"); !ok || v != `{"v":3}` {
		t.Errorf("Get = %q, %v", v, ok)
	}

	srv.Put("other", "x")
	if !srv.Delete("other") || srv.Delete("other") {
		t.Error("Delete should report true then false")
	}
	if names := srv.Names(); len(names) != 1 || names[0] != "twilio-voice/AC1" {
		t.Errorf("Names = %v", names)
	}
}

func TestErrors(t *testing.T) {
	srv := fakesm.Start(t)
	sm := client(t, srv.URL(), 1)
	ctx := context.Background()
	srv.Put("exists", "x")
	if _, err := sm.CreateSecret(ctx, &secretsmanager.CreateSecretInput{Name: aws.String("empty")}); err != nil {
		t.Fatal(err)
	}

	tests := []struct {
		name   string
		call   func() error
		target any
		code   string
	}{
		{"get unknown", func() error {
			_, err := sm.GetSecretValue(ctx, &secretsmanager.GetSecretValueInput{SecretId: aws.String("nope")})
			return err
		}, new(*types.ResourceNotFoundException), "ResourceNotFoundException"},
		{"get secret without value", func() error {
			_, err := sm.GetSecretValue(ctx, &secretsmanager.GetSecretValueInput{SecretId: aws.String("empty")})
			return err
		}, new(*types.ResourceNotFoundException), "ResourceNotFoundException"},
		{"create duplicate", func() error {
			_, err := sm.CreateSecret(ctx, &secretsmanager.CreateSecretInput{Name: aws.String("exists"), SecretString: aws.String("x")})
			return err
		}, new(*types.ResourceExistsException), "ResourceExistsException"},
		{"put unknown", func() error {
			_, err := sm.PutSecretValue(ctx, &secretsmanager.PutSecretValueInput{SecretId: aws.String("nope"), SecretString: aws.String("z")})
			return err
		}, new(*types.ResourceNotFoundException), "ResourceNotFoundException"},
		{"list bad token", func() error {
			_, err := sm.ListSecrets(ctx, &secretsmanager.ListSecretsInput{NextToken: aws.String("!!")})
			return err
		}, new(*types.InvalidNextTokenException), "InvalidNextTokenException"},
		{"list unsupported filter", func() error {
			_, err := sm.ListSecrets(ctx, &secretsmanager.ListSecretsInput{Filters: []types.Filter{{Key: types.FilterNameStringTypeTagKey, Values: []string{"x"}}}})
			return err
		}, new(*types.InvalidParameterException), "InvalidParameterException"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.call()
			if !errors.As(err, tc.target) {
				t.Fatalf("error %v is not a %T", err, tc.target)
			}
			checkAPIError(t, err, tc.code, 400)
		})
	}

	t.Run("create retried with the same token succeeds", func(t *testing.T) {
		in := &secretsmanager.CreateSecretInput{Name: aws.String("retried"), SecretString: aws.String("v"), ClientRequestToken: aws.String("00000000-0000-4000-8000-000000000001")}
		first, err := sm.CreateSecret(ctx, in)
		if err != nil {
			t.Fatal(err)
		}
		again, err := sm.CreateSecret(ctx, in)
		if err != nil || aws.ToString(again.VersionId) != aws.ToString(first.VersionId) {
			t.Fatalf("retry = %+v, %v", again, err)
		}
	})
}

func checkAPIError(t *testing.T, err error, code string, status int) {
	t.Helper()
	var api smithy.APIError
	if !errors.As(err, &api) || api.ErrorCode() != code {
		t.Errorf("error %v: want code %s", err, code)
	}
	var re *awshttp.ResponseError
	if !errors.As(err, &re) || re.HTTPStatusCode() != status {
		t.Errorf("error %v: want HTTP %d", err, status)
	}
}

func TestListSecrets(t *testing.T) {
	srv := fakesm.Start(t)
	sm := client(t, srv.URL(), 1)
	ctx := context.Background()
	for i := 0; i < 25; i++ {
		srv.Put("twilio-voice/AC"+string(rune('a'+i)), "x")
	}
	srv.Put("other/one", "x")
	srv.Put("twilio-voicemail", "x")

	list := func(in *secretsmanager.ListSecretsInput) (names []string, pages int) {
		t.Helper()
		p := secretsmanager.NewListSecretsPaginator(sm, in)
		for p.HasMorePages() {
			out, err := p.NextPage(ctx)
			if err != nil {
				t.Fatal(err)
			}
			pages++
			for _, e := range out.SecretList {
				names = append(names, aws.ToString(e.Name))
				if e.ARN == nil {
					t.Errorf("entry %+v", e)
				}
			}
		}
		return names, pages
	}
	name := func(values ...string) []types.Filter {
		return []types.Filter{{Key: types.FilterNameStringTypeName, Values: values}}
	}
	tests := []struct {
		name      string
		in        secretsmanager.ListSecretsInput
		wantN     int
		wantPages int
		first     string
	}{
		{"all", secretsmanager.ListSecretsInput{}, 27, 1, "other/one"},
		{"prefix paged", secretsmanager.ListSecretsInput{MaxResults: aws.Int32(10), Filters: name("twilio-voice/")}, 25, 3, "twilio-voice/ACa"},
		{"values ORed", secretsmanager.ListSecretsInput{Filters: name("other/", "twilio-voicem")}, 2, 1, "other/one"},
		{"no match", secretsmanager.ListSecretsInput{Filters: name("zzz")}, 0, 1, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			names, pages := list(&tc.in)
			if len(names) != tc.wantN || pages != tc.wantPages {
				t.Fatalf("got %d names in %d pages, want %d in %d: %v", len(names), pages, tc.wantN, tc.wantPages, names)
			}
			if tc.wantN > 0 && names[0] != tc.first {
				t.Errorf("first = %s, want %s", names[0], tc.first)
			}
			seen := map[string]bool{}
			for _, n := range names {
				if seen[n] {
					t.Errorf("%s listed twice", n)
				}
				seen[n] = true
			}
		})
	}
}

func TestFaults(t *testing.T) {
	srv := fakesm.Start(t)
	sm := client(t, srv.URL(), 1)
	srv.Put("s", "value")
	get := func(ctx context.Context) error {
		_, err := sm.GetSecretValue(ctx, &secretsmanager.GetSecretValueInput{SecretId: aws.String("s")})
		return err
	}

	tests := []struct {
		name  string
		fault fakesm.Fault
		check func(t *testing.T, err error)
	}{
		{"throttling", fakesm.Throttle(), func(t *testing.T, err error) { checkAPIError(t, err, "ThrottlingException", 400) }},
		{"internal error", fakesm.InternalError(), func(t *testing.T, err error) {
			var ise *types.InternalServiceError
			if !errors.As(err, &ise) {
				t.Errorf("%v is not InternalServiceError", err)
			}
			checkAPIError(t, err, "InternalServiceError", 500)
		}},
		{"malformed body", fakesm.Malformed(`{"SecretString": "trunc`), func(t *testing.T, err error) {
			var de *smithy.DeserializationError
			if !errors.As(err, &de) {
				t.Errorf("%v is not a DeserializationError", err)
			}
		}},
		{"hang up", fakesm.Hangup(), func(t *testing.T, err error) {
			var api smithy.APIError
			if err == nil || errors.As(err, &api) {
				t.Errorf("want a transport error, got %v", err)
			}
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			srv.SetFault(func(op, id string) fakesm.Fault {
				if op == "GetSecretValue" && id == "s" {
					return tc.fault
				}
				return fakesm.Fault{}
			})
			defer srv.SetFault(nil)
			tc.check(t, get(context.Background()))
		})
	}

	t.Run("slow honours the client's deadline", func(t *testing.T) {
		srv.SetFault(func(string, string) fakesm.Fault { return fakesm.Slow(time.Minute) })
		defer srv.SetFault(nil)
		ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
		defer cancel()
		start := time.Now()
		err := get(ctx)
		if !errors.Is(err, context.DeadlineExceeded) {
			t.Errorf("err = %v, want deadline exceeded", err)
		}
		if d := time.Since(start); d > 5*time.Second {
			t.Errorf("took %v", d)
		}
	})

	t.Run("slow then answers", func(t *testing.T) {
		srv.SetFault(func(string, string) fakesm.Fault { return fakesm.Slow(10 * time.Millisecond) })
		defer srv.SetFault(nil)
		if err := get(context.Background()); err != nil {
			t.Error(err)
		}
	})

	t.Run("hold until released", func(t *testing.T) {
		release := make(chan struct{})
		srv.SetFault(func(string, string) fakesm.Fault { return fakesm.Fault{Hold: release} })
		defer srv.SetFault(nil)
		srv.ResetCalls()
		done := make(chan error)
		go func() { done <- get(context.Background()) }()
		for srv.Calls("GetSecretValue") == 0 {
			time.Sleep(time.Millisecond) // wait for the request to arrive, not for a timer
		}
		select {
		case err := <-done:
			t.Fatalf("returned before release: %v", err)
		default:
		}
		close(release)
		if err := <-done; err != nil {
			t.Error(err)
		}
	})
}

func TestSDKRetriesAreCounted(t *testing.T) {
	srv := fakesm.Start(t)
	sm := client(t, srv.URL(), 3)
	srv.Put("s", "value")
	failures := 2
	srv.SetFault(func(string, string) fakesm.Fault {
		if failures > 0 {
			failures-- // requests are serial here
			return fakesm.InternalError()
		}
		return fakesm.Fault{}
	})
	out, err := sm.GetSecretValue(context.Background(), &secretsmanager.GetSecretValueInput{SecretId: aws.String("s")})
	if err != nil || aws.ToString(out.SecretString) != "value" {
		t.Fatalf("GetSecretValue = %v, %v", out, err)
	}
	if n := srv.Calls("GetSecretValue"); n != 3 {
		t.Errorf("Calls = %d, want 3", n)
	}
	if n := srv.TotalCalls(); n != 3 {
		t.Errorf("TotalCalls = %d, want 3", n)
	}
	srv.ResetCalls()
	if srv.Calls("GetSecretValue") != 0 || srv.TotalCalls() != 0 {
		t.Error("ResetCalls did not reset")
	}
}

// TestRawProtocol checks what non-SDK clients see: envelope checks, the
// signature requirement and the AWS error shape.
func TestRawProtocol(t *testing.T) {
	srv := fakesm.Start(t)
	srv.Put("s", "v")
	const auth = "AWS4-HMAC-SHA256 Credential=AKID/20260101/us-east-1/secretsmanager/aws4_request, SignedHeaders=host;x-amz-date, Signature=abc"
	tests := []struct {
		name    string
		method  string
		target  string
		auth    string
		ctype   string
		body    string
		status  int
		errType string
	}{
		{"ok", "POST", "secretsmanager.GetSecretValue", auth, "application/x-amz-json-1.1", `{"SecretId":"s"}`, 200, ""},
		{"unsigned", "POST", "secretsmanager.GetSecretValue", "", "application/x-amz-json-1.1", `{"SecretId":"s"}`, 400, "MissingAuthenticationTokenException"},
		{"not sigv4", "POST", "secretsmanager.GetSecretValue", "Bearer x", "application/x-amz-json-1.1", `{"SecretId":"s"}`, 400, "IncompleteSignatureException"},
		{"no signature", "POST", "secretsmanager.GetSecretValue", "AWS4-HMAC-SHA256 Credential=AKID/20260101/us-east-1/secretsmanager/aws4_request, SignedHeaders=host", "application/x-amz-json-1.1", `{}`, 400, "IncompleteSignatureException"},
		{"wrong service", "POST", "secretsmanager.GetSecretValue", strings.Replace(auth, "/secretsmanager/", "/s3/", 1), "application/x-amz-json-1.1", `{}`, 400, "InvalidSignatureException"},
		{"unknown op", "POST", "secretsmanager.DropEverything", auth, "application/x-amz-json-1.1", `{}`, 400, "UnknownOperationException"},
		{"other service", "POST", "kms.Decrypt", auth, "application/x-amz-json-1.1", `{}`, 400, "UnknownOperationException"},
		{"GET", "GET", "secretsmanager.GetSecretValue", auth, "application/x-amz-json-1.1", ``, 404, "UnknownOperationException"},
		{"bad content type", "POST", "secretsmanager.GetSecretValue", auth, "application/json", `{"SecretId":"s"}`, 400, "SerializationException"},
		{"bad json", "POST", "secretsmanager.GetSecretValue", auth, "application/x-amz-json-1.1", `{`, 400, "SerializationException"},
		{"not found", "POST", "secretsmanager.GetSecretValue", auth, "application/x-amz-json-1.1", `{"SecretId":"nope"}`, 400, "ResourceNotFoundException"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			req := httptest.NewRequest(tc.method, "/", strings.NewReader(tc.body))
			req.Header.Set("X-Amz-Target", tc.target)
			req.Header.Set("Content-Type", tc.ctype)
			req.Header.Set("X-Amz-Date", "20260101T000000Z")
			if tc.auth != "" {
				req.Header.Set("Authorization", tc.auth)
			}
			rec := httptest.NewRecorder()
			srv.Handler().ServeHTTP(rec, req)
			if rec.Code != tc.status {
				t.Fatalf("status = %d, want %d: %s", rec.Code, tc.status, rec.Body)
			}
			if ct := rec.Header().Get("Content-Type"); ct != "application/x-amz-json-1.1" {
				t.Errorf("Content-Type = %q", ct)
			}
			if rec.Header().Get("x-amzn-RequestId") == "" {
				t.Error("no x-amzn-RequestId")
			}
			var body map[string]any
			if err := json.Unmarshal(rec.Body.Bytes(), &body); err != nil {
				t.Fatalf("body %q: %v", rec.Body, err)
			}
			if tc.errType == "" {
				if body["SecretString"] != "v" {
					t.Errorf("body = %v", body)
				}
				return
			}
			if body["__type"] != tc.errType || rec.Header().Get("x-amzn-ErrorType") != tc.errType {
				t.Errorf("__type = %v, header = %q, want %s", body["__type"], rec.Header().Get("x-amzn-ErrorType"), tc.errType)
			}
		})
	}
}

func TestHandlerOnOwnListener(t *testing.T) {
	srv := fakesm.Start(t)
	own := httptest.NewServer(srv.Handler())
	defer own.Close()
	srv.Put("shared", "state")
	sm := client(t, own.URL, 1)
	out, err := sm.GetSecretValue(context.Background(), &secretsmanager.GetSecretValueInput{SecretId: aws.String("shared")})
	if err != nil || aws.ToString(out.SecretString) != "state" {
		t.Fatalf("GetSecretValue = %v, %v", out, err)
	}
	if srv.Calls("GetSecretValue") != 1 {
		t.Errorf("Calls = %d", srv.Calls("GetSecretValue"))
	}
}

func TestCloseReleasesHeldRequestsAndRefuses(t *testing.T) {
	srv := fakesm.Start(t)
	sm := client(t, srv.URL(), 1)
	srv.Put("s", "v")
	srv.SetFault(func(string, string) fakesm.Fault { return fakesm.Fault{Hold: make(chan struct{})} })
	done := make(chan error)
	go func() {
		_, err := sm.GetSecretValue(context.Background(), &secretsmanager.GetSecretValueInput{SecretId: aws.String("s")})
		done <- err
	}()
	for srv.Calls("GetSecretValue") == 0 {
		time.Sleep(time.Millisecond)
	}
	closed := make(chan struct{})
	go func() { srv.Close(); close(closed) }()
	select {
	case <-closed:
	case <-time.After(5 * time.Second):
		t.Fatal("Close blocked on a held request")
	}
	if err := <-done; err == nil {
		t.Error("held request succeeded after Close")
	}
	_, err := sm.GetSecretValue(context.Background(), &secretsmanager.GetSecretValueInput{SecretId: aws.String("s")})
	if err == nil {
		t.Error("request after Close succeeded")
	}
	srv.Close() // idempotent
}

func TestRequestBodyTooLargeIsNotFatal(t *testing.T) {
	srv := fakesm.Start(t)
	req, _ := http.NewRequest("POST", srv.URL(), io.LimitReader(neverEnding('a'), 2<<20))
	req.Header.Set("X-Amz-Target", "secretsmanager.GetSecretValue")
	req.Header.Set("Content-Type", "application/x-amz-json-1.1")
	req.Header.Set("X-Amz-Date", "20260101T000000Z")
	req.Header.Set("Authorization", "AWS4-HMAC-SHA256 Credential=AKID/20260101/us-east-1/secretsmanager/aws4_request, SignedHeaders=host, Signature=abc")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return // the server may close a connection it stopped reading; that is fine
	}
	defer resp.Body.Close()
	if resp.StatusCode != 400 {
		t.Errorf("status = %d", resp.StatusCode)
	}
}

type neverEnding byte

func (b neverEnding) Read(p []byte) (int, error) {
	for i := range p {
		p[i] = byte(b)
	}
	return len(p), nil
}

func TestDeleteSecret(t *testing.T) {
	srv := fakesm.Start(t)
	sm := client(t, srv.URL(), 1)
	ctx := context.Background()
	srv.Put("twilio-voice/AC1", "v1")
	srv.Put("twilio-voice/AC2", "v2")
	srv.Put("gone", "x")

	for _, days := range []int64{6, 31} {
		_, err := sm.DeleteSecret(ctx, &secretsmanager.DeleteSecretInput{SecretId: aws.String("twilio-voice/AC1"), RecoveryWindowInDays: aws.Int64(days)})
		checkAPIError(t, err, "InvalidParameterException", 400)
	}
	start := time.Now()
	out, err := sm.DeleteSecret(ctx, &secretsmanager.DeleteSecretInput{SecretId: aws.String("twilio-voice/AC1"), RecoveryWindowInDays: aws.Int64(7)})
	if err != nil || out.DeletionDate == nil || out.DeletionDate.Before(start.Add(7*24*time.Hour-time.Minute)) {
		t.Fatalf("DeleteSecret = %+v, %v", out, err)
	}
	if when, ok := srv.DeletionDate("twilio-voice/AC1"); !ok || when.Unix() != out.DeletionDate.Unix() {
		t.Errorf("DeletionDate = %v, %v", when, ok)
	}

	// Scheduled: reads and writes are refused with the text shared/tenant
	// recognises; listing skips it unless asked; a second delete is refused.
	_, err = sm.GetSecretValue(ctx, &secretsmanager.GetSecretValueInput{SecretId: aws.String("twilio-voice/AC1")})
	var ir *types.InvalidRequestException
	if !errors.As(err, &ir) || !strings.Contains(ir.ErrorMessage(), "marked for deletion") {
		t.Errorf("GetSecretValue of a scheduled secret: %v", err)
	}
	_, err = sm.PutSecretValue(ctx, &secretsmanager.PutSecretValueInput{SecretId: aws.String("twilio-voice/AC1"), SecretString: aws.String("x")})
	checkAPIError(t, err, "InvalidRequestException", 400)
	_, err = sm.CreateSecret(ctx, &secretsmanager.CreateSecretInput{Name: aws.String("twilio-voice/AC1"), SecretString: aws.String("x")})
	checkAPIError(t, err, "InvalidRequestException", 400)
	_, err = sm.DeleteSecret(ctx, &secretsmanager.DeleteSecretInput{SecretId: aws.String("twilio-voice/AC1")})
	checkAPIError(t, err, "InvalidRequestException", 400)
	names := func(include bool) []string {
		out, err := sm.ListSecrets(ctx, &secretsmanager.ListSecretsInput{IncludePlannedDeletion: aws.Bool(include)})
		if err != nil {
			t.Fatal(err)
		}
		var n []string
		for _, e := range out.SecretList {
			n = append(n, aws.ToString(e.Name))
		}
		return n
	}
	if got := strings.Join(names(false), ","); got != "gone,twilio-voice/AC2" {
		t.Errorf("ListSecrets = %s", got)
	}
	if got := strings.Join(names(true), ","); got != "gone,twilio-voice/AC1,twilio-voice/AC2" {
		t.Errorf("ListSecrets with IncludePlannedDeletion = %s", got)
	}

	if _, err := sm.DeleteSecret(ctx, &secretsmanager.DeleteSecretInput{SecretId: aws.String("gone"), ForceDeleteWithoutRecovery: aws.Bool(true)}); err != nil {
		t.Fatal(err)
	}
	if _, ok := srv.Get("gone"); ok {
		t.Error("force-deleted secret still there")
	}
	_, err = sm.DeleteSecret(ctx, &secretsmanager.DeleteSecretInput{SecretId: aws.String("nope")})
	checkAPIError(t, err, "ResourceNotFoundException", 400)
}

// TestVersionsQuota: a secret refuses its 101st version within 24 hours
// with AWS's LimitExceededException, and takes writes again once the
// unlabeled versions are 24 hours old; a retry with the same token is not a
// new version.
func TestVersionsQuota(t *testing.T) {
	srv := fakesm.Start(t)
	now := time.Date(2026, 12, 7, 8, 0, 0, 0, time.UTC)
	srv.SetClock(func() time.Time { return now })
	sm := client(t, srv.URL(), 1)
	ctx := context.Background()
	name := aws.String("twilio-voice/index")
	if _, err := sm.CreateSecret(ctx, &secretsmanager.CreateSecretInput{Name: name, SecretString: aws.String("v0")}); err != nil {
		t.Fatal(err)
	}
	for i := 1; i < fakesm.VersionsPerSecret; i++ {
		now = now.Add(time.Minute)
		if _, err := sm.PutSecretValue(ctx, &secretsmanager.PutSecretValueInput{SecretId: name, SecretString: aws.String(fmt.Sprint("v", i))}); err != nil {
			t.Fatalf("write %d: %v", i, err)
		}
	}
	_, err := sm.PutSecretValue(ctx, &secretsmanager.PutSecretValueInput{SecretId: name, SecretString: aws.String("one too many")})
	var le *types.LimitExceededException
	if !errors.As(err, &le) || !strings.Contains(le.ErrorMessage(), "quotas") {
		t.Fatalf("write %d: %v, want LimitExceededException", fakesm.VersionsPerSecret, err)
	}
	if v, _ := srv.Get(*name); v != fmt.Sprint("v", fakesm.VersionsPerSecret-1) {
		t.Errorf("refused write changed the value to %q", v)
	}
	token := aws.String("00000000-0000-4000-8000-000000000001")
	vs, err := sm.ListSecretVersionIds(ctx, &secretsmanager.ListSecretVersionIdsInput{SecretId: name})
	if err != nil || len(vs.Versions) != 2 {
		t.Fatalf("ListSecretVersionIds without deprecated: %d, %v; want AWSCURRENT and AWSPREVIOUS", len(vs.Versions), err)
	}
	p := secretsmanager.NewListSecretVersionIdsPaginator(sm, &secretsmanager.ListSecretVersionIdsInput{SecretId: name, IncludeDeprecated: aws.Bool(true), MaxResults: aws.Int32(30)})
	n := 0
	for p.HasMorePages() {
		out, err := p.NextPage(ctx)
		if err != nil {
			t.Fatal(err)
		}
		n += len(out.Versions)
	}
	if n != fakesm.VersionsPerSecret {
		t.Errorf("ListSecretVersionIds with deprecated: %d versions, want %d", n, fakesm.VersionsPerSecret)
	}

	now = now.Add(fakesm.VersionsKeptFor - 10*time.Minute) // the first ~90 are 24 h old now
	for i := range 3 {
		in := &secretsmanager.PutSecretValueInput{SecretId: name, SecretString: aws.String(fmt.Sprint("next", i))}
		if i == 0 {
			in.ClientRequestToken = token
		}
		if _, err := sm.PutSecretValue(ctx, in); err != nil {
			t.Fatalf("write after 24 h: %v", err)
		}
	}
	if _, err := sm.PutSecretValue(ctx, &secretsmanager.PutSecretValueInput{SecretId: name, SecretString: aws.String("next0"), ClientRequestToken: token}); err != nil {
		t.Errorf("retry with the same token and value: %v", err)
	}
	if got := srv.Versions(*name); got != fakesm.VersionsPerSecret {
		t.Errorf("%d versions after the old ones were removed, want %d", got, fakesm.VersionsPerSecret)
	}
}

// TestListLagAndTags: a listing does not show secrets created within the
// lag, and still shows those deleted within it; DescribeSecret is current at
// once; tags set at creation and by TagResource come back from both.
func TestListLagAndTags(t *testing.T) {
	srv := fakesm.Start(t)
	now := time.Date(2026, 12, 7, 8, 0, 0, 0, time.UTC)
	srv.SetClock(func() time.Time { return now })
	srv.SetListLag(5 * time.Minute)
	sm := client(t, srv.URL(), 1)
	ctx := context.Background()
	stackTag := types.Tag{Key: aws.String("bubble-twilio-voice:stack"), Value: aws.String("prod")}
	srv.Put("twilio-voice/ACold", "x")
	now = now.Add(10 * time.Minute)
	if _, err := sm.CreateSecret(ctx, &secretsmanager.CreateSecretInput{Name: aws.String("twilio-voice/ACnew"), SecretString: aws.String("x"), Tags: []types.Tag{stackTag}}); err != nil {
		t.Fatal(err)
	}
	if _, err := sm.TagResource(ctx, &secretsmanager.TagResourceInput{SecretId: aws.String("twilio-voice/ACold"), Tags: []types.Tag{stackTag}}); err != nil {
		t.Fatal(err)
	}
	if _, err := sm.DeleteSecret(ctx, &secretsmanager.DeleteSecretInput{SecretId: aws.String("twilio-voice/ACold"), RecoveryWindowInDays: aws.Int64(7)}); err != nil {
		t.Fatal(err)
	}
	list := func() string {
		out, err := sm.ListSecrets(ctx, &secretsmanager.ListSecretsInput{})
		if err != nil {
			t.Fatal(err)
		}
		var names []string
		for _, e := range out.SecretList {
			names = append(names, aws.ToString(e.Name))
			if len(e.Tags) != 1 || aws.ToString(e.Tags[0].Value) != "prod" {
				t.Errorf("%s listed with tags %+v", aws.ToString(e.Name), e.Tags)
			}
		}
		return strings.Join(names, ",")
	}
	if got := list(); got != "twilio-voice/ACold" {
		t.Errorf("listing within the lag = %q, want only the old (deleted) secret", got)
	}
	d, err := sm.DescribeSecret(ctx, &secretsmanager.DescribeSecretInput{SecretId: aws.String("twilio-voice/ACnew")})
	if err != nil || len(d.Tags) != 1 || d.CreatedDate == nil || d.DeletedDate != nil {
		t.Errorf("DescribeSecret of the new secret = %+v, %v", d, err)
	}
	if d, err := sm.DescribeSecret(ctx, &secretsmanager.DescribeSecretInput{SecretId: aws.String("twilio-voice/ACold")}); err != nil || d.DeletedDate == nil {
		t.Errorf("DescribeSecret of the deleted secret = %+v, %v", d, err)
	}
	now = now.Add(5 * time.Minute)
	if got := list(); got != "twilio-voice/ACnew" {
		t.Errorf("listing after the lag = %q, want only the new secret", got)
	}
	_, err = sm.TagResource(ctx, &secretsmanager.TagResourceInput{SecretId: aws.String("twilio-voice/ACnew"), Tags: []types.Tag{{Key: aws.String("aws:x"), Value: aws.String("y")}}})
	checkAPIError(t, err, "InvalidParameterException", 400)
}
