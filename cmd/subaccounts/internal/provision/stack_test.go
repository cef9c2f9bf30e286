package provision_test

import (
	"strings"
	"testing"

	"bubble-twilio-voice/cmd/subaccounts/internal/provision"
)

func TestCheckTarget(t *testing.T) {
	const api = "https://abc123.execute-api.eu-west-1.amazonaws.com"
	cases := []struct {
		name           string
		d              provision.Deployment
		region, prefix string
		wantErr        []string // substrings; none: no error
	}{
		{"stack in this region", provision.Deployment{Region: "us-east-1", VoiceURL: "https://voice.example.com/voice"}, "us-east-1", "", nil},
		{"stack in another region", provision.Deployment{Region: "eu-west-1", VoiceURL: "https://voice.example.com/voice"}, "us-east-1", "",
			[]string{"eu-west-1", "us-east-1", "AWS_REGION=eu-west-1"}},
		{"execute-api URL of another region", provision.Deployment{VoiceURL: api + "/voice", IncomingURL: api + "/incoming"}, "us-east-1", "",
			[]string{"eu-west-1", "AWS_REGION=eu-west-1"}},
		{"execute-api URL of this region", provision.Deployment{VoiceURL: api + "/voice"}, "eu-west-1", "", nil},
		{"custom domain, region unknown", provision.Deployment{VoiceURL: "https://voice.example.com/voice"}, "us-east-1", "", nil},
		{"no region configured", provision.Deployment{Region: "us-east-1"}, "", "", []string{"no AWS region"}},
		{"default prefix on both sides", provision.Deployment{Region: "us-east-1", SecretPrefix: "twilio-voice/"}, "us-east-1", "", nil},
		{"stack on another prefix", provision.Deployment{Region: "us-east-1", SecretPrefix: "prod/tenants/"}, "us-east-1", "",
			[]string{"prod/tenants/", "SECRET_PREFIX=prod/tenants/"}},
		{"same custom prefix", provision.Deployment{Region: "us-east-1", SecretPrefix: "prod/tenants/"}, "us-east-1", "prod/tenants/", nil},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			err := provision.CheckTarget(tc.d, tc.region, tc.prefix)
			if len(tc.wantErr) == 0 {
				if err != nil {
					t.Errorf("CheckTarget = %v, want nil", err)
				}
				return
			}
			if err == nil {
				t.Fatalf("CheckTarget = nil, want an error naming %v", tc.wantErr)
			}
			for _, w := range tc.wantErr {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not say %q", err, w)
				}
			}
		})
	}
}

// TestStackDeploymentDomainMove: a stack's deployment keeps its identity
// (the names of its TwiML Apps and keys) when a custom domain is added, and
// knows the API's own URL as its own, with the stack's KMS key.
func TestStackDeploymentDomainMove(t *testing.T) {
	const api = "https://abc123.execute-api.us-east-1.amazonaws.com"
	const key = "arn:aws:kms:us-east-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab"
	before, err := provision.StackDeployment(map[string]string{"BaseUrl": api, "ExecuteApiUrl": api, "VoiceUrl": api + "/voice", "IncomingUrl": api + "/incoming"}, "voice-prod", "us-east-1")
	if err != nil {
		t.Fatal(err)
	}
	const domain = "https://voice.example.com"
	after, err := provision.StackDeployment(map[string]string{"BaseUrl": domain, "ExecuteApiUrl": api, "VoiceUrl": domain + "/voice", "IncomingUrl": domain + "/incoming", "SecretsKmsKeyArn": key}, "voice-prod", "us-east-1")
	if err != nil {
		t.Fatal(err)
	}
	if before.OwnBaseURL != "" || after.OwnBaseURL != api || after.SecretsKmsKeyArn != key || before.SecretsKmsKeyArn != "" {
		t.Errorf("before %+v\nafter %+v", before, after)
	}
	if before.ID() != after.ID() || before.AppName() != after.AppName() {
		t.Errorf("the domain changed the deployment's identity: %s -> %s", before.AppName(), after.AppName())
	}
	other, _ := provision.StackDeployment(map[string]string{"VoiceUrl": "https://def456.execute-api.us-east-1.amazonaws.com/voice", "IncomingUrl": "https://def456.execute-api.us-east-1.amazonaws.com/incoming"}, "voice-prod", "us-east-1")
	if other.ID() == before.ID() {
		t.Errorf("two APIs share ID %s", other.ID())
	}
}
