package voice_test

import (
	"encoding/xml"
	"fmt"
	"net/url"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/nyaruka/phonenumbers"

	"bubble-twilio-voice/shared/phone"
	"bubble-twilio-voice/shared/tenant"
	"bubble-twilio-voice/shared/voice"
	"bubble-twilio-voice/test/kit"
)

// rules are the decisions as the voice and incoming functions wire them.
var rules = voice.Rules{Numbers: phone.Library{}}

// tenantJSON is a complete tenant record; extra is spliced in as further
// top-level fields (a later duplicate key wins in encoding/json).
func tenantJSON(extra string) string {
	return `{
		"account_sid": "AC0123456789abcdef0123456789abcdef",
		"auth_token": "token",
		"api_key_sid": "SK0123456789abcdef0123456789abcdef",
		"api_key_secret": "secret",
		"twiml_app_sid": "AP0123456789abcdef0123456789abcdef",
		"caller_id": "+14155550100",
		"caller_ids": ["+14155550101", "+14155550110"],
		"token_api_keys": ["0123456789abcdef"],
		"incoming": {
			"numbers": {
				"+14155550100": {"clients": ["alice"], "no_answer": {"action": "voicemail"}},
				"+14155550101": {
					"clients": ["c0", "c1", "c2", "c3", "c4", "c5", "c6", "c7", "c8", "c9"],
					"ring_seconds": 30,
					"no_answer": {"action": "forward", "forward_to": "+14155550199"}
				},
				"+14155550102": {"clients": ["bob"], "no_answer": {"action": "message", "message": "We are closed. Call back on Monday & ask for \"Sam\"."}},
				"+14155550103": {"clients": ["bob"], "no_answer": {"action": "forward", "forward_to": "+19002345678"}},
				"+14155550104": {"clients": ["bob"], "no_answer": {"action": "forward", "forward_to": "+442071838751"}},
				"+14155550105": {"clients": ["bob"], "no_answer": {"action": "voicemail", "message": "Leave it at the beep.", "max_length_seconds": 60}},
				"+14155550106": {"clients": ["alice", "bob"], "label": "Sales line <EU> & \"VIP\"", "no_answer": {}},
				"+14155550107": {
					"clients": ["bob"], "label": "Support",
					"hours": {
						"time_zone": "America/New_York",
						"open": [
							{"days": ["mon", "tue", "wed", "thu", "fri"], "from": "09:00", "to": "17:30"},
							{"days": ["sat"], "from": "10:00", "to": "14:00"}
						],
						"closed_dates": ["2026-12-25"]
					},
					"no_answer": {"action": "voicemail"}
				},
				"+14155550108": {
					"clients": ["bob"],
					"hours": {"time_zone": "Europe/London", "open": [{"days": ["mon", "tue", "wed", "thu", "fri"], "from": "08:00", "to": "24:00"}]},
					"closed": {"action": "voicemail", "message": "We are closed. Leave a message.", "max_length_seconds": 90}
				},
				"+14155550109": {
					"clients": ["bob"],
					"hours": {"time_zone": "Asia/Tokyo", "open": [{"days": ["mon"], "from": "00:00", "to": "00:01"}]},
					"closed": {"action": "forward", "forward_to": "+14155550198"}
				},
				"+14155550110": {"clients": ["alice", "bob"], "ring_seconds": 25, "then_number": "+14155550197", "no_answer": {"action": "voicemail"}},
				"+14155550111": {"clients": ["bob"], "then_number": "+19002345678", "no_answer": {"action": "message", "message": "Nobody is here."}},
				"+14155550112": {"clients": ["bob"], "then_number": "+14155550196", "no_answer": {"action": "forward", "forward_to": "+14155550199"}},
				"+14155550114": {"clients": ["bob"], "then_number": "+19002345678", "no_answer": {"action": "forward", "forward_to": "+14155550199"}},
				"+14155550115": {"clients": ["bob"], "label": "Night line", "then_number": "+14155550195", "screen": false, "no_answer": {"action": "forward", "forward_to": "+14155550199"}},
				"+14155550113": {
					"clients": ["bob"],
					"hours": {"time_zone": "America/New_York", "open": [{"days": ["sun"], "from": "00:00", "to": "01:00"}]},
					"closed": {"action": "forward", "forward_to": "+19002345678", "message": "Closed, and the night line is barred."}
				}
			},
			"default": {"clients": ["support"], "no_answer": {}}
		}` + extra + `}`
}

func mustTenant(tb testing.TB, extra string) *tenant.Tenant {
	tb.Helper()
	t, err := tenant.Parse([]byte(tenantJSON(extra)))
	if err != nil {
		tb.Fatalf("tenant: %v", err)
	}
	return t
}

type decideFunc func(voice.Call, *tenant.Tenant) voice.Decision

// Tenant variants.
const (
	base                 = ""
	recording            = `, "record_calls": true`
	noClientCalls        = `, "outbound": {"allow_client_calls": false}`
	usAndGB              = `, "outbound": {"allowed_countries": ["US", "GB"]}`
	usAndFR              = `, "outbound": {"allowed_countries": ["US", "FR"]}`
	block415             = `, "outbound": {"blocked_prefixes": ["+1900", "+1415"]}`
	noIncoming           = `, "incoming": null`
	gbHome               = `, "default_region": "GB", "caller_id": "+442071838750"`
	usAndGBAny           = `, "outbound": {"allowed_countries": ["US", "GB", "DE"], "allowed_number_types": ["fixed_line", "mobile", "toll_free", "voip", "personal", "uan", "pager", "voicemail"]}`
	onlyMobile           = `, "outbound": {"allowed_countries": ["US", "GB"], "allowed_number_types": ["mobile"]}`
	gbDE                 = `, "outbound": {"allowed_countries": ["GB", "DE"]}`
	suspended            = `, "status": "suspended", "suspended_at": "2026-12-01T09:00:00Z"`
	alice                = "client:alice"
	mainNumber           = "+14155550100"
	tenClients           = "+14155550101"
	closedNumber         = "+14155550102"
	premiumForward       = "+14155550103"
	abroadForward        = "+14155550104"
	customVM             = "+14155550105"
	labelled             = "+14155550106"
	officeHours          = "+14155550107" // New York, Mon-Fri 09:00-17:30, Sat 10:00-14:00, not 2026-12-25
	closedVM             = "+14155550108" // London, Mon-Fri 08:00-24:00; closed: voicemail
	closedForward        = "+14155550109" // Tokyo, Mon 00:00-00:01; closed: forward
	backup               = "+14155550110" // then_number; one of caller_ids
	backupPremium        = "+14155550111" // then_number premium rate
	backupForward        = "+14155550112" // then_number, then forward; not a caller ID
	closedBarred         = "+14155550113" // closed: forward to a premium number
	premiumBackupForward = "+14155550114" // then_number premium rate, then forward
	unscreened           = "+14155550115" // then_number, then forward, screen false
	unrouted             = "+14155550999"
	outsider             = "+12125550123"
)

