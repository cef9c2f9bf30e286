package httpapi_test

import (
	"bytes"
	"context"
	"encoding/json"
	"encoding/xml"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"bubble-twilio-voice/shared/httpapi"
	"bubble-twilio-voice/shared/logging"
	"bubble-twilio-voice/shared/metrics"
	"bubble-twilio-voice/shared/phone"
	"bubble-twilio-voice/shared/tenant"
	"bubble-twilio-voice/shared/twiliosig"
	"bubble-twilio-voice/test/kit"
)

// publicBase is the custom domain the handler tests sign for: with
// PublicBaseURL set, the handler rebuilds baseURL + path, whatever the Host.
const (
	publicBase = "https://voice.example.test"
	publicHost = "voice.example.test"
)

// Call parties used across the tests.
const (
	alice    = "client:alice"
	outsider = "+13105550142"
)

// loadTenants parses every record of testdata/tenants.json (an object of
// name -> tenant record) with tenant.Parse, as the stores do.
func loadTenants(tb testing.TB) map[string]*tenant.Tenant {
	tb.Helper()
	data, err := os.ReadFile(filepath.Join("testdata", "tenants.json"))
	if err != nil {
		tb.Fatal(err)
	}
	var raws map[string]json.RawMessage
	if err := json.Unmarshal(data, &raws); err != nil {
		tb.Fatalf("testdata/tenants.json: %v", err)
	}
	out := make(map[string]*tenant.Tenant, len(raws))
	for name, raw := range raws {
		t, err := tenant.Parse(raw)
		if err != nil {
			tb.Fatalf("tenant %q: %v", name, err)
		}
		out[name] = t
	}
	return out
}

// fakeStore counts lookups and answers them with lookup.
type fakeStore struct {
	lookup  func(ctx context.Context, accountSID string) (*tenant.Tenant, error)
	lookups atomic.Int64
}

func (s *fakeStore) Lookup(ctx context.Context, accountSID string) (*tenant.Tenant, error) {
	s.lookups.Add(1)
	return s.lookup(ctx, accountSID)
}

var fixedNow = func() time.Time { return time.Date(2026, 11, 13, 15, 9, 0, 0, time.UTC) }

// harness is the webhook handler wired as the functions wire it (logging
// middleware outside, so handler fields reach every line), with its logs and
// EMF lines captured.
type harness struct {
	tenants map[string]*tenant.Tenant
	store   *fakeStore
	logs    kit.LogBuffer
	emf     kit.LogBuffer
	handler http.Handler
}

// newHarness serves the tenants of testdata/tenants.json. base is the
// PublicBaseURL ("" to rebuild the URL from Host and RequestURI).
func newHarness(tb testing.TB, base string) *harness {
	tb.Helper()
	h := &harness{tenants: loadTenants(tb)}
	all := make([]*tenant.Tenant, 0, len(h.tenants))
	for _, t := range h.tenants {
		all = append(all, t)
	}
	mem := tenant.NewMemoryStore(all...)
	h.store = &fakeStore{lookup: mem.Lookup}
	log := logging.New(&h.logs, "debug")
	h.handler = httpapi.All(httpapi.Deps{
		Numbers:       phone.Library{},
		Store:         h.store,
		PublicBaseURL: base,
		Log:           log,
		Metrics:       metrics.New(&h.emf, "webhook-test", fixedNow),
		Now:           fixedNow,
	})
	return h
}

// tenant returns the named tenant of testdata/tenants.json.
func (h *harness) tenant(tb testing.TB, name string) *tenant.Tenant {
	tb.Helper()
	t, ok := h.tenants[name]
	if !ok {
		tb.Fatalf("no tenant %q in testdata/tenants.json", name)
	}
	return t
}

// post sends form to path on publicHost with the given X-Twilio-Signature
// ("" for none).
func (h *harness) post(path string, form url.Values, signature string) *httptest.ResponseRecorder {
	r := httptest.NewRequest(http.MethodPost, path, strings.NewReader(form.Encode()))
	r.Host = publicHost
	r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	if signature != "" {
		r.Header.Set(twiliosig.Header, signature)
	}
	w := httptest.NewRecorder()
	h.handler.ServeHTTP(w, r)
	return w
}

// get sends a GET with the given signature, as a scanner would.
func (h *harness) get(path, signature string) *httptest.ResponseRecorder {
	r := httptest.NewRequest(http.MethodGet, path, nil)
	r.Host = publicHost
	if signature != "" {
		r.Header.Set(twiliosig.Header, signature)
	}
	w := httptest.NewRecorder()
	h.handler.ServeHTTP(w, r)
	return w
}

// callForm is the form Twilio posts for a call of t: the parameters every
// voice webhook carries, then kv (name, value pairs) set over them.
func callForm(t *tenant.Tenant, callSID string, kv ...string) url.Values {
	f := url.Values{
		"AccountSid": {t.AccountSID},
		"ApiVersion": {"2010-04-01"},
		"CallSid":    {callSID},
		"CallStatus": {"ringing"},
		"Direction":  {"inbound"},
	}
	for i := 0; i+1 < len(kv); i += 2 {
		f.Set(kv[i], kv[i+1])
	}
	return f
}

