package voice_test

import (
	"encoding/json"
	"regexp"
	"strings"
	"testing"

	"github.com/nyaruka/phonenumbers"

	"bubble-twilio-voice/shared/tenant"
	"bubble-twilio-voice/shared/voice"
)

// FuzzOutgoing reads arbitrary dialled strings under arbitrary outbound
// policies. Outgoing (and DialComplete's forward, which goes through the
// same policy) must never panic, and a Dial decision's number must always
// be E.164, valid, in an allowed country, not under a blocked prefix, and
// not premium rate or shared cost; a client Dial must ring a valid identity
// only when client calls are allowed; the caller ID must be the tenant's.
func FuzzOutgoing(f *testing.F) {
	seeds := []struct{ to, from, callerID, region, allowed, blocked, forward string }{
		{"+14155550123", "client:alice", "", "US", "US,CA", "+1900", "+14155550199"},
		{"(415) 555-0123", "client:alice", "+14155550101", "US", "", "", "+19002345678"},
		{"1-800-FLOWERS", "client:bob_2", "", "US", "US", "+1800", ""},
		{"+19002345678", "client:alice", "", "US", "US", "", ""},
		{"+442071838750", "client:alice", "", "GB", "GB,US", "+4470", "+442071838750"},
		{"09065 123456", "client:alice", "", "GB", "GB", "", "+449065123456"},
		{"+80012345678", "client:alice", "", "US", "", "", "+80012345678"},
		{"+16135550123", "client:alice", "+14155550999", "CA", "CA", "", ""},
		{"client:carol", "client:alice", "", "US", "", "", ""},
		{"dave", "client:alice", "", "US", "", "", ""},
		{"123", "client:alice", "", "US", "", "", ""},
		{"+1 415 555 0123 x12", "", "", "US", "", "", ""},
		{"+14155550100", "+13105550142", "", "US", "", "", ""},
		{"  +33 1 23 45 67 89  ", "client:a", "", "FR", "FR", "+331", "+33123456789"},
		{"+4 4", "client:\x00", "", "ZZ", "XX", "+", ""},
	}
	for _, s := range seeds {
		f.Add(s.to, s.from, s.callerID, s.region, s.allowed, s.blocked, s.forward, false)
	}
	base := fuzzTenant(f, "US", "US,CA", "+1900", "+14155550199", true)
	if base == nil {
		f.Fatal("the base tenant does not parse")
	}

	f.Fuzz(func(t *testing.T, to, from, callerID, region, allowed, blocked, forward string, noClientCalls bool) {
		tenants := []*tenant.Tenant{base}
		if tn := fuzzTenant(t, region, allowed, blocked, forward, !noClientCalls); tn != nil {
			tenants = append(tenants, tn)
		}
		for _, tn := range tenants {
			d := voice.Outgoing(voice.Call{AccountSID: tn.AccountSID, From: from, To: to, CallerID: callerID}, tn)
			checkDecision(t, tn, d, "Outgoing("+to+")")
			for _, status := range []string{"no-answer", "busy"} {
				d := voice.DialComplete(voice.Call{To: "+14155550100", DialCallStatus: status}, tn)
				checkDecision(t, tn, d, "DialComplete forward")
			}
		}
	})
}

// fuzzTenant parses a tenant with the given policy and a default route that
// forwards to forward on no answer; nil when tenant.Parse refuses it.
func fuzzTenant(tb testing.TB, region, allowed, blocked, forward string, clientCalls bool) *tenant.Tenant {
	tb.Helper()
	split := func(s string) []string {
		if s == "" {
			return nil
		}
		return strings.Split(s, ",")
	}
	na := map[string]any{"action": "message"}
	if forward != "" {
		na = map[string]any{"action": "forward", "forward_to": forward}
	}
	rec := map[string]any{
		"account_sid": "AC0123456789abcdef0123456789abcdef", "auth_token": "token",
		"api_key_sid": "SK0123456789abcdef0123456789abcdef", "api_key_secret": "secret",
		"twiml_app_sid": "AP0123456789abcdef0123456789abcdef",
		"caller_id":     "+14155550100", "caller_ids": []string{"+14155550101"},
		"token_api_keys": []string{"0123456789abcdef"},
		"default_region": region,
		"outbound": map[string]any{
			"allowed_countries": split(allowed), "blocked_prefixes": split(blocked),
			"allow_client_calls": clientCalls,
		},
		"incoming": map[string]any{"default": map[string]any{"clients": []string{"alice"}, "no_answer": na}},
	}
	data, err := json.Marshal(rec)
	if err != nil {
		tb.Fatal(err)
	}
	tn, err := tenant.Parse(data)
	if err != nil {
		return nil
	}
	return tn
}

var e164 = regexp.MustCompile(`^\+[1-9][0-9]{1,14}$`)

// checkDecision asserts the outbound policy holds for d.
func checkDecision(t *testing.T, tn *tenant.Tenant, d voice.Decision, what string) {
	t.Helper()
	if d.Kind == voice.KindDial && d.Refused() {
		t.Fatalf("%s: a Dial with refusal reason %q", what, d.Reason)
	}
	if d.Kind != voice.KindDial {
		return
	}
	for _, c := range d.Clients {
		if !tenant.ValidIdentity(c) {
			t.Fatalf("%s: rings invalid identity %q", what, c)
		}
	}
	if d.Number == "" {
		if len(d.Clients) == 0 {
			t.Fatalf("%s: a Dial with neither number nor client: %+v", what, d)
		}
		if id, ok := strings.CutPrefix(d.CallerID, "client:"); ok {
			if !tenant.ValidIdentity(id) || !tn.Outbound.ClientCallsAllowed() {
				t.Fatalf("%s: client call from %q with client calls allowed=%v", what, d.CallerID, tn.Outbound.ClientCallsAllowed())
			}
		}
		return
	}
	if len(d.Clients) != 0 {
		t.Fatalf("%s: dials a number and clients at once: %+v", what, d)
	}
	if !e164.MatchString(d.Number) {
		t.Fatalf("%s: dials %q, not E.164", what, d.Number)
	}
	if d.CallerID != "" && !tn.OwnsCallerID(d.CallerID) {
		t.Fatalf("%s: presents caller ID %q the tenant does not own", what, d.CallerID)
	}
	num, err := phonenumbers.Parse(d.Number, "US")
	if err != nil || !phonenumbers.IsValidNumber(num) {
		t.Fatalf("%s: dials %q, not a valid number (%v)", what, d.Number, err)
	}
	if got := phonenumbers.Format(num, phonenumbers.E164); got != d.Number {
		t.Fatalf("%s: dials %q, which formats as %q", what, d.Number, got)
	}
	region := phonenumbers.GetRegionCodeForNumber(num)
	allowed := tn.Outbound.AllowedCountries
	if len(allowed) == 0 {
		allowed = []string{tn.DefaultRegion}
	}
	ok := false
	for _, r := range allowed {
		ok = ok || r == region
	}
	if !ok {
		t.Fatalf("%s: dials %q in region %q, allowed %v", what, d.Number, region, allowed)
	}
	for _, p := range tn.Outbound.BlockedPrefixes {
		if strings.HasPrefix(d.Number, p) {
			t.Fatalf("%s: dials %q under blocked prefix %q", what, d.Number, p)
		}
	}
	switch typ := phonenumbers.GetNumberType(num); typ {
	case phonenumbers.PREMIUM_RATE, phonenumbers.SHARED_COST:
		t.Fatalf("%s: dials %q of type %v", what, d.Number, typ)
	}
}
