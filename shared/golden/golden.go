// Package golden compares a test's output with a file under testdata, and
// rewrites the file instead when the test runs with -update
// (go test ./shared/voice -update), so expected TwiML, events and metric
// lines are reviewed as diffs rather than edited by hand.
package golden

import (
	"bytes"
	"flag"
	"os"
	"path/filepath"
	"testing"
)

var update = flag.Bool("update", false, "rewrite the golden files under testdata from the current output")

// Updating reports whether -update was given.
func Updating() bool { return *update }

// Check fails t when got differs from the file at path, or writes got to
// path under -update.
func Check(t testing.TB, path string, got []byte) {
	t.Helper()
	if *update {
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test with -update to create it)", err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("output differs from %s (go test -update accepts it)\n got: %s\nwant: %s", path, got, want)
	}
}
