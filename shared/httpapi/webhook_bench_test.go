package httpapi_test

import (
	"bytes"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"bubble-twilio-voice/shared/httpapi"
	"bubble-twilio-voice/shared/logging"
	"bubble-twilio-voice/shared/metrics"
	"bubble-twilio-voice/shared/phone"
	"bubble-twilio-voice/shared/tenant"
	"bubble-twilio-voice/shared/twiliosig"
)

// discardWriter is a reusable ResponseWriter, so the benchmarks measure the
// handler rather than httptest.ResponseRecorder.
type discardWriter struct {
	h      http.Header
	status int
	n      int
}

func (w *discardWriter) Header() http.Header    { return w.h }
func (w *discardWriter) WriteHeader(status int) { w.status = status }
func (w *discardWriter) Write(b []byte) (int, error) {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	w.n += len(b)
	return len(b), nil
}

// benchWebhook serves one signed request to path over and over through the
// handler as the functions wire it (logging middleware, JSON logs and EMF
// to io.Discard), with the tenant cached in a memory store.
func benchWebhook(b *testing.B, path string, kv ...string) {
	tn := loadTenants(b)["main"]
	log := logging.New(io.Discard, "info")
	h := httpapi.All(httpapi.Deps{
		Numbers:       phone.Library{},
		Store:         tenant.NewMemoryStore(tn),
		PublicBaseURL: publicBase,
		Log:           log,
		Metrics:       metrics.New(io.Discard, "bench", fixedNow),
		Now:           fixedNow,
	})
	form := callForm(tn, "CA0123456789abcdef0123456789abcdef", kv...)
	w, serve := signedRepeater(b, h, path, form, tn.AuthToken)
	serve()
	if w.status != http.StatusOK || w.n == 0 || !strings.HasPrefix(w.h.Get("Content-Type"), "text/xml") {
		b.Fatalf("status %d, %d bytes, Content-Type %q", w.status, w.n, w.h.Get("Content-Type"))
	}
	b.ReportAllocs()
	for b.Loop() {
		serve()
	}
}

// signedRepeater returns a function that serves one request signed for path
// to h, its body rewound each time, as a warm Lambda container gets a fresh
// one from the adapter; the writer records the last answer.
func signedRepeater(b *testing.B, h http.Handler, path string, form url.Values, authToken string) (*discardWriter, func()) {
	b.Helper()
	body := []byte(form.Encode())
	r, err := http.NewRequest(http.MethodPost, path, nil)
	if err != nil {
		b.Fatal(err)
	}
	r.Host = publicHost
	r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	r.Header.Set(twiliosig.Header, twiliosig.Sign(publicBase+path, form, authToken))
	r.ContentLength = int64(len(body))
	rd := bytes.NewReader(body)
	w := &discardWriter{h: http.Header{}}
	return w, func() {
		rd.Reset(body)
		r.Body = io.NopCloser(rd)
		r.PostForm, r.Form = nil, nil
		clear(w.h)
		w.status, w.n = 0, 0
		h.ServeHTTP(w, r)
	}
}

// BenchmarkVoiceHandler is a browser call to a number: signature, policy
// (phonenumbers parse and type lookup), TwiML, logs and a metric.
func BenchmarkVoiceHandler(b *testing.B) {
	benchWebhook(b, httpapi.PathVoice, browser("+14155550123")...)
}

// BenchmarkSignedMiddleware is the signature check alone: read the body,
// parse the form, look the tenant up, validate, hand on.
func BenchmarkSignedMiddleware(b *testing.B) {
	tn := loadTenants(b)["main"]
	h := httpapi.Voice(httpapi.Deps{Store: tenant.NewMemoryStore(tn), PublicBaseURL: publicBase, Numbers: phone.Library{}})
	form := callForm(tn, "CA0123456789abcdef0123456789abcdef", "From", "+14155550123", "To", "+14155550100")
	body := form.Encode()
	sig := twiliosig.Sign(publicBase+httpapi.PathVoice, form, tn.AuthToken)
	b.ReportAllocs()
	for b.Loop() {
		r := httptest.NewRequest(http.MethodPost, httpapi.PathVoice, strings.NewReader(body))
		r.Header.Set(twiliosig.Header, sig)
		w := httptest.NewRecorder()
		h.ServeHTTP(w, r)
		if w.Code != http.StatusOK {
			b.Fatal(w.Code)
		}
	}
}

// BenchmarkIncomingHandler is a phone call to a number routed to 2 clients.
func BenchmarkIncomingHandler(b *testing.B) {
	benchWebhook(b, httpapi.PathIncoming, phoneCall("+14155550100")...)
}
