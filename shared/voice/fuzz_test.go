package voice_test

import (
	"encoding/json"
	"encoding/xml"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/nyaruka/phonenumbers"

	"bubble-twilio-voice/shared/tenant"
	"bubble-twilio-voice/shared/voice"
)

// FuzzOutgoing reads arbitrary dialled strings under arbitrary outbound
// policies and routes. Outgoing, Incoming and DialComplete (whose forward
// and backup phone go through the same policy) must never panic, and a Dial
// decision's number must always be E.164, valid, in an allowed country, not
// under a blocked prefix, not premium rate or shared cost, of an allowed
// number type and not an emergency number; a client Dial must ring a valid
// identity only when client calls are allowed; the caller ID must be the
// tenant's; an emergency number is refused as one; ringing browsers are
// told the caller, the called number and the route's label.
func FuzzOutgoing(f *testing.F) {
	type seed struct {
		to, from, callerID, region, allowed, blocked, forward string
		types, then, label, zone, leg                         string
		now                                                   int64
	}
	seeds := []seed{
		{"+14155550123", "client:alice", "", "US", "US,CA", "+1900", "+14155550199", "", "", "", "", "", 0},
		{"(415) 555-0123", "client:alice", "+14155550101", "US", "", "", "+19002345678", "mobile", "+14155550197", "Sales", "America/New_York", "clients", 1783342800},
		{"1-800-FLOWERS", "client:bob_2", "", "US", "US", "+1800", "", "fixed_line,mobile", "", "", "", "", 0},
		{"+19002345678", "client:alice", "", "US", "US", "", "", "", "+19002345678", "", "", "clients", 0},
		{"+442071838750", "client:alice", "", "GB", "GB,US", "+4470", "+442071838751", "", "+447012345678", "L\u00e9a's line", "Europe/London", "clients", 1767225600},
		{"+447012345678", "client:alice", "", "GB", "GB", "", "", "personal,uan,pager,voip,voicemail", "+447640123456", "", "", "clients", 0},
		{"+445512345678", "client:alice", "", "GB", "GB,DE", "", "+49177991234567", "voicemail", "", "", "UTC", "", -62135596800},
		{"09065 123456", "client:alice", "", "GB", "GB", "", "+449065123456", "", "", "", "", "", 0},
		{"+80012345678", "client:alice", "", "US", "", "", "+80012345678", "", "", "", "", "", 0},
		{"+16135550123", "client:alice", "+14155550999", "CA", "CA", "", "", "", "", "", "", "", 0},
		{"911", "client:alice", "", "US", "", "", "", "", "", "", "", "", 0},
		{"999", "client:alice", "+14155550999", "GB", "GB", "", "", "", "", "", "", "", 0},
		{"*112#", "client:alice", "", "DE", "DE,FR", "", "", "", "", "", "Europe/Berlin", "", 0},
		{"000", "client:alice", "", "AU", "", "", "", "", "", "", "Australia/Sydney", "", 1783342800},
		{"client:carol", "client:alice", "", "US", "", "", "", "", "", "", "", "", 0},
		{"dave", "client:alice", "", "US", "", "", "", "", "", "", "", "", 0},
		{"123", "client:alice", "", "US", "", "", "", "", "", "", "", "", 0},
		{"+1 415 555 0123 x12", "", "", "US", "", "", "", "", "", "", "", "", 0},
		{"+14155550100", "+13105550142", "", "US", "", "", "", "", "+14155550196", "Support", "Asia/Tokyo", "", 1783342800},
		{"  +33 1 23 45 67 89  ", "client:a", "", "FR", "FR", "+331", "+33123456789", "uan", "+33806123456", "", "Local", "", 0},
		{"+4 4", "client:\x00", "", "ZZ", "XX", "+", "", "premium_rate", "", "\x00", "Mars/Olympus", "", 0},
	}
	for _, s := range seeds {
		f.Add(s.to, s.from, s.callerID, s.region, s.allowed, s.blocked, s.forward, s.types, s.then, s.label, s.zone, s.leg, s.now, false)
	}
	base := fuzzTenant(f, fuzzPolicy{region: "US", allowed: "US,CA", blocked: "+1900", forward: "+14155550199", clientCalls: true})
	if base == nil {
		f.Fatal("the base tenant does not parse")
	}

	f.Fuzz(func(t *testing.T, to, from, callerID, region, allowed, blocked, forward, types, then, label, zone, leg string, now int64, noClientCalls bool) {
		tenants := []*tenant.Tenant{base}
		p := fuzzPolicy{region, allowed, blocked, forward, types, then, label, zone, !noClientCalls}
		if tn := fuzzTenant(t, p); tn != nil {
			tenants = append(tenants, tn)
		}
		at := time.Unix(now, 0)
		for _, tn := range tenants {
			c := voice.Call{AccountSID: tn.AccountSID, From: from, To: to, CallerID: callerID, Now: at}
			d := rules.Outgoing(c, tn)
			checkDecision(t, tn, d, "Outgoing("+to+")")
			checkEmergency(t, tn, c, d)
			if from == "" || !strings.HasPrefix(from, "client:") {
				checkDisplay(t, tn, c, d)
			}
			in := voice.Call{From: from, To: "+14155550100", Now: at}
			if strings.HasPrefix(from, "client:") && d.ScreenURL != "" {
				t.Fatalf("a browser's call to %q is screened: %+v", to, d)
			}
			d = rules.Incoming(in, tn)
			checkDecision(t, tn, d, "Incoming")
			checkDisplay(t, tn, in, d)
			checkScreen(t, d, voice.ClosedScreenAction, in)
			for _, status := range []string{"no-answer", "busy", "completed"} {
				for _, l := range []string{"", voice.LegClients, leg} {
					dc := voice.Call{From: from, To: "+14155550100", DialCallStatus: status, Leg: l, Now: at}
					d := rules.DialComplete(dc, tn)
					checkDecision(t, tn, d, "DialComplete leg "+l)
					checkScreen(t, d, voice.ScreenAction, dc)
					if len(d.Clients) != 0 {
						t.Fatalf("DialComplete rings browsers: %+v", d)
					}
					if d.Kind == voice.KindDial && d.Action != "" && (l != voice.LegClients || d.Action != voice.BackupCompleteAction) {
						t.Fatalf("DialComplete leg %q goes on to %q: only the clients leg may ring the backup phone", l, d.Action)
					}
				}
			}
		}
	})
}

