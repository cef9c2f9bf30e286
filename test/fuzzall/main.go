// Command fuzzall runs every fuzz target in the module for a while each and
// prints one summary line per target (package, target, executions, new
// interesting inputs, result), so a long run can be left unattended: it
// exits non-zero when any target failed. `make fuzz` runs it from the module
// root:
//
//	go run ./test/fuzzall -fuzztime 10m
//
// A failing input is saved by go test under the package's testdata/fuzz, as
// a seed that `make test` runs from then on.
package main

import (
	"bufio"
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"regexp"
	"strings"
)

func main() {
	ok, err := run(context.Background(), os.Args[1:], os.Stdout, os.Stderr)
	if err != nil {
		fmt.Fprintln(os.Stderr, "fuzzall:", err)
		os.Exit(2)
	}
	if !ok {
		os.Exit(1)
	}
}

// result is one target's outcome.
type result struct {
	pkg, target string
	execs       string // as go test printed it, "" when none was printed
	interesting string
	passed      bool
}

func (r result) String() string {
	status := "ok"
	if !r.passed {
		status = "FAIL"
	}
	execs, interesting := r.execs, r.interesting
	if execs == "" {
		execs = "?"
	}
	if interesting == "" {
		interesting = "?"
	}
	return fmt.Sprintf("fuzz %-4s %s %s execs=%s new=%s", status, r.pkg, r.target, execs, interesting)
}

func run(ctx context.Context, args []string, stdout, stderr io.Writer) (bool, error) {
	fs := flag.NewFlagSet("fuzzall", flag.ContinueOnError)
	fuzztime := fs.String("fuzztime", "30s", "how long to fuzz each target (go test -fuzztime)")
	match := fs.String("run", "", "only targets whose package/name contains this")
	if err := fs.Parse(args); err != nil {
		return false, err
	}
	targets, err := listTargets(ctx, *match)
	if err != nil {
		return false, err
	}
	if len(targets) == 0 {
		return false, fmt.Errorf("no fuzz targets found")
	}
	var results []result
	for _, t := range targets {
		fmt.Fprintf(stderr, "== %s %s (%s)\n", t.pkg, t.target, *fuzztime)
		cmd := exec.CommandContext(ctx, "go", "test", "-run", "^$", "-fuzz", "^"+t.target+"$",
			"-fuzztime", *fuzztime, "-fuzzminimizetime", "10s", t.pkg)
		out, _ := cmd.CombinedOutput() // the exit status is read from the output and ProcessState
		_, _ = stderr.Write(out)
		r := parse(string(out))
		r.pkg, r.target = t.pkg, t.target
		r.passed = r.passed && cmd.ProcessState != nil && cmd.ProcessState.Success()
		results = append(results, r)
	}
	ok := true
	for _, r := range results {
		fmt.Fprintln(stdout, r)
		ok = ok && r.passed
	}
	return ok, nil
}

type target struct{ pkg, target string }

// listTargets asks go test for every package's Fuzz functions.
func listTargets(ctx context.Context, match string) ([]target, error) {
	pkgs, err := exec.CommandContext(ctx, "go", "list", "./...").Output()
	if err != nil {
		return nil, fmt.Errorf("go list: %w", err)
	}
	var out []target
	for _, pkg := range strings.Fields(string(pkgs)) {
		list, err := exec.CommandContext(ctx, "go", "test", "-list", "^Fuzz", pkg).Output()
		if err != nil {
			return nil, fmt.Errorf("go test -list %s: %w", pkg, err)
		}
		sc := bufio.NewScanner(strings.NewReader(string(list)))
		for sc.Scan() {
			name := strings.TrimSpace(sc.Text())
			if strings.HasPrefix(name, "Fuzz") && strings.Contains(pkg+"/"+name, match) {
				out = append(out, target{pkg, name})
			}
		}
	}
	return out, nil
}

// progress matches go test's fuzzing progress lines, for example
// "fuzz: elapsed: 30s, execs: 556120 (18537/sec), new interesting: 12 (total: 120)".
var progress = regexp.MustCompile(`fuzz: elapsed: \S+, execs: (\d+) \([^)]*\), new interesting: (\d+)`)

// passLine is go test's closing line of a passing package.
var passLine = regexp.MustCompile(`(?m)^(PASS|ok\s)`)

// parse reads the last progress line and whether the run passed.
func parse(out string) result {
	var r result
	for _, m := range progress.FindAllStringSubmatch(out, -1) {
		r.execs, r.interesting = m[1], m[2]
	}
	r.passed = !strings.Contains(out, "--- FAIL") && !strings.Contains(out, "\nFAIL") && passLine.MatchString(out)
	return r
}
