package lambda

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	fakesm "bubble-twilio-voice/test/fake/secretsmanager"
	"bubble-twilio-voice/test/kit"
)

// The emulator is pinned: the tests install exactly this version when no
// binary of it is found. It is not a module dependency (go.mod stays clean).
const (
	rieModule  = "github.com/aws/aws-lambda-runtime-interface-emulator"
	riePackage = rieModule + "/cmd/aws-lambda-rie"
	rieVersion = "v0.0.0-20261030222936-bef5c4ba774d"
)

// Bounds on everything that waits, so a broken bootstrap fails a test
// instead of hanging it.
const (
	installTimeout = 5 * time.Minute
	buildTimeout   = 5 * time.Minute
	readyTimeout   = 10 * time.Second
	invokeTimeout  = 15 * time.Second
	stopTimeout    = 5 * time.Second
)

// fixture is what every test shares: the emulator binary and one bootstrap
// per function, built once for the whole package run.
type fixture struct {
	rie        string
	dir        string            // temp dir holding the bootstraps
	bootstraps map[string]string // function name -> bootstrap path
	functions  []string          // function names, as go list orders them
}

var (
	setupOnce sync.Once
	shared    fixture
	setupErr  error
)

// TestMain removes the bootstraps after the run. Building happens lazily in
// the first test that needs it, so `go test -run '^$' -bench .` over ./...
// costs this package nothing.
func TestMain(m *testing.M) {
	code := m.Run()
	if shared.dir != "" {
		_ = os.RemoveAll(shared.dir)
	}
	os.Exit(code)
}

// setup returns the shared fixture, building it on first use. A failure to
// install the emulator or build a bootstrap fails the test: nothing is
// skipped.
func setup(t testing.TB) *fixture {
	t.Helper()
	setupOnce.Do(func() { setupErr = prepare() })
	if setupErr != nil {
		t.Fatal(setupErr)
	}
	return &shared
}

func prepare() error {
	root, err := moduleRoot()
	if err != nil {
		return err
	}
	dir, err := os.MkdirTemp("", "lambda-bootstraps-")
	if err != nil {
		return err
	}
	shared.dir = dir

	// Installing the emulator (first run on a fresh machine: ~40 s of
	// downloads) and building the bootstraps overlap.
	var wg sync.WaitGroup
	var rieErr error
	wg.Add(1)
	go func() {
		defer wg.Done()
		shared.rie, rieErr = findOrInstallRIE(dir)
	}()
	buildErr := buildBootstraps(root, dir)
	wg.Wait()
	return errors.Join(rieErr, buildErr)
}

// moduleRoot walks up from the working directory to go.mod.
func moduleRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", errors.New("go.mod not found above the working directory")
		}
		dir = parent
	}
}

// buildBootstraps builds every package under ./functions for the host, with
// the flags the Makefile uses for Lambda (only GOARCH differs), in one go
// command so the packages compile in parallel.
func buildBootstraps(root, dir string) error {
	ctx, cancel := context.WithTimeout(context.Background(), buildTimeout)
	defer cancel()
	list := exec.CommandContext(ctx, "go", "list", "./functions/...")
	list.Dir = root
	out, err := list.Output()
	if err != nil {
		return fmt.Errorf("go list ./functions/...: %v%s", err, stderrOf(err))
	}
	pkgs := strings.Fields(string(out))
	if len(pkgs) == 0 {
		return errors.New("no packages under ./functions")
	}
	args := []string{"build", "-buildvcs=false", "-tags", "lambda.norpc,nethttpomithttp2", "-trimpath", "-ldflags=-s -w", "-o", dir + string(filepath.Separator)}
	build := exec.CommandContext(ctx, "go", append(append(args, pkgs...), barePkg)...)
	build.Dir = root
	build.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := build.CombinedOutput(); err != nil {
		return fmt.Errorf("build bootstraps: %v\n%s", err, out)
	}
	shared.bootstraps = make(map[string]string, len(pkgs))
	for _, p := range pkgs {
		name := path.Base(p)
		bin := filepath.Join(dir, name)
		if _, err := os.Stat(bin); err != nil {
			return fmt.Errorf("bootstrap for %s: %w", p, err)
		}
		shared.bootstraps[name] = bin
		shared.functions = append(shared.functions, name)
	}
	// The reference, not a function: in bootstraps only.
	shared.bootstraps[bareName] = filepath.Join(dir, bareName)
	return nil
}

