package tenant

import (
	"context"
	"encoding/json"
	"errors"
	"slices"
	"strings"
	"testing"
	"time"
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

// hours gives the first incoming number's route opening hours (Mon-Fri
// 09:00-17:30 and Sat 10:00-14:00 in New York) and returns them for
// editing.
func hours(rec map[string]any) map[string]any {
	h := map[string]any{
		"time_zone": "America/New_York",
		"open": []any{
			map[string]any{"days": []any{"mon", "tue", "wed", "thu", "fri"}, "from": "09:00", "to": "17:30"},
			map[string]any{"days": []any{"sat"}, "from": "10:00", "to": "14:00"},
		},
	}
	if got, ok := route(rec)["hours"].(map[string]any); ok {
		return got
	}
	route(rec)["hours"] = h
	return h
}

// interval gives interval i of hours(rec) for editing.
func interval(rec map[string]any, i int) map[string]any {
	return hours(rec)["open"].([]any)[i].(map[string]any)
}

func clients(n int) []any {
	out := make([]any, n)
	for i := range out {
		out[i] = "agent_" + strings.Repeat("x", i+1)
	}
	return out
}

const numRoute = `incoming.numbers["+14155550100"]`

func TestParseHoldMusic(t *testing.T) {
	r := validRecord()
	r["hold_music_url"] = "https://cdn.example.com/music/hold.mp3?v=2"
	tn, err := Parse(mustJSON(t, r))
	if err != nil || tn.HoldMusicURL != "https://cdn.example.com/music/hold.mp3?v=2" {
		t.Fatalf("Parse = %+v, %v", tn, err)
	}
	if tn, _ := Parse(mustJSON(t, validRecord())); tn.HoldMusicURL != "" {
		t.Errorf("absent hold_music_url = %q, want empty (Twilio's default)", tn.HoldMusicURL)
	}
}

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

func TestParseRouting(t *testing.T) {
	rec := validRecord()
	rec["outbound"].(map[string]any)["allowed_number_types"] = []any{"mobile", "personal"}
	r := route(rec)
	r["label"] = "Sales line \u00e9 <EU>"
	r["then_number"] = "+14155550197"
	hours(rec)["closed_dates"] = []any{"2026-12-25", "2027-01-01"}
	defaultRoute(rec)["hours"] = map[string]any{"time_zone": "UTC", "open": []any{map[string]any{"days": []any{"sun"}, "from": "00:00", "to": "24:00"}}}
	defaultRoute(rec)["closed"] = map[string]any{"action": "voicemail", "message": "Closed."}
	tn, err := Parse(mustJSON(t, rec))
	if err != nil {
		t.Fatalf("Parse: %v", err)
	}
	o := tn.Outbound
	for typ, want := range map[string]bool{"mobile": true, "personal": true, "fixed_line": false, "toll_free": false, "premium_rate": false} {
		if got := o.NumberTypeAllowed(typ); got != want {
			t.Errorf("NumberTypeAllowed(%s) = %v, want %v", typ, got, want)
		}
	}
	num := tn.RouteFor("+14155550100")
	if num.Label != "Sales line \u00e9 <EU>" || num.ThenNumber != "+14155550197" || num.Hours == nil {
		t.Errorf("route %+v", num)
	}
	if num.Closed == nil || num.Closed.Action != ActionMessage {
		t.Errorf("closed step of a route with hours and no closed: %+v, want the default message step", num.Closed)
	}
	def := tn.Incoming.Default
	if def.Closed == nil || def.Closed.Action != ActionVoicemail || def.Closed.MaxLengthSeconds != DefaultVoicemailSeconds {
		t.Errorf("closed voicemail %+v, want the default length filled in", def.Closed)
	}
	if def.ThenNumber != "" || def.Label != "" {
		t.Errorf("default route gained %q %q", def.ThenNumber, def.Label)
	}
	// Absent: everything default.
	tn, err = Parse(mustJSON(t, validRecord()))
	if err != nil {
		t.Fatal(err)
	}
	for _, typ := range NumberTypes {
		want := slices.Contains(DefaultNumberTypes, typ)
		if got := tn.Outbound.NumberTypeAllowed(typ); got != want {
			t.Errorf("default NumberTypeAllowed(%s) = %v, want %v", typ, got, want)
		}
	}
	if r := tn.RouteFor("+14155550100"); r.Hours != nil || r.Closed != nil || !r.Hours.OpenAt(time.Now()) {
		t.Errorf("route without hours: %+v, want always open", r)
	}
}

// TestParseScreen checks screen: absent or true screens, false does not,
// and a route that dials a phone only in its closed step may set it.
func TestParseScreen(t *testing.T) {
	tests := []struct {
		name string
		edit func(map[string]any)
		want bool
	}{
		{"absent", func(map[string]any) {}, true},
		{"true", func(r map[string]any) { route(r)["screen"] = true }, true},
		{"false", func(r map[string]any) { route(r)["screen"] = false }, false},
		{"false with then_number", func(r map[string]any) {
			route(r)["screen"] = false
			route(r)["then_number"] = "+14155550197"
			route(r)["no_answer"] = map[string]any{"action": "voicemail"}
		}, false},
		{"false with a closed forward", func(r map[string]any) {
			route(r)["screen"] = false
			route(r)["no_answer"] = map[string]any{"action": "voicemail"}
			hours(r)
			route(r)["closed"] = map[string]any{"action": "forward", "forward_to": "+14155550199"}
		}, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			rec := validRecord()
			tc.edit(rec)
			tn, err := Parse(mustJSON(t, rec))
			if err != nil {
				t.Fatal(err)
			}
			if got := tn.RouteFor("+14155550100").Screens(); got != tc.want {
				t.Errorf("Screens() = %v, want %v", got, tc.want)
			}
		})
	}
}

