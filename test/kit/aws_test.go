package kit

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
)

// TestSetAWSEnv checks the path a bootstrap takes: nothing but the
// environment, even with a developer's profile and endpoint set outside.
func TestSetAWSEnv(t *testing.T) {
	var auth string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		auth = r.Header.Get("Authorization")
		w.Header().Set("Content-Type", "application/x-amz-json-1.1")
		_, _ = w.Write([]byte(`{"Name":"s","SecretString":"v"}`))
	}))
	defer srv.Close()
	t.Setenv("AWS_PROFILE", "someone-elses")
	t.Setenv("AWS_ENDPOINT_URL", "https://example.invalid")
	SetAWSEnv(t, srv.URL)

	cfg, err := config.LoadDefaultConfig(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Region != AWSRegion {
		t.Errorf("region %q, want %q", cfg.Region, AWSRegion)
	}
	creds, err := cfg.Credentials.Retrieve(context.Background())
	if err != nil || creds.AccessKeyID != AWSAccessKeyID || creds.SecretAccessKey != AWSSecretAccessKey || creds.SessionToken != "" {
		t.Errorf("credentials %+v, %v; want the static ones", creds, err)
	}
	out, err := secretsmanager.NewFromConfig(cfg).GetSecretValue(context.Background(), &secretsmanager.GetSecretValueInput{SecretId: aws.String("s")})
	if err != nil || aws.ToString(out.SecretString) != "v" {
		t.Fatalf("GetSecretValue = %v, %v (not sent to the endpoint?)", out, err)
	}
	if !strings.Contains(auth, "Credential="+AWSAccessKeyID+"/") {
		t.Errorf("request signed as %q", auth)
	}
}

func TestAWSEnvDisablesMetadata(t *testing.T) {
	env := strings.Join(AWSEnv(""), "\n")
	for _, want := range []string{"AWS_EC2_METADATA_DISABLED=true", "AWS_REGION=" + AWSRegion, "AWS_ENDPOINT_URL_SECRETS_MANAGER=\n"} {
		if !strings.Contains(env+"\n", want) {
			t.Errorf("AWSEnv lacks %q", want)
		}
	}
}