// checkScreen: a phone a route dials (the fuzz tenants screen, the
// default) is dialled with a whisper at action whose signed query names
// the call's caller and called number, exactly; a browser is never
// screened.
func checkScreen(t *testing.T, d voice.Decision, action string, c voice.Call) {
	t.Helper()
	if d.Kind != voice.KindDial || d.Number == "" {
		if d.ScreenURL != "" {
			t.Fatalf("a screen without a number: %+v", d)
		}
		return
	}
	u, err := url.Parse(d.ScreenURL)
	if err != nil || u.Path != action {
		t.Fatalf("whisper %q, want a URL at %s (%v)", d.ScreenURL, action, err)
	}
	caller := c.From
	if caller == "" {
		caller = c.Caller
	}
	q := u.Query()
	if len(q) != 2 || q.Get("caller") != caller || q.Get("called") != c.To {
		t.Fatalf("whisper %q for a call from %q to %q", d.ScreenURL, caller, c.To)
	}
}

// fuzzPolicy is what FuzzOutgoing varies in a tenant record.
type fuzzPolicy struct {
	region, allowed, blocked, forward string
	types, then, label, zone          string
	clientCalls                       bool
}

// fuzzTenant parses a tenant with the given policy and a default route that
// forwards to forward on no answer, rings then as its backup phone, shows
// label, and when zone is set is open 09:00-17:00 on weekdays there,
// forwarding to forward when closed; nil when tenant.Parse refuses it.
func fuzzTenant(tb testing.TB, p fuzzPolicy) *tenant.Tenant {
	tb.Helper()
	split := func(s string) []string {
		if s == "" {
			return nil
		}
		return strings.Split(s, ",")
	}
	na := map[string]any{"action": "message"}
	if p.forward != "" {
		na = map[string]any{"action": "forward", "forward_to": p.forward}
	}
	route := map[string]any{"clients": []string{"alice"}, "no_answer": na, "label": p.label, "then_number": p.then}
	if p.zone != "" {
		route["hours"] = map[string]any{
			"time_zone": p.zone,
			"open":      []any{map[string]any{"days": []string{"mon", "tue", "wed", "thu", "fri"}, "from": "09:00", "to": "17:00"}},
		}
		route["closed"] = na
	}
	rec := map[string]any{
		"account_sid": "AC0123456789abcdef0123456789abcdef", "auth_token": "token",
		"api_key_sid": "SK0123456789abcdef0123456789abcdef", "api_key_secret": "secret",
		"twiml_app_sid": "AP0123456789abcdef0123456789abcdef",
		"caller_id":     "+14155550100", "caller_ids": []string{"+14155550101"},
		"token_api_keys": []string{"0123456789abcdef"},
		"default_region": p.region,
		"outbound": map[string]any{
			"allowed_countries": split(p.allowed), "blocked_prefixes": split(p.blocked),
			"allow_client_calls": p.clientCalls, "allowed_number_types": split(p.types),
		},
		"incoming": map[string]any{"default": route},
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
	if d.Kind == voice.KindDial && d.Refused() && (!strings.HasPrefix(what, "DialComplete") || d.Number == "") {
		// Only a skipped backup phone followed by a forward dials with a reason.
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
	typ := phonenumbers.GetNumberType(num)
	if !typeAllowed(tn.Outbound.AllowedNumberTypes, typ) {
		t.Fatalf("%s: dials %q of type %v, allowed %v", what, d.Number, typ, tn.Outbound.AllowedNumberTypes)
	}
}

// typeAllowed is the number-type rule of docs/tenant-record.md: premium rate and
// shared cost never; fixed line, mobile and toll free unless the tenant
// lists its own types; a number that may be either fixed line or mobile
// when one of them is allowed.
func typeAllowed(listed []string, typ phonenumbers.PhoneNumberType) bool {
	if len(listed) == 0 {
		listed = []string{"fixed_line", "mobile", "toll_free"}
	}
	names := map[phonenumbers.PhoneNumberType][]string{
		phonenumbers.FIXED_LINE:           {"fixed_line"},
		phonenumbers.MOBILE:               {"mobile"},
		phonenumbers.FIXED_LINE_OR_MOBILE: {"fixed_line", "mobile"},
		phonenumbers.TOLL_FREE:            {"toll_free"},
		phonenumbers.VOIP:                 {"voip"},
		phonenumbers.PERSONAL_NUMBER:      {"personal"},
		phonenumbers.UAN:                  {"uan"},
		phonenumbers.PAGER:                {"pager"},
		phonenumbers.VOICEMAIL:            {"voicemail"},
	}[typ]
	for _, n := range names {
		if slices.Contains(listed, n) {
			return true
		}
	}
	return false
}

// checkEmergency asserts that a browser's call to what its tenant's region
// calls an emergency number is refused as one, and that nothing dialled is
// an emergency number.
func checkEmergency(t *testing.T, tn *tenant.Tenant, c voice.Call, d voice.Decision) {
	t.Helper()
	to := strings.TrimSpace(c.To)
	emergency := phonenumbers.IsEmergencyNumber(to, tn.DefaultRegion)
	if d.Number != "" && emergency {
		t.Fatalf("dials %q for the emergency number %q", d.Number, to)
	}
	caller, ok := strings.CutPrefix(c.From, "client:")
	if c.From == "" {
		caller, ok = strings.CutPrefix(c.Caller, "client:")
	}
	clientTarget := strings.HasPrefix(to, "client:") || tenant.ValidIdentity(to) && strings.Trim(to, "0123456789") != ""
	if emergency && ok && tenant.ValidIdentity(caller) && !clientTarget && d.Reason != voice.ReasonEmergencyNumber {
		t.Fatalf("emergency number %q in %s: reason %q, want %q", to, tn.DefaultRegion, d.Reason, voice.ReasonEmergencyNumber)
	}
	if d.Reason == voice.ReasonEmergencyNumber && d.Say != voice.EmergencyMessage {
		t.Fatalf("emergency refusal says %q", d.Say)
	}
}

// checkDisplay asserts that browsers rung for an incoming call are told
// who calls on which line, and that a route with a backup phone comes back
// on the clients leg.
func checkDisplay(t *testing.T, tn *tenant.Tenant, c voice.Call, d voice.Decision) {
	t.Helper()
	if len(d.Clients) == 0 {
		return
	}
	route := tn.RouteFor(c.To)
	caller := c.From
	if caller == "" {
		caller = c.Caller
	}
	want := voice.Display{Caller: caller, Called: c.To, Label: route.Label}
	if d.Display != want {
		t.Fatalf("display %+v, want %+v", d.Display, want)
	}
	wantAction := voice.DialCompleteAction
	if route.ThenNumber != "" {
		wantAction = voice.DialCompleteClientsAction
	}
	if d.Action != wantAction {
		t.Fatalf("incoming action %q, want %q", d.Action, wantAction)
	}
	if route.Hours != nil && !c.Now.IsZero() && !route.Hours.OpenAt(c.Now) {
		t.Fatalf("rings browsers while closed at %v", c.Now)
	}
}

// FuzzScreen feeds the whisper steps what an outsider controls: the
// caller's number (From, which a caller can spoof), the called number and
// the key pressed. Screen must always gather one key for ScreenAnswerAction
// and say only the caller's digits, never other characters of it;
// ScreenAnswer must accept exactly ScreenDigit; both must render TwiML
// that parses.
func FuzzScreen(f *testing.F) {
	for _, s := range [][3]string{
		{"+12125550123", "+14155550106", "1"},
		{"anonymous", "+14155550110", "2"},
		{"", "", ""},
		{"<Say>&\"", "+1", "11"},
		{"client:alice", "+14155550999", "*"},
		{"\xff\x00+44 20 7183 8750", "x", "1 "},
	} {
		f.Add(s[0], s[1], s[2])
	}
	tn := mustTenant(f, base)
	digits := regexp.MustCompile(`[0-9]`)
	f.Fuzz(func(t *testing.T, caller, called, key string) {
		d := rules.Screen(voice.Call{Parent: voice.Display{Caller: caller, Called: called}, Digits: key}, tn)
		if d.Kind != voice.KindScreen || d.Action != voice.ScreenAnswerAction {
			t.Fatalf("Screen = %+v", d)
		}
		label := ""
		if r := tn.RouteFor(called); r != nil {
			label = r.Label
		}
		spelled := strings.Join(digits.FindAllString(caller, -1), ". ")
		if spelled == "" {
			spelled = "an unknown number"
		}
		on := ""
		if label != "" {
			on = " for " + label
		}
		if want := "You have a call" + on + " from " + spelled + ". Press 1 to accept."; d.Say != want {
			t.Fatalf("prompt %q for caller %q, want %q", d.Say, caller, want)
		}
		a := rules.ScreenAnswer(voice.Call{Digits: key}, tn)
		if (a.Kind == voice.KindAccept) != (key == voice.ScreenDigit) || (a.Kind != voice.KindAccept && a.Kind != voice.KindHangup) {
			t.Fatalf("ScreenAnswer(%q) = %v", key, a.Kind)
		}
		for _, dec := range []voice.Decision{d, a} {
			if err := xml.Unmarshal(dec.AppendTwiML(nil), new(struct{ XMLName xml.Name })); err != nil {
				t.Fatalf("TwiML does not parse: %v", err)
			}
		}
	})
}
