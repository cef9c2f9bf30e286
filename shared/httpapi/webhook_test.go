package httpapi_test

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"bubble-twilio-voice/shared/httpapi"
	"bubble-twilio-voice/shared/metrics"
	"bubble-twilio-voice/shared/phone"
	"bubble-twilio-voice/shared/tenant"
	"bubble-twilio-voice/shared/twiliosig"
	"bubble-twilio-voice/test/kit"
)

// goldenCase is one signed webhook through the whole handler; its TwiML is
// testdata/golden/<name>.xml.
type goldenCase struct {
	name     string
	tenant   string   // key in testdata/tenants.json
	path     string   // webhook path
	params   []string // name, value pairs over callForm's defaults
	decision string   // voice.Kind logged
	reason   string   // refusal reason; "" when the call went ahead
}

// browser is the form of a call placed from alice's browser to to.
func browser(to string, kv ...string) []string {
	return append([]string{"ApplicationSid", "APaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", "From", alice, "Caller", alice, "To", to}, kv...)
}

// phone is the form of a phone call from outsider to the tenant number to.
func phoneCall(to string, kv ...string) []string {
	return append([]string{"From", outsider, "Caller", outsider, "To", to, "Called", to}, kv...)
}

func goldenCases() []goldenCase {
	v, in := httpapi.PathVoice, httpapi.PathIncoming
	cases := []goldenCase{
		{"voice_number", "main", v, browser("+14155550123"), "dial", ""},
		{"voice_national_number", "main", v, browser("(415) 555-0123"), "dial", ""},
		{"voice_client", "main", v, browser("client:bob"), "dial", ""},
		{"voice_client_bare_identity", "main", v, browser("bob"), "dial", ""},
		{"voice_blocked_country", "main", v, browser("+442071838750"), "say", "country_not_allowed"},
		{"voice_premium", "main", v, browser("+19002345678"), "say", "premium_rate"},
		{"voice_blocked_prefix", "main", v, browser("+12125550123"), "say", "blocked_prefix"},
		{"voice_invalid_number", "main", v, browser("+1415555012"), "say", "invalid_number"},
		{"voice_empty_to", "main", v, browser(""), "say", "empty_to"},
		{"voice_emergency_number", "main", v, browser("911"), "say", "emergency_number"},
		{"voice_number_type_not_allowed", "main", v, browser("+15002345678"), "say", "number_type_not_allowed"},
		{"voice_caller_id_allowed", "main", v, browser("+14155550123", "CallerId", "+14155550101"), "dial", ""},
		{"voice_caller_id_refused", "main", v, browser("+14155550123", "CallerId", "+14155559999"), "say", "caller_id_not_allowed"},
		{"voice_record_calls", "recording", v, browser("+14155550123"), "dial", ""},
		{"voice_client_record_calls", "recording", v, browser("client:bob"), "dial", ""},
		{"voice_client_calls_disabled", "noclients", v, browser("client:bob"), "say", "client_calls_disabled"},
		{"voice_pstn_delegated", "main", v, phoneCall("+14155550100"), "dial", ""},
		{"voice_pstn_delegated_no_route", "other", v, phoneCall("+14155550200"), "say", "no_route"},

		{"incoming_one_client", "main", in, phoneCall("+14155550111"), "dial", ""},
		{"incoming_two_clients", "main", in, phoneCall("+14155550100"), "dial", ""},
		{"incoming_ten_clients", "main", in, phoneCall("+14155550110"), "dial", ""},
		{"incoming_default_route", "main", in, phoneCall("+14155550999"), "dial", ""},
		{"incoming_no_route", "other", in, phoneCall("+14155550200"), "say", "no_route"},
		{"incoming_record_calls", "recording", in, phoneCall("+14155550300"), "dial", ""},

		{"dial_complete_forward_blocked", "main", httpapi.PathDialComplete,
			phoneCall("+14155550103", "DialCallStatus", "no-answer"), "say", "blocked_prefix"},
		{"dial_complete_forward_record_calls", "recording", httpapi.PathDialComplete,
			phoneCall("+14155550300", "DialCallStatus", "busy"), "dial", ""},
		{"dial_complete_no_route", "other", httpapi.PathDialComplete,
			phoneCall("+14155550200", "DialCallStatus", "no-answer"), "say", "no_route"},
		// A suspended tenant (issue 20 item 5): before, a signed /voice or
		// /incoming of a suspended tenant still dialled. Now every step says
		// a short message and hangs up.
		{"voice_suspended", "suspended", v, browser("+14155550123"), "say", "tenant_suspended"},
		{"voice_suspended_client", "suspended", v, browser("client:bob"), "say", "tenant_suspended"},
		{"incoming_suspended", "suspended", in, phoneCall("+14155550500"), "say", "tenant_suspended"},
		{"dial_complete_suspended", "suspended", httpapi.PathDialComplete,
			phoneCall("+14155550500", "DialCallStatus", "no-answer"), "say", "tenant_suspended"},
		{"recording_complete", "main", httpapi.PathRecordingComplete,
			phoneCall("+14155550100", "RecordingSid", "RE0123456789abcdef0123456789abcdef",
				"RecordingUrl", "https://api.twilio.com/2010-04-01/Accounts/ACaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa/Recordings/RE0123456789abcdef0123456789abcdef",
				"RecordingDuration", "12", "Digits", "hangup"), "hangup", ""},
	}
	// Screening: the whisper, as Twilio requests it on the screened leg
	// (From the presented caller ID, To the screened phone, the parent's
	// caller and called number in the signed query), and the key.
	whisper := httpapi.PathScreen + "?called=%2B14155550101&caller=%2B13105550142"
	screened := []string{"From", "+14155550101", "To", "+14155550199", "Called", "+14155550199",
		"ParentCallSid", "CAfedcba9876543210fedcba9876543210", "Direction", "outbound-dial"}
	cases = append(cases,
		goldenCase{"screen_whisper", "main", whisper, screened, "screen", ""},
		goldenCase{"screen_answer_accept", "main", httpapi.PathScreenAnswer, append(screened, "Digits", "1"), "accept", ""},
		goldenCase{"screen_answer_other_key", "main", httpapi.PathScreenAnswer, append(screened, "Digits", "7"), "hangup", ""},
		goldenCase{"screen_answer_no_key", "main", httpapi.PathScreenAnswer, screened, "hangup", ""},
		// A screened forward refused: picked up, never bridged.
		goldenCase{"dial_complete_screen_refused", "main", httpapi.PathDialComplete,
			phoneCall("+14155550100", "DialCallStatus", "completed", "DialBridged", "false"), "voicemail", ""},
		goldenCase{"dial_complete_screen_accepted", "main", httpapi.PathDialComplete,
			phoneCall("+14155550100", "DialCallStatus", "completed", "DialBridged", "true"), "hangup", ""},
	)
	actions := []struct{ name, to, decision string }{
		{"voicemail", "+14155550100", "voicemail"},
		{"forward", "+14155550101", "dial"},
		{"message", "+14155550102", "say"},
	}
	for _, status := range []string{"completed", "answered", "no-answer", "busy", "failed", "canceled"} {
		for _, a := range actions {
			decision := a.decision
			if status == "completed" || status == "answered" {
				decision = "hangup"
			}
			cases = append(cases, goldenCase{
				"dial_complete_" + a.name + "_" + status, "main", httpapi.PathDialComplete,
				phoneCall(a.to, "DialCallStatus", status, "DialCallSid", "CAfedcba9876543210fedcba9876543210", "DialCallDuration", "0"),
				decision, "",
			})
		}
	}
	return cases
}