type goldenCase struct {
	name       string // golden file testdata/golden/<name>.xml
	decide     decideFunc
	tenant     string
	call       voice.Call
	wantKind   voice.Kind
	wantReason voice.Reason
}

func goldenCases() []goldenCase {
	out, in := rules.Outgoing, rules.Incoming
	cases := []goldenCase{
		// Outgoing to numbers.
		{"number", out, base, voice.Call{From: alice, To: "+14155550123"}, voice.KindDial, ""},
		{"number_national_format", out, base, voice.Call{From: alice, To: " (415) 555-0123 "}, voice.KindDial, ""},
		{"number_bare_digits", out, base, voice.Call{From: alice, To: "14155550123"}, voice.KindDial, ""},
		{"number_vanity", out, base, voice.Call{From: alice, To: "1-800-FLOWERS"}, voice.KindDial, ""},
		{"number_national_gb_tenant", out, gbHome, voice.Call{From: alice, To: "020 7183 8750"}, voice.KindDial, ""},
		{"number_caller_from_caller_param", out, base, voice.Call{Caller: alice, To: "+14155550123"}, voice.KindDial, ""},
		{"number_allowed_country", out, usAndGB, voice.Call{From: alice, To: "+442071838750"}, voice.KindDial, ""},
		{"number_record_calls", out, recording, voice.Call{From: alice, To: "+14155550123"}, voice.KindDial, ""},
		{"caller_id_allowed", out, base, voice.Call{From: alice, To: "+14155550123", CallerID: "+14155550101"}, voice.KindDial, ""},
		{"caller_id_refused", out, base, voice.Call{From: alice, To: "+14155550123", CallerID: "+14155559999"}, voice.KindSay, voice.ReasonCallerIDNotAllowed},
		{"blocked_country", out, base, voice.Call{From: alice, To: "+442071838750"}, voice.KindSay, voice.ReasonCountryNotAllowed},
		{"blocked_country_nanp", out, base, voice.Call{From: alice, To: "+12423570000"}, voice.KindSay, voice.ReasonCountryNotAllowed},
		{"blocked_country_nongeographic", out, base, voice.Call{From: alice, To: "+80012345678"}, voice.KindSay, voice.ReasonCountryNotAllowed},
		{"premium_rate", out, base, voice.Call{From: alice, To: "+19002345678"}, voice.KindSay, voice.ReasonPremiumRate},
		{"premium_rate_gb", out, usAndGB, voice.Call{From: alice, To: "+448712345678"}, voice.KindSay, voice.ReasonPremiumRate},
		{"shared_cost", out, usAndFR, voice.Call{From: alice, To: "+33810123456"}, voice.KindSay, voice.ReasonSharedCost},
		{"blocked_prefix", out, block415, voice.Call{From: alice, To: "+14155550123"}, voice.KindSay, voice.ReasonBlockedPrefix},
		{"invalid_number", out, base, voice.Call{From: alice, To: "+1415555012"}, voice.KindSay, voice.ReasonInvalidNumber},
		{"invalid_number_words", out, base, voice.Call{From: alice, To: "call mom"}, voice.KindSay, voice.ReasonInvalidNumber},
		{"invalid_number_sip", out, base, voice.Call{From: alice, To: "sip:bob@example.com"}, voice.KindSay, voice.ReasonInvalidNumber},
		{"empty_to", out, base, voice.Call{From: alice, To: ""}, voice.KindSay, voice.ReasonEmptyTo},
		{"empty_to_spaces", out, base, voice.Call{From: alice, To: "  "}, voice.KindSay, voice.ReasonEmptyTo},
		{"invalid_caller", out, base, voice.Call{From: "client:al ice", To: "+14155550123"}, voice.KindSay, voice.ReasonInvalidCaller},

		// Emergency numbers: their own reason and message, in the tenant's
		// region and in the common ones, before any other check.
		{"emergency_911", out, base, voice.Call{From: alice, To: "911"}, voice.KindSay, voice.ReasonEmergencyNumber},
		{"emergency_911_formatted", out, base, voice.Call{From: alice, To: " 9-1-1 "}, voice.KindSay, voice.ReasonEmergencyNumber},
		{"emergency_112", out, base, voice.Call{From: alice, To: "112"}, voice.KindSay, voice.ReasonEmergencyNumber},
		{"emergency_999_us_tenant", out, base, voice.Call{From: alice, To: "999"}, voice.KindSay, voice.ReasonEmergencyNumber},
		{"emergency_999_gb_tenant", out, gbHome, voice.Call{From: alice, To: "999"}, voice.KindSay, voice.ReasonEmergencyNumber},
		{"emergency_000", out, base, voice.Call{From: alice, To: "000"}, voice.KindSay, voice.ReasonEmergencyNumber},
		{"emergency_110", out, base, voice.Call{From: alice, To: "110"}, voice.KindSay, voice.ReasonEmergencyNumber},
		{"emergency_119", out, base, voice.Call{From: alice, To: "119"}, voice.KindSay, voice.ReasonEmergencyNumber},
		{"emergency_before_caller_id", out, base, voice.Call{From: alice, To: "911", CallerID: "+14155559999"}, voice.KindSay, voice.ReasonEmergencyNumber},
		{"emergency_with_country_code", out, base, voice.Call{From: alice, To: "+1 911"}, voice.KindSay, voice.ReasonEmergencyNumber},
		{"emergency_two_digits_with_country_code", out, base, voice.Call{From: alice, To: "+33 15"}, voice.KindSay, voice.ReasonEmergencyNumber},
		{"short_code_with_country_code_not_emergency", out, base, voice.Call{From: alice, To: "+1 123"}, voice.KindSay, voice.ReasonInvalidNumber},
		{"short_code_not_emergency", out, base, voice.Call{From: alice, To: "123"}, voice.KindSay, voice.ReasonInvalidNumber},

		// Number types: fixed line, mobile and toll free by default; the
		// others by opt-in; premium rate and shared cost never.
		{"type_mobile_gb", out, usAndGB, voice.Call{From: alice, To: "+447400123456"}, voice.KindDial, ""},
		{"type_personal_gb", out, usAndGB, voice.Call{From: alice, To: "+447012345678"}, voice.KindSay, voice.ReasonNumberTypeNotAllowed},
		{"type_personal_us", out, base, voice.Call{From: alice, To: "+15002345678"}, voice.KindSay, voice.ReasonNumberTypeNotAllowed},
		{"type_uan_gb", out, usAndGB, voice.Call{From: alice, To: "+445512345678"}, voice.KindSay, voice.ReasonNumberTypeNotAllowed},
		{"type_pager_gb", out, usAndGB, voice.Call{From: alice, To: "+447640123456"}, voice.KindSay, voice.ReasonNumberTypeNotAllowed},
		{"type_voip_gb", out, usAndGB, voice.Call{From: alice, To: "+445612345678"}, voice.KindSay, voice.ReasonNumberTypeNotAllowed},
		{"type_voicemail_de", out, gbDE, voice.Call{From: alice, To: "+49177991234567"}, voice.KindSay, voice.ReasonNumberTypeNotAllowed},
		{"type_personal_opted_in", out, usAndGBAny, voice.Call{From: alice, To: "+447012345678"}, voice.KindDial, ""},
		{"type_uan_opted_in", out, usAndGBAny, voice.Call{From: alice, To: "+445512345678"}, voice.KindDial, ""},
		{"type_pager_opted_in", out, usAndGBAny, voice.Call{From: alice, To: "+447640123456"}, voice.KindDial, ""},
		{"type_voip_opted_in", out, usAndGBAny, voice.Call{From: alice, To: "+445612345678"}, voice.KindDial, ""},
		{"type_voicemail_opted_in", out, usAndGBAny, voice.Call{From: alice, To: "+49177991234567"}, voice.KindDial, ""},
		{"type_premium_never", out, usAndGBAny, voice.Call{From: alice, To: "+448712345678"}, voice.KindSay, voice.ReasonPremiumRate},
		{"type_only_mobile_us_either", out, onlyMobile, voice.Call{From: alice, To: "+14155550123"}, voice.KindDial, ""},
		{"type_only_mobile_gb_mobile", out, onlyMobile, voice.Call{From: alice, To: "+447400123456"}, voice.KindDial, ""},
		{"type_only_mobile_gb_fixed", out, onlyMobile, voice.Call{From: alice, To: "+442071838750"}, voice.KindSay, voice.ReasonNumberTypeNotAllowed},
		{"type_only_mobile_toll_free", out, onlyMobile, voice.Call{From: alice, To: "+18002345678"}, voice.KindSay, voice.ReasonNumberTypeNotAllowed},

		// Outgoing to clients.
		{"client", out, base, voice.Call{From: alice, To: "bob_2"}, voice.KindDial, ""},
		{"client_prefix", out, base, voice.Call{From: alice, To: "client:bob_2"}, voice.KindDial, ""},
		{"client_prefix_digits", out, base, voice.Call{From: alice, To: "client:12345"}, voice.KindDial, ""},
		{"client_ignores_caller_id", out, base, voice.Call{From: alice, To: "bob", CallerID: "+14155559999"}, voice.KindDial, ""},
		{"client_record_calls", out, recording, voice.Call{From: alice, To: "bob"}, voice.KindDial, ""},
		{"client_invalid_identity", out, base, voice.Call{From: alice, To: "client:bob smith"}, voice.KindSay, voice.ReasonInvalidIdentity},
		{"client_calls_disabled", out, noClientCalls, voice.Call{From: alice, To: "client:bob"}, voice.KindSay, voice.ReasonClientCallsDisabled},

		// A phone call to a number whose voice URL is /voice.
		{"voice_delegates_pstn_call", out, base, voice.Call{From: outsider, To: mainNumber}, voice.KindDial, ""},
		{"voice_delegates_pstn_call_no_route", out, noIncoming, voice.Call{From: outsider, To: mainNumber}, voice.KindSay, voice.ReasonNoRoute},

		// Incoming.
		{"incoming_one_client", in, base, voice.Call{From: outsider, To: mainNumber}, voice.KindDial, ""},
		{"incoming_ten_clients", in, base, voice.Call{From: outsider, To: tenClients}, voice.KindDial, ""},
		{"incoming_default_route", in, base, voice.Call{From: outsider, To: unrouted}, voice.KindDial, ""},
		{"incoming_no_route", in, noIncoming, voice.Call{From: outsider, To: mainNumber}, voice.KindSay, voice.ReasonNoRoute},
		{"incoming_record_calls", in, recording, voice.Call{From: outsider, To: mainNumber}, voice.KindDial, ""},
		{"incoming_label", in, base, voice.Call{From: outsider, To: labelled}, voice.KindDial, ""},
		{"incoming_caller_from_caller_param", in, base, voice.Call{Caller: outsider, To: labelled}, voice.KindDial, ""},
		{"incoming_anonymous_caller", in, base, voice.Call{From: "anonymous", To: mainNumber}, voice.KindDial, ""},
		{"incoming_backup_route", in, base, voice.Call{From: outsider, To: backup}, voice.KindDial, ""},

		// Opening hours (New York: daylight saving time from 8 March 2026).
		{"hours_open_at_opening_summer", in, base, voice.Call{From: outsider, To: officeHours, Now: at("2026-07-06T13:00:00Z")}, voice.KindDial, ""},
		{"hours_closed_before_opening_summer", in, base, voice.Call{From: outsider, To: officeHours, Now: at("2026-07-06T12:59:59Z")}, voice.KindSay, ""},
		{"hours_open_at_opening_winter", in, base, voice.Call{From: outsider, To: officeHours, Now: at("2026-01-05T14:00:00Z")}, voice.KindDial, ""},
		{"hours_closed_before_opening_winter", in, base, voice.Call{From: outsider, To: officeHours, Now: at("2026-01-05T13:30:00Z")}, voice.KindSay, ""},
		{"hours_open_before_closing", in, base, voice.Call{From: outsider, To: officeHours, Now: at("2026-07-06T21:29:59Z")}, voice.KindDial, ""},
		{"hours_closed_at_closing", in, base, voice.Call{From: outsider, To: officeHours, Now: at("2026-07-06T21:30:00Z")}, voice.KindSay, ""},
		{"hours_open_saturday", in, base, voice.Call{From: outsider, To: officeHours, Now: at("2026-07-11T15:00:00Z")}, voice.KindDial, ""},
		{"hours_closed_sunday", in, base, voice.Call{From: outsider, To: officeHours, Now: at("2026-07-12T15:00:00Z")}, voice.KindSay, ""},
		{"hours_closed_date", in, base, voice.Call{From: outsider, To: officeHours, Now: at("2026-12-25T15:00:00Z")}, voice.KindSay, ""},
		{"hours_open_day_before_closed_date", in, base, voice.Call{From: outsider, To: officeHours, Now: at("2026-12-24T15:00:00Z")}, voice.KindDial, ""},
		{"hours_no_clock_counts_as_open", in, base, voice.Call{From: outsider, To: officeHours}, voice.KindDial, ""},
		{"hours_open_until_midnight", in, base, voice.Call{From: outsider, To: closedVM, Now: at("2026-07-06T22:59:59Z")}, voice.KindDial, ""},
		{"hours_closed_voicemail", in, base, voice.Call{From: outsider, To: closedVM, Now: at("2026-07-06T23:00:00Z")}, voice.KindVoicemail, ""},
		{"hours_closed_forward", in, base, voice.Call{From: outsider, To: closedForward, Now: at("2026-07-06T13:00:00Z")}, voice.KindDial, ""},
		{"hours_closed_forward_refused", in, base, voice.Call{From: outsider, To: closedBarred, Now: at("2026-07-06T13:00:00Z")}, voice.KindSay, voice.ReasonPremiumRate},
		{"hours_closed_record_calls", in, recording, voice.Call{From: outsider, To: closedForward, Now: at("2026-07-06T13:00:00Z")}, voice.KindDial, ""},
		{"voice_delegates_closed", out, base, voice.Call{From: outsider, To: closedVM, Now: at("2026-07-11T12:00:00Z")}, voice.KindVoicemail, ""},

		// After the no-answer step.
		{"dial_complete_forward_premium_refused", rules.DialComplete, base,
			voice.Call{From: outsider, To: premiumForward, DialCallStatus: "no-answer"}, voice.KindSay, voice.ReasonPremiumRate},
		{"dial_complete_forward_country_refused", rules.DialComplete, base,
			voice.Call{From: outsider, To: abroadForward, DialCallStatus: "no-answer"}, voice.KindSay, voice.ReasonCountryNotAllowed},
		{"dial_complete_forward_record_calls", rules.DialComplete, recording,
			voice.Call{From: outsider, To: tenClients, DialCallStatus: "busy"}, voice.KindDial, ""},
		{"dial_complete_voicemail_custom", rules.DialComplete, base,
			voice.Call{From: outsider, To: customVM, DialCallStatus: "no-answer"}, voice.KindVoicemail, ""},
		{"dial_complete_default_route", rules.DialComplete, base,
			voice.Call{From: outsider, To: unrouted, DialCallStatus: "no-answer"}, voice.KindSay, ""},
		{"dial_complete_no_route", rules.DialComplete, noIncoming,
			voice.Call{From: outsider, To: mainNumber, DialCallStatus: "no-answer"}, voice.KindSay, voice.ReasonNoRoute},
		// A transfer to a route (call control): that route's steps follow.
		{"dial_complete_transferred_route", rules.DialComplete, base,
			voice.Call{From: outsider, To: mainNumber, Route: closedNumber, DialCallStatus: "no-answer"}, voice.KindSay, ""},
		{"dial_complete_transferred_route_backup", rules.DialComplete, base,
			voice.Call{From: outsider, To: mainNumber, Route: backup, DialCallStatus: "no-answer", Leg: voice.LegClients}, voice.KindDial, ""},
		{"dial_complete_transferred_unknown_route", rules.DialComplete, base,
			voice.Call{From: outsider, To: mainNumber, Route: "+19999999999", DialCallStatus: "no-answer"}, voice.KindVoicemail, ""},
		{"dial_complete_transferred_no_incoming", rules.DialComplete, noIncoming,
			voice.Call{From: outsider, To: mainNumber, Route: mainNumber, DialCallStatus: "no-answer"}, voice.KindSay, voice.ReasonNoRoute},
		{"recording_complete", rules.RecordingComplete, base,
			voice.Call{From: outsider, To: mainNumber}, voice.KindHangup, ""},

		// The backup phone.
		{"dial_complete_backup_caller_id", rules.DialComplete, base,
			voice.Call{From: outsider, To: backupForward, DialCallStatus: "no-answer", Leg: voice.LegClients}, voice.KindDial, ""},
		{"dial_complete_backup_record_calls", rules.DialComplete, recording,
			voice.Call{From: outsider, To: backup, DialCallStatus: "busy", Leg: voice.LegClients}, voice.KindDial, ""},
		{"dial_complete_after_backup_forward", rules.DialComplete, base,
			voice.Call{From: outsider, To: backupForward, DialCallStatus: "no-answer"}, voice.KindDial, ""},
		{"dial_complete_backup_refused", rules.DialComplete, base,
			voice.Call{From: outsider, To: backupPremium, DialCallStatus: "no-answer", Leg: voice.LegClients}, voice.KindSay, voice.ReasonPremiumRate},
		{"dial_complete_backup_refused_then_forward", rules.DialComplete, base,
			voice.Call{From: outsider, To: premiumBackupForward, DialCallStatus: "busy", Leg: voice.LegClients}, voice.KindDial, voice.ReasonPremiumRate},
		{"dial_complete_clients_leg_without_backup", rules.DialComplete, base,
			voice.Call{From: outsider, To: mainNumber, DialCallStatus: "no-answer", Leg: voice.LegClients}, voice.KindVoicemail, ""},
		{"dial_complete_unknown_leg", rules.DialComplete, base,
			voice.Call{From: outsider, To: backup, DialCallStatus: "no-answer", Leg: "backup"}, voice.KindVoicemail, ""},

		// Screening: the whisper, the callee's key, and the <Dial> after a
		// screened leg (refused: not bridged; accepted: bridged).
		{"screen_label", rules.Screen, base,
			voice.Call{From: "+14155550100", To: "+14155550197", Parent: voice.Display{Caller: outsider, Called: labelled}}, voice.KindScreen, ""},
		{"screen_no_label", rules.Screen, base,
			voice.Call{Parent: voice.Display{Caller: "+442071838750", Called: backup}}, voice.KindScreen, ""},
		{"screen_anonymous_caller", rules.Screen, base,
			voice.Call{Parent: voice.Display{Caller: "anonymous", Called: backup}}, voice.KindScreen, ""},
		{"screen_no_route", rules.Screen, noIncoming,
			voice.Call{Parent: voice.Display{Caller: outsider, Called: backup}}, voice.KindScreen, ""},
		{"screen_answer_accept", rules.ScreenAnswer, base, voice.Call{Digits: "1"}, voice.KindAccept, ""},
		{"screen_answer_other_key", rules.ScreenAnswer, base, voice.Call{Digits: "2"}, voice.KindHangup, ""},
		{"screen_answer_star", rules.ScreenAnswer, base, voice.Call{Digits: "*"}, voice.KindHangup, ""},
		{"screen_answer_no_key", rules.ScreenAnswer, base, voice.Call{}, voice.KindHangup, ""},
		{"dial_complete_after_backup_screen_refused", rules.DialComplete, base,
			voice.Call{From: outsider, To: backupForward, DialCallStatus: "completed", DialBridged: "false"}, voice.KindDial, ""},
		{"dial_complete_after_backup_screen_accepted", rules.DialComplete, base,
			voice.Call{From: outsider, To: backupForward, DialCallStatus: "completed", DialBridged: "true"}, voice.KindHangup, ""},
		{"dial_complete_after_backup_screen_unanswered", rules.DialComplete, base,
			voice.Call{From: outsider, To: backupForward, DialCallStatus: "no-answer", DialBridged: "false"}, voice.KindDial, ""},
		{"dial_complete_backup_unscreened", rules.DialComplete, base,
			voice.Call{From: outsider, To: unscreened, DialCallStatus: "no-answer", Leg: voice.LegClients}, voice.KindDial, ""},
		{"dial_complete_after_backup_unscreened", rules.DialComplete, base,
			voice.Call{From: outsider, To: unscreened, DialCallStatus: "no-answer"}, voice.KindDial, ""},
		{"dial_complete_backup_caller_param", rules.DialComplete, base,
			voice.Call{Caller: outsider, To: backup, DialCallStatus: "no-answer", Leg: voice.LegClients}, voice.KindDial, ""},
	}

	// A suspended tenant (issue 20): before this, a signed /voice or
	// /incoming of a suspended tenant still dialled (tokens live up to 24 h).
	// Every step says SuspendedMessage and hangs up, whatever the route or
	// the dialled number would have done; an answered call just ends.
	cases = append(cases,
		goldenCase{"suspended_number", out, suspended, voice.Call{From: alice, To: "+14155550123"}, voice.KindSay, voice.ReasonTenantSuspended},
		goldenCase{"suspended_client", out, suspended, voice.Call{From: alice, To: "bob"}, voice.KindSay, voice.ReasonTenantSuspended},
		goldenCase{"suspended_emergency", out, suspended, voice.Call{From: alice, To: "911"}, voice.KindSay, voice.ReasonEmergencyNumber},
		goldenCase{"suspended_voice_delegates_pstn_call", out, suspended, voice.Call{From: outsider, To: mainNumber}, voice.KindSay, voice.ReasonTenantSuspended},
		goldenCase{"suspended_incoming", in, suspended, voice.Call{From: outsider, To: mainNumber}, voice.KindSay, voice.ReasonTenantSuspended},
		goldenCase{"suspended_incoming_closed_hours", in, suspended, voice.Call{From: outsider, To: closedVM, Now: at("2026-07-06T23:00:00Z")}, voice.KindSay, voice.ReasonTenantSuspended},
		goldenCase{"suspended_dial_complete_voicemail", rules.DialComplete, suspended,
			voice.Call{From: outsider, To: mainNumber, DialCallStatus: "no-answer"}, voice.KindSay, voice.ReasonTenantSuspended},
		goldenCase{"suspended_dial_complete_backup", rules.DialComplete, suspended,
			voice.Call{From: outsider, To: backup, DialCallStatus: "no-answer", Leg: voice.LegClients}, voice.KindSay, voice.ReasonTenantSuspended},
		goldenCase{"suspended_dial_complete_answered", rules.DialComplete, suspended,
			voice.Call{From: outsider, To: mainNumber, DialCallStatus: "completed"}, voice.KindHangup, ""},
		goldenCase{"suspended_recording_complete", rules.RecordingComplete, suspended,
			voice.Call{From: outsider, To: mainNumber}, voice.KindHangup, ""},
		// A screened leg's whisper (and the callee's key) of a tenant
		// suspended while the leg rang: before, the whisper asked to press
		// 1 and a 1 bridged the call. Now the callee hears SuspendedMessage,
		// the leg hangs up unbridged, and DialComplete refuses the rest.
		goldenCase{"suspended_screen", rules.Screen, suspended,
			voice.Call{Parent: voice.Display{Caller: outsider, Called: labelled}}, voice.KindSay, voice.ReasonTenantSuspended},
		goldenCase{"suspended_screen_answer_accept", rules.ScreenAnswer, suspended, voice.Call{Digits: "1"}, voice.KindSay, voice.ReasonTenantSuspended},
		goldenCase{"suspended_screen_answer_other_key", rules.ScreenAnswer, suspended, voice.Call{Digits: "2"}, voice.KindSay, voice.ReasonTenantSuspended},
		goldenCase{"suspended_dial_complete_after_screen_refused", rules.DialComplete, suspended,
			voice.Call{From: outsider, To: backupForward, DialCallStatus: "completed", DialBridged: "false"}, voice.KindSay, voice.ReasonTenantSuspended},
	)

	// Every DialCallStatus after the browsers of a route with a backup
	// phone (ring it), and after the backup phone (the no-answer step).
	for _, status := range []string{"completed", "answered", "no-answer", "busy", "failed", "canceled", "", "ringing"} {
		name := status
		if name == "" {
			name = "empty"
		}
		clients, after := voice.KindDial, voice.KindVoicemail
		if status == "completed" || status == "answered" {
			clients, after = voice.KindHangup, voice.KindHangup
		}
		cases = append(cases,
			goldenCase{"dial_complete_backup_" + name, rules.DialComplete, base,
				voice.Call{From: outsider, To: backup, DialCallStatus: status, Leg: voice.LegClients}, clients, ""},
			goldenCase{"dial_complete_after_backup_" + name, rules.DialComplete, base,
				voice.Call{From: outsider, To: backup, DialCallStatus: status}, after, ""},
		)
	}

	// Every DialCallStatus with every no-answer action; "" and "ringing"
	// stand for statuses Twilio may add.
	actions := []struct{ name, to string }{
		{"voicemail", mainNumber}, {"forward", tenClients}, {"message", closedNumber},
	}
	for _, status := range []string{"completed", "answered", "no-answer", "busy", "failed", "canceled", "", "ringing"} {
		for _, a := range actions {
			kind := map[string]voice.Kind{"voicemail": voice.KindVoicemail, "forward": voice.KindDial, "message": voice.KindSay}[a.name]
			if status == "completed" || status == "answered" {
				kind = voice.KindHangup
			}
			name := status
			if name == "" {
				name = "empty"
			}
			cases = append(cases, goldenCase{
				"dial_complete_" + a.name + "_" + name, rules.DialComplete, base,
				voice.Call{From: outsider, To: a.to, DialCallStatus: status}, kind, "",
			})
		}
	}
	return cases
}

