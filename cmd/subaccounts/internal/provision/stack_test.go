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
