package kit

import (
	"os"
	"strings"
	"testing"
)

// The region and static credentials of AWSEnv. Fakes check that a request
// is signed, not the signature, so any credentials would do.
const (
	AWSRegion          = "us-east-1"
	AWSAccessKeyID     = "AKIDKITTEST000000000"
	AWSSecretAccessKey = "kit-test-secret-access-key"
)

// AWSEnv returns, as KEY=value strings, an AWS SDK environment that cannot
// reach a real account: static credentials, AWSRegion, no EC2 metadata
// lookups, no shared config or credentials file, profile or session token,
// and Secrets Manager at secretsManagerURL ("" for no endpoint override,
// when the test gives its client one). Append it to a child process's
// environment (a bootstrap, a CLI), or set it with SetAWSEnv.
func AWSEnv(secretsManagerURL string) []string {
	return []string{
		"AWS_REGION=" + AWSRegion,
		"AWS_ACCESS_KEY_ID=" + AWSAccessKeyID,
		"AWS_SECRET_ACCESS_KEY=" + AWSSecretAccessKey,
		"AWS_SESSION_TOKEN=",
		"AWS_PROFILE=",
		"AWS_EC2_METADATA_DISABLED=true",
		// An empty file: the developer's ~/.aws stays out of the test.
		"AWS_CONFIG_FILE=" + os.DevNull,
		"AWS_SHARED_CREDENTIALS_FILE=" + os.DevNull,
		"AWS_ENDPOINT_URL=",
		"AWS_ENDPOINT_URL_SECRETS_MANAGER=" + secretsManagerURL,
	}
}

// SetAWSEnv sets AWSEnv(secretsManagerURL) for the rest of tb (tb.Setenv),
// so config.LoadDefaultConfig in the test process finds it. Like Setenv, it
// cannot be used in parallel tests.
func SetAWSEnv(tb testing.TB, secretsManagerURL string) {
	tb.Helper()
	for _, kv := range AWSEnv(secretsManagerURL) {
		k, v, _ := strings.Cut(kv, "=")
		tb.Setenv(k, v)
	}
}