// at parses an RFC 3339 time for Call.Now.
func at(s string) time.Time {
	t, err := time.Parse(time.RFC3339, s)
	if err != nil {
		panic(err)
	}
	return t
}

func TestGolden(t *testing.T) {
	cases := goldenCases()
	names := make(map[string]bool, len(cases))
	for _, tc := range cases {
		if names[tc.name] {
			t.Fatalf("duplicate case name %s", tc.name)
		}
		names[tc.name] = true
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			tc.call.AccountSID = "AC0123456789abcdef0123456789abcdef"
			tc.call.CallSID = "CA0123456789abcdef0123456789abcdef"
			d := tc.decide(tc.call, mustTenant(t, tc.tenant))
			if d.Kind != tc.wantKind || d.Reason != tc.wantReason {
				t.Errorf("decision %v/%q, want %v/%q (%+v)", d.Kind, d.Reason, tc.wantKind, tc.wantReason, d)
			}
			if d.Refused() != (tc.wantReason != "") {
				t.Errorf("Refused() = %v", d.Refused())
			}
			got := d.AppendTwiML(nil)
			if err := xml.Unmarshal(got, new(struct{ XMLName xml.Name })); err != nil {
				t.Errorf("output does not parse: %v\n%s", err, got)
			}
			checkGolden(t, tc.name, got)
		})
	}
	kit.CheckNoStrayGolden(t, filepath.Join("testdata", "golden", "*.xml"), names)
}

