package main

import (
	"bytes"
	"errors"
	"flag"
	"net/url"
	"strings"
	"testing"

	"bubble-twilio-voice/shared/twiliosig"
)

const (
	devToken = "dev_auth_token_not_secret_0000000"
	envToken = "env_token_must_never_be_printed_0"
	voiceURL = "http://127.0.0.1:3000/voice"
	body     = "AccountSid=AC0123456789abcdef0123456789abcdef&CallSid=CA0123456789abcdef0123456789abcdef&From=client%3Aalice&To=%2B14155550123"
)

func envWith(token string) func(string) string {
	return func(k string) string {
		if k == "TWILIO_AUTH_TOKEN" {
			return token
		}
		return ""
	}
}

func TestSignsLikeTwiliosig(t *testing.T) {
	form, err := url.ParseQuery(body)
	if err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name  string
		args  []string
		env   string
		url   string
		form  url.Values
		token string
	}{
		{"flags", []string{"-url", voiceURL, "-auth-token", devToken, body}, "", voiceURL, form, devToken},
		{"token from the environment", []string{"-url", voiceURL, body}, envToken, voiceURL, form, envToken},
		{"flag wins over the environment", []string{"-auth-token", devToken, "-url", voiceURL, body}, envToken, voiceURL, form, devToken},
		{"URL with a query, signed as given", []string{"-url", voiceURL + "?b=2&a=1", "-auth-token", devToken, body}, "", voiceURL + "?b=2&a=1", form, devToken},
		{"stage URL", []string{"-url", "https://abc.execute-api.us-east-1.amazonaws.com/prod/incoming/dial-complete", "-auth-token", devToken, body + "&DialCallStatus=no-answer"}, "",
			"https://abc.execute-api.us-east-1.amazonaws.com/prod/incoming/dial-complete", withParam(form, "DialCallStatus", "no-answer"), devToken},
		{"empty body", []string{"-url", voiceURL, "-auth-token", devToken, ""}, "", voiceURL, url.Values{}, devToken},
		{"repeated key", []string{"-url", voiceURL, "-auth-token", devToken, "a=2&a=1&b="}, "", voiceURL, url.Values{"a": {"2", "1"}, "b": {""}}, devToken},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			if err := run(tc.args, envWith(tc.env), &stdout, &stderr); err != nil {
				t.Fatalf("run: %v (stderr %q)", err, stderr.String())
			}
			want := twiliosig.Sign(tc.url, tc.form, tc.token)
			if got := stdout.String(); got != want+"\n" {
				t.Errorf("printed %q, want %q", got, want+"\n")
			}
			if !twiliosig.ValidateForm(tc.url, tc.form, strings.TrimSpace(stdout.String()), tc.token) {
				t.Error("the printed signature does not validate")
			}
			if stderr.Len() != 0 {
				t.Errorf("stderr %q", stderr.String())
			}
		})
	}
}

func withParam(f url.Values, k, v string) url.Values {
	out := url.Values{}
	for key, vs := range f {
		out[key] = append([]string(nil), vs...)
	}
	out.Set(k, v)
	return out
}

func TestUsageErrors(t *testing.T) {
	cases := []struct {
		name    string
		args    []string
		env     string
		wantErr string // substring of the error
		is      error  // or the error it must match
	}{
		{"no arguments", nil, "", "usage:", nil},
		{"no URL", []string{"-auth-token", devToken, body}, "", "usage:", nil},
		{"no token anywhere", []string{"-url", voiceURL, body}, "", "usage:", nil},
		{"no body", []string{"-url", voiceURL, "-auth-token", devToken}, "", "usage:", nil},
		{"two bodies", []string{"-url", voiceURL, "-auth-token", devToken, body, body}, "", "usage:", nil},
		{"body not form encoded", []string{"-url", voiceURL, "-auth-token", devToken, "To=%zz"}, "", "not form encoded", nil},
		{"unknown flag", []string{"-bogus", "-url", voiceURL, body}, envToken, "flag provided but not defined", nil},
		{"help", []string{"-h"}, envToken, "", flag.ErrHelp},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			err := run(tc.args, envWith(tc.env), &stdout, &stderr)
			switch {
			case err == nil:
				t.Fatal("run succeeded")
			case tc.is != nil && !errors.Is(err, tc.is):
				t.Errorf("error %v, want %v", err, tc.is)
			case tc.is == nil && !strings.Contains(err.Error(), tc.wantErr):
				t.Errorf("error %q, want it to mention %q", err, tc.wantErr)
			}
			if stdout.Len() != 0 {
				t.Errorf("printed %q on a usage error", stdout.String())
			}
			// The usage lists the flags' defaults: never the token taken
			// from the environment.
			for _, out := range []string{stderr.String(), err.Error()} {
				if strings.Contains(out, envToken) {
					t.Errorf("auth token from the environment printed: %q", out)
				}
			}
		})
	}
}
