package tenant_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"os"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"bubble-twilio-voice/shared/tenant"
)

// FuzzParse feeds arbitrary documents to tenant.Parse. It must never panic;
// it must return either a tenant or a *FieldError, never both; and a record
// it accepts must marshal to JSON that parses again to the same tenant (so
// a record written back by a tool, or copied between stores, means the same
// thing), with its defaults already filled in.
func FuzzParse(f *testing.F) {
	data, err := os.ReadFile("../../cmd/devserver/tenants.example.json")
	if err != nil {
		f.Fatal(err)
	}
	var records []json.RawMessage
	if err := json.Unmarshal(data, &records); err != nil || len(records) == 0 {
		f.Fatalf("example tenants file: %v", err)
	}
	for _, r := range records {
		f.Add([]byte(r))
	}
	const minimal = `{"account_sid":"AC0123456789abcdef0123456789abcdef","auth_token":"t","api_key_sid":"SK0123456789abcdef0123456789abcdef","api_key_secret":"s","twiml_app_sid":"AP0123456789abcdef0123456789abcdef","caller_id":"+14155550100","token_api_keys":["0123456789abcdef"]`
	for _, extra := range []string{
		``,
		`,"caller_ids":[],"outbound":{"allowed_countries":[],"blocked_prefixes":["+1900"],"allow_client_calls":false}`,
		`,"incoming":{"numbers":{},"default":{"clients":["a"],"ring_seconds":0}}`,
		`,"incoming":{"numbers":{"+14155550100":{"clients":["a","b"],"no_answer":{"action":"forward","forward_to":"+14155550199","max_length_seconds":-5}}}}`,
		`,"incoming":{"numbers":{"+14155550100":null}}`,
		`,"incoming":{"default":{"clients":["a"],"no_answer":{"action":"voicemail","message":"\u00e9\ud800"}}}`,
		`,"token_ttl_seconds":86401,"default_region":"gb"`,
		`,"ACCOUNT_SID":"AC0123456789abcdef0123456789abcdeF","unknown":{"x":[1,2]}`,
		`,"record_calls":true,"previous_auth_token":"p","incoming":{}`,
		`,"outbound":{"allowed_number_types":["mobile","personal","uan","pager","voip","voicemail","toll_free","fixed_line"]}`,
		`,"outbound":{"allowed_number_types":[]}`,
		`,"outbound":{"allowed_number_types":["premium_rate"]}`,
		`,"incoming":{"numbers":{"+14155550101":{"clients":["a"],"label":"Sales line","then_number":"+14155550197","no_answer":{"action":"forward","forward_to":"+14155550101"}}}}`,
		`,"incoming":{"numbers":{"+14155550101":{"clients":["a"],"then_number":"+14155550100"}},"default":{"clients":["b"],"label":"\u0007"}}`,
		`,"incoming":{"default":{"clients":["a"],"hours":{"time_zone":"Europe/London","open":[{"days":["mon","tue"],"from":"09:00","to":"17:30"}],"closed_dates":["2026-12-25"]}}}`,
		`,"incoming":{"default":{"clients":["a"],"hours":{"time_zone":"UTC","open":[{"days":["sun"],"from":"00:00","to":"24:00"}],"closed_dates":[]},"closed":{"action":"voicemail","max_length_seconds":60}}}`,
		`,"incoming":{"default":{"clients":["a"],"hours":{"time_zone":"America/New_York","open":[{"days":["sat"],"from":"22:00","to":"06:00"}]},"closed":{"action":"forward","forward_to":"+14155550199"}}}`,
		`,"incoming":{"default":{"clients":["a"],"hours":{"time_zone":"Local","open":[]},"closed":{}}}`,
		`,"incoming":{"default":{"clients":["a"],"closed":{"action":"message"}}}`,
		`,"status":"active"`,
		`,"status":"suspended","suspended_at":"2026-11-20T09:30:00Z"`,
		`,"status":"suspended","suspended_at":"2026-11-20T09:30:00.123+01:00"`,
		`,"status":"Suspended","suspended_at":"yesterday"`,
		`,"status":"","suspended_at":"2026-11-20T09:30:00Z"`,
		`,"events":{"url":"https://app.example.com/api/1.1/wf/call-event","bearer_token":"bubble-api-token-0123456789abcdef","signing_secret":"whsec_0123456789abcdef0123","types":["call.completed","call.missed","voicemail.recorded","call.recorded"]}`,
		`,"events":{"url":"http://127.0.0.1:8080/events","types":[]}`,
		`,"events":{"url":"http://[::1]/e?x=1","signing_secret":"short"}`,
		`,"events":{"url":"https://user:pass@app.example.com/e#frag","bearer_token":"has space"}`,
		`,"events":{"url":"http://app.example.com/e","types":["call.missed","call.missed"]}`,
		`,"events":{"url":"https://app.example.com/e","types":["sms.received"]}`,
		`,"events":{}`,
		`,"events":null`,
		`,"status":"suspended","suspended_at":"2026-11-20T09:30:00Z","record_calls":true,"events":{"url":"https://app.example.com/e","types":["call.recorded"]},` +
			`"outbound":{"allowed_number_types":["mobile","fixed_line"]},"incoming":{"numbers":{"+14155550101":{"clients":["a"],"label":"Support","then_number":"+14155550198",` +
			`"hours":{"time_zone":"Europe/Paris","open":[{"days":["mon","fri"],"from":"08:00","to":"18:00"}],"closed_dates":["2026-12-25","2027-01-01"]},` +
			`"closed":{"action":"voicemail","message":"We are closed"},"no_answer":{"action":"message","message":"Sorry"}}}}`,
	} {
		f.Add([]byte(minimal + extra + `}`))
	}
	f.Add([]byte(`null`))
	f.Add([]byte(`[]`))
	f.Add([]byte(`{"account_sid":`))

	f.Fuzz(func(t *testing.T, doc []byte) {
		t1, err := tenant.Parse(doc)
		if err != nil {
			var fe *tenant.FieldError
			if t1 != nil || !errors.As(err, &fe) {
				t.Fatalf("Parse = %v, %T %v; want nil and a *FieldError", t1, err, err)
			}
			// Errors name the field, never a secret's value (they are logged).
			for _, secret := range secretsIn(doc) {
				if strings.Contains(err.Error(), secret) {
					t.Fatalf("error %q carries a secret of the record", err)
				}
			}
			return
		}
		if t1 == nil {
			t.Fatal("Parse returned neither a tenant nor an error")
		}
		out1, err := json.Marshal(t1)
		if err != nil {
			t.Fatalf("accepted tenant does not marshal: %v", err)
		}
		t2, err := tenant.Parse(out1)
		if err != nil {
			t.Fatalf("re-marshalled record %s is refused: %v (from %q)", out1, err, doc)
		}
		out2, err := json.Marshal(t2)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(out1, out2) {
			t.Fatalf("second round trip changed the record:\n%s\n%s", out1, out2)
		}
		if !reflect.DeepEqual(normalize(t1), normalize(t2)) {
			t.Fatalf("round trip changed the tenant:\n%+v\n%+v\n(from %q)", t1, t2, doc)
		}
	})
}

