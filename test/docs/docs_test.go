package docs

import (
	"bufio"
	"bytes"
	"fmt"
	"go/ast"
	"go/constant"
	"go/parser"
	"go/token"
	"go/types"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"unicode"
)

// root is the module root, from this package's directory.
var root = filepath.Join("..", "..")

// packages returns the directory of every package of the module, relative
// to the root and slash-separated ("shared/tenant").
func packages(t *testing.T) []string {
	t.Helper()
	cmd := exec.Command("go", "list", "-f", "{{.Dir}}", "./...")
	cmd.Dir = root
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("go list: %v\n%s", err, stderr.Bytes())
	}
	abs, err := filepath.Abs(root)
	if err != nil {
		t.Fatal(err)
	}
	var dirs []string
	for _, d := range strings.Fields(string(out)) {
		rel, err := filepath.Rel(abs, d)
		if err != nil {
			t.Fatal(err)
		}
		dirs = append(dirs, filepath.ToSlash(rel))
	}
	return dirs
}

// listedPackages returns the first field of each line of the first fenced
// block after the heading in the markdown file: the package directories a
// layout list names. Continuation lines start with a space; a trailing
// slash is dropped.
func listedPackages(t *testing.T, file, heading string) []string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(root, file))
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	found, fenced := false, false
	sc := bufio.NewScanner(bytes.NewReader(b))
	for sc.Scan() {
		line := sc.Text()
		switch {
		case !found:
			found = line == heading
		case strings.HasPrefix(line, "```"):
			if fenced {
				return out
			}
			fenced = true
		case fenced && line != "" && !strings.HasPrefix(line, " "):
			out = append(out, strings.TrimSuffix(strings.Fields(line)[0], "/"))
		case !fenced && strings.HasPrefix(line, "#"):
			t.Fatalf("%s: no package list under %q", file, heading)
		}
	}
	t.Fatalf("%s: no heading %q followed by a fenced package list", file, heading)
	return nil
}

// compare lists what is wrong with a package list: packages it misses
// (among those want selects) and entries naming no package. An entry
// ending in "/..." stands for every package below it and must match one.
func compare(listed, pkgs []string, want func(string) bool) []string {
	var problems []string
	covered := func(p string) bool {
		for _, l := range listed {
			if l == p || strings.HasSuffix(l, "/...") && strings.HasPrefix(p, strings.TrimSuffix(l, "...")) {
				return true
			}
		}
		return false
	}
	for _, p := range pkgs {
		if want(p) && !covered(p) {
			problems = append(problems, "missing package "+p)
		}
	}
	seen := map[string]bool{}
	for _, l := range listed {
		if seen[l] {
			problems = append(problems, "listed twice: "+l)
		}
		seen[l] = true
		if prefix, ok := strings.CutSuffix(l, "..."); ok {
			if !slices.ContainsFunc(pkgs, func(p string) bool { return strings.HasPrefix(p, prefix) }) {
				problems = append(problems, "no package under "+l)
			}
		} else if !slices.Contains(pkgs, l) {
			problems = append(problems, "no such package: "+l)
		}
	}
	return problems
}

func all(string) bool { return true }

// TestLayoutListsEveryPackage: docs/development.md's layout names every
// package, and only packages.
func TestLayoutListsEveryPackage(t *testing.T) {
	for _, p := range compare(listedPackages(t, "docs/development.md", "## Layout"), packages(t), all) {
		t.Errorf("docs/development.md, Layout: %s", p)
	}
}

// TestReadmeMapsTheProduct: README.md's map names every package outside
// test/ (test/... may stand for the rest), and only packages.
func TestReadmeMapsTheProduct(t *testing.T) {
	product := func(p string) bool { return !strings.HasPrefix(p, "test/") }
	for _, p := range compare(listedPackages(t, "README.md", "## Map of the code"), packages(t), product) {
		t.Errorf("README.md, Map of the code: %s", p)
	}
}

