package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestLatestFixed(t *testing.T) {
	tests := []struct {
		name   string
		ranges string
		want   string
	}{
		{"fixed once", `[{"type":"SEMVER","events":[{"introduced":"0"},{"fixed":"1.2.3"}]}]`, "1.2.3"},
		{"latest of two fixes", `[{"type":"SEMVER","events":[{"introduced":"0"},{"fixed":"1.2.3"},{"introduced":"1.3.0"},{"fixed":"1.3.4"}]}]`, "1.3.4"},
		{"reintroduced after the last fix", `[{"type":"SEMVER","events":[{"introduced":"0"},{"fixed":"1.2.3"},{"introduced":"1.4.0"}]}]`, ""},
		{"never fixed", `[{"type":"SEMVER","events":[{"introduced":"0"}]}]`, ""},
		{"semver order, not text", `[{"type":"SEMVER","events":[{"introduced":"0"},{"fixed":"1.9.0"},{"introduced":"1.10.0"},{"fixed":"1.10.2"}]}]`, "1.10.2"},
		{"not SEMVER", `[{"type":"GIT","events":[{"introduced":"0"},{"fixed":"abc"}]}]`, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var e entry
			if err := json.Unmarshal([]byte(`{"id":"GO-2000-0001","affected":[{"ranges":`+tc.ranges+`}]}`), &e); err != nil {
				t.Fatal(err)
			}
			if got := latestFixed(&e, 0); got != tc.want {
				t.Errorf("latestFixed = %q, want %q", got, tc.want)
			}
		})
	}
}

// TestRun indexes a two-entry copy of x/vulndb's layout and checks the files
// govulncheck reads.
func TestRun(t *testing.T) {
	dir := t.TempDir()
	osv := filepath.Join(dir, "mod", "data", "osv")
	write(t, filepath.Join(osv, "GO-2024-0002.json"), `{
  "id": "GO-2024-0002", "modified": "2024-03-01T10:00:00Z", "aliases": ["CVE-2024-2"],
  "affected": [{"package": {"name": "example.com/b"}, "ranges": [{"type": "SEMVER", "events": [{"introduced": "0"}, {"fixed": "2.0.1"}]}]}]
}`)
	write(t, filepath.Join(osv, "GO-2024-0001.json"), `{
  "id": "GO-2024-0001", "modified": "0001-01-01T00:00:00Z",
  "affected": [
    {"package": {"name": "example.com/b"}, "ranges": [{"type": "SEMVER", "events": [{"introduced": "0"}, {"fixed": "1.0.0"}, {"introduced": "1.5.0"}]}]},
    {"package": {"name": "example.com/a"}, "ranges": [{"type": "SEMVER", "events": [{"introduced": "0"}, {"fixed": "0.3.0"}]}]}
  ]
}`)
	write(t, filepath.Join(dir, "info.json"), `{"Version":"v0.0.0-x","Time":"2024-02-01T00:00:00Z"}`)
	dl, _ := json.Marshal(map[string]string{
		"Path": "golang.org/x/vulndb", "Version": "v0.0.0-x", "Dir": filepath.Join(dir, "mod"), "Info": filepath.Join(dir, "info.json"),
	})
	write(t, filepath.Join(dir, "download.json"), string(dl))

	out := filepath.Join(dir, "db")
	var stdout strings.Builder
	if err := run(filepath.Join(dir, "download.json"), out, &stdout); err != nil {
		t.Fatal(err)
	}
	if want := "golang.org/x/vulndb@v0.0.0-x: 2 entries, 2 modules, modified 2024-03-01T10:00:00Z\n"; stdout.String() != want {
		t.Errorf("summary %q, want %q", stdout.String(), want)
	}
	for name, want := range map[string]string{
		"index/db.json": `{"modified":"2024-03-01T10:00:00Z"}`,
		"index/modules.json": `[{"path":"example.com/a","vulns":[{"id":"GO-2024-0001","modified":"0001-01-01T00:00:00Z","fixed":"0.3.0"}]},` +
			`{"path":"example.com/b","vulns":[{"id":"GO-2024-0001","modified":"0001-01-01T00:00:00Z"},{"id":"GO-2024-0002","modified":"2024-03-01T10:00:00Z","fixed":"2.0.1"}]}]`,
		"index/vulns.json":     `[{"id":"GO-2024-0001","modified":"0001-01-01T00:00:00Z"},{"id":"GO-2024-0002","modified":"2024-03-01T10:00:00Z","aliases":["CVE-2024-2"]}]`,
		"ID/GO-2024-0002.json": `{"id":"GO-2024-0002","modified":"2024-03-01T10:00:00Z","aliases":["CVE-2024-2"],"affected":[{"package":{"name":"example.com/b"},"ranges":[{"type":"SEMVER","events":[{"introduced":"0"},{"fixed":"2.0.1"}]}]}]}`,
	} {
		b, err := os.ReadFile(filepath.Join(out, name))
		if err != nil {
			t.Error(err)
			continue
		}
		if string(b) != want {
			t.Errorf("%s:\n%s\nwant\n%s", name, b, want)
		}
	}
}

func TestRunReportsDownloadError(t *testing.T) {
	dir := t.TempDir()
	write(t, filepath.Join(dir, "download.json"), `{"Path":"golang.org/x/vulndb","Version":"v9","Error":"unknown revision v9"}`)
	err := run(filepath.Join(dir, "download.json"), filepath.Join(dir, "db"), new(strings.Builder))
	if err == nil || !strings.Contains(err.Error(), "unknown revision v9") {
		t.Errorf("err = %v, want the download's error", err)
	}
}

func write(t *testing.T, name, content string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(name), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(name, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}
