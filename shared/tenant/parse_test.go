package tenant

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"testing"
)

// Secret values in the valid record; no error text may contain any of them.
const (
	testAuthToken     = "AUTHTOKEN-secret-value-0001"
	testPrevAuthToken = "PREVAUTHTOKEN-secret-value-0002"
	testKeySecret     = "APIKEYSECRET-secret-value-0003"
	testBearer        = "BEARERKEY-secret-value-0004"
)

var testSecrets = []string{testAuthToken, testPrevAuthToken, testKeySecret, testBearer}

// validRecord returns a fresh, fully valid record as a generic map so each
// test case can break exactly one field.
func validRecord() map[string]any {
	return map[string]any{
		"account_sid":         "AC0123456789abcdef0123456789abcdef",
		"auth_token":          testAuthToken,
		"previous_auth_token": testPrevAuthToken,
		"api_key_sid":         "SK0123456789abcdef0123456789abcdef",
		"api_key_secret":      testKeySecret,
		"twiml_app_sid":       "AP0123456789ABCDEF0123456789ABCDEF",
		"caller_id":           "+14155550100",
		"caller_ids":          []any{"+14155550101", "+442071838750"},
		"token_api_keys":      []any{testBearer},
		"outbound": map[string]any{
			"allowed_countries": []any{"US", "CA"},
			"blocked_prefixes":  []any{"+1900"},
		},
		"incoming": map[string]any{
			"numbers": map[string]any{
				"+14155550100": map[string]any{
					"clients":      []any{"alice", "bob"},
					"ring_seconds": 30,
					"no_answer":    map[string]any{"action": "forward", "forward_to": "+14155550199"},
				},
			},
			"default": map[string]any{
				"clients":   []any{"alice"},
				"no_answer": map[string]any{"action": "voicemail"},
			},
		},
	}
}