var steps = map[string]string{
	httpapi.PathVoice:             "outgoing",
	httpapi.PathIncoming:          "incoming",
	httpapi.PathDialComplete:      "dial_complete",
	httpapi.PathRecordingComplete: "recording_complete",
	httpapi.PathScreen:            "screen",
	httpapi.PathScreenAnswer:      "screen_answer",
}

func TestGolden(t *testing.T) {
	const callSID = "CA0123456789abcdef0123456789abcdef"
	cases := goldenCases()
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			h := newHarness(t, publicBase)
			tn := h.tenant(t, tc.tenant)
			form := callForm(tn, callSID, tc.params...)
			sig := twiliosig.Sign(publicBase+tc.path, form, tn.AuthToken)
			w := h.post(tc.path, form, sig)

			if w.Code != http.StatusOK {
				t.Fatalf("status %d, body %q; logs:\n%s", w.Code, w.Body, h.logs.String())
			}
			if ct := w.Header().Get("Content-Type"); ct != "text/xml; charset=utf-8" {
				t.Errorf("Content-Type %q", ct)
			}
			if cc := w.Header().Get("Cache-Control"); cc != "no-store" {
				t.Errorf("Cache-Control %q", cc)
			}
			parseTwiML(t, w.Body.Bytes())
			checkGolden(t, tc.name, w.Body.Bytes())

			lines := parseLogs(t, h.logs.String())
			decided := withMsg(lines, "call answered", "call refused")
			if len(decided) != 1 {
				t.Fatalf("%d decision log lines, want 1:\n%s", len(decided), h.logs.String())
			}
			d := decided[0]
			wantMsg, wantLevel := "call answered", "INFO"
			if tc.reason != "" {
				wantMsg, wantLevel = "call refused", "WARN"
			}
			for k, want := range map[string]string{
				"msg": wantMsg, "level": wantLevel, "step": steps[strings.Split(tc.path, "?")[0]], "decision": tc.decision,
				"reason": tc.reason, "account_sid": tn.AccountSID, "call_sid": callSID,
			} {
				if got := d.str(k); got != want {
					t.Errorf("decision log %s = %q, want %q", k, got, want)
				}
			}
			// The access line written after the handler carries the call too.
			access := withMsg(lines, "request")
			if len(access) != 1 || access[0].str("call_sid") != callSID || access[0].str("account_sid") != tn.AccountSID || access[0]["status"] != 200.0 {
				t.Errorf("access line %v, want one with status 200, call_sid and account_sid", access)
			}

			emf := parseEMF(t, h.emf.String())
			var want []emfLine
			switch {
			case tc.reason != "":
				want = []emfLine{{Name: metrics.CallRefused, Reason: tc.reason, AccountSid: tn.AccountSID}}
			case tc.decision == "dial":
				want = []emfLine{{Name: metrics.CallDialled, AccountSid: tn.AccountSID}}
			}
			if !sameMetrics(emf, want) {
				t.Errorf("EMF %+v, want %+v", emf, want)
			}
			assertNoSecrets(t, "logs", h.logs.String(), h.tenants, sig)
			assertNoSecrets(t, "EMF lines", h.emf.String(), h.tenants, sig)
		})
	}

	names := make(map[string]bool, len(cases))
	for _, tc := range cases {
		names[tc.name] = true
	}
	kit.CheckNoStrayGolden(t, filepath.Join("testdata", "golden", "*.xml"), names)
}

