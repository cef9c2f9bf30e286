// Command benchreport prints this machine's performance table, the one in
// BENCHMARKS.md, as markdown: our hot paths against the twilio-go reference
// on the same inputs, whole-handler costs, bootstrap sizes, and each
// function's cold start and peak memory under the Lambda emulator. `make
// bench` builds the bootstraps and runs it from the module root:
//
//	go run ./test/benchreport -bootstraps build
//
// A benchmark that does not exist (yet) shows as n/a instead of failing the
// report.
package main

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"regexp"
	"runtime"
	"sort"
	"strconv"
	"strings"
	"time"
)

func main() {
	if err := run(context.Background(), os.Args[1:], os.Stdout, os.Stderr); err != nil {
		fmt.Fprintln(os.Stderr, "benchreport:", err)
		os.Exit(1)
	}
}

// Goals the table is checked against.
const (
	goalIssueRatio    = 0.7
	goalValidateRatio = 0.5
	goalRenderRatio   = 0.2
	goalColdStartMS   = 30
)

// goalBootstrapMB is each function's size goal in decimal megabytes: the
// webhooks carry phonenumbers (and with it protobuf and x/text's display
// names), which token does not.
var goalBootstrapMB = map[string]float64{"token": 8, "voice": 12, "incoming": 12, "events": 12, "deliver": 12, "calls": 12}

// benchName names a benchmark: pkg "" matches any package.
type benchName struct{ pkg, name string }

// comparisons are ours-vs-twilio-go rows.
var comparisons = []struct {
	label      string
	ours, ref  benchName
	goalRatio  float64
	goalFormat string
}{
	{"Token mint", benchName{"shared/token", "BenchmarkIssue"}, benchName{"shared/token", "BenchmarkIssueTwilioGo"}, goalIssueRatio, "≤ 0.7×"},
	{"Signature check", benchName{"shared/twiliosig", "BenchmarkValidate"}, benchName{"shared/twiliosig", "BenchmarkValidateTwilioGo"}, goalValidateRatio, "≤ 0.5×"},
	{"TwiML render", benchName{"shared/twiml", "BenchmarkRender"}, benchName{"shared/twiml", "BenchmarkRenderTwilioGo"}, goalRenderRatio, "≤ 0.2×"},
}

// handlerBenches are the whole-handler rows, one per function.
var handlerBenches = []struct{ function, name string }{
	{"token", "BenchmarkTokenHandler"},
	{"voice", "BenchmarkVoiceHandler"},
	{"incoming", "BenchmarkIncomingHandler"},
	{"events", "BenchmarkCallStatusToQueued"},
}

// result is one benchmark line.
type result struct {
	pkg, name   string
	nsPerOp     float64
	bytesPerOp  float64
	allocsPerOp float64
	hasMem      bool
}

// coldStart is one "coldstart ..." line of test/lambda's TestColdStart.
type coldStart struct {
	runs                  int
	median, fastest, slow float64 // ms
	rssKiB                int
}

// report is everything measured in one run.
type report struct {
	module     string
	benches    []result // medians over rounds
	rounds     int
	functions  []string
	sizes      map[string]int64 // function -> bootstrap bytes
	cold       map[string]coldStart
	warmPassed bool   // TestBootstraps (warm requests make no Secrets Manager call) passed
	warmNote   string // why it did not
	when       time.Time
}

