package main

import (
	"crypto/sha256"
	"crypto/sha512"
	"encoding/base64"
	"encoding/hex"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestSoftphoneRoutes(t *testing.T) {
	api := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("X-From", "api")
		w.WriteHeader(http.StatusTeapot)
	})
	h := withSoftphone(api, softphoneDefaults{AccountSID: exampleSID, BearerKey: "k", Identity: "alice"})
	tests := []struct {
		method, path string
		status       int
		contentType  string // prefix; "" for the API's answers
		body         string // a part of the body
	}{
		{"GET", "/", 200, "text/html", `<script src="/softphone/softphone.js" defer>`},
		{"HEAD", "/", 200, "text/html", ""},
		{"GET", "/softphone/softphone.js", 200, "text/javascript", "Twilio.Device"},
		{"GET", "/softphone/softphone.css", 200, "text/css", ":focus-visible"},
		{"GET", "/softphone/vendor/twilio.min.js", 200, "text/javascript", "RELEASE_VERSION"},
		{"GET", "/softphone/vendor/LICENSE.md", 200, "text/markdown", "Apache License"},
		{"GET", "/softphone/defaults.json", 200, "application/json", `{"account_sid":"` + exampleSID + `","bearer_key":"k","identity":"alice"}`},
		// No listings, no second copy of the page, nothing that is not embedded.
		{"GET", "/softphone/", 404, "text/plain", ""},
		{"GET", "/softphone/vendor/", 404, "text/plain", ""},
		{"GET", "/softphone/index.html", 404, "text/plain", ""},
		{"GET", "/softphone/vendor/voice-sdk.pin", 404, "text/plain", ""},
		// Everything else is the API's.
		{"GET", "/token", 418, "", ""},
		{"POST", "/", 418, "", ""},
		{"POST", "/softphone/softphone.js", 418, "", ""},
		{"GET", "/voice", 418, "", ""},
	}
	for _, tc := range tests {
		t.Run(tc.method+" "+tc.path, func(t *testing.T) {
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, httptest.NewRequest(tc.method, tc.path, nil))
			res := rec.Result()
			body, _ := io.ReadAll(res.Body)
			if res.StatusCode != tc.status {
				t.Fatalf("status %d, want %d", res.StatusCode, tc.status)
			}
			if tc.contentType == "" {
				if res.Header.Get("X-From") != "api" {
					t.Error("not answered by the API handler")
				}
				return
			}
			if ct := res.Header.Get("Content-Type"); !strings.HasPrefix(ct, tc.contentType) {
				t.Errorf("Content-Type %q, want %s", ct, tc.contentType)
			}
			if !strings.Contains(string(body), tc.body) {
				t.Errorf("body does not contain %q", tc.body)
			}
			if res.StatusCode == 200 {
				if csp := res.Header.Get("Content-Security-Policy"); !strings.Contains(csp, "script-src 'self';") {
					t.Errorf("Content-Security-Policy %q", csp)
				}
				if res.Header.Get("X-Content-Type-Options") != "nosniff" {
					t.Error("no X-Content-Type-Options: nosniff")
				}
			}
		})
	}
}

// TestSoftphoneSDKPinned checks the embedded SDK against its pin, offline:
// the file is the one `make softphone-sdk` checked against npm.
func TestSoftphoneSDKPinned(t *testing.T) {
	pin, err := os.ReadFile("web/vendor/voice-sdk.pin")
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]string{}
	for line := range strings.Lines(string(pin)) {
		if k, v, ok := strings.Cut(strings.TrimSpace(line), "="); ok && !strings.HasPrefix(k, "#") {
			want[k] = v
		}
	}
	if want["version"] == "" || len(want["sha256"]) != 64 || !strings.HasPrefix(want["integrity"], "sha512-") {
		t.Fatalf("voice-sdk.pin lacks version, sha256 or integrity: %v", want)
	}
	js, err := webFiles.ReadFile("web/vendor/twilio.min.js")
	if err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256(js)
	if got := hex.EncodeToString(sum[:]); got != want["sha256"] {
		t.Errorf("embedded twilio.min.js has sha256 %s, pinned %s: run make softphone-sdk", got, want["sha256"])
	}
	if !strings.Contains(string(js), `RELEASE_VERSION="`+want["version"]+`"`) {
		t.Errorf("embedded twilio.min.js is not version %s", want["version"])
	}
	license, err := webFiles.ReadFile("web/vendor/LICENSE.md")
	if err != nil || !strings.Contains(string(license), "Apache License, Version 2.0") {
		t.Errorf("the SDK's licence is not embedded (%v)", err)
	}

	// docs/bubble.md tells Bubble builders to load this very file, pinned,
	// with its Subresource Integrity hash: both must follow the pin.
	sri := sha512.Sum384(js)
	integrity := "sha384-" + base64.StdEncoding.EncodeToString(sri[:])
	doc, err := os.ReadFile(filepath.Join("..", "..", "docs", "bubble.md"))
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{
		`src="https://cdn.jsdelivr.net/npm/@twilio/voice-sdk@` + want["version"] + `/dist/twilio.min.js"`,
		`integrity="` + integrity + `"`,
		"https://unpkg.com/@twilio/voice-sdk@" + want["version"] + "/dist/twilio.min.js",
	} {
		if !strings.Contains(string(doc), want) {
			t.Errorf("docs/bubble.md lacks %s: update it with the pinned SDK", want)
		}
	}
	if n := strings.Count(string(doc), "integrity=\""); n != 1 {
		t.Errorf("docs/bubble.md has %d integrity attributes, want the one for the pinned SDK", n)
	}
}

func TestExampleDefaults(t *testing.T) {
	d, err := exampleDefaults("tenants.example.json")
	if err != nil {
		t.Fatal(err)
	}
	if want := (softphoneDefaults{AccountSID: exampleSID, BearerKey: "dev-bearer-key-change-me", Identity: "alice"}); d != want {
		t.Errorf("defaults %+v, want %+v", d, want)
	}
	if _, err := exampleDefaults("does-not-exist.json"); err == nil {
		t.Error("a missing file gives defaults")
	}
}

// TestRunServesSoftphone: run serves the page, and fills in no tenant when
// its tenants file is not the shipped example (its keys could be real).
func TestRunServesSoftphone(t *testing.T) {
	base, _ := startWebhookServer(t) // TENANTS_FILE=tenants.example.json, not the default path
	for path, want := range map[string]string{"/": "<title>Softphone", "/softphone/defaults.json": "{}"} {
		resp, err := webhookClient.Get(base + path)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 200 || !strings.Contains(string(body), want) {
			t.Errorf("GET %s: %d %q, want 200 with %q", path, resp.StatusCode, body, want)
		}
	}
}