// sameMetrics compares name, reason and account of each line, in order.
func sameMetrics(got, want []emfLine) bool {
	return slices.EqualFunc(got, want, func(g, w emfLine) bool {
		return g.Name == w.Name && g.Reason == w.Reason && g.AccountSid == w.AccountSid
	})
}

func checkGolden(t *testing.T, name string, got []byte) {
	t.Helper()
	kit.CheckGolden(t, filepath.Join("testdata", "golden", name+".xml"), got)
}

// TestSignature checks that only a request signed by the AccountSid's own
// tenant, for the URL the handler serves, reaches a decision.
func TestSignature(t *testing.T) {
	const callSID = "CA0123456789abcdef0123456789abcd10"
	tenants := loadTenants(t)
	main, other := tenants["main"], tenants["other"]
	voiceForm := func(acct *tenant.Tenant) url.Values {
		return callForm(acct, callSID, browser("+14155550123")...)
	}
	sign := func(path string, f url.Values, token string) string {
		return twiliosig.Sign(publicBase+path, f, token)
	}
	unavailable := func(context.Context, string) (*tenant.Tenant, error) {
		return nil, fmt.Errorf("secrets manager: %w", tenant.ErrUnavailable)
	}

	cases := []struct {
		name        string
		method      string
		form        url.Values
		signature   func(f url.Values) string
		lookup      func(context.Context, string) (*tenant.Tenant, error) // nil: the tenants
		wantStatus  int
		wantReject  string // SignatureRejected reason, "" for no such metric
		wantLookups int64
	}{
		{"signed", http.MethodPost, voiceForm(main),
			func(f url.Values) string { return sign("/voice", f, main.AuthToken) }, nil, 200, "", 1},
		{"previous auth token", http.MethodPost, voiceForm(main),
			func(f url.Values) string { return sign("/voice", f, main.PreviousAuthToken) }, nil, 200, "", 1},
		{"unsigned", http.MethodPost, voiceForm(main),
			func(url.Values) string { return "" }, nil, 403, httpapi.ReasonMissingSignature, 0},
		{"tenant A's token, tenant B's AccountSid", http.MethodPost, voiceForm(other),
			func(f url.Values) string { return sign("/voice", f, main.AuthToken) }, nil, 403, httpapi.ReasonBadSignature, 1},
		{"tenant B's token, tenant A's AccountSid", http.MethodPost, voiceForm(main),
			func(f url.Values) string { return sign("/voice", f, other.AuthToken) }, nil, 403, httpapi.ReasonBadSignature, 1},
		{"retired token", http.MethodPost, voiceForm(main),
			func(f url.Values) string { return sign("/voice", f, "an_old_token_nobody_keeps_000000") }, nil, 403, httpapi.ReasonBadSignature, 1},
		{"signed for another path", http.MethodPost, voiceForm(main),
			func(f url.Values) string { return sign("/incoming", f, main.AuthToken) }, nil, 403, httpapi.ReasonBadSignature, 1},
		{"signed for another host", http.MethodPost, voiceForm(main),
			func(f url.Values) string { return twiliosig.Sign("https://evil.example.test/voice", f, main.AuthToken) }, nil, 403, httpapi.ReasonBadSignature, 1},
		{"parameter changed after signing", http.MethodPost, voiceForm(main),
			func(f url.Values) string {
				s := sign("/voice", f, main.AuthToken)
				f.Set("To", "+19002345678")
				return s
			}, nil, 403, httpapi.ReasonBadSignature, 1},
		{"unknown account", http.MethodPost, callForm(&tenant.Tenant{AccountSID: "AC00000000000000000000000000000000"}, callSID, browser("+14155550123")...),
			func(f url.Values) string { return sign("/voice", f, main.AuthToken) }, nil, 403, httpapi.ReasonUnknownAccount, 1},
		{"malformed account", http.MethodPost, callForm(&tenant.Tenant{AccountSID: "AC../../etc/passwd"}, callSID, browser("+14155550123")...),
			func(f url.Values) string { return sign("/voice", f, main.AuthToken) }, nil, 403, httpapi.ReasonMalformedAccount, 0},
		{"GET", http.MethodGet, voiceForm(main),
			func(f url.Values) string { return sign("/voice", f, main.AuthToken) }, nil, 405, httpapi.ReasonMethod, 0},
		// Counted by the store as SecretFetchFailed, so not as a rejection.
		{"store unavailable", http.MethodPost, voiceForm(main),
			func(f url.Values) string { return sign("/voice", f, main.AuthToken) }, unavailable, 503, "", 1},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			h := newHarness(t, publicBase)
			if tc.lookup != nil {
				h.store.lookup = tc.lookup
			}
			sig := tc.signature(tc.form)
			var w interface {
				Result() *http.Response
			}
			if tc.method == http.MethodPost {
				w = h.post("/voice", tc.form, sig)
			} else {
				w = h.get("/voice", sig)
			}
			resp := w.Result()
			if resp.StatusCode != tc.wantStatus {
				t.Fatalf("status %d, want %d; logs:\n%s", resp.StatusCode, tc.wantStatus, h.logs.String())
			}
			if got := h.store.lookups.Load(); got != tc.wantLookups {
				t.Errorf("%d tenant lookups, want %d", got, tc.wantLookups)
			}
			lines := parseLogs(t, h.logs.String())
			decided := withMsg(lines, "call answered", "call refused")
			emf := parseEMF(t, h.emf.String())
			if tc.wantStatus == http.StatusOK {
				if len(decided) != 1 {
					t.Errorf("%d decision lines, want 1", len(decided))
				}
				if !sameMetrics(emf, []emfLine{{Name: metrics.CallDialled, AccountSid: main.AccountSID}}) {
					t.Errorf("EMF %+v, want one CallDialled", emf)
				}
				return
			}
			// The decision never ran.
			if len(decided) != 0 {
				t.Errorf("decision logged on a refused request: %v", decided)
			}
			var want []emfLine
			if tc.wantReject != "" {
				want = []emfLine{{Name: metrics.SignatureRejected, Reason: tc.wantReject}}
			}
			if !sameMetrics(emf, want) {
				t.Errorf("EMF %+v, want %+v", emf, want)
			}
			if resp.Header.Get("Content-Type") == "text/xml; charset=utf-8" {
				t.Error("a refusal answered TwiML")
			}
			if tc.wantStatus == http.StatusForbidden {
				refused := withMsg(lines, "webhook refused")
				if len(refused) != 1 || refused[0].str("reason") != tc.wantReject {
					t.Errorf("refusal lines %v, want one with reason %s", refused, tc.wantReject)
				} else if tenant.ValidAccountSID(tc.form.Get("AccountSid")) &&
					(refused[0].str("call_sid") != callSID || refused[0].str("account_sid") != tc.form.Get("AccountSid")) {
					t.Errorf("refusal line %v lacks call_sid or account_sid", refused[0])
				}
				buf := make([]byte, 64)
				n, _ := resp.Body.Read(buf)
				if string(buf[:n]) != "invalid signature\n" {
					t.Errorf("403 body %q", buf[:n])
				}
			}
			assertNoSecrets(t, "logs", h.logs.String(), h.tenants, sig)
			assertNoSecrets(t, "EMF lines", h.emf.String(), h.tenants, sig)
		})
	}
}