// TestParseTranscribe checks what is transcribed, in which language.
func TestParseTranscribe(t *testing.T) {
	rec := validRecord()
	rec["record_calls"] = true
	rec["transcribe"] = map[string]any{"voicemail": true, "calls": true, "language": "es-US"}
	route(rec)["transcribe_language"] = "fr-CA"
	tn, err := Parse(mustJSON(t, rec))
	if err != nil {
		t.Fatal(err)
	}
	for typ, want := range map[string]bool{EventVoicemailRecorded: true, EventCallRecorded: true, EventCallCompleted: false, "": false} {
		if got := tn.Transcribes(typ); got != want {
			t.Errorf("Transcribes(%q) = %v, want %v", typ, got, want)
		}
	}
	if got := tn.TranscriptLanguage("+14155550100"); got != "fr-CA" {
		t.Errorf("route's language %q", got)
	}
	if got := tn.TranscriptLanguage("+14155550999"); got != "es-US" {
		t.Errorf("default route's language %q", got)
	}
	defaultRoute(rec)["transcribe_language"] = "de-DE"
	if tn, err = Parse(mustJSON(t, rec)); err != nil {
		t.Fatal(err)
	}
	if got := tn.TranscriptLanguage("+14155550999"); got != "de-DE" {
		t.Errorf("default route's own language %q", got)
	}
	if got := tn.TranscriptLanguage(""); got != "es-US" {
		t.Errorf("a browser's call: %q, want the tenant's language", got)
	}

	rec = validRecord()
	rec["transcribe"] = map[string]any{"voicemail": true}
	if tn, err = Parse(mustJSON(t, rec)); err != nil {
		t.Fatal(err)
	}
	if !tn.Transcribes(EventVoicemailRecorded) || tn.Transcribes(EventCallRecorded) || tn.TranscriptLanguage("+14155550100") != "" {
		t.Errorf("voicemail only, language auto: %+v", tn.Transcribe)
	}
	rec["transcribe"] = map[string]any{"voicemail": true, "language": "auto"}
	if tn, err = Parse(mustJSON(t, rec)); err != nil || tn.TranscriptLanguage("+14155550100") != "" {
		t.Errorf("auto: %v %q", err, tn.TranscriptLanguage("+14155550100"))
	}
	if tn, err = Parse(mustJSON(t, validRecord())); err != nil || tn.Transcribes(EventVoicemailRecorded) {
		t.Errorf("absent transcribe transcribes: %v", err)
	}
	for recorded, want := range map[string]string{EventVoicemailRecorded: EventVoicemailTranscribed, EventCallRecorded: EventCallTranscribed, EventCallMissed: ""} {
		if got := TranscribedType(recorded); got != want {
			t.Errorf("TranscribedType(%s) = %q, want %q", recorded, got, want)
		}
		if want != "" && RecordedType(want) != recorded {
			t.Errorf("RecordedType(%s) = %q, want %q", want, RecordedType(want), recorded)
		}
	}
	if RecordedType(EventVoicemailRecorded) != "" {
		t.Error("a recording is its own transcript's recording")
	}
}