// TestCompare shows the check fails on a missing package, a package that
// does not exist and a duplicate, and passes a complete list.
func TestCompare(t *testing.T) {
	pkgs := []string{"cmd/a", "shared/b", "test/c", "test/d/e"}
	tests := []struct {
		name   string
		listed []string
		want   []string
	}{
		{"complete", []string{"cmd/a", "shared/b", "test/c", "test/d/e"}, nil},
		{"complete with a wildcard", []string{"cmd/a", "shared/b", "test/..."}, nil},
		{"missing", []string{"cmd/a", "test/c", "test/d/e"}, []string{"missing package shared/b"}},
		{"stale", []string{"cmd/a", "shared/b", "shared/gone", "test/c", "test/d/e"}, []string{"no such package: shared/gone"}},
		{"empty wildcard", []string{"cmd/a", "shared/b", "test/...", "tools/..."}, []string{"no package under tools/..."}},
		{"twice", []string{"cmd/a", "cmd/a", "shared/b", "test/..."}, []string{"listed twice: cmd/a"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := compare(tc.listed, pkgs, all); !slices.Equal(got, tc.want) {
				t.Errorf("compare = %q, want %q", got, tc.want)
			}
		})
	}
}

// TestListedPackages reads a list the way the docs write it.
func TestListedPackages(t *testing.T) {
	dir := t.TempDir()
	doc := "# T\n\n## Layout\n\ntext\n\n```\nshared/a     one\n             more of one\ncmd/b/       two\n```\n\n```\nnot/this\n```\n"
	if err := os.WriteFile(filepath.Join(dir, "x.md"), []byte(doc), 0o644); err != nil {
		t.Fatal(err)
	}
	old := root
	root = dir
	defer func() { root = old }()
	if got, want := listedPackages(t, "x.md", "## Layout"), []string{"shared/a", "cmd/b"}; !slices.Equal(got, want) {
		t.Errorf("listedPackages = %q, want %q", got, want)
	}
}

// link is a markdown link target [text](target).
var link = regexp.MustCompile(`\]\(([^)\s]+)\)`)

// anchorID matches an explicit HTML anchor.
var anchorID = regexp.MustCompile(`<a id="([^"]+)"`)

// slug is the anchor GitHub gives a heading: lower case, punctuation but
// hyphens and underscores dropped, spaces as hyphens.
func slug(heading string) string {
	var b strings.Builder
	for _, r := range strings.ToLower(heading) {
		switch {
		case unicode.IsLetter(r) || unicode.IsDigit(r) || r == '-' || r == '_':
			b.WriteRune(r)
		case r == ' ':
			b.WriteByte('-')
		}
	}
	return b.String()
}

// anchors returns the anchors of a markdown file: its headings' (a repeated
// heading gets -1, -2, ...) and its explicit <a id>s.
func anchors(text string) map[string]bool {
	out := map[string]bool{}
	fenced := false
	for _, line := range strings.Split(text, "\n") {
		if strings.HasPrefix(line, "```") {
			fenced = !fenced
			continue
		}
		if fenced {
			continue
		}
		for _, m := range anchorID.FindAllStringSubmatch(line, -1) {
			out[m[1]] = true
		}
		if h, ok := strings.CutPrefix(strings.TrimLeft(line, "#"), " "); ok && strings.HasPrefix(line, "#") {
			s := slug(h)
			for n := 1; out[s]; n++ {
				s = fmt.Sprintf("%s-%d", slug(h), n)
			}
			out[s] = true
		}
	}
	return out
}

// brokenLinks lists the relative links of the markdown file at path (read
// as text) whose file, or heading in it, does not exist.
func brokenLinks(path, text string, read func(string) (string, error)) []string {
	var out []string
	fenced := false
	for i, line := range strings.Split(text, "\n") {
		if strings.HasPrefix(line, "```") {
			fenced = !fenced
		}
		if fenced {
			continue
		}
		for _, m := range link.FindAllStringSubmatch(line, -1) {
			target := m[1]
			if strings.Contains(target, "://") || strings.HasPrefix(target, "mailto:") {
				continue
			}
			file, frag, _ := strings.Cut(target, "#")
			dest := path
			if file != "" {
				dest = filepath.Join(filepath.Dir(path), file)
			}
			body, err := read(dest)
			switch {
			case err != nil:
				out = append(out, fmt.Sprintf("%s:%d: %s: no such file", path, i+1, target))
			case frag != "" && strings.HasSuffix(dest, ".md") && !anchors(body)[frag]:
				out = append(out, fmt.Sprintf("%s:%d: %s: no such heading", path, i+1, target))
			}
		}
	}
	return out
}