// TestSuspendedNeverDials replays every golden call on the same tenant
// suspended: no step dials, records or rings anyone, and every refusal is
// tenant_suspended, except an emergency number's own message and the end
// of an answered call.
func TestSuspendedNeverDials(t *testing.T) {
	for _, tc := range goldenCases() {
		d := tc.decide(tc.call, mustTenant(t, tc.tenant+suspended))
		switch {
		case d.Kind == voice.KindDial || d.Kind == voice.KindVoicemail || d.Record || len(d.Clients) > 0:
			t.Errorf("%s: suspended tenant: %v %+v", tc.name, d.Kind, d)
		case d.Kind == voice.KindSay && d.Reason != voice.ReasonTenantSuspended && d.Reason != voice.ReasonEmergencyNumber:
			t.Errorf("%s: suspended tenant refused with %q", tc.name, d.Reason)
		case d.Kind == voice.KindSay && d.Reason == voice.ReasonTenantSuspended && d.Say != voice.SuspendedMessage:
			t.Errorf("%s: says %q", tc.name, d.Say)
		}
	}
}

func checkGolden(t *testing.T, name string, got []byte) {
	t.Helper()
	kit.CheckGolden(t, filepath.Join("testdata", "golden", name+".xml"), got)
}

// TestActionURLs resolves the relative action URLs the way Twilio does
// (RFC 3986, net/url) from every URL that can serve them, with and without
// an API Gateway stage prefix.
func TestActionURLs(t *testing.T) {
	tests := []struct {
		name, base, ref, want string
		query                 string
	}{
		{"dial from /voice", "https://x.execute-api.us-east-1.amazonaws.com/prod/voice", voice.DialCompleteAction, "/prod/incoming/dial-complete", ""},
		{"dial from /incoming", "https://x.execute-api.us-east-1.amazonaws.com/prod/incoming", voice.DialCompleteAction, "/prod/incoming/dial-complete", ""},
		{"dial from /incoming with a query", "https://x.execute-api.us-east-1.amazonaws.com/prod/incoming?tenant=a", voice.DialCompleteAction, "/prod/incoming/dial-complete", ""},
		{"dial without a stage", "https://voice.example.com/incoming", voice.DialCompleteAction, "/incoming/dial-complete", ""},
		{"record from dial-complete", "https://x.execute-api.us-east-1.amazonaws.com/prod/incoming/dial-complete", voice.RecordingCompleteAction, "/prod/incoming/recording-complete", ""},
		{"record without a stage", "https://voice.example.com/incoming/dial-complete", voice.RecordingCompleteAction, "/incoming/recording-complete", ""},
		{"clients leg from /voice", "https://x.execute-api.us-east-1.amazonaws.com/prod/voice", voice.DialCompleteClientsAction, "/prod/incoming/dial-complete", "leg=clients"},
		{"clients leg from /incoming", "https://x.execute-api.us-east-1.amazonaws.com/prod/incoming?tenant=a", voice.DialCompleteClientsAction, "/prod/incoming/dial-complete", "leg=clients"},
		{"clients leg without a stage", "https://voice.example.com/incoming", voice.DialCompleteClientsAction, "/incoming/dial-complete", "leg=clients"},
		{"backup from the clients leg", "https://x.execute-api.us-east-1.amazonaws.com/prod/incoming/dial-complete?leg=clients", voice.BackupCompleteAction, "/prod/incoming/dial-complete", ""},
		{"backup without a stage", "https://voice.example.com/incoming/dial-complete?leg=clients", voice.BackupCompleteAction, "/incoming/dial-complete", ""},
		{"record from the clients leg", "https://x.execute-api.us-east-1.amazonaws.com/prod/incoming/dial-complete?leg=clients", voice.RecordingCompleteAction, "/prod/incoming/recording-complete", ""},
		{"closed record from /incoming", "https://x.execute-api.us-east-1.amazonaws.com/prod/incoming", voice.ClosedRecordingAction, "/prod/incoming/recording-complete", ""},
		{"closed record from /voice", "https://x.execute-api.us-east-1.amazonaws.com/prod/voice", voice.ClosedRecordingAction, "/prod/incoming/recording-complete", ""},
		{"closed record without a stage", "https://voice.example.com/incoming", voice.ClosedRecordingAction, "/incoming/recording-complete", ""},

		{"screen from dial-complete", "https://x.execute-api.us-east-1.amazonaws.com/prod/incoming/dial-complete?leg=clients", voice.ScreenURL(voice.ScreenAction, outsider, backup), "/prod/incoming/screen", "called=%2B14155550110&caller=%2B12125550123"},
		{"screen without a stage", "https://voice.example.com/incoming/dial-complete", voice.ScreenURL(voice.ScreenAction, outsider, backup), "/incoming/screen", "called=%2B14155550110&caller=%2B12125550123"},
		{"closed screen from /incoming", "https://x.execute-api.us-east-1.amazonaws.com/prod/incoming", voice.ScreenURL(voice.ClosedScreenAction, outsider, closedForward), "/prod/incoming/screen", "called=%2B14155550109&caller=%2B12125550123"},
		{"closed screen from /voice", "https://x.execute-api.us-east-1.amazonaws.com/prod/voice", voice.ScreenURL(voice.ClosedScreenAction, outsider, closedForward), "/prod/incoming/screen", "called=%2B14155550109&caller=%2B12125550123"},
		{"screen answer from the whisper", "https://x.execute-api.us-east-1.amazonaws.com/prod/incoming/screen?called=%2B14155550110&caller=%2B12125550123", voice.ScreenAnswerAction, "/prod/incoming/screen-answer", ""},
		{"screen answer without a stage", "https://voice.example.com/incoming/screen?caller=x", voice.ScreenAnswerAction, "/incoming/screen-answer", ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			base, err := url.Parse(tc.base)
			if err != nil {
				t.Fatal(err)
			}
			ref, err := url.Parse(tc.ref)
			if err != nil {
				t.Fatal(err)
			}
			got := base.ResolveReference(ref)
			if got.Path != tc.want || got.Host != base.Host || got.RawQuery != tc.query {
				t.Errorf("%s + %s = %s, want path %s", tc.base, tc.ref, got, tc.want)
			}
		})
	}
}