func mustJSON(t testing.TB, v any) []byte {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// route returns the first incoming number's route of rec for editing.
func route(rec map[string]any) map[string]any {
	return rec["incoming"].(map[string]any)["numbers"].(map[string]any)["+14155550100"].(map[string]any)
}

func defaultRoute(rec map[string]any) map[string]any {
	return rec["incoming"].(map[string]any)["default"].(map[string]any)
}

func clients(n int) []any {
	out := make([]any, n)
	for i := range out {
		out[i] = "agent_" + strings.Repeat("x", i+1)
	}
	return out
}

const numRoute = `incoming.numbers["+14155550100"]`

func TestParseValid(t *testing.T) {
	tn, err := Parse(mustJSON(t, validRecord()))
	if err != nil {
		t.Fatalf("Parse: %v", err)
	}
	if tn.AccountSID != "AC0123456789abcdef0123456789abcdef" || tn.APIKeySecret != testKeySecret {
		t.Errorf("fields not decoded: %+v", tn)
	}
	// Defaults.
	if tn.TokenTTLSeconds != DefaultTokenTTLSeconds {
		t.Errorf("TokenTTLSeconds = %d, want default %d", tn.TokenTTLSeconds, DefaultTokenTTLSeconds)
	}
	if tn.DefaultRegion != DefaultRegion {
		t.Errorf("DefaultRegion = %q, want %q", tn.DefaultRegion, DefaultRegion)
	}
	r := tn.RouteFor("+14155550100")
	if r == nil || r.RingSeconds != 30 || r.NoAnswer.Action != ActionForward || r.NoAnswer.ForwardTo != "+14155550199" {
		t.Errorf("number route = %+v", r)
	}
	d := tn.RouteFor("+14155550999")
	if d == nil || d != tn.Incoming.Default {
		t.Fatalf("unrouted number did not get the default route: %+v", d)
	}
	if d.RingSeconds != DefaultRingSeconds {
		t.Errorf("default route RingSeconds = %d, want %d", d.RingSeconds, DefaultRingSeconds)
	}
	if d.NoAnswer.MaxLengthSeconds != DefaultVoicemailSeconds {
		t.Errorf("voicemail MaxLengthSeconds = %d, want %d", d.NoAnswer.MaxLengthSeconds, DefaultVoicemailSeconds)
	}
	if !tn.Outbound.ClientCallsAllowed() {
		t.Error("ClientCallsAllowed: absent should default to true")
	}
	if got := tn.AuthTokens(); len(got) != 2 || got[0] != testAuthToken || got[1] != testPrevAuthToken {
		t.Errorf("AuthTokens = %q", got)
	}
}

func TestParseDefaults(t *testing.T) {
	rec := validRecord()
	delete(rec, "previous_auth_token")
	delete(rec, "incoming")
	rec["outbound"] = map[string]any{"allow_client_calls": false}
	rec["token_ttl_seconds"] = 600
	rec["default_region"] = "GB"
	tn, err := Parse(mustJSON(t, rec))
	if err != nil {
		t.Fatal(err)
	}
	if tn.TokenTTLSeconds != 600 || tn.DefaultRegion != "GB" {
		t.Errorf("explicit values overridden: ttl %d region %q", tn.TokenTTLSeconds, tn.DefaultRegion)
	}
	if tn.Outbound.ClientCallsAllowed() {
		t.Error("ClientCallsAllowed: explicit false ignored")
	}
	if tn.RouteFor("+14155550100") != nil {
		t.Error("RouteFor without incoming should be nil")
	}
	if got := tn.AuthTokens(); len(got) != 1 || got[0] != testAuthToken {
		t.Errorf("AuthTokens = %q", got)
	}
	for _, n := range []string{"+14155550100", "+14155550101", "+442071838750"} {
		if !tn.OwnsCallerID(n) {
			t.Errorf("OwnsCallerID(%s) = false", n)
		}
	}
	if tn.OwnsCallerID("+14155550102") {
		t.Error("OwnsCallerID of a foreign number = true")
	}
}

func TestParseUnknownFieldsIgnored(t *testing.T) {
	rec := validRecord()
	rec["future_field"] = map[string]any{"x": 1}
	rec["outbound"].(map[string]any)["later"] = true
	route(rec)["weights"] = []any{1, 2}
	if _, err := Parse(mustJSON(t, rec)); err != nil {
		t.Fatalf("unknown fields should be ignored: %v", err)
	}
}

func TestParseFieldErrors(t *testing.T) {
	tests := []struct {
		name  string
		edit  func(map[string]any)
		field string
	}{
		{"missing account_sid", func(r map[string]any) { delete(r, "account_sid") }, "account_sid"},
		{"account_sid wrong prefix", func(r map[string]any) { r["account_sid"] = "SK0123456789abcdef0123456789abcdef" }, "account_sid"},
		{"account_sid short", func(r map[string]any) { r["account_sid"] = "AC0123456789abcdef" }, "account_sid"},
		{"account_sid not hex", func(r map[string]any) { r["account_sid"] = "AC0123456789abcdef0123456789abcdeg" }, "account_sid"},
		{"missing auth_token", func(r map[string]any) { delete(r, "auth_token") }, "auth_token"},
		{"missing api_key_sid", func(r map[string]any) { delete(r, "api_key_sid") }, "api_key_sid"},
		{"api_key_sid is an account sid", func(r map[string]any) { r["api_key_sid"] = r["account_sid"] }, "api_key_sid"},
		{"missing api_key_secret", func(r map[string]any) { r["api_key_secret"] = "" }, "api_key_secret"},
		{"missing twiml_app_sid", func(r map[string]any) { delete(r, "twiml_app_sid") }, "twiml_app_sid"},
		{"twiml_app_sid bad", func(r map[string]any) { r["twiml_app_sid"] = "AP123" }, "twiml_app_sid"},
		{"missing caller_id", func(r map[string]any) { delete(r, "caller_id") }, "caller_id"},
		{"caller_id national format", func(r map[string]any) { r["caller_id"] = "(415) 555-0100" }, "caller_id"},
		{"caller_id no plus", func(r map[string]any) { r["caller_id"] = "14155550100" }, "caller_id"},
		{"caller_id too long", func(r map[string]any) { r["caller_id"] = "+1234567890123456" }, "caller_id"},
		{"caller_ids bad entry", func(r map[string]any) { r["caller_ids"] = []any{"+14155550101", "+0123"} }, "caller_ids[1]"},
		{"token_api_keys missing", func(r map[string]any) { delete(r, "token_api_keys") }, "token_api_keys"},
		{"token_api_keys empty", func(r map[string]any) { r["token_api_keys"] = []any{} }, "token_api_keys"},
		{"token_api_keys short key", func(r map[string]any) { r["token_api_keys"] = []any{testBearer, "short"} }, "token_api_keys[1]"},
		{"token_ttl_seconds low", func(r map[string]any) { r["token_ttl_seconds"] = 59 }, "token_ttl_seconds"},
		{"token_ttl_seconds high", func(r map[string]any) { r["token_ttl_seconds"] = 86401 }, "token_ttl_seconds"},
		{"token_ttl_seconds negative", func(r map[string]any) { r["token_ttl_seconds"] = -1 }, "token_ttl_seconds"},
		{"default_region lowercase", func(r map[string]any) { r["default_region"] = "us" }, "default_region"},
		{"default_region long", func(r map[string]any) { r["default_region"] = "USA" }, "default_region"},
		{"allowed_countries bad", func(r map[string]any) { r["outbound"].(map[string]any)["allowed_countries"] = []any{"US", "X"} }, "outbound.allowed_countries[1]"},
		{"blocked_prefixes bad", func(r map[string]any) { r["outbound"].(map[string]any)["blocked_prefixes"] = []any{"1900"} }, "outbound.blocked_prefixes[0]"},
		{"incoming number key not E.164", func(r map[string]any) {
			r["incoming"].(map[string]any)["numbers"].(map[string]any)["4155550100"] = route(r)
		}, `incoming.numbers["4155550100"]`},
		{"incoming number route null", func(r map[string]any) {
			r["incoming"].(map[string]any)["numbers"].(map[string]any)["+14155550100"] = nil
		}, numRoute},
		// The three cases the issue names.
		{"11 clients", func(r map[string]any) { route(r)["clients"] = clients(11) }, numRoute + ".clients"},
		{"ring_seconds explicit 0", func(r map[string]any) { route(r)["ring_seconds"] = 0 }, numRoute + ".ring_seconds"},
		{"bad forward_to", func(r map[string]any) { route(r)["no_answer"].(map[string]any)["forward_to"] = "555-0199" }, numRoute + ".no_answer.forward_to"},

		{"no clients", func(r map[string]any) { route(r)["clients"] = []any{} }, numRoute + ".clients"},
		{"bad client identity", func(r map[string]any) { route(r)["clients"] = []any{"alice", "bob smith"} }, numRoute + ".clients[1]"},
		{"ring_seconds 4", func(r map[string]any) { route(r)["ring_seconds"] = 4 }, numRoute + ".ring_seconds"},
		{"ring_seconds 61", func(r map[string]any) { route(r)["ring_seconds"] = 61 }, numRoute + ".ring_seconds"},
		{"ring_seconds negative", func(r map[string]any) { route(r)["ring_seconds"] = -1 }, numRoute + ".ring_seconds"},
		{"forward without forward_to", func(r map[string]any) { delete(route(r)["no_answer"].(map[string]any), "forward_to") }, numRoute + ".no_answer.forward_to"},
		{"unknown action", func(r map[string]any) { route(r)["no_answer"] = map[string]any{"action": "hangup"} }, numRoute + ".no_answer.action"},
		{"voicemail too long", func(r map[string]any) {
			route(r)["no_answer"] = map[string]any{"action": "voicemail", "max_length_seconds": 3601}
		}, numRoute + ".no_answer.max_length_seconds"},
		{"message too long", func(r map[string]any) {
			route(r)["no_answer"] = map[string]any{"action": "message", "message": strings.Repeat("m", 1001)}
		}, numRoute + ".no_answer.message"},
		{"default route 11 clients", func(r map[string]any) { defaultRoute(r)["clients"] = clients(11) }, "incoming.default.clients"},
		{"default route ring_seconds 0", func(r map[string]any) { defaultRoute(r)["ring_seconds"] = 0 }, "incoming.default.ring_seconds"},
		{"default route bad forward_to", func(r map[string]any) {
			defaultRoute(r)["no_answer"] = map[string]any{"action": "forward", "forward_to": "+0000"}
		}, "incoming.default.no_answer.forward_to"},
		// Wrong JSON types are reported for the whole document.
		{"auth_token wrong type", func(r map[string]any) { r["auth_token"] = 12345 }, "(document)"},
		{"ttl is a string holding a secret", func(r map[string]any) { r["token_ttl_seconds"] = testKeySecret }, "(document)"},
		{"clients wrong type", func(r map[string]any) { route(r)["clients"] = testBearer }, "(document)"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			rec := validRecord()
			tc.edit(rec)
			tn, err := Parse(mustJSON(t, rec))
			if err == nil {
				t.Fatalf("Parse succeeded, want an error naming %s", tc.field)
			}
			if tn != nil {
				t.Errorf("Parse returned a tenant with its error: %+v", tn)
			}
			var fe *FieldError
			if !errors.As(err, &fe) {
				t.Fatalf("error %v (%T) is not a *FieldError", err, err)
			}
			if fe.Field != tc.field {
				t.Errorf("Field = %q, want %q (error: %v)", fe.Field, tc.field, err)
			}
			assertNoSecret(t, err.Error())
		})
	}
}

