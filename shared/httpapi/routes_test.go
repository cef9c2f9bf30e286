package httpapi_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"testing"

	"bubble-twilio-voice/shared/httpapi"
	"bubble-twilio-voice/shared/tenant"
)

// TestEachFunctionServesOnlyItsRoutes checks each Lambda function answers
// only its own paths: a request for another function's path is 404, before
// any tenant lookup.
func TestEachFunctionServesOnlyItsRoutes(t *testing.T) {
	all := []string{httpapi.PathToken, httpapi.PathVoice, httpapi.PathIncoming, httpapi.PathDialComplete, httpapi.PathRecordingComplete}
	functions := map[string]struct {
		routes func(httpapi.Deps) http.Handler
		own    []string
	}{
		"token":     {httpapi.Token, []string{httpapi.PathToken}},
		"voice":     {httpapi.Voice, []string{httpapi.PathVoice}},
		"incoming":  {httpapi.Incoming, []string{httpapi.PathIncoming, httpapi.PathDialComplete, httpapi.PathRecordingComplete}},
		"devserver": {httpapi.All, all},
	}
	for name, fn := range functions {
		store := &fakeStore{lookup: func(context.Context, string) (*tenant.Tenant, error) { return nil, tenant.ErrNotFound }}
		h := fn.routes(httpapi.Deps{Store: store})
		for _, p := range all {
			w := httptest.NewRecorder()
			h.ServeHTTP(w, httptest.NewRequest(http.MethodPost, p, nil))
			own := false
			for _, o := range fn.own {
				own = own || o == p
			}
			if got404 := w.Code == http.StatusNotFound; got404 == own {
				t.Errorf("%s: POST %s = %d, own route %v", name, p, w.Code, own)
			}
		}
		if lookups := store.lookups.Load(); lookups != 0 {
			t.Errorf("%s: %d tenant lookups for requests without a tenant", name, lookups)
		}
	}
}

// TestBasePathRouting: with a base path in PublicBaseURL, a route is found
// whether or not the request path carries the base path (API Gateway's
// payload 2.0 leaves an API mapping key out, a proxy keeps it), even when
// the base path is named like a route.
func TestBasePathRouting(t *testing.T) {
	cases := []struct {
		base, path string
		served     bool
	}{
		{"https://calls.example.org/calls", "/calls/voice", true},
		{"https://calls.example.org/calls", "/voice", true},
		{"https://calls.example.org/calls", "/calls/incoming/dial-complete", true},
		{"https://calls.example.org/calls", "/calls", false},
		{"https://calls.example.org/calls", "/callsvoice", false},
		{"https://calls.example.org/calls", "/calls/calls/voice", false},
		{"https://calls.example.org/a/b", "/a/b/token", true},
		{"https://calls.example.org/a/b", "/a/token", false},
		{"https://calls.example.org/incoming", "/incoming", true},
		{"https://calls.example.org/incoming", "/incoming/incoming", true},
		{"https://calls.example.org/incoming", "/incoming/voice", true},
		{"https://calls.example.org/incoming", "/incoming/dial-complete", true},
		{"https://calls.example.org", "/calls/voice", false},
	}
	for _, tc := range cases {
		t.Run(tc.base+" "+tc.path, func(t *testing.T) {
			store := &fakeStore{lookup: func(context.Context, string) (*tenant.Tenant, error) { return nil, tenant.ErrNotFound }}
			h := httpapi.All(httpapi.Deps{Store: store, PublicBaseURL: tc.base})
			w := httptest.NewRecorder()
			h.ServeHTTP(w, httptest.NewRequest(http.MethodPost, tc.path, nil))
			if served := w.Code != http.StatusNotFound; served != tc.served {
				t.Errorf("POST %s = %d, want served %v", tc.path, w.Code, tc.served)
			}
		})
	}
}
