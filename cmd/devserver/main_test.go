package main

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"bubble-twilio-voice/shared/token"
	"bubble-twilio-voice/test/kit"
)

func TestRunServesTokens(t *testing.T) {
	env := map[string]string{
		"TENANTS_FILE": "tenants.example.json", // relative to this package's directory
		"ADDR":         "127.0.0.1:0",
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var stdout kit.LogBuffer
	ready := make(chan string, 1)
	done := make(chan error, 1)
	go func() { done <- run(ctx, func(k string) string { return env[k] }, &stdout, ready) }()

	var addr string
	select {
	case addr = <-ready:
	case err := <-done:
		t.Fatalf("run returned before listening: %v", err)
	case <-time.After(10 * time.Second):
		t.Fatal("run did not start listening")
	}

	const sid = "AC0123456789abcdef0123456789abcdef"
	body := `{"account_sid":"` + sid + `","identity":"alice","ttl_seconds":600}`
	req, err := http.NewRequest(http.MethodPost, "http://"+addr+"/token", strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", "Bearer dev-bearer-key-change-me")
	req.Header.Set("X-Request-Id", "devserver-test-1")
	client := &http.Client{Timeout: 10 * time.Second}
	before := time.Now().Unix()
	resp, err := client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("status %d", resp.StatusCode)
	}
	var out struct {
		Token         string `json:"token"`
		Identity      string `json:"identity"`
		AccountSID    string `json:"account_sid"`
		TTLSeconds    int    `json:"ttl_seconds"`
		ExpiresAtUnix int64  `json:"expires_at_unix"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&out); err != nil {
		t.Fatal(err)
	}
	if out.Identity != "alice" || out.AccountSID != sid || out.TTLSeconds != 600 {
		t.Errorf("response = %+v", out)
	}

	// The example tenant's api_key_secret signs the token.
	c, err := token.Verify(out.Token, "dev_api_key_secret_not_secret_000", time.Now())
	if err != nil {
		t.Fatalf("token does not verify: %v", err)
	}
	want := token.Claims{
		ID: c.ID, APIKeySID: "SK0123456789abcdef0123456789abcdef", AccountSID: sid, Identity: "alice",
		ApplicationSID: "AP0123456789abcdef0123456789abcdef", IncomingAllowed: true,
		IssuedAt: c.IssuedAt, NotBefore: c.IssuedAt, ExpiresAt: c.IssuedAt.Add(600 * time.Second),
	}
	if c != want || c.IssuedAt.Unix() < before || c.ExpiresAt.Unix() != out.ExpiresAtUnix {
		t.Errorf("claims %+v, want %+v (expires_at_unix %d, sent at %d)", c, want, out.ExpiresAtUnix, before)
	}
	if seg := strings.Split(out.Token, ".")[0]; seg != base64.RawURLEncoding.EncodeToString([]byte(`{"alg":"HS256","typ":"JWT","cty":"twilio-fpa;v=1"}`)) {
		t.Errorf("header segment %s", seg)
	}

	// A wrong key is refused by the same server.
	req2, _ := http.NewRequest(http.MethodPost, "http://"+addr+"/token", strings.NewReader(body))
	req2.Header.Set("Authorization", "Bearer wrong-key-wrong-key")
	resp2, err := client.Do(req2)
	if err != nil {
		t.Fatal(err)
	}
	resp2.Body.Close()
	if resp2.StatusCode != http.StatusUnauthorized {
		t.Errorf("wrong key: status %d", resp2.StatusCode)
	}

	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("run returned %v after cancel, want nil", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("run did not return after the context was cancelled")
	}
	logs := stdout.String()
	if !strings.Contains(logs, `"request_id":"devserver-test-1"`) || !strings.Contains(logs, `"path":"/token"`) {
		t.Errorf("access line missing from stdout:\n%s", logs)
	}
	if strings.Contains(logs, "dev-bearer-key-change-me") || strings.Contains(logs, "dev_api_key_secret") {
		t.Errorf("stdout leaks a key:\n%s", logs)
	}
}

func TestRunBadConfig(t *testing.T) {
	tests := []struct {
		name string
		env  map[string]string
		want string
	}{
		{"bad tenants file", map[string]string{"TENANTS_FILE": "does-not-exist.json", "ADDR": "127.0.0.1:0"}, "tenants file"},
		{"bad env", map[string]string{"TENANTS_FILE": "tenants.example.json", "LOG_LEVEL": "loud"}, "LOG_LEVEL"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := run(context.Background(), func(k string) string { return tc.env[k] }, &kit.LogBuffer{}, nil)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("run = %v, want an error mentioning %q", err, tc.want)
			}
		})
	}
}