// normalize returns a copy of t with empty lists and maps as nil: JSON's
// omitempty writes both as nothing, and they mean the same to every reader.
func normalize(t *tenant.Tenant) tenant.Tenant {
	c := *t
	c.CallerIDs = nilIfEmpty(c.CallerIDs)
	c.Outbound.AllowedCountries = nilIfEmpty(c.Outbound.AllowedCountries)
	c.Outbound.BlockedPrefixes = nilIfEmpty(c.Outbound.BlockedPrefixes)
	c.Outbound.AllowedNumberTypes = nilIfEmpty(c.Outbound.AllowedNumberTypes)
	if c.Events != nil {
		ev := *c.Events
		ev.Types = nilIfEmpty(ev.Types)
		c.Events = &ev
	}
	if c.Incoming != nil {
		in := *c.Incoming
		if len(in.Numbers) == 0 {
			in.Numbers = nil
		} else {
			numbers := make(map[string]*tenant.Route, len(in.Numbers))
			for n, r := range in.Numbers {
				numbers[n] = normalizeRoute(r)
			}
			in.Numbers = numbers
		}
		in.Default = normalizeRoute(in.Default)
		c.Incoming = &in
	}
	return c
}

// secretsIn returns the record's secret values long enough that an error
// message cannot contain them by chance, read with a plain map.
func secretsIn(doc []byte) []string {
	var rec map[string]any
	if json.Unmarshal(doc, &rec) != nil {
		return nil
	}
	var out []string
	add := func(m map[string]any, keys ...string) {
		for _, k := range keys {
			if s, ok := m[k].(string); ok && len(s) >= 24 {
				out = append(out, s)
			}
		}
	}
	add(rec, "auth_token", "previous_auth_token", "api_key_secret")
	if ev, ok := rec["events"].(map[string]any); ok {
		add(ev, "bearer_token", "signing_secret")
	}
	return out
}

