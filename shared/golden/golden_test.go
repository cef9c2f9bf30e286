package golden

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

func TestCheck(t *testing.T) {
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
			Check(r, tc.path, []byte(tc.got))
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
	Check(t, path, []byte("fresh"))
	if b, err := os.ReadFile(path); err != nil || string(b) != "fresh" {
		t.Errorf("after -update: %q, %v", b, err)
	}
}