func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("benchreport", flag.ContinueOnError)
	fs.SetOutput(stderr)
	bootstraps := fs.String("bootstraps", "build", "directory holding <function>/bootstrap (make build)")
	benchtime := fs.String("benchtime", "1s", "go test -benchtime")
	rounds := fs.Int("rounds", 3, "runs of every benchmark; the table shows the median")
	coldRuns := fs.Int("coldstart-runs", 7, "fresh starts per function for the cold start median")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *rounds < 1 || *coldRuns < 1 {
		return errors.New("-rounds and -coldstart-runs must be at least 1")
	}

	r := &report{sizes: map[string]int64{}, cold: map[string]coldStart{}, when: time.Now().UTC()}
	mod, err := goOutput(ctx, "list", "-m")
	if err != nil {
		return fmt.Errorf("run from the module root: %w", err)
	}
	r.module = strings.TrimSpace(mod)

	pkgsOut, err := goOutput(ctx, "list", "./...")
	if err != nil {
		return err
	}
	var pkgs []string
	for _, p := range strings.Fields(pkgsOut) {
		if !strings.HasPrefix(p, r.module+"/test/") {
			pkgs = append(pkgs, p)
		}
		if strings.HasPrefix(p, r.module+"/functions/") {
			r.functions = append(r.functions, path.Base(p))
		}
	}

	// Rounds of every benchmark, rather than -count, spread each one's
	// samples over the whole run, so a burst of load from elsewhere on the
	// machine skews one sample, which the median then drops.
	var samples []result
	for i := range *rounds {
		fmt.Fprintf(stderr, "benchreport: benchmarks, round %d of %d (go test -bench) ...\n", i+1, *rounds)
		out, err := goCombined(ctx, stderr, append([]string{"test", "-run", "^$", "-bench", benchRegexp(), "-benchmem", "-benchtime", *benchtime, "-count", "1"}, pkgs...)...)
		if err != nil {
			fmt.Fprintf(stderr, "benchreport: go test -bench failed (%v); rows it did not produce show n/a\n", err)
		}
		samples = append(samples, parseBench(out)...)
	}
	r.benches = medians(samples)
	r.rounds = *rounds

	for _, f := range r.functions {
		if st, err := os.Stat(filepath.Join(*bootstraps, f, "bootstrap")); err == nil {
			r.sizes[f] = st.Size()
		}
	}

	fmt.Fprintln(stderr, "benchreport: running bootstraps under the Lambda emulator (test/lambda) ...")
	lambdaOut, err := goCombinedEnv(ctx, stderr, []string{"COLDSTART_RUNS=" + strconv.Itoa(*coldRuns)},
		"test", "-count=1", "-v", "-run", "^(TestBootstraps|TestColdStart)$", "./test/lambda")
	if err != nil {
		fmt.Fprintf(stderr, "benchreport: test/lambda failed (%v); see its output above\n", err)
	}
	r.cold = parseColdStart(lambdaOut)
	r.warmPassed, r.warmNote = bootstrapsVerdict(lambdaOut)

	r.write(stdout)
	return nil
}

// benchRegexp selects every benchmark the table uses, and nothing else.
func benchRegexp() string {
	var names []string
	for _, c := range comparisons {
		names = append(names, strings.TrimPrefix(c.ours.name, "Benchmark"), strings.TrimPrefix(c.ref.name, "Benchmark"))
	}
	for _, h := range handlerBenches {
		names = append(names, strings.TrimPrefix(h.name, "Benchmark"))
	}
	return "^Benchmark(" + strings.Join(names, "|") + ")$"
}

func goOutput(ctx context.Context, args ...string) (string, error) {
	cmd := exec.CommandContext(ctx, "go", args...)
	var errb bytes.Buffer
	cmd.Stderr = &errb
	out, err := cmd.Output()
	if err != nil {
		return "", fmt.Errorf("go %s: %v\n%s", strings.Join(args, " "), err, errb.String())
	}
	return string(out), nil
}

func goCombined(ctx context.Context, progress io.Writer, args ...string) (string, error) {
	return goCombinedEnv(ctx, progress, nil, args...)
}

// goCombinedEnv runs go with args, copying its output to progress as it
// comes (a full run takes a minute) and returning it.
func goCombinedEnv(ctx context.Context, progress io.Writer, env []string, args ...string) (string, error) {
	cmd := exec.CommandContext(ctx, "go", args...)
	cmd.Env = append(os.Environ(), env...)
	var buf bytes.Buffer
	w := io.MultiWriter(&buf, progress)
	cmd.Stdout, cmd.Stderr = w, w
	err := cmd.Run()
	return buf.String(), err
}

// benchLine matches "BenchmarkX-2   1000   1234 ns/op   56 B/op   7 allocs/op".
var benchLine = regexp.MustCompile(`^(Benchmark\S+?)(?:-\d+)?\s+\d+\s+([\d.]+) ns/op(?:\s+([\d.]+) B/op)?(?:\s+([\d.]+) allocs/op)?`)

