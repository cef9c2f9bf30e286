package tenant

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// exampleFile is the tenants file the dev server ships with; it must load.
const exampleFile = "../../cmd/devserver/tenants.example.json"

func TestLoadFileExample(t *testing.T) {
	s, err := LoadFile(exampleFile)
	if err != nil {
		t.Fatalf("LoadFile(%s): %v", exampleFile, err)
	}
	const sid = "AC0123456789abcdef0123456789abcdef"
	tn, err := s.Lookup(context.Background(), sid)
	if err != nil {
		t.Fatalf("Lookup: %v", err)
	}
	if tn.AccountSID != sid || len(tn.TokenAPIKeys) == 0 || tn.TokenAPIKeys[0] != "dev-bearer-key-change-me" {
		t.Errorf("example tenant = %+v", tn)
	}
	// The documented defaults were filled in.
	if r := tn.RouteFor("+19995550000"); r == nil || r.RingSeconds != DefaultRingSeconds || r.NoAnswer.Action != ActionMessage {
		t.Errorf("default route = %+v", r)
	}
}

func TestLookupNotFound(t *testing.T) {
	s, err := ParseFile(mustJSON(t, []any{validRecord()}))
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name, sid, wantInText, notInText string
	}{
		{"unknown valid sid", "ACffffffffffffffffffffffffffffffff", "ACffffffffffffffffffffffffffffffff", ""},
		{"malformed sid is not echoed", "<script>alert(1)</script>", "(malformed)", "<script>"},
		{"empty", "", "(malformed)", ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			tn, err := s.Lookup(context.Background(), tc.sid)
			if tn != nil || !errors.Is(err, ErrNotFound) {
				t.Fatalf("Lookup = %v, %v; want nil, ErrNotFound", tn, err)
			}
			if errors.Is(err, ErrUnavailable) {
				t.Error("not found must not match ErrUnavailable")
			}
			if !strings.Contains(err.Error(), tc.wantInText) {
				t.Errorf("error %q does not contain %q", err, tc.wantInText)
			}
			if tc.notInText != "" && strings.Contains(err.Error(), tc.notInText) {
				t.Errorf("error %q echoes %q", err, tc.notInText)
			}
		})
	}
}

func TestParseFileErrors(t *testing.T) {
	second := validRecord()
	second["account_sid"] = "AC11111111111111111111111111111111"
	badSecond := validRecord()
	badSecond["account_sid"] = "AC22222222222222222222222222222222"
	route(badSecond)["ring_seconds"] = 0

	tests := []struct {
		name      string
		data      []byte
		wantText  string // substring of the error
		wantField string // FieldError.Field, if any
	}{
		{"object, not array", mustJSON(t, validRecord()), "must be a JSON array", ""},
		{"syntax", []byte(`[{"account_sid":`), "must be a JSON array", ""},
		{"null", []byte(`null`), "must be a JSON array", ""},
		{"empty file", []byte(``), "must be a JSON array", ""},
		{"bad second record", mustJSON(t, []any{second, badSecond}), "record 1", numRoute + ".ring_seconds"},
		{"record is not an object", []byte(`[` + string(mustJSON(t, second)) + `, "` + testKeySecret + `"]`), "record 1", "(document)"},
		{"duplicate account", mustJSON(t, []any{validRecord(), second, validRecord()}), "record 2: account_sid AC0123456789abcdef0123456789abcdef appears twice", ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s, err := ParseFile(tc.data)
			if err == nil || s != nil {
				t.Fatalf("ParseFile = %v, %v; want nil and an error", s, err)
			}
			if !strings.Contains(err.Error(), tc.wantText) {
				t.Errorf("error %q does not contain %q", err, tc.wantText)
			}
			if tc.wantField != "" {
				var fe *FieldError
				if !errors.As(err, &fe) || fe.Field != tc.wantField {
					t.Errorf("error %v: want *FieldError for %q", err, tc.wantField)
				}
			}
			assertNoSecret(t, err.Error())
		})
	}
}

func TestParseFileEmptyAndMany(t *testing.T) {
	s, err := ParseFile([]byte(`[]`))
	if err != nil {
		t.Fatalf("empty array: %v", err)
	}
	if _, err := s.Lookup(context.Background(), "AC0123456789abcdef0123456789abcdef"); !errors.Is(err, ErrNotFound) {
		t.Errorf("empty store Lookup err = %v", err)
	}
	second := validRecord()
	second["account_sid"] = "AC11111111111111111111111111111111"
	s, err = ParseFile(mustJSON(t, []any{validRecord(), second}))
	if err != nil {
		t.Fatal(err)
	}
	for _, sid := range []string{"AC0123456789abcdef0123456789abcdef", "AC11111111111111111111111111111111"} {
		if tn, err := s.Lookup(context.Background(), sid); err != nil || tn.AccountSID != sid {
			t.Errorf("Lookup(%s) = %v, %v", sid, tn, err)
		}
	}
}

func TestLoadFileMissing(t *testing.T) {
	_, err := LoadFile(filepath.Join(t.TempDir(), "nope.json"))
	if !errors.Is(err, os.ErrNotExist) {
		t.Errorf("err = %v, want os.ErrNotExist", err)
	}
}

func TestLoadFileBad(t *testing.T) {
	rec := validRecord()
	route(rec)["clients"] = clients(11)
	path := filepath.Join(t.TempDir(), "tenants.json")
	if err := os.WriteFile(path, mustJSON(t, []any{rec}), 0o600); err != nil {
		t.Fatal(err)
	}
	_, err := LoadFile(path)
	var fe *FieldError
	if !errors.As(err, &fe) || fe.Field != numRoute+".clients" {
		t.Fatalf("err = %v, want *FieldError for %s.clients", err, numRoute)
	}
}

func TestMemoryStore(t *testing.T) {
	a := &Tenant{AccountSID: "AC0123456789abcdef0123456789abcdef"}
	s := NewMemoryStore(a)
	if got, err := s.Lookup(context.Background(), a.AccountSID); err != nil || got != a {
		t.Errorf("Lookup = %v, %v", got, err)
	}
}