// logLine is one JSON log record.
type logLine map[string]any

func (l logLine) str(k string) string { s, _ := l[k].(string); return s }

func parseLogs(tb testing.TB, out string) []logLine {
	tb.Helper()
	var lines []logLine
	for _, s := range strings.Split(strings.TrimSpace(out), "\n") {
		if s == "" {
			continue
		}
		var l logLine
		if err := json.Unmarshal([]byte(s), &l); err != nil {
			tb.Fatalf("log line is not JSON: %v\n%s", err, s)
		}
		lines = append(lines, l)
	}
	return lines
}

// withMsg returns the lines whose msg is one of msgs.
func withMsg(lines []logLine, msgs ...string) []logLine {
	var out []logLine
	for _, l := range lines {
		for _, m := range msgs {
			if l.str("msg") == m {
				out = append(out, l)
			}
		}
	}
	return out
}

// emfLine is one Embedded Metric Format line, reduced to what the tests
// compare.
type emfLine struct {
	Name       string
	Reason     string
	AccountSid string
	Dimensions [][]string
}

// parseEMF checks each line is well-formed EMF (one metric, in the
// namespace, counted 1, its Reason dimension present exactly when the line
// has a Reason) and returns them.
func parseEMF(tb testing.TB, out string) []emfLine {
	tb.Helper()
	var lines []emfLine
	for _, s := range strings.Split(strings.TrimSpace(out), "\n") {
		if s == "" {
			continue
		}
		var raw struct {
			Function   string
			Reason     string
			AccountSid string
			AWS        struct {
				Timestamp         int64
				CloudWatchMetrics []struct {
					Namespace  string
					Dimensions [][]string
					Metrics    []struct{ Name, Unit string }
				}
			} `json:"_aws"`
		}
		if err := json.Unmarshal([]byte(s), &raw); err != nil {
			tb.Fatalf("EMF line is not JSON: %v\n%s", err, s)
		}
		cw := raw.AWS.CloudWatchMetrics
		if len(cw) != 1 || len(cw[0].Metrics) != 1 || cw[0].Namespace != metrics.Namespace || raw.Function != "webhook-test" {
			tb.Fatalf("malformed EMF line: %s", s)
		}
		name := cw[0].Metrics[0].Name
		var fields map[string]any
		_ = json.Unmarshal([]byte(s), &fields)
		if fields[name] != 1.0 || cw[0].Metrics[0].Unit != "Count" {
			tb.Errorf("EMF line does not count 1 %s: %s", name, s)
		}
		if raw.AWS.Timestamp != fixedNow().UnixMilli() {
			tb.Errorf("EMF timestamp %d, want %d", raw.AWS.Timestamp, fixedNow().UnixMilli())
		}
		hasReasonDim := len(cw[0].Dimensions) > 0 && strings.Join(cw[0].Dimensions[0], ",") == "Function,Reason"
		if hasReasonDim != (raw.Reason != "") {
			tb.Errorf("EMF Reason %q with dimensions %v: %s", raw.Reason, cw[0].Dimensions, s)
		}
		lines = append(lines, emfLine{Name: name, Reason: raw.Reason, AccountSid: raw.AccountSid, Dimensions: cw[0].Dimensions})
	}
	return lines
}

// assertNoSecrets fails if out holds any auth token of the tenants or any
// of the signatures sent.
func assertNoSecrets(tb testing.TB, what, out string, tenants map[string]*tenant.Tenant, signatures ...string) {
	tb.Helper()
	for name, t := range tenants {
		for _, tok := range t.AuthTokens() {
			if strings.Contains(out, tok) {
				tb.Errorf("%s hold the auth token of tenant %q", what, name)
			}
		}
	}
	for _, sig := range signatures {
		if sig != "" && strings.Contains(out, sig) {
			tb.Errorf("%s hold the X-Twilio-Signature %q", what, sig)
		}
	}
}

// twimlDoc is the part of a TwiML answer the flow tests follow.
type twimlDoc struct {
	XMLName xml.Name `xml:"Response"`
	Say     string   `xml:"Say"`
	Dial    *struct {
		Action  string   `xml:"action,attr"`
		Number  string   `xml:"Number"`
		Clients []string `xml:"Client"`
	} `xml:"Dial"`
	Record *struct {
		Action string `xml:"action,attr"`
	} `xml:"Record"`
	Hangup *struct{} `xml:"Hangup"`
}

// parseTwiML decodes body strictly: any XML error fails the test.
func parseTwiML(tb testing.TB, body []byte) twimlDoc {
	tb.Helper()
	var doc twimlDoc
	d := xml.NewDecoder(bytes.NewReader(body))
	d.Strict = true
	if err := d.Decode(&doc); err != nil {
		tb.Fatalf("TwiML does not parse: %v\n%s", err, body)
	}
	if _, err := d.Token(); err != io.EOF {
		tb.Fatalf("TwiML has content after </Response>: %s", body)
	}
	return doc
}
