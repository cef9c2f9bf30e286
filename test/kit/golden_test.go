package kit

import (
	"fmt"
	"os"
	"path/filepath"
	"testing"
)

// recorder is a testing.TB that notes failures instead of failing.
type recorder struct {
	testing.TB
	failed []string
}

func (r *recorder) Errorf(format string, args ...any) {
	r.failed = append(r.failed, fmt.Sprintf(format, args...))
}
func (r *recorder) Fatalf(format string, args ...any) {
	r.failed = append(r.failed, fmt.Sprintf(format, args...))
}

func TestCheckGolden(t *testing.T) {
	path := filepath.Join(t.TempDir(), "x.golden")
	if err := os.WriteFile(path, []byte("<Response/>"), 0o644); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name, path, got string
		fails           bool
	}{
		{"same", path, "<Response/>", false},
		{"different", path, "<Response><Hangup/></Response>", true},
		{"missing file", path + ".none", "x", true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := &recorder{TB: t}
			CheckGolden(r, tc.path, []byte(tc.got))
			if got := len(r.failed) > 0; got != tc.fails {
				t.Errorf("failed = %v (%q), want %v", got, r.failed, tc.fails)
			}
		})
	}
}

func TestUpdateWrites(t *testing.T) {
	*update = true
	defer func() { *update = false }()
	path := filepath.Join(t.TempDir(), "new", "x.golden")
	CheckGolden(t, path, []byte("fresh"))
	if b, err := os.ReadFile(path); err != nil || string(b) != "fresh" {
		t.Errorf("after -update: %q, %v", b, err)
	}
}

func TestCheckNoStrayGolden(t *testing.T) {
	dir := t.TempDir()
	for _, f := range []string{"a.xml", "b.xml", "c.json"} {
		if err := os.WriteFile(filepath.Join(dir, f), nil, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	pattern := filepath.Join(dir, "*.xml")
	tests := []struct {
		name   string
		names  map[string]bool
		update bool
		fails  int
	}{
		{"every file has a case", map[string]bool{"a": true, "b": true}, false, 0},
		{"extra cases are fine", map[string]bool{"a": true, "b": true, "d": true}, false, 0},
		{"one stray", map[string]bool{"a": true}, false, 1},
		{"all stray", nil, false, 2},
		{"quiet under -update", nil, true, 0},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			*update = tc.update
			defer func() { *update = false }()
			r := &recorder{TB: t}
			CheckNoStrayGolden(r, pattern, tc.names)
			if len(r.failed) != tc.fails {
				t.Errorf("%d failures (%q), want %d", len(r.failed), r.failed, tc.fails)
			}
		})
	}
}