// parseBench reads go test -bench output; "pkg:" lines say which package
// the following lines belong to.
func parseBench(out string) []result {
	var res []result
	pkg := ""
	sc := bufio.NewScanner(strings.NewReader(out))
	for sc.Scan() {
		line := sc.Text()
		if p, ok := strings.CutPrefix(line, "pkg: "); ok {
			pkg = strings.TrimSpace(p)
			continue
		}
		m := benchLine.FindStringSubmatch(line)
		if m == nil {
			continue
		}
		r := result{pkg: pkg, name: m[1]}
		r.nsPerOp, _ = strconv.ParseFloat(m[2], 64)
		if m[3] != "" && m[4] != "" {
			r.bytesPerOp, _ = strconv.ParseFloat(m[3], 64)
			r.allocsPerOp, _ = strconv.ParseFloat(m[4], 64)
			r.hasMem = true
		}
		res = append(res, r)
	}
	return res
}

// medians returns, per benchmark, the sample with the median ns/op.
func medians(samples []result) []result {
	type key struct{ pkg, name string }
	by := map[key][]result{}
	var order []key
	for _, s := range samples {
		k := key{s.pkg, s.name}
		if _, seen := by[k]; !seen {
			order = append(order, k)
		}
		by[k] = append(by[k], s)
	}
	out := make([]result, 0, len(order))
	for _, k := range order {
		rs := by[k]
		sort.Slice(rs, func(i, j int) bool { return rs[i].nsPerOp < rs[j].nsPerOp })
		out = append(out, rs[len(rs)/2])
	}
	return out
}

// find returns the benchmark named b (its package relative to the module,
// or any package when b.pkg is "").
func (r *report) find(b benchName) (result, bool) {
	for _, res := range r.benches {
		if res.name == b.name && (b.pkg == "" || res.pkg == r.module+"/"+b.pkg) {
			return res, true
		}
	}
	return result{}, false
}

var coldLine = regexp.MustCompile(`^coldstart function=(\S+) runs=(\d+) median_ms=([\d.]+) min_ms=([\d.]+) max_ms=([\d.]+) rss_kb=(\d+)`)

func parseColdStart(out string) map[string]coldStart {
	res := map[string]coldStart{}
	for _, line := range strings.Split(out, "\n") {
		m := coldLine.FindStringSubmatch(line)
		if m == nil {
			continue
		}
		var c coldStart
		c.runs, _ = strconv.Atoi(m[2])
		c.median, _ = strconv.ParseFloat(m[3], 64)
		c.fastest, _ = strconv.ParseFloat(m[4], 64)
		c.slow, _ = strconv.ParseFloat(m[5], 64)
		c.rssKiB, _ = strconv.Atoi(m[6])
		res[m[1]] = c
	}
	return res
}

// bootstrapsVerdict reads whether TestBootstraps passed.
func bootstrapsVerdict(out string) (bool, string) {
	switch {
	case strings.Contains(out, "--- PASS: TestBootstraps "):
		return true, ""
	case strings.Contains(out, "--- FAIL: TestBootstraps "):
		return false, "TestBootstraps failed"
	default:
		return false, "TestBootstraps did not run"
	}
}