// TestDecisionActions checks the decisions use the URLs TestActionURLs
// verified.
func TestDecisionActions(t *testing.T) {
	tn := mustTenant(t, base)
	if d := rules.Incoming(voice.Call{To: mainNumber}, tn); d.Action != voice.DialCompleteAction {
		t.Errorf("Incoming action %q", d.Action)
	}
	if d := rules.DialComplete(voice.Call{To: mainNumber, DialCallStatus: "no-answer"}, tn); d.Action != voice.RecordingCompleteAction {
		t.Errorf("voicemail action %q", d.Action)
	}
	if d := rules.Incoming(voice.Call{To: backup}, tn); d.Action != voice.DialCompleteClientsAction {
		t.Errorf("backup route's action %q", d.Action)
	}
	if d := rules.DialComplete(voice.Call{To: backup, DialCallStatus: "no-answer", Leg: voice.LegClients}, tn); d.Action != voice.BackupCompleteAction {
		t.Errorf("backup phone's action %q", d.Action)
	}
	if d := rules.DialComplete(voice.Call{From: outsider, To: backup, DialCallStatus: "no-answer", Leg: voice.LegClients}, tn); d.ScreenURL != voice.ScreenURL(voice.ScreenAction, outsider, backup) {
		t.Errorf("backup phone's whisper %q", d.ScreenURL)
	}
	if d := rules.DialComplete(voice.Call{From: outsider, To: tenClients, DialCallStatus: "no-answer"}, tn); d.ScreenURL != voice.ScreenURL(voice.ScreenAction, outsider, tenClients) {
		t.Errorf("forward's whisper %q", d.ScreenURL)
	}
	if d := rules.Incoming(voice.Call{From: outsider, To: closedForward, Now: at("2026-07-06T13:00:00Z")}, tn); d.ScreenURL != voice.ScreenURL(voice.ClosedScreenAction, outsider, closedForward) {
		t.Errorf("closed forward's whisper %q", d.ScreenURL)
	}
	if d := rules.Screen(voice.Call{Parent: voice.Display{Caller: outsider, Called: backup}}, tn); d.Action != voice.ScreenAnswerAction {
		t.Errorf("whisper's gather action %q", d.Action)
	}
	closed := voice.Call{To: closedVM, Now: at("2026-07-11T12:00:00Z")}
	for _, d := range []voice.Decision{rules.Incoming(closed, tn), rules.Outgoing(closed, tn)} {
		if d.Kind != voice.KindVoicemail || d.Action != voice.ClosedRecordingAction {
			t.Errorf("closed voicemail %v with action %q", d.Kind, d.Action)
		}
	}
}

