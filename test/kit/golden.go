package kit

import (
	"bytes"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// update is the -update flag of every test binary that links kit: rewrite
// golden files instead of comparing with them (go test ./shared/voice
// -update), so expected TwiML, events and metric lines are reviewed as diffs
// rather than edited by hand.
var update = flag.Bool("update", false, "rewrite the golden files under testdata from the current output")

// CheckGolden fails t when got differs from the file at path, or writes got
// to path under -update.
func CheckGolden(t testing.TB, path string, got []byte) {
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

// CheckNoStrayGolden fails t for every file matching pattern (a
// filepath.Glob pattern such as "testdata/golden/*.xml") whose name, without
// its extension, is not in names: a golden file no test case writes is
// stale. Pass the names of every case, not of those that ran, so -run stays
// usable. Under -update it does nothing, as new files are being written.
func CheckNoStrayGolden(t testing.TB, pattern string, names map[string]bool) {
	t.Helper()
	if *update {
		return
	}
	files, err := filepath.Glob(pattern)
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range files {
		base := filepath.Base(f)
		if !names[strings.TrimSuffix(base, filepath.Ext(base))] {
			t.Errorf("%s has no test case (delete it, or rename the case)", f)
		}
	}
}