// barePkg is the reference bootstrap TestColdStart measures beside the
// functions: aws-lambda-go answering 200, nothing else.
const (
	barePkg  = "./test/lambda/testdata/bare"
	bareName = "bare"
)

func stderrOf(err error) string {
	var ee *exec.ExitError
	if errors.As(err, &ee) && len(ee.Stderr) > 0 {
		return "\n" + string(ee.Stderr)
	}
	return ""
}

// findOrInstallRIE returns an aws-lambda-rie binary of the pinned version:
// RIE_BIN if set, else one already in GOBIN, GOPATH/bin, PATH or the cache
// directory, else one it installs into the cache directory.
func findOrInstallRIE(tmp string) (string, error) {
	if bin := os.Getenv("RIE_BIN"); bin != "" {
		if _, err := os.Stat(bin); err != nil {
			return "", fmt.Errorf("RIE_BIN: %w", err)
		}
		return bin, nil
	}
	cache := rieCacheDir(tmp)
	var candidates []string
	if out, err := exec.Command("go", "env", "GOBIN", "GOPATH").Output(); err == nil {
		lines := strings.Split(strings.TrimSpace(string(out)), "\n")
		if len(lines) > 0 && strings.TrimSpace(lines[0]) != "" {
			candidates = append(candidates, filepath.Join(strings.TrimSpace(lines[0]), "aws-lambda-rie"))
		}
		if len(lines) > 1 {
			for _, p := range filepath.SplitList(strings.TrimSpace(lines[1])) {
				candidates = append(candidates, filepath.Join(p, "bin", "aws-lambda-rie"))
			}
		}
	}
	if p, err := exec.LookPath("aws-lambda-rie"); err == nil {
		candidates = append(candidates, p)
	}
	candidates = append(candidates, filepath.Join(cache, "aws-lambda-rie"))
	for _, c := range candidates {
		if pinnedRIE(c) {
			return c, nil
		}
	}

	ctx, cancel := context.WithTimeout(context.Background(), installTimeout)
	defer cancel()
	if err := os.MkdirAll(cache, 0o755); err != nil {
		return "", fmt.Errorf("Lambda Runtime Interface Emulator: %w", err)
	}
	install := exec.CommandContext(ctx, "go", "install", riePackage+"@"+rieVersion)
	install.Env = append(os.Environ(), "GOBIN="+cache, "CGO_ENABLED=0")
	if out, err := install.CombinedOutput(); err != nil {
		return "", fmt.Errorf("cannot install the Lambda Runtime Interface Emulator "+
			"(go install %s@%s, needs the Go module proxy; or set RIE_BIN to a copy): %v\n%s",
			riePackage, rieVersion, err, out)
	}
	bin := filepath.Join(cache, "aws-lambda-rie")
	if !pinnedRIE(bin) {
		return "", fmt.Errorf("go install %s@%s did not produce %s", riePackage, rieVersion, bin)
	}
	return bin, nil
}

// rieCacheDir is where an installed emulator is kept between runs.
func rieCacheDir(tmp string) string {
	base, err := os.UserCacheDir()
	if err != nil {
		return filepath.Join(tmp, "rie")
	}
	return filepath.Join(base, "bubble-twilio-voice", "aws-lambda-rie@"+rieVersion)
}

// pinnedRIE reports whether bin is the emulator built from the pinned
// version, according to its embedded build information.
func pinnedRIE(bin string) bool {
	if _, err := os.Stat(bin); err != nil {
		return false
	}
	out, err := exec.Command("go", "version", "-m", bin).Output()
	if err != nil {
		return false
	}
	for _, line := range strings.Split(string(out), "\n") {
		f := strings.Fields(line)
		if len(f) >= 3 && f[0] == "mod" && f[1] == rieModule && f[2] == rieVersion {
			return true
		}
	}
	return false
}

// freeAddr returns a loopback address with a port nothing listens on,
// for the emulator to bind after this probe closed. The ports come from
// below the kernel's ephemeral range (32768 and up on Linux), from a
// counter: a port the kernel picked for ":0" could be taken in between by
// any test's listener or outbound connection (seen in CI: the runtime API
// could not bind, and the first invoke failed), and the kernel never picks
// one below its range.
func freeAddr(t testing.TB) string {
	t.Helper()
	for range lowPorts {
		p := lowPortBase + int(nextPort.Add(1))%lowPorts
		l, err := net.Listen("tcp", fmt.Sprintf("127.0.0.1:%d", p))
		if err != nil {
			continue // in use
		}
		addr := l.Addr().String()
		_ = l.Close()
		return addr
	}
	t.Fatalf("no free loopback port in %d..%d", lowPortBase, lowPortBase+lowPorts-1)
	return ""
}

