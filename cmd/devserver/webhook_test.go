package main

import (
	"context"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"bubble-twilio-voice/shared/twiliosig"
	"bubble-twilio-voice/test/kit"
)

// The example tenant of tenants.example.json.
const (
	exampleSID    = "AC0123456789abcdef0123456789abcdef"
	exampleToken  = "dev_auth_token_not_secret_0000000"
	exampleBearer = "dev-bearer-key-change-me"
)

func startWebhookServer(t *testing.T) (string, *kit.LogBuffer) {
	t.Helper()
	for attempt := 0; ; attempt++ {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		addr := ln.Addr().String()
		ln.Close()
		base := "http://" + addr
		env := map[string]string{
			"TENANTS_FILE":    "tenants.example.json", // relative to this package's directory
			"ADDR":            addr,
			"PUBLIC_BASE_URL": base,
		}
		ctx, cancel := context.WithCancel(context.Background())
		stdout := &kit.LogBuffer{}
		ready := make(chan string, 1)
		done := make(chan error, 1)
		go func() { done <- run(ctx, func(k string) string { return env[k] }, stdout, ready) }()
		select {
		case got := <-ready:
			if got != addr {
				cancel()
				t.Fatalf("listening on %s, want %s", got, addr)
			}
			t.Cleanup(func() {
				cancel()
				select {
				case err := <-done:
					if err != nil {
						t.Errorf("run: %v", err)
					}
				case <-time.After(10 * time.Second):
					t.Error("run did not return after cancel")
				}
			})
			return base, stdout
		case err := <-done:
			cancel()
			if attempt < 3 && strings.Contains(err.Error(), "listen") {
				continue // the port was taken in between
			}
			t.Fatalf("run: %v", err)
		case <-time.After(10 * time.Second):
			cancel()
			t.Fatal("run did not start listening")
		}
	}
}

var webhookClient = &http.Client{Timeout: 10 * time.Second}

// postForm posts form to u with the given signature ("" for none) and
// returns the status and body.
func postForm(t *testing.T, u string, form url.Values, signature string) (int, string) {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, u, strings.NewReader(form.Encode()))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	if signature != "" {
		req.Header.Set(twiliosig.Header, signature)
	}
	resp, err := webhookClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, string(body)
}

const twimlHeader = `<?xml version="1.0" encoding="UTF-8"?><Response>`