// TestValidity checks the verdicts agree with phonenumbers.IsValidNumber,
// which Outgoing computes with one region lookup fewer.
func TestValidity(t *testing.T) {
	tn := mustTenant(t, `, "outbound": {"allowed_countries": ["US", "GB", "FR", "BS", "CA", "DE"]}`)
	for _, n := range []string{
		"+14155550123", "(415) 555-0123", "+1415555012", "+11234567890", "+12423570000", "+16132345678",
		"+442071838750", "+4420718387", "+33142345678", "+498001234567", "+80012345678", "+999123", "12",
	} {
		t.Run(n, func(t *testing.T) {
			num, err := phonenumbers.Parse(n, "US")
			want := err == nil && phonenumbers.IsValidNumber(num)
			d := rules.Outgoing(voice.Call{From: alice, To: n}, tn)
			if got := d.Reason != voice.ReasonInvalidNumber; got != want {
				t.Errorf("valid = %v, IsValidNumber = %v (%+v)", got, want, d)
			}
		})
	}
}

// TestConcurrent shares one tenant between goroutines, as a warm Lambda
// does, so -race sees the decisions (and phonenumbers' regexp cache).
func TestConcurrent(t *testing.T) {
	tn := mustTenant(t, recording)
	calls := []voice.Call{
		{From: alice, To: "(415) 555-0123"}, {From: alice, To: "+19002345678"}, {From: alice, To: "bob"},
		{From: outsider, To: tenClients}, {From: alice, To: "+442071838750"},
	}
	want := make([]string, len(calls))
	for i, c := range calls {
		want[i] = string(rules.Outgoing(c, tn).AppendTwiML(nil))
	}
	var wg sync.WaitGroup
	for range 4 {
		wg.Go(func() {
			for i, c := range calls {
				if got := string(rules.Outgoing(c, tn).AppendTwiML(nil)); got != want[i] {
					t.Errorf("call %d: got %s, want %s", i, got, want[i])
				}
			}
		})
	}
	wg.Wait()
}