func TestParseBadDocument(t *testing.T) {
	tests := []struct {
		name string
		data string
	}{
		{"empty", ""},
		{"not an object", `[1,2]`},
		{"truncated", `{"account_sid":"AC0123456789abcdef0123456789abcdef","auth_token":"` + testAuthToken},
		{"syntax error after a secret", `{"auth_token":"` + testAuthToken + `" "api_key_secret":"` + testKeySecret + `"}`},
		{"string", `"` + testKeySecret + `"`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			tn, err := Parse([]byte(tc.data))
			if err == nil || tn != nil {
				t.Fatalf("Parse = %v, %v; want nil and an error", tn, err)
			}
			var fe *FieldError
			if !errors.As(err, &fe) || fe.Field != "(document)" {
				t.Errorf("error %v: want a *FieldError for (document)", err)
			}
			assertNoSecret(t, err.Error())
		})
	}
}

func assertNoSecret(t *testing.T, text string) {
	t.Helper()
	for _, s := range testSecrets {
		if strings.Contains(text, s) {
			t.Errorf("error text %q contains the secret %q", text, s)
		}
	}
}

func TestValidators(t *testing.T) {
	tests := []struct {
		name string
		fn   func(string) bool
		in   string
		want bool
	}{
		{"identity simple", ValidIdentity, "alice", true},
		{"identity underscore digits", ValidIdentity, "user_42", true},
		{"identity 121", ValidIdentity, strings.Repeat("a", 121), true},
		{"identity 122", ValidIdentity, strings.Repeat("a", 122), false},
		{"identity empty", ValidIdentity, "", false},
		{"identity space", ValidIdentity, "a b", false},
		{"identity dash", ValidIdentity, "a-b", false},
		{"identity unicode", ValidIdentity, "jos\u00e9", false},
		{"identity client prefix", ValidIdentity, "client:alice", false},
		{"sid lower hex", ValidAccountSID, "AC0123456789abcdef0123456789abcdef", true},
		{"sid upper hex", ValidAccountSID, "AC0123456789ABCDEF0123456789ABCDEF", false},
		{"sid one upper hex digit", ValidAccountSID, "AC0123456789abcdef0123456789abcdeF", false},
		{"sid the index secret", ValidAccountSID, IndexSecretName, false},
		{"sid lowercase prefix", ValidAccountSID, "ac0123456789abcdef0123456789abcdef", false},
		{"sid 35", ValidAccountSID, "AC0123456789abcdef0123456789abcdef0", false},
		{"sid empty", ValidAccountSID, "", false},
		{"e164 us", ValidE164, "+14155550100", true},
		{"e164 shortest", ValidE164, "+12", true},
		{"e164 15 digits", ValidE164, "+123456789012345", true},
		{"e164 16 digits", ValidE164, "+1234567890123456", false},
		{"e164 leading zero", ValidE164, "+04155550100", false},
		{"e164 no plus", ValidE164, "14155550100", false},
		{"e164 letters", ValidE164, "+1415555O100", false},
		{"e164 plus only", ValidE164, "+", false},
		{"e164 empty", ValidE164, "", false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := tc.fn(tc.in); got != tc.want {
				t.Errorf("(%q) = %v, want %v", tc.in, got, tc.want)
			}
		})
	}
}

func TestContext(t *testing.T) {
	if FromContext(context.Background()) != nil {
		t.Error("FromContext of an empty context is not nil")
	}
	tn := &Tenant{AccountSID: "AC0123456789abcdef0123456789abcdef"}
	if got := FromContext(NewContext(context.Background(), tn)); got != tn {
		t.Errorf("FromContext = %p, want %p", got, tn)
	}
}

func BenchmarkParse(b *testing.B) {
	data := mustJSON(b, validRecord())
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Parse(data); err != nil {
			b.Fatal(err)
		}
	}
}