// TestWebhookNoAnswerSequence drives an incoming call over real HTTP the way
// Twilio does: each step goes to the previous answer's action resolved
// against the URL just called, signed for the URL it goes to.
func TestWebhookNoAnswerSequence(t *testing.T) {
	base, stdout := startWebhookServer(t)
	const callSID = "CA0123456789abcdef0123456789abcd99"
	form := url.Values{
		"AccountSid": {exampleSID}, "ApiVersion": {"2010-04-01"}, "CallSid": {callSID},
		"CallStatus": {"ringing"}, "Direction": {"inbound"},
		"From": {"+13105550142"}, "Caller": {"+13105550142"},
		"To": {"+14155550100"}, "Called": {"+14155550100"},
	}

	steps := []struct {
		name     string
		params   []string // set on the form before the step
		wantURL  string   // path the step is posted to
		wantBody string
		action   string // the action in wantBody, followed by the next step
	}{
		{"incoming", nil, "/incoming",
			twimlHeader + `<Dial answerOnBridge="true" timeout="20" action="incoming/dial-complete"><Client><Identity>alice</Identity><Parameter name="caller" value="+13105550142"/><Parameter name="called" value="+14155550100"/></Client><Client><Identity>bob</Identity><Parameter name="caller" value="+13105550142"/><Parameter name="called" value="+14155550100"/></Client></Dial></Response>`,
			"incoming/dial-complete"},
		{"dial-complete", []string{"DialCallStatus", "no-answer", "DialCallDuration", "0", "CallStatus", "in-progress"}, "/incoming/dial-complete",
			twimlHeader + `<Say>Please leave a message after the tone.</Say><Record maxLength="120" playBeep="true" action="recording-complete"/><Hangup/></Response>`,
			"recording-complete"},
		{"recording-complete", []string{"RecordingSid", "RE0123456789abcdef0123456789abcdef", "RecordingDuration", "9",
			"RecordingUrl", "https://api.twilio.com/2010-04-01/Accounts/" + exampleSID + "/Recordings/RE0123456789abcdef0123456789abcdef"},
			"/incoming/recording-complete", twimlHeader + `<Hangup/></Response>`, ""},
	}

	next, err := url.Parse(base + "/incoming")
	if err != nil {
		t.Fatal(err)
	}
	var previous string // URL of the step before, for the replay check
	for _, st := range steps {
		ok := t.Run(st.name, func(t *testing.T) {
			if next.Path != st.wantURL {
				t.Fatalf("step goes to %s, want %s", next, st.wantURL)
			}
			for i := 0; i+1 < len(st.params); i += 2 {
				form.Set(st.params[i], st.params[i+1])
			}
			u := next.String()

			if status, body := postForm(t, u, form, ""); status != http.StatusForbidden {
				t.Errorf("unsigned: status %d, body %q; want 403", status, body)
			}
			if previous != "" {
				if status, _ := postForm(t, u, form, twiliosig.Sign(previous, form, exampleToken)); status != http.StatusForbidden {
					t.Errorf("signed for %s: status %d, want 403", previous, status)
				}
			}
			status, body := postForm(t, u, form, twiliosig.Sign(u, form, exampleToken))
			if status != http.StatusOK || body != st.wantBody {
				t.Fatalf("signed: status %d\n got: %s\nwant: %s\nlogs:\n%s", status, body, st.wantBody, stdout.String())
			}
			if st.action == "" {
				return
			}
			ref, err := url.Parse(st.action)
			if err != nil {
				t.Fatal(err)
			}
			previous, next = u, next.ResolveReference(ref)
		})
		if !ok {
			return
		}
	}
	if logs := stdout.String(); !strings.Contains(logs, `"call_sid":"`+callSID+`"`) || strings.Contains(logs, exampleToken) {
		t.Errorf("logs should name the call and never hold the auth token:\n%s", logs)
	}
}

// TestWebhookVoice is a browser call through /voice, signed and not.
func TestWebhookVoice(t *testing.T) {
	base, _ := startWebhookServer(t)
	form := url.Values{
		"AccountSid": {exampleSID}, "ApiVersion": {"2010-04-01"},
		"ApplicationSid": {"AP0123456789abcdef0123456789abcdef"},
		"CallSid":        {"CA0123456789abcdef0123456789abcd98"}, "CallStatus": {"ringing"}, "Direction": {"inbound"},
		"From": {"client:alice"}, "Caller": {"client:alice"}, "To": {"(415) 555-0123"},
	}
	u := base + "/voice"
	cases := []struct {
		name       string
		signature  string
		wantStatus int
		wantBody   string
	}{
		{"signed", twiliosig.Sign(u, form, exampleToken), http.StatusOK,
			twimlHeader + `<Dial answerOnBridge="true" callerId="+14155550100"><Number>+14155550123</Number></Dial><Pause length="2"/></Response>`},
		{"unsigned", "", http.StatusForbidden, "invalid signature\n"},
		{"signed for /incoming", twiliosig.Sign(base+"/incoming", form, exampleToken), http.StatusForbidden, "invalid signature\n"},
		{"signed for https", twiliosig.Sign("https"+strings.TrimPrefix(u, "http"), form, exampleToken), http.StatusForbidden, "invalid signature\n"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			status, body := postForm(t, u, form, tc.signature)
			if status != tc.wantStatus || body != tc.wantBody {
				t.Errorf("status %d, body %q; want %d, %q", status, body, tc.wantStatus, tc.wantBody)
			}
		})
	}
}