func normalizeRoute(r *tenant.Route) *tenant.Route {
	if r == nil || r.Hours == nil {
		return r
	}
	c := *r
	h := *r.Hours
	h.ClosedDates = nilIfEmpty(h.ClosedDates)
	c.Hours = &h
	return &c
}

// FuzzOpenAt checks Hours.OpenAt against the rule docs/tenant-record.md states, read
// with time.Format: closed all day on a closed date, else open when the
// local weekday is one of the days and from <= "15:04" < to (zero-padded
// times compare as strings; "24:00" sorts after every time of day).
func FuzzOpenAt(f *testing.F) {
	f.Add("Europe/London", "mon,tue,wed,thu,fri", "09:00", "17:30", "2026-12-25", int64(1783332000))
	f.Add("America/New_York", "sat", "10:00", "24:00", "2026-03-08", int64(1772953200))
	f.Add("Australia/Lord_Howe", "sun", "00:00", "02:30", "2026-04-05", int64(1775314800))
	f.Add("Asia/Kathmandu", "mon,sun", "00:00", "00:01", "", int64(0))
	f.Add("UTC", "thu", "23:59", "24:00", "1970-01-01", int64(-1))
	f.Add("Pacific/Apia", "fri,sat", "00:00", "24:00", "2011-12-30", int64(1325203200))
	f.Add("Local", "mon", "9:00", "17:00", "2026-2-30", int64(1))
	oracleZones := map[string]*time.Location{} // LoadLocation reads the zone file each time
	f.Fuzz(func(t *testing.T, zone, days, from, to, closed string, unix int64) {
		h := map[string]any{
			"time_zone": zone,
			"open":      []any{map[string]any{"days": strings.Split(days, ","), "from": from, "to": to}},
		}
		if closed != "" {
			h["closed_dates"] = []string{closed}
		}
		doc, err := json.Marshal(map[string]any{
			"account_sid": "AC0123456789abcdef0123456789abcdef", "auth_token": "t",
			"api_key_sid": "SK0123456789abcdef0123456789abcdef", "api_key_secret": "s",
			"twiml_app_sid": "AP0123456789abcdef0123456789abcdef", "caller_id": "+14155550100",
			"token_api_keys": []string{"0123456789abcdef"},
			"incoming":       map[string]any{"default": map[string]any{"clients": []string{"a"}, "hours": h}},
		})
		if err != nil {
			t.Fatal(err)
		}
		tn, err := tenant.Parse(doc)
		if err != nil {
			return
		}
		loc, ok := oracleZones[zone]
		if !ok {
			if loc, err = time.LoadLocation(zone); err != nil {
				t.Fatalf("Parse accepted zone %q that time.LoadLocation refuses: %v", zone, err)
			}
			oracleZones[zone] = loc
		}
		at := time.Unix(unix, 0)
		local := at.In(loc)
		want := local.Format(time.DateOnly) != closed &&
			slices.Contains(strings.Split(days, ","), strings.ToLower(local.Format("Mon"))) &&
			from <= local.Format("15:04") && local.Format("15:04") < to
		if got := tn.Incoming.Default.Hours.OpenAt(at); got != want {
			t.Fatalf("OpenAt(%v = %v local) = %v, want %v", at.UTC(), local, got, want)
		}
	})
}

func nilIfEmpty(s []string) []string {
	if len(s) == 0 {
		return nil
	}
	return s
}
