package main

import (
	"strings"
	"testing"
)

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
			cfn := fakeStack(t, "voice-prod", func() map[string]string { return tc.outputs })
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
