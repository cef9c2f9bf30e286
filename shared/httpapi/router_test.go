package httpapi

import (
	"net/http"
	"net/http/httptest"
	"testing"
)

// TestRouter: exact paths and "{name}" segments match as http.ServeMux
// matches them; anything else is ServeMux's 404.
func TestRouter(t *testing.T) {
	m := &router{}
	for _, p := range []string{PathToken, PathDialComplete, PathRecordings + "{account_sid}/{recording_sid}"} {
		m.Handle(p, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("X-Route", p)
			_, _ = w.Write([]byte(r.PathValue("account_sid") + "|" + r.PathValue("recording_sid")))
		}))
	}
	tests := []struct{ path, route, values string }{
		{"/token", PathToken, "|"},
		{"/incoming/dial-complete", PathDialComplete, "|"},
		{"/recordings/AC1/RE2", PathRecordings + "{account_sid}/{recording_sid}", "AC1|RE2"},
		{"/token/", "", ""},
		{"/tokens", "", ""},
		{"/", "", ""},
		{"/incoming", "", ""},
		{"/recordings/AC1", "", ""},
		{"/recordings/AC1/", "", ""},
		{"/recordings//RE2", "", ""},
		{"/recordings/AC1/RE2/x", "", ""},
	}
	for _, tc := range tests {
		w := httptest.NewRecorder()
		m.ServeHTTP(w, httptest.NewRequest(http.MethodGet, tc.path, nil))
		if tc.route == "" {
			if w.Code != http.StatusNotFound || w.Body.String() != "404 page not found\n" {
				t.Errorf("%s: %d %q, want ServeMux's 404", tc.path, w.Code, w.Body)
			}
			continue
		}
		if got := w.Header().Get("X-Route"); got != tc.route || w.Body.String() != tc.values {
			t.Errorf("%s: route %q values %q, want %q %q", tc.path, got, w.Body, tc.route, tc.values)
		}
	}
}