// TestScreenRoutesSigned: the whisper and its answer are signed webhooks
// like the others, the whisper's query included in what is signed.
func TestScreenRoutesSigned(t *testing.T) {
	const callSID = "CA0123456789abcdef0123456789abcd11"
	whisper := httpapi.PathScreen + "?called=%2B14155550101&caller=%2B13105550142"
	for _, tc := range []struct {
		name, path, signedPath string
		sign                   bool
		want                   int
	}{
		{"whisper signed", whisper, whisper, true, 200},
		{"whisper unsigned", whisper, "", false, 403},
		{"whisper with another caller than signed", httpapi.PathScreen + "?called=%2B14155550101&caller=%2B19005550000", whisper, true, 403},
		{"answer signed", httpapi.PathScreenAnswer, httpapi.PathScreenAnswer, true, 200},
		{"answer unsigned", httpapi.PathScreenAnswer, "", false, 403},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := newHarness(t, publicBase)
			main := h.tenant(t, "main")
			form := callForm(main, callSID, "From", "+14155550101", "To", "+14155550199", "Digits", "1")
			sig := ""
			if tc.sign {
				sig = twiliosig.Sign(publicBase+tc.signedPath, form, main.AuthToken)
			}
			w := h.post(tc.path, form, sig)
			if w.Code != tc.want {
				t.Fatalf("status %d, want %d: %s", w.Code, tc.want, w.Body)
			}
			if tc.want == 403 && strings.Contains(w.Body.String(), "Response") {
				t.Errorf("403 with TwiML: %s", w.Body)
			}
		})
	}
}