// The ports freeAddr hands out: lowPorts of them from lowPortBase, below
// the ephemeral range; nextPort starts at a place set by the process id,
// so two test binaries at once mostly use different ones.
const (
	lowPortBase = 20000
	lowPorts    = 12000
)

var nextPort = func() *atomic.Int64 {
	var n atomic.Int64
	n.Store(int64(os.Getpid() * 97 % lowPorts))
	return &n
}()

// emulator is one aws-lambda-rie process serving one function. The
// bootstrap starts on the first invocation, as a child of the emulator in a
// process group of its own.
type emulator struct {
	t         testing.TB
	fn        string
	bootstrap string
	cmd       *exec.Cmd
	url       string
	out       *kit.LogBuffer
	exited    chan struct{}
	stopOnce  sync.Once
	client    *http.Client
}

// emulatorEnv is the whole environment of the emulator, which hands it on to
// the bootstrap: nothing is inherited from the developer's shell, so their
// AWS profile, region or TENANTS_FILE cannot leak in.
func emulatorEnv(fn, home string, sm *fakesm.Server, extra ...string) []string {
	return append(append(kit.AWSEnv(sm.URL()), extra...),
		"HOME="+home,
		"TZ=UTC",
		"AWS_LAMBDA_FUNCTION_NAME="+fn,
		"AWS_LAMBDA_FUNCTION_MEMORY_SIZE=128",
		"AWS_LAMBDA_FUNCTION_TIMEOUT=10", // as template.yaml
		"SECRET_PREFIX="+secretPrefix,
	)
}

// startEmulator runs fn's bootstrap under the emulator, on loopback only,
// with extra environment (KEY=value) on top of the common one, and waits
// until the emulator accepts connections. Everything it starts is killed
// when the test ends.
func startEmulator(t testing.TB, fx *fixture, fn string, sm *fakesm.Server, extra ...string) *emulator {
	t.Helper()
	bootstrap, ok := fx.bootstraps[fn]
	if !ok {
		t.Fatalf("no bootstrap built for function %q", fn)
	}
	addr, apiAddr := freeAddr(t), freeAddr(t)
	home := t.TempDir()
	cmd := exec.Command(fx.rie,
		"--runtime-interface-emulator-address", addr, // default is 0.0.0.0:8080
		"--runtime-api-address", apiAddr, // default is 127.0.0.1:9001, shared by every emulator
		"--log-level", "error",
		bootstrap)
	cmd.Dir = home
	cmd.Env = emulatorEnv(fn, home, sm, extra...)
	out := &kit.LogBuffer{}
	cmd.Stdout, cmd.Stderr = out, out
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		t.Fatalf("start emulator: %v", err)
	}
	e := &emulator{
		t: t, fn: fn, bootstrap: bootstrap, cmd: cmd, out: out,
		url:    "http://" + addr + "/2015-03-31/functions/function/invocations",
		exited: make(chan struct{}),
		client: &http.Client{Timeout: invokeTimeout},
	}
	go func() {
		_ = cmd.Wait()
		close(e.exited)
	}()
	t.Cleanup(e.stop)

	deadline := time.Now().Add(readyTimeout)
	for {
		c, err := net.DialTimeout("tcp", addr, 100*time.Millisecond)
		if err == nil {
			_ = c.Close()
			return e
		}
		select {
		case <-e.exited:
			t.Fatalf("emulator exited before listening on %s:\n%s", addr, out.String())
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("emulator not listening on %s after %s:\n%s", addr, readyTimeout, out.String())
		}
		time.Sleep(2 * time.Millisecond)
	}
}

// stop kills the bootstrap (in its own process group) and the emulator's
// process group, and waits for the emulator to be gone. It is idempotent.
func (e *emulator) stop() {
	e.stopOnce.Do(func() {
		pid := e.cmd.Process.Pid
		for _, child := range descendants(pid) {
			if pg, err := syscall.Getpgid(child); err == nil && pg == child && pg != pid {
				_ = syscall.Kill(-child, syscall.SIGKILL)
			}
			_ = syscall.Kill(child, syscall.SIGKILL)
		}
		_ = syscall.Kill(-pid, syscall.SIGKILL)
		select {
		case <-e.exited:
		case <-time.After(stopTimeout):
			e.t.Errorf("emulator %d still running %s after SIGKILL", pid, stopTimeout)
		}
		if e.t.Failed() {
			e.t.Logf("%s emulator and bootstrap output:\n%s", e.fn, e.out.String())
		}
	})
}