// TestForwardTargets checks numbers that are not the tenant's own may be
// forward and backup targets, whatever they are.
func TestForwardTargets(t *testing.T) {
	rec := validRecord()
	route(rec)["then_number"] = "+14155550199" // the same as forward_to: one backup phone
	defaultRoute(rec)["no_answer"] = map[string]any{"action": "forward", "forward_to": "+442071838751"}
	defaultRoute(rec)["then_number"] = "+19002345678" // refused when dialled, not when loaded
	if _, err := Parse(mustJSON(t, rec)); err != nil {
		t.Fatal(err)
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
		{"hold_music_url http", func(r map[string]any) { r["hold_music_url"] = "http://example.com/hold.mp3" }, "hold_music_url"},
		{"hold_music_url relative", func(r map[string]any) { r["hold_music_url"] = "/hold.mp3" }, "hold_music_url"},
		{"hold_music_url with user", func(r map[string]any) { r["hold_music_url"] = "https://u:p@example.com/hold.mp3" }, "hold_music_url"},
		{"hold_music_url too long", func(r map[string]any) { r["hold_music_url"] = "https://example.com/" + strings.Repeat("a", 1000) }, "hold_music_url"},
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
		// Number types.
		{"allowed_number_types unknown", func(r map[string]any) {
			r["outbound"].(map[string]any)["allowed_number_types"] = []any{"mobile", "satellite"}
		}, "outbound.allowed_number_types[1]"},
		{"allowed_number_types premium_rate", func(r map[string]any) {
			r["outbound"].(map[string]any)["allowed_number_types"] = []any{"premium_rate"}
		}, "outbound.allowed_number_types[0]"},
		{"allowed_number_types shared_cost", func(r map[string]any) {
			r["outbound"].(map[string]any)["allowed_number_types"] = []any{"fixed_line", "shared_cost"}
		}, "outbound.allowed_number_types[1]"},
		{"allowed_number_types upper case", func(r map[string]any) {
			r["outbound"].(map[string]any)["allowed_number_types"] = []any{"MOBILE"}
		}, "outbound.allowed_number_types[0]"},

		// Forwarding loops.
		{"forward_to the route's own number", func(r map[string]any) {
			route(r)["no_answer"] = map[string]any{"action": "forward", "forward_to": "+14155550100"}
		}, numRoute + ".no_answer.forward_to"},
		{"forward_to another routed number", func(r map[string]any) {
			r["incoming"].(map[string]any)["numbers"].(map[string]any)["+14155550111"] = map[string]any{"clients": []any{"bob"}}
			route(r)["no_answer"] = map[string]any{"action": "forward", "forward_to": "+14155550111"}
		}, numRoute + ".no_answer.forward_to"},
		{"forward_to caller_id", func(r map[string]any) {
			r["caller_id"] = "+14155550142"
			route(r)["no_answer"] = map[string]any{"action": "forward", "forward_to": "+14155550142"}
		}, numRoute + ".no_answer.forward_to"},
		{"forward_to one of caller_ids", func(r map[string]any) {
			route(r)["no_answer"] = map[string]any{"action": "forward", "forward_to": "+442071838750"}
		}, numRoute + ".no_answer.forward_to"},
		{"default route forward_to a routed number", func(r map[string]any) {
			defaultRoute(r)["no_answer"] = map[string]any{"action": "forward", "forward_to": "+14155550100"}
		}, "incoming.default.no_answer.forward_to"},

		// Label.
		{"label too long", func(r map[string]any) { route(r)["label"] = strings.Repeat("\u00e9", 101) }, numRoute + ".label"},
		{"label control character", func(r map[string]any) { route(r)["label"] = "Sales\nline" }, numRoute + ".label"},

		// Backup phone.
		{"then_number national format", func(r map[string]any) { route(r)["then_number"] = "(415) 555-0197" }, numRoute + ".then_number"},
		{"then_number the route's own number", func(r map[string]any) { route(r)["then_number"] = "+14155550100" }, numRoute + ".then_number"},
		{"then_number a caller ID", func(r map[string]any) { defaultRoute(r)["then_number"] = "+14155550101" }, "incoming.default.then_number"},

		// Screening.
		{"screen on a route that dials no phone", func(r map[string]any) { defaultRoute(r)["screen"] = true }, "incoming.default.screen"},
		{"screen false on a route that dials no phone", func(r map[string]any) { defaultRoute(r)["screen"] = false }, "incoming.default.screen"},
		{"screen wrong type", func(r map[string]any) { route(r)["screen"] = "yes" }, "(document)"},

		// Transcripts.
		{"transcribe calls without record_calls", func(r map[string]any) { r["transcribe"] = map[string]any{"calls": true} }, "transcribe.calls"},
		{"transcribe language lower case region", func(r map[string]any) { r["transcribe"] = map[string]any{"voicemail": true, "language": "en-us"} }, "transcribe.language"},
		{"transcribe language a name", func(r map[string]any) { r["transcribe"] = map[string]any{"voicemail": true, "language": "English"} }, "transcribe.language"},
		{"transcribe wrong type", func(r map[string]any) { r["transcribe"] = true }, "(document)"},
		{"route transcribe_language", func(r map[string]any) { route(r)["transcribe_language"] = "en_US" }, numRoute + ".transcribe_language"},

		// Opening hours.
		{"closed without hours", func(r map[string]any) { route(r)["closed"] = map[string]any{"action": "message"} }, numRoute + ".closed"},
		{"hours without time_zone", func(r map[string]any) { delete(hours(r), "time_zone") }, numRoute + ".hours.time_zone"},
		{"hours unknown time_zone", func(r map[string]any) { hours(r)["time_zone"] = "Europe/Atlantis" }, numRoute + ".hours.time_zone"},
		{"hours time_zone Local", func(r map[string]any) { hours(r)["time_zone"] = "Local" }, numRoute + ".hours.time_zone"},
		{"hours time_zone path", func(r map[string]any) { hours(r)["time_zone"] = "../../etc/passwd" }, numRoute + ".hours.time_zone"},
		{"hours time_zone offset", func(r map[string]any) { hours(r)["time_zone"] = "+01:00" }, numRoute + ".hours.time_zone"},
		{"hours without open", func(r map[string]any) { delete(hours(r), "open") }, numRoute + ".hours.open"},
		{"hours too many intervals", func(r map[string]any) {
			iv := map[string]any{"days": []any{"mon"}, "from": "09:00", "to": "10:00"}
			hours(r)["open"] = slices.Repeat([]any{iv}, 51)
		}, numRoute + ".hours.open"},
		{"interval without days", func(r map[string]any) { interval(r, 1)["days"] = []any{} }, numRoute + ".hours.open[1].days"},
		{"interval bad day", func(r map[string]any) { interval(r, 1)["days"] = []any{"sat", "Sunday"} }, numRoute + ".hours.open[1].days[1]"},
		{"interval from without zero", func(r map[string]any) { interval(r, 0)["from"] = "9:00" }, numRoute + ".hours.open[0].from"},
		{"interval from 24:00", func(r map[string]any) { interval(r, 0)["from"] = "24:00" }, numRoute + ".hours.open[0].from"},
		{"interval from 12:60", func(r map[string]any) { interval(r, 0)["from"] = "12:60" }, numRoute + ".hours.open[0].from"},
		{"interval from with seconds", func(r map[string]any) { interval(r, 0)["from"] = "09:00:00" }, numRoute + ".hours.open[0].from"},
		{"interval to before from", func(r map[string]any) { interval(r, 0)["to"] = "08:00" }, numRoute + ".hours.open[0].to"},
		{"interval to equal to from", func(r map[string]any) { interval(r, 0)["to"] = "09:00" }, numRoute + ".hours.open[0].to"},
		{"interval across midnight", func(r map[string]any) { interval(r, 0)["from"], interval(r, 0)["to"] = "22:00", "06:00" }, numRoute + ".hours.open[0].to"},
		{"interval to 24:01", func(r map[string]any) { interval(r, 0)["to"] = "24:01" }, numRoute + ".hours.open[0].to"},
		{"interval to missing", func(r map[string]any) { delete(interval(r, 0), "to") }, numRoute + ".hours.open[0].to"},
		{"closed_dates bad", func(r map[string]any) { hours(r)["closed_dates"] = []any{"2026-12-25", "2026-2-3"} }, numRoute + ".hours.closed_dates[1]"},
		{"closed_dates no such day", func(r map[string]any) { hours(r)["closed_dates"] = []any{"2026-02-30"} }, numRoute + ".hours.closed_dates[0]"},
		{"closed_dates with a time", func(r map[string]any) { hours(r)["closed_dates"] = []any{"2026-12-25T00:00:00Z"} }, numRoute + ".hours.closed_dates[0]"},
		{"closed_dates too many", func(r map[string]any) { hours(r)["closed_dates"] = slices.Repeat([]any{"2026-12-25"}, 501) }, numRoute + ".hours.closed_dates"},
		{"closed bad action", func(r map[string]any) { hours(r); route(r)["closed"] = map[string]any{"action": "ring"} }, numRoute + ".closed.action"},
		{"closed forward loop", func(r map[string]any) {
			hours(r)
			route(r)["closed"] = map[string]any{"action": "forward", "forward_to": "+14155550100"}
		}, numRoute + ".closed.forward_to"},
		{"closed voicemail too long", func(r map[string]any) {
			hours(r)
			route(r)["closed"] = map[string]any{"action": "voicemail", "max_length_seconds": 3601}
		}, numRoute + ".closed.max_length_seconds"},
		{"closed message too long", func(r map[string]any) {
			hours(r)
			route(r)["closed"] = map[string]any{"message": strings.Repeat("m", 1001)}
		}, numRoute + ".closed.message"},

		{"status unknown", func(r map[string]any) { r["status"] = "closed" }, "status"},
		{"suspended_at not RFC 3339", func(r map[string]any) { r["status"], r["suspended_at"] = "suspended", "yesterday" }, "suspended_at"},
		// Wrong JSON types are reported for the whole document.
		{"auth_token wrong type", func(r map[string]any) { r["auth_token"] = 12345 }, "(document)"},
		{"ttl is a string holding a secret", func(r map[string]any) { r["token_ttl_seconds"] = testKeySecret }, "(document)"},
		{"clients wrong type", func(r map[string]any) { route(r)["clients"] = testBearer }, "(document)"},
		{"hours wrong type", func(r map[string]any) { route(r)["hours"] = "9 to 5" }, "(document)"},
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

func TestParseStatus(t *testing.T) {
	for _, tc := range []struct {
		status    any // nil: absent
		suspended bool
	}{{nil, false}, {"active", false}, {"suspended", true}} {
		rec := validRecord()
		if tc.status != nil {
			rec["status"] = tc.status
			rec["suspended_at"] = "2026-01-02T03:04:05Z"
		}
		tn, err := Parse(mustJSON(t, rec))
		if err != nil || tn.Suspended() != tc.suspended {
			t.Errorf("status %v: err %v, Suspended() = %v", tc.status, err, tn != nil && tn.Suspended())
		}
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

func TestOpenAt(t *testing.T) {
	rec := validRecord()
	hours(rec)["closed_dates"] = []any{"2026-12-25"}
	defaultRoute(rec)["hours"] = map[string]any{
		"time_zone": "Europe/London",
		"open": []any{
			map[string]any{"days": []any{"mon", "tue", "wed", "thu", "fri"}, "from": "08:00", "to": "24:00"},
			map[string]any{"days": []any{"sat", "sun"}, "from": "00:00", "to": "02:00"},
		},
	}
	tn, err := Parse(mustJSON(t, rec))
	if err != nil {
		t.Fatal(err)
	}
	ny, london := tn.RouteFor("+14155550100").Hours, tn.Incoming.Default.Hours
	tests := []struct {
		name  string
		hours *Hours
		at    string
		want  bool
	}{
		// New York: EST (UTC-5) until 8 March 2026 02:00, then EDT (UTC-4).
		{"winter opening", ny, "2026-01-05T14:00:00Z", true},
		{"winter a second before", ny, "2026-01-05T13:59:59Z", false},
		{"summer opening", ny, "2026-07-06T13:00:00Z", true},
		{"summer a second before", ny, "2026-07-06T12:59:59Z", false},
		{"summer closing is closed", ny, "2026-07-06T21:30:00Z", false},
		{"summer last minute", ny, "2026-07-06T21:29:59Z", true},
		{"first weekday of daylight saving", ny, "2026-03-09T13:00:00Z", true},
		{"last weekday before daylight saving", ny, "2026-03-06T13:00:00Z", false},
		{"friday", ny, "2026-07-10T20:00:00Z", true},
		{"saturday morning", ny, "2026-07-11T14:00:00Z", true},
		{"saturday afternoon", ny, "2026-07-11T18:00:00Z", false},
		{"sunday", ny, "2026-07-12T15:00:00Z", false},
		{"monday in UTC, sunday in New York", ny, "2026-07-13T02:00:00Z", false},
		{"closed date", ny, "2026-12-25T15:00:00Z", false},
		{"closed date is local: 24 Dec evening in New York", ny, "2026-12-24T22:00:00Z", true},
		{"closed date is local: 25 Dec in UTC, 24 Dec in New York", ny, "2026-12-25T01:00:00Z", false},
		{"the day after a closed date", ny, "2026-12-28T15:00:00Z", true},
		{"another time zone's instant", ny, "2026-07-06T15:00:00+02:00", true},
		// London: GMT until 29 March 2026 01:00 UTC, then BST (UTC+1).
		{"to 24:00 includes 23:59", london, "2026-07-06T22:59:59Z", true},
		{"to 24:00 excludes midnight", london, "2026-07-06T23:00:00Z", false},
		{"winter 08:00", london, "2026-01-05T08:00:00Z", true},
		{"summer 07:30 local", london, "2026-07-06T06:30:00Z", false},
		{"weekend night", london, "2026-07-11T00:30:00Z", true},
		{"spring forward night: 00:59 GMT", london, "2026-03-29T00:59:00Z", true},
		{"spring forward night: 02:00 BST", london, "2026-03-29T01:00:00Z", false},
		{"fall back night: 01:30 BST", london, "2026-10-25T00:30:00Z", true},
		{"fall back night: 01:30 GMT", london, "2026-10-25T01:30:00Z", true},
		{"fall back night: 02:00 GMT", london, "2026-10-25T02:00:00Z", false},
		// Hours not built by Parse.
		{"nil hours", nil, "2026-07-12T15:00:00Z", true},
		{"hand-built hours", &Hours{TimeZone: "UTC"}, "2026-07-12T15:00:00Z", true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			at, err := time.Parse(time.RFC3339, tc.at)
			if err != nil {
				t.Fatal(err)
			}
			if got := tc.hours.OpenAt(at); got != tc.want {
				t.Errorf("OpenAt(%s) = %v, want %v", tc.at, got, tc.want)
			}
		})
	}
}

// TestZoneForm checks the form a zone name must have where the binary has
// no zone database (the token function), and that every real zone has it.
func TestZoneForm(t *testing.T) {
	for _, ok := range []string{"Europe/London", "America/Argentina/Buenos_Aires", "Etc/GMT+5", "UTC", "America/Port-au-Prince"} {
		if !zoneName.MatchString(ok) {
			t.Errorf("%q does not have a zone name's form", ok)
		}
	}
	for _, bad := range []string{"", "/etc/passwd", "../x", "Europe//London", "Europe/London ", "Europe/Lon don"} {
		if zoneName.MatchString(bad) {
			t.Errorf("%q has a zone name's form", bad)
		}
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
