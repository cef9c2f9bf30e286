package delivery_test

import (
	"context"
	"errors"
	"net/url"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"

	"bubble-twilio-voice/shared/delivery"
	"bubble-twilio-voice/shared/recordings"
	"bubble-twilio-voice/shared/tenant"
	fakesm "bubble-twilio-voice/test/fake/secretsmanager"
	"bubble-twilio-voice/test/kit"
)

// TestLinkKeyRotation rotates the link key as docs/deploy.md says
// (PutSecretValue on the real SDK client, against the Secrets Manager fake,
// which moves AWSCURRENT and AWSPREVIOUS as AWS does) while a deliver
// container signs links and an events container checks them. Before issue
// 20 item 6 each read one value at start: a container started after the
// rotation refused every link sent before it. Now no link breaks through
// one rotation, a second one revokes the links signed before the first, and
// each container reads the secret twice per SECRET_CACHE_TTL, never on a
// warm request in between.
func TestLinkKeyRotation(t *testing.T) {
	clock := kit.NewClock(time.Now().Truncate(time.Second))
	sm := fakesm.Start(t)
	sm.SetClock(clock.Now)
	kit.SetAWSEnv(t, sm.URL())
	client, err := tenant.NewSecretsClient(os.Getenv)
	if err != nil {
		t.Fatal(err)
	}
	const arn = "bubble-twilio-voice-RecordingLinkKey"
	sm.Put(arn, strings.Repeat("a", 64))
	ctx := context.Background()
	cfg := recordings.RotationConfig{TTL: tenant.DefaultSecretsTTL, RetryAfter: tenant.DefaultRetryAfter, FetchTimeout: tenant.DefaultFetchTimeout, Now: clock.Now}
	open := func() *recordings.Links {
		l, err := recordings.NewRotatingLinks(ctx, delivery.LinkKeys(client, arn), "https://voice.example.test", cfg)
		if err != nil {
			t.Fatal(err)
		}
		return l
	}
	rotate := func(v string) {
		if _, err := client.PutSecretValue(ctx, &secretsmanager.PutSecretValueInput{SecretId: aws.String(arn), SecretString: aws.String(v)}); err != nil {
			t.Fatal(err)
		}
	}
	check := func(l *recordings.Links, link string) error {
		u, _ := url.Parse(link)
		parts := strings.Split(u.Path, "/")
		return l.Verify(parts[2], parts[3], u.Query().Get("expires"), u.Query().Get("sig"), clock.Now())
	}
	const acct, rec = "AC0123456789abcdef0123456789abcdef", "RE0123456789abcdef0123456789abcdef"
	expires := clock.Now().Add(30 * 24 * time.Hour)

	signer := open()
	clock.Advance(time.Minute)
	verifier := open()
	sm.ResetCalls()
	old := signer.URL(acct, rec, expires)
	for range 50 {
		if err := check(verifier, old); err != nil {
			t.Fatal(err)
		}
	}
	if n := sm.Calls("GetSecretValue"); n != 0 {
		t.Fatalf("%d reads on warm requests within the TTL", n)
	}

	clock.Advance(time.Minute)
	rotate(strings.Repeat("b", 64))
	var between string
	for range 30 { // 15 minutes
		clock.Advance(30 * time.Second)
		between = signer.URL(acct, rec, expires)
		for _, l := range []string{old, between} {
			if err := check(verifier, l); err != nil {
				t.Fatalf("after the rotation: %v", err)
			}
		}
	}
	if between == old {
		t.Fatal("still signing with the old value 15 minutes after the rotation")
	}
	if err := check(open(), old); err != nil {
		t.Errorf("a container started after the rotation refuses an old link: %v", err)
	}
	if n := sm.Calls("GetSecretValue"); n > 2*(2*3+1) {
		t.Errorf("%d reads in 15 minutes by two containers (and one new), want about 2 per 5 minutes each", n)
	}

	rotate(strings.Repeat("c", 64))
	clock.Advance(tenant.DefaultSecretsTTL)
	if err := check(verifier, old); !errors.Is(err, recordings.ErrLinkInvalid) {
		t.Errorf("a link signed before the first of two rotations: %v, want ErrLinkInvalid", err)
	}
	if err := check(verifier, between); err != nil {
		t.Errorf("a link signed between the rotations: %v", err)
	}
}