// TestLinksResolve: every relative link in README.md and docs/*.md reaches
// an existing file and, with a #fragment, an existing heading.
func TestLinksResolve(t *testing.T) {
	files, err := filepath.Glob(filepath.Join(root, "docs", "*.md"))
	if err != nil {
		t.Fatal(err)
	}
	files = append(files, filepath.Join(root, "README.md"))
	read := func(p string) (string, error) {
		b, err := os.ReadFile(p)
		return string(b), err
	}
	for _, f := range files {
		text, err := read(f)
		if err != nil {
			t.Fatal(err)
		}
		for _, b := range brokenLinks(f, text, read) {
			t.Error(strings.TrimPrefix(b, root+string(filepath.Separator)))
		}
	}
}

// TestBrokenLinks shows the link check catches a missing file and a
// missing heading, and knows GitHub's heading anchors.
func TestBrokenLinks(t *testing.T) {
	files := map[string]string{
		"d/a.md":  "# A\n\n## First deploy: `sam deploy --guided`\n\n## Twice\n\n## Twice\n\n<a id=\"own\"></a>text\n\n```\n## not a heading\n```\n",
		"d/b.png": "",
	}
	read := func(p string) (string, error) {
		if s, ok := files[filepath.ToSlash(p)]; ok {
			return s, nil
		}
		return "", os.ErrNotExist
	}
	tests := []struct {
		text   string
		broken bool
	}{
		{"[x](a.md)", false},
		{"[x](a.md#first-deploy-sam-deploy---guided)", false},
		{"[x](a.md#twice-1)", false},
		{"[x](a.md#own)", false},
		{"[x](b.png)", false},
		{"[x](https://example.com/nowhere.md#none)", false},
		{"[x](c.md)", true},
		{"[x](a.md#first-deploy)", true},
		{"[x](a.md#not-a-heading)", true},
		{"[x](#here)", false},
		{"[x](#nothing-here)", true},
		{"```\n[x](c.md)\n```", false},
	}
	for _, tc := range tests {
		files["d/x.md"] = tc.text + "\n\n## Here\n"
		if got := brokenLinks("d/x.md", tc.text, read); (len(got) > 0) != tc.broken {
			t.Errorf("%q: broken links %q, want broken %v", tc.text, got, tc.broken)
		}
	}
}

// TestGuaranteesNameEveryRoute: the table of docs/subaccounts.md's
// Guarantees says what each tenant change does on each route, so it must
// name every route package routes declares (a new route without a row is
// a change nobody has checked against suspend, close and move). The paths
// are read from the package's source with go/types, so a route added there
// is caught here without touching this test.
func TestGuaranteesNameEveryRoute(t *testing.T) {
	b, err := os.ReadFile(filepath.Join(root, "docs", "subaccounts.md"))
	if err != nil {
		t.Fatal(err)
	}
	_, section, ok := strings.Cut(string(b), "\n## Guarantees\n")
	if !ok {
		t.Fatal("docs/subaccounts.md has no Guarantees section")
	}
	section, _, _ = strings.Cut(section, "\n## ")
	paths := routePaths(t)
	if len(paths) < 20 {
		t.Fatalf("read only %d routes from shared/routes: %v", len(paths), paths)
	}
	for _, p := range paths {
		named := "`" + p + "`"
		if strings.HasSuffix(p, "/") { // a link prefix: `/recordings/...`
			named = "`" + p
		}
		if !strings.Contains(section, named) {
			t.Errorf("the Guarantees section does not name %s: add what suspend, close and move do on it", p)
		}
	}
}

// routePaths returns the value of every exported string constant of
// shared/routes that is a routed path (starts with "/").
func routePaths(t *testing.T) []string {
	t.Helper()
	dir := filepath.Join(root, "shared", "routes")
	fset := token.NewFileSet()
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var files []*ast.File
	for _, e := range entries {
		if !strings.HasSuffix(e.Name(), ".go") || strings.HasSuffix(e.Name(), "_test.go") {
			continue
		}
		f, err := parser.ParseFile(fset, filepath.Join(dir, e.Name()), nil, 0)
		if err != nil {
			t.Fatal(err)
		}
		files = append(files, f)
	}
	pkg, err := (&types.Config{}).Check("routes", fset, files, nil) // it imports nothing
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, name := range pkg.Scope().Names() {
		c, ok := pkg.Scope().Lookup(name).(*types.Const)
		if !ok || !c.Exported() || c.Val().Kind() != constant.String {
			continue
		}
		if v := constant.StringVal(c.Val()); strings.HasPrefix(v, "/") {
			out = append(out, v)
		}
	}
	return out
}
