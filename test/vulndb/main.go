// Command vulndb turns the OSV files of the golang.org/x/vulndb module
// (data/osv, one file per GO-YYYY-NNNN report) into the v1 layout of a Go
// vulnerability database that govulncheck reads from a file:// URL
// (https://go.dev/doc/security/vuln/database#api):
//
//	index/db.json       {"modified": ...}
//	index/modules.json  [{"path": ..., "vulns": [{"id", "modified", "fixed"}]}]
//	index/vulns.json    [{"id", "modified", "aliases"}]
//	ID/GO-YYYY-NNNN.json
//
// It writes the same index as golang.org/x/vulndb/cmd/indexdb without
// indexdb's hundred modules of dependencies, so `make vuln` (.ci/vulncheck)
// works offline but for the Go module proxy:
//
//	go mod download -json golang.org/x/vulndb@VERSION >download.json
//	go run ./test/vulndb -download download.json -out DIR
package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"golang.org/x/mod/semver"
)

func main() {
	download := flag.String("download", "", "output of `go mod download -json golang.org/x/vulndb@VERSION`")
	out := flag.String("out", "", "directory to write the database to")
	flag.Parse()
	log.SetFlags(0)
	log.SetPrefix("vulndb: ")
	if *download == "" || *out == "" {
		flag.Usage()
		os.Exit(2)
	}
	if err := run(*download, *out, os.Stdout); err != nil {
		log.Fatal(err)
	}
}

// run indexes the module version described by the download file into out
// and prints a one-line summary to stdout.
func run(download, out string, stdout io.Writer) error {
	var dl struct{ Path, Version, Dir, Info, Error string }
	b, err := os.ReadFile(download)
	if err != nil {
		return err
	}
	if err := json.Unmarshal(b, &dl); err != nil {
		return fmt.Errorf("%s: %w", download, err)
	}
	if dl.Error != "" || dl.Dir == "" {
		return fmt.Errorf("go mod download %s@%s: %s", dl.Path, dl.Version, dl.Error)
	}
	// The data files carry zero "modified" times (x/vulndb's gendb fills
	// them in from git history), so the database is dated by the vulndb
	// commit unless an entry is newer.
	var info struct{ Time time.Time }
	if dl.Info != "" {
		b, err := os.ReadFile(dl.Info)
		if err != nil {
			return err
		}
		if err := json.Unmarshal(b, &info); err != nil {
			return fmt.Errorf("%s: %w", dl.Info, err)
		}
	}
	s, err := index(filepath.Join(dl.Dir, "data", "osv"), info.Time, out)
	if err != nil {
		return err
	}
	_, err = fmt.Fprintf(stdout, "%s@%s: %d entries, %d modules, modified %s\n", dl.Path, dl.Version,
		s.entries, s.modules, s.modified.UTC().Format(time.RFC3339))
	return err
}

// entry is the part of an OSV report the index needs.
type entry struct {
	ID       string    `json:"id"`
	Modified time.Time `json:"modified"`
	Aliases  []string  `json:"aliases"`
	Affected []struct {
		Package struct {
			Name string `json:"name"`
		} `json:"package"`
		Ranges []struct {
			Type   string `json:"type"`
			Events []struct {
				Introduced string `json:"introduced"`
				Fixed      string `json:"fixed"`
			} `json:"events"`
		} `json:"ranges"`
	} `json:"affected"`
}

// osvTime is written in RFC 3339 in UTC, as the OSV spec and x/vulndb write it.
type osvTime time.Time

// MarshalJSON writes t as RFC 3339 in UTC.
func (t osvTime) MarshalJSON() ([]byte, error) {
	return json.Marshal(time.Time(t).UTC().Format(time.RFC3339))
}

type moduleVuln struct {
	ID       string  `json:"id"`
	Modified osvTime `json:"modified"`
	Fixed    string  `json:"fixed,omitempty"`
}

type module struct {
	Path  string       `json:"path"`
	Vulns []moduleVuln `json:"vulns"`
}

