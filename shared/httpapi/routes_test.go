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