func TestZeroDecisionHangsUp(t *testing.T) {
	const want = `<?xml version="1.0" encoding="UTF-8"?><Response><Hangup/></Response>`
	if got := string(voice.Decision{}.AppendTwiML(nil)); got != want {
		t.Errorf("got %s", got)
	}
	if got := string(voice.Decision{Kind: 99}.AppendTwiML(nil)); got != want {
		t.Errorf("unknown kind: got %s", got)
	}
}

func TestKindString(t *testing.T) {
	for k, want := range map[voice.Kind]string{
		voice.KindHangup: "hangup", voice.KindSay: "say", voice.KindDial: "dial",
		voice.KindVoicemail: "voicemail", voice.KindScreen: "screen", voice.KindAccept: "accept", 42: "unknown",
	} {
		if got := k.String(); got != want {
			t.Errorf("Kind(%d) = %q, want %q", k, got, want)
		}
	}
}

func TestReasonMessages(t *testing.T) {
	reasons := []voice.Reason{
		voice.ReasonEmptyTo, voice.ReasonInvalidNumber, voice.ReasonInvalidIdentity, voice.ReasonInvalidCaller,
		voice.ReasonCountryNotAllowed, voice.ReasonBlockedPrefix, voice.ReasonPremiumRate, voice.ReasonSharedCost,
		voice.ReasonClientCallsDisabled, voice.ReasonCallerIDNotAllowed, voice.ReasonNoRoute,
		voice.ReasonEmergencyNumber, voice.ReasonNumberTypeNotAllowed, voice.ReasonTenantSuspended,
	}
	if m := voice.ReasonEmergencyNumber.Message(); !strings.Contains(m, "cannot place emergency calls") {
		t.Errorf("emergency message %q does not say emergency calls are not possible", m)
	}
	for _, r := range reasons {
		t.Run(string(r), func(t *testing.T) {
			m := r.Message()
			if m == "" || !strings.HasSuffix(m, ".") {
				t.Errorf("message %q", m)
			}
			if strings.ContainsAny(string(r), " -ABCDEFGHIJKLMNOPQRSTUVWXYZ") {
				t.Errorf("reason %q is not snake_case", r)
			}
		})
	}
}