type vuln struct {
	ID       string   `json:"id"`
	Modified osvTime  `json:"modified"`
	Aliases  []string `json:"aliases,omitempty"`
}

type summary struct {
	entries, modules int
	modified         time.Time
}

// index writes the database for the OSV files in src to out, dated
// modified or by its newest entry.
func index(src string, modified time.Time, out string) (summary, error) {
	files, err := filepath.Glob(filepath.Join(src, "*.json"))
	if err != nil {
		return summary{}, err
	}
	if len(files) == 0 {
		return summary{}, fmt.Errorf("no OSV entries in %s", src)
	}
	slices.Sort(files)
	for _, d := range []string{"ID", "index"} {
		if err := os.MkdirAll(filepath.Join(out, d), 0o755); err != nil {
			return summary{}, err
		}
	}

	modules := map[string]*module{}
	vulns := make([]vuln, 0, len(files))
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			return summary{}, err
		}
		var e entry
		if err := json.Unmarshal(b, &e); err != nil {
			return summary{}, fmt.Errorf("%s: %w", f, err)
		}
		if e.ID == "" || filepath.Base(f) != e.ID+".json" {
			return summary{}, fmt.Errorf("%s: file name does not match id %q", f, e.ID)
		}
		if e.Modified.After(modified) {
			modified = e.Modified
		}
		for i, a := range e.Affected {
			m := modules[a.Package.Name]
			if m == nil {
				m = &module{Path: a.Package.Name, Vulns: []moduleVuln{}}
				modules[a.Package.Name] = m
			}
			m.Vulns = append(m.Vulns, moduleVuln{ID: e.ID, Modified: osvTime(e.Modified), Fixed: latestFixed(&e, i)})
		}
		vulns = append(vulns, vuln{ID: e.ID, Modified: osvTime(e.Modified), Aliases: e.Aliases})
		// Entries are served as they are: govulncheck reads them with its
		// own OSV types.
		var compact bytes.Buffer
		if err := json.Compact(&compact, b); err != nil {
			return summary{}, fmt.Errorf("%s: %w", f, err)
		}
		if err := os.WriteFile(filepath.Join(out, "ID", e.ID+".json"), compact.Bytes(), 0o644); err != nil {
			return summary{}, err
		}
	}

	mods := make([]*module, 0, len(modules))
	for _, m := range modules {
		slices.SortStableFunc(m.Vulns, func(a, b moduleVuln) int { return strings.Compare(a.ID, b.ID) })
		mods = append(mods, m)
	}
	slices.SortFunc(mods, func(a, b *module) int { return strings.Compare(a.Path, b.Path) })
	err = errors.Join(
		writeJSON(filepath.Join(out, "index", "db.json"), struct {
			Modified osvTime `json:"modified"`
		}{osvTime(modified)}),
		writeJSON(filepath.Join(out, "index", "modules.json"), mods),
		writeJSON(filepath.Join(out, "index", "vulns.json"), vulns),
	)
	return summary{entries: len(vulns), modules: len(mods), modified: modified}, err
}

func writeJSON(name string, v any) error {
	b, err := json.Marshal(v)
	if err != nil {
		return err
	}
	return os.WriteFile(name, b, 0o644)
}

// before reports v < w for unprefixed semantic versions (x/vulndb's
// version.Before); "" is before every version.
func before(v, w string) bool { return semver.Compare("v"+v, "v"+w) < 0 }

// latestFixed is x/vulndb's osvutils.LatestFixed: the version from which no
// later version is affected, or "" if the vulnerability was re-introduced
// after its last fix.
func latestFixed(e *entry, i int) string {
	var latest string
	for _, r := range e.Affected[i].Ranges {
		if r.Type != "SEMVER" {
			continue
		}
		for _, ev := range r.Events {
			if ev.Fixed != "" && before(latest, ev.Fixed) {
				latest = ev.Fixed
			}
		}
		for _, ev := range r.Events {
			if ev.Introduced != "" && ev.Introduced != "0" && before(latest, ev.Introduced) {
				latest = ""
				break
			}
		}
	}
	return latest
}