// TestUnknownPath checks unknown paths are 404 before any tenant lookup or
// signature check, signed or not.
func TestUnknownPath(t *testing.T) {
	paths := []string{"/", "/voice/", "/Voice", "/incoming/", "/incoming/dial-complete/x",
		"/incoming/recording", "/prod/voice", "/voice.xml"}
	for _, p := range paths {
		t.Run(p, func(t *testing.T) {
			h := newHarness(t, publicBase)
			main := h.tenant(t, "main")
			form := callForm(main, "CA0123456789abcdef0123456789abcd20", phoneCall("+14155550100")...)
			w := h.post(p, form, twiliosig.Sign(publicBase+p, form, main.AuthToken))
			if w.Code != http.StatusNotFound {
				t.Errorf("status %d, want 404", w.Code)
			}
			if n := h.store.lookups.Load(); n != 0 {
				t.Errorf("%d tenant lookups for an unknown path", n)
			}
			if emf := h.emf.String(); emf != "" {
				t.Errorf("metrics for an unknown path: %s", emf)
			}
		})
	}
}

// TestNoLogger checks the zero Log and Metrics are usable: Options documents
// no requirement for them, and the middleware already accepts a nil logger.
func TestNoLogger(t *testing.T) {
	tn := loadTenants(t)["main"]
	h := httpapi.All(httpapi.Deps{Store: tenant.NewMemoryStore(tn), PublicBaseURL: publicBase, Numbers: phone.Library{}})
	form := callForm(tn, "CA0123456789abcdef0123456789abcd30", browser("+14155550123")...)
	hs := &harness{handler: h}
	w := hs.post(httpapi.PathVoice, form, twiliosig.Sign(publicBase+httpapi.PathVoice, form, tn.AuthToken))
	if w.Code != http.StatusOK || parseTwiML(t, w.Body.Bytes()).Dial == nil {
		t.Errorf("status %d, body %s: want a Dial with no logger or metrics configured", w.Code, w.Body)
	}
}