// TestAnswered pins which <Dial> outcomes count as answered: a leg that
// was picked up but never bridged (a screened leg refused, or taken by a
// voicemail that pressed nothing) is not.
func TestAnswered(t *testing.T) {
	tests := []struct {
		status, bridged string
		want            bool
	}{
		{"completed", "", true},
		{"completed", "true", true},
		{"answered", "", true},
		{"completed", "false", false},
		{"answered", "false", false},
		{"no-answer", "false", false},
		{"no-answer", "true", false},
		{"busy", "", false},
		{"", "", false},
	}
	for _, tc := range tests {
		c := voice.Call{DialCallStatus: tc.status, DialBridged: tc.bridged}
		if got := c.Answered(); got != tc.want {
			t.Errorf("Answered(%q, bridged %q) = %v, want %v", tc.status, tc.bridged, got, tc.want)
		}
	}
}

func TestScreenPrompt(t *testing.T) {
	tests := []struct{ label, caller, want string }{
		{"", "+14155550123", "You have a call from 1. 4. 1. 5. 5. 5. 5. 0. 1. 2. 3. Press 1 to accept."},
		{"Sales", "+44 20 7183", "You have a call for Sales from 4. 4. 2. 0. 7. 1. 8. 3. Press 1 to accept."},
		{"", "anonymous", "You have a call from an unknown number. Press 1 to accept."},
		{"", "", "You have a call from an unknown number. Press 1 to accept."},
	}
	for _, tc := range tests {
		if got := voice.ScreenPrompt(tc.label, tc.caller); got != tc.want {
			t.Errorf("ScreenPrompt(%q, %q) = %q, want %q", tc.label, tc.caller, got, tc.want)
		}
	}
}

func BenchmarkOutgoing(b *testing.B) {
	b.ReportAllocs()
	tn := mustTenant(b, base)
	c := voice.Call{From: alice, To: "+14155550123"}
	buf := make([]byte, 0, 512)
	for b.Loop() {
		buf = rules.Outgoing(c, tn).AppendTwiML(buf[:0])
	}
}

func BenchmarkOutgoingClient(b *testing.B) {
	b.ReportAllocs()
	tn := mustTenant(b, base)
	c := voice.Call{From: alice, To: "bob"}
	buf := make([]byte, 0, 512)
	for b.Loop() {
		buf = rules.Outgoing(c, tn).AppendTwiML(buf[:0])
	}
}

func BenchmarkIncoming(b *testing.B) {
	b.ReportAllocs()
	tn := mustTenant(b, base)
	c := voice.Call{From: outsider, To: tenClients}
	buf := make([]byte, 0, 1024)
	for b.Loop() {
		buf = rules.Incoming(c, tn).AppendTwiML(buf[:0])
	}
}

func TestSettleLength(t *testing.T) {
	d := voice.Decision{Kind: voice.KindHangup, Settle: true}
	want := fmt.Sprintf(`<Pause length="%d"/><Hangup/>`, voice.SettleSeconds)
	if got := string(d.AppendTwiML(nil)); !strings.Contains(got, want) {
		t.Errorf("TwiML %s; want %s", got, want)
	}
}
