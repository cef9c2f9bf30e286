package tenant_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"os"
	"reflect"
	"testing"

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
	if c.Incoming != nil {
		in := *c.Incoming
		if len(in.Numbers) == 0 {
			in.Numbers = nil
		}
		c.Incoming = &in
	}
	return c
}

func nilIfEmpty(s []string) []string {
	if len(s) == 0 {
		return nil
	}
	return s
}
