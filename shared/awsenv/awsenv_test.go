package awsenv

import (
	"context"
	"testing"
)

func env(kv map[string]string) func(string) string { return func(k string) string { return kv[k] } }

func TestConfig(t *testing.T) {
	full := map[string]string{"AWS_REGION": "eu-west-1", "AWS_ACCESS_KEY_ID": "AKID", "AWS_SECRET_ACCESS_KEY": "secret", "AWS_SESSION_TOKEN": "token"}
	tests := []struct {
		name    string
		env     map[string]string
		wantErr bool
		region  string
	}{
		{"lambda environment", full, false, "eu-west-1"},
		{"default region", map[string]string{"AWS_DEFAULT_REGION": "us-east-2", "AWS_ACCESS_KEY_ID": "AKID", "AWS_SECRET_ACCESS_KEY": "s"}, false, "us-east-2"},
		{"no region", map[string]string{"AWS_ACCESS_KEY_ID": "AKID", "AWS_SECRET_ACCESS_KEY": "s"}, true, ""},
		{"no credentials", map[string]string{"AWS_REGION": "eu-west-1"}, true, ""},
		{"no secret", map[string]string{"AWS_REGION": "eu-west-1", "AWS_ACCESS_KEY_ID": "AKID"}, true, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			cfg, err := Config(env(tc.env))
			if (err != nil) != tc.wantErr {
				t.Fatalf("err = %v, want error %v", err, tc.wantErr)
			}
			if err != nil {
				return
			}
			if cfg.Region != tc.region {
				t.Errorf("region %q", cfg.Region)
			}
			c, err := cfg.Credentials.Retrieve(context.Background())
			if err != nil || c.AccessKeyID != tc.env["AWS_ACCESS_KEY_ID"] || c.SessionToken != tc.env["AWS_SESSION_TOKEN"] {
				t.Errorf("credentials %+v, %v", c, err)
			}
		})
	}
}

func TestEndpoint(t *testing.T) {
	e := env(map[string]string{"AWS_ENDPOINT_URL_SQS": "http://127.0.0.1:1", "AWS_ENDPOINT_URL": "http://127.0.0.1:2"})
	if got := Endpoint(e, "sqs"); got != "http://127.0.0.1:1" {
		t.Errorf("sqs: %q", got)
	}
	if got := Endpoint(e, "S3"); got != "http://127.0.0.1:2" {
		t.Errorf("s3 falls back to AWS_ENDPOINT_URL: %q", got)
	}
	if got := BaseEndpoint(env(nil), "S3"); got != nil {
		t.Errorf("no override: %v", *got)
	}
}
