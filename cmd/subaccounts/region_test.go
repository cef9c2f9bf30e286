package main

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

// fakeStack answers DescribeStacks for one stack with the given outputs, and
// "does not exist" for any other name, as CloudFormation does for a stack
// of another region.
func fakeStack(t *testing.T, stack string, outputs map[string]string) *httptest.Server {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_ = r.ParseForm()
		w.Header().Set("Content-Type", "text/xml")
		if r.Form.Get("StackName") != stack {
			w.WriteHeader(http.StatusBadRequest)
			_, _ = w.Write([]byte(`<ErrorResponse><Error><Type>Sender</Type><Code>ValidationError</Code><Message>Stack with id ` + r.Form.Get("StackName") + ` does not exist</Message></Error><RequestId>1</RequestId></ErrorResponse>`))
			return
		}
		var members strings.Builder
		for k, v := range outputs {
			members.WriteString(`<member><OutputKey>` + k + `</OutputKey><OutputValue>` + v + `</OutputValue></member>`)
		}
		_, _ = w.Write([]byte(`<DescribeStacksResponse xmlns="http://cloudformation.amazonaws.com/doc/2010-05-15/"><DescribeStacksResult><Stacks><member>
<StackName>` + stack + `</StackName><StackId>arn:aws:cloudformation:eu-west-1:123456789012:stack/` + stack + `/1</StackId>
<CreationTime>2025-01-01T00:00:00Z</CreationTime><StackStatus>UPDATE_COMPLETE</StackStatus>
<Outputs>` + members.String() + `</Outputs></member></Stacks></DescribeStacksResult>
<ResponseMetadata><RequestId>2</RequestId></ResponseMetadata></DescribeStacksResponse>`))
	}))
	t.Cleanup(srv.Close)
	return srv
}

// TestRunRefusesAnotherRegion: create and check stop, before any write,
// when the command's region or SECRET_PREFIX is not where the deployment
// reads its tenants (the command's region is kit.AWSRegion, us-east-1).
func TestRunRefusesAnotherRegion(t *testing.T) {
	const base = "https://voice.example.com"
	urls := map[string]string{"TokenUrl": base + "/token", "VoiceUrl": base + "/voice", "IncomingUrl": base + "/incoming"}
	with := func(extra map[string]string) map[string]string {
		m := map[string]string{}
		for k, v := range urls {
			m[k] = v
		}
		for k, v := range extra {
			m[k] = v
		}
		return m
	}
	cases := []struct {
		name    string
		outputs map[string]string
		stack   string // asked for
		args    []string
		want    []string // in the error; none: the command runs
	}{
		{"stack in eu-west-1", with(map[string]string{"Region": "eu-west-1"}), "voice-prod", nil, []string{"eu-west-1", "us-east-1", "AWS_REGION=eu-west-1"}},
		{"no such stack in this region", with(nil), "voice-other", nil, []string{"does not exist", "region"}},
		{"stack on another prefix", with(map[string]string{"Region": "us-east-1", "SecretPrefix": "prod/"}), "voice-prod", nil, []string{"SECRET_PREFIX=prod/"}},
		{"execute-api URL of another region", nil, "", []string{"--voice-url", "https://abc.execute-api.ap-south-1.amazonaws.com/voice",
			"--incoming-url", "https://abc.execute-api.ap-south-1.amazonaws.com/incoming"}, []string{"ap-south-1", "AWS_REGION=ap-south-1"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			w := newWorld(t)
			cfn := fakeStack(t, "voice-prod", tc.outputs)
			t.Setenv("AWS_ENDPOINT_URL_CLOUDFORMATION", cfn.URL)
			args := []string{"create", "--name", "acme"}
			if tc.stack != "" {
				args = append(args, "--stack", tc.stack)
			}
			_, _, err := w.run(t, append(args, tc.args...)...)
			if err == nil {
				t.Fatal("create ran")
			}
			for _, s := range tc.want {
				if !strings.Contains(err.Error(), s) {
					t.Errorf("error %q does not say %q", err, s)
				}
			}
			if w.tw.Writes() != 0 || len(w.sm.Names()) != 0 {
				t.Errorf("%d Twilio writes and secrets %v before refusing", w.tw.Writes(), w.sm.Names())
			}
			_, _, err = w.run(t, append([]string{"check", "AC0123456789abcdef0123456789abcdef"}, append(args[3:], tc.args...)...)...)
			if err == nil || !strings.Contains(err.Error(), tc.want[0]) {
				t.Errorf("check: %v, want an error naming %q", err, tc.want[0])
			}
		})
	}
}