func (r *report) write(w io.Writer) {
	fmt.Fprintf(w, "Measured %s on %s, %d cores, %s %s/%s; benchmarks are the median of %d rounds.\n\n",
		r.when.Format("2006-01-02 15:04 MST"), cpuModel(), runtime.NumCPU(), runtime.Version(), runtime.GOOS, runtime.GOARCH, r.rounds)
	fmt.Fprintln(w, "| Measure | Ours | twilio-go | Ratio | Goal | Met |")
	fmt.Fprintln(w, "|---|---|---|---|---|---|")
	// What a user feels first: cold start, memory, size; then the hot paths.
	// The floor first: a bare aws-lambda-go bootstrap under the same harness.
	if c, ok := r.cold["bare"]; ok {
		fmt.Fprintf(w, "| reference: bare aws-lambda-go bootstrap cold start (answers 200; no configuration, AWS client or secret) | %.1f ms median of %d (%.1f–%.1f), %.1f MiB | | | | |\n",
			c.median, c.runs, c.fastest, c.slow, float64(c.rssKiB)/1024)
	}
	for _, f := range r.functions {
		cold, met, rss := "n/a", "n/a", "n/a"
		if c, ok := r.cold[f]; ok {
			cold = fmt.Sprintf("%.1f ms median of %d (%.1f–%.1f)", c.median, c.runs, c.fastest, c.slow)
			met = yesNo(c.median <= goalColdStartMS)
			rss = fmt.Sprintf("%.1f MiB", float64(c.rssKiB)/1024)
		}
		fmt.Fprintf(w, "| %s cold start, host build under aws-lambda-rie (process start → first response, SDK config and Secrets Manager fetch included) | %s | | | ≤ %d ms | %s |\n", f, cold, goalColdStartMS, met)
		fmt.Fprintf(w, "| %s peak RSS (VmHWM after every test request) | %s | | | | |\n", f, rss)
	}
	for _, f := range r.functions {
		size, goal, met := "n/a", "", "n/a"
		mb, hasGoal := goalBootstrapMB[f]
		if hasGoal {
			goal = fmt.Sprintf("≤ %g MB", mb)
		}
		if b, ok := r.sizes[f]; ok {
			size = fmt.Sprintf("%.2f MB (%.2f MiB)", float64(b)/1e6, float64(b)/(1<<20))
			switch {
			case !hasGoal:
				met = "n/a"
			case float64(b) <= mb*1e6:
				met = "yes"
			case float64(b) <= mb*(1<<20):
				met = "**no** (yes in MiB)"
			default:
				met = "**no**"
			}
		}
		fmt.Fprintf(w, "| %s bootstrap, linux/arm64 stripped (`make build`) | %s | | | %s | %s |\n", f, size, goal, met)
	}
	warm := "verified: 0 calls (test/lambda TestBootstraps)"
	if !r.warmPassed {
		warm = "not verified: " + r.warmNote
	}
	fmt.Fprintf(w, "| Secrets Manager calls on a warm request with a cached tenant | %s | | | 0 | %s |\n", warm, yesNo(r.warmPassed))
	for _, c := range comparisons {
		ours, ok1 := r.find(c.ours)
		ref, ok2 := r.find(c.ref)
		ratio, met := "n/a", "n/a"
		if ok1 && ok2 && ref.nsPerOp > 0 {
			x := ours.nsPerOp / ref.nsPerOp
			ratio = fmt.Sprintf("%.2f×", x)
			met = yesNo(x <= c.goalRatio)
		}
		fmt.Fprintf(w, "| %s (`%s` vs `%s`) | %s | %s | %s | %s | %s |\n",
			c.label, c.ours.name, c.ref.name, cell(ours, ok1), cell(ref, ok2), ratio, c.goalFormat, met)
	}
	for _, h := range handlerBenches {
		res, ok := r.find(benchName{"", h.name})
		name := h.name
		if ok {
			name = strings.TrimPrefix(res.pkg, r.module+"/") + "." + h.name
		}
		fmt.Fprintf(w, "| Whole %s handler (`%s`) | %s | | | | |\n", h.function, name, cell(res, ok))
	}
}

// cell formats one benchmark's cost.
func cell(r result, ok bool) string {
	if !ok {
		return "n/a"
	}
	s := duration(r.nsPerOp)
	if r.hasMem {
		s += fmt.Sprintf(", %.0f B, %.0f allocs", r.bytesPerOp, r.allocsPerOp)
	}
	return s
}

func duration(ns float64) string {
	switch {
	case ns < 1e3:
		return fmt.Sprintf("%.0f ns", ns)
	case ns < 1e6:
		return fmt.Sprintf("%.2f µs", ns/1e3)
	default:
		return fmt.Sprintf("%.2f ms", ns/1e6)
	}
}

func yesNo(ok bool) string {
	if ok {
		return "yes"
	}
	return "**no**"
}

// cpuModel is the first "model name" in /proc/cpuinfo.
func cpuModel() string {
	b, err := os.ReadFile("/proc/cpuinfo")
	if err != nil {
		return "unknown CPU"
	}
	var models []string
	for _, line := range strings.Split(string(b), "\n") {
		if k, v, ok := strings.Cut(line, ":"); ok && strings.TrimSpace(k) == "model name" {
			models = append(models, strings.TrimSpace(v))
		}
	}
	if len(models) == 0 {
		return "unknown CPU"
	}
	sort.Strings(models)
	return models[0]
}