// bootstrapPID returns the pid of the running bootstrap: the emulator's
// descendant executing the bootstrap file.
func (e *emulator) bootstrapPID() (int, error) {
	for _, pid := range descendants(e.cmd.Process.Pid) {
		if exe, err := os.Readlink(fmt.Sprintf("/proc/%d/exe", pid)); err == nil && exe == e.bootstrap {
			return pid, nil
		}
	}
	return 0, fmt.Errorf("no process runs %s under emulator %d", e.bootstrap, e.cmd.Process.Pid)
}

// maxRSSKiB returns the bootstrap's peak resident set size (VmHWM) so far.
func (e *emulator) maxRSSKiB() (int, error) {
	pid, err := e.bootstrapPID()
	if err != nil {
		return 0, err
	}
	status, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0, err
	}
	for _, line := range strings.Split(string(status), "\n") {
		if rest, ok := strings.CutPrefix(line, "VmHWM:"); ok {
			return strconv.Atoi(strings.TrimSuffix(strings.TrimSpace(rest), " kB"))
		}
	}
	return 0, fmt.Errorf("no VmHWM in /proc/%d/status", pid)
}

// descendants lists the processes below pid, children first, from the
// parent pids in /proc/*/stat.
func descendants(pid int) []int {
	entries, err := os.ReadDir("/proc")
	if err != nil {
		return nil
	}
	children := map[int][]int{}
	for _, ent := range entries {
		p, err := strconv.Atoi(ent.Name())
		if err != nil {
			continue
		}
		stat, err := os.ReadFile("/proc/" + ent.Name() + "/stat")
		if err != nil {
			continue
		}
		// pid (comm) state ppid ...; comm may hold spaces and parentheses.
		i := bytes.LastIndexByte(stat, ')')
		if i < 0 {
			continue
		}
		f := strings.Fields(string(stat[i+1:]))
		if len(f) < 2 {
			continue
		}
		if ppid, err := strconv.Atoi(f[1]); err == nil {
			children[ppid] = append(children[ppid], p)
		}
	}
	var out []int
	queue := []int{pid}
	for len(queue) > 0 {
		p := queue[0]
		queue = queue[1:]
		for _, c := range children[p] {
			out = append(out, c)
			queue = append(queue, c)
		}
	}
	return out
}

// response is an HTTP API (payload 2.0) Lambda response; Raw is the whole
// payload, for functions that answer something else (an SQS batch
// response).
type response struct {
	StatusCode int               `json:"statusCode"`
	Headers    map[string]string `json:"headers"`
	Cookies    []string          `json:"cookies"`
	Body       string            `json:"body"`
	IsBase64   bool              `json:"isBase64Encoded"`
	Raw        json.RawMessage   `json:"-"`
}

// header returns a response header by case-insensitive name.
func (r response) header(name string) string {
	for k, v := range r.Headers {
		if strings.EqualFold(k, name) {
			return v
		}
	}
	return ""
}

// invoke sends one event through the emulator and returns the function's
// response and how long the round trip took.
func (e *emulator) invoke(t testing.TB, event map[string]any) (response, time.Duration) {
	t.Helper()
	payload, err := json.Marshal(event)
	if err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	resp, err := e.client.Post(e.url, "application/json", bytes.NewReader(payload))
	if err != nil {
		t.Fatalf("invoke %s: %v\n%s", e.fn, err, e.out.String())
	}
	raw, err := io.ReadAll(resp.Body)
	_ = resp.Body.Close()
	elapsed := time.Since(start)
	if err != nil {
		t.Fatalf("invoke %s: read: %v", e.fn, err)
	}
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("invoke %s: emulator answered %d: %s\n%s", e.fn, resp.StatusCode, raw, e.out.String())
	}
	var r response
	if err := json.Unmarshal(raw, &r); err != nil {
		t.Fatalf("invoke %s: function returned %s, not an API Gateway response: %v\n%s", e.fn, raw, err, e.out.String())
	}
	r.Raw = raw
	return r, elapsed
}
