package main

import (
	"embed"
	"encoding/json"
	"fmt"
	"io/fs"
	"net/http"
	"os"
	"strings"
)

// The softphone page: HTML, CSS, one script of ours and Twilio's Voice
// JavaScript SDK (pinned in web/vendor/voice-sdk.pin, updated by `make
// softphone-sdk`). Only the dev server embeds it; the Lambda functions serve
// their own routes and nothing else.
//
//go:embed web/index.html web/softphone.js web/softphone.css web/vendor/twilio.min.js web/vendor/LICENSE.md
var webFiles embed.FS

// softphonePrefix is where the page's files are served.
const softphonePrefix = "/softphone/"

// softphoneCSP lets the page run only its own scripts and styles. It may
// talk to any token URL (a deployed stack's too) and to Twilio: signaling
// over wss, insights over https, ringtones from https, call audio as blobs.
const softphoneCSP = "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; " +
	"media-src 'self' https: blob: data: mediastream:; connect-src 'self' http: https: ws: wss:; " +
	"object-src 'none'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"

// softphoneDefaults is what the page fills in when the dev server runs with
// the example tenants file, so `make run` and Connect show a token at once.
// Its bearer key is public (it is in the repo); a real tenants file's keys
// are never served.
type softphoneDefaults struct {
	AccountSID string `json:"account_sid,omitempty"`
	BearerKey  string `json:"bearer_key,omitempty"`
	Identity   string `json:"identity,omitempty"`
}

// exampleDefaults reads the page's defaults from the first record of the
// example tenants file.
func exampleDefaults(path string) (softphoneDefaults, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return softphoneDefaults{}, err
	}
	var records []struct {
		AccountSID   string   `json:"account_sid"`
		TokenAPIKeys []string `json:"token_api_keys"`
		Incoming     struct {
			Default struct {
				Clients []string `json:"clients"`
			} `json:"default"`
		} `json:"incoming"`
	}
	if err := json.Unmarshal(data, &records); err != nil || len(records) == 0 || len(records[0].TokenAPIKeys) == 0 {
		return softphoneDefaults{}, fmt.Errorf("example tenants file %s: no record with a bearer key", path)
	}
	r := records[0]
	d := softphoneDefaults{AccountSID: r.AccountSID, BearerKey: r.TokenAPIKeys[0], Identity: "alice"}
	if len(r.Incoming.Default.Clients) > 0 {
		d.Identity = r.Incoming.Default.Clients[0]
	}
	return d, nil
}

// withSoftphone serves the softphone page at / and its files under
// /softphone/; every other request goes to api.
func withSoftphone(api http.Handler, defaults softphoneDefaults) http.Handler {
	web, err := fs.Sub(webFiles, "web")
	if err != nil {
		panic(err) // the embed pattern names web/, so this cannot happen
	}
	files := http.StripPrefix(softphonePrefix, http.FileServerFS(web))
	defaultsJSON, err := json.Marshal(defaults)
	if err != nil {
		panic(err)
	}

	mux := http.NewServeMux()
	mux.Handle("/", api)
	mux.HandleFunc("GET /{$}", func(w http.ResponseWriter, r *http.Request) {
		pageHeaders(w)
		http.ServeFileFS(w, r, web, "index.html")
	})
	mux.HandleFunc("GET "+softphonePrefix+"defaults.json", func(w http.ResponseWriter, r *http.Request) {
		pageHeaders(w)
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write(defaultsJSON)
	})
	mux.HandleFunc("GET "+softphonePrefix, func(w http.ResponseWriter, r *http.Request) {
		// No directory listings; index.html is served at / only (the file
		// server would redirect /softphone/index.html to /softphone/).
		if strings.HasSuffix(r.URL.Path, "/") || strings.HasSuffix(r.URL.Path, "/index.html") {
			http.NotFound(w, r)
			return
		}
		pageHeaders(w)
		files.ServeHTTP(w, r)
	})
	return mux
}

func pageHeaders(w http.ResponseWriter) {
	h := w.Header()
	h.Set("Content-Security-Policy", softphoneCSP)
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Referrer-Policy", "no-referrer")
	h.Set("Cache-Control", "no-cache")
}
