package browser

import (
	"bufio"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"maps"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/chromedp/cdproto/log"
	"github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/chromedp"

	"bubble-twilio-voice/shared/token"
)

var update = flag.Bool("update", false, "rewrite docs/softphone.png with this run's screenshot")

// chromium is Debian's chromium package; .ci/run installs it.
const chromium = "/usr/bin/chromium"

// The example tenant the dev server serves by default
// (cmd/devserver/tenants.example.json).
const (
	exampleSID       = "AC0123456789abcdef0123456789abcdef"
	exampleKey       = "dev-bearer-key-change-me"
	exampleKeySecret = "dev_api_key_secret_not_secret_000"
)

// sdkErrorCode is a Voice SDK error code: 31xxx (general, signaling,
// authorization) or 53xxx (signaling connection).
var sdkErrorCode = regexp.MustCompile(`^(31|53)\d{3}$`)

func TestSoftphone(t *testing.T) {
	if _, err := os.Stat(chromium); err != nil {
		t.Fatalf("%s is missing: this test drives the softphone page in Debian's chromium. "+
			"Install it with `apt-get update && apt-get install -y chromium` (.ci/run does when it is missing).", chromium)
	}
	root, err := filepath.Abs(filepath.Join("..", ".."))
	if err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	ctx, console := newBrowser(t)
	started := make(chan error, 1)
	go func() { started <- chromedp.Do(ctx) }() // Chromium starts while the dev server builds
	bin := buildDevServer(t, root)
	base := startDevServer(t, root, bin)
	// Another dev server plays a deployed stack whose CorsAllowedOrigins
	// lists the first one's page.
	stack := startDevServer(t, root, bin, "CORS_ALLOWED_ORIGINS="+base)
	if err := <-started; err != nil {
		t.Fatalf("start %s: %v", chromium, err)
	}
	step := func(name string) {
		t.Logf("%5.1fs %s", time.Since(start).Seconds(), name)
		console.step(name)
	}

	// The page loads, the SDK reports its version, and the example tenant
	// is filled in, with nothing on the console.
	step("load")
	do(t, ctx, chromedp.Navigate(base+"/"))
	version := poll[string](t, ctx, `/^\d/.test(document.getElementById('sdk-version').textContent) && document.getElementById('sdk-version').textContent`)
	if want := pinnedVersion(t, root); version != want {
		t.Errorf("the page reports Voice SDK %q, want the pinned %q", version, want)
	}
	poll[bool](t, ctx, `document.getElementById('account-sid').value !== ''`)
	fields := run(t, ctx, chromedp.Evaluate[map[string]string](`({
		url: document.getElementById('token-url').value,
		sid: document.getElementById('account-sid').value,
		key: document.getElementById('bearer-key').value,
		identity: document.getElementById('identity').value })`))
	if want := map[string]string{"url": base + "/token", "sid": exampleSID, "key": exampleKey, "identity": "alice"}; !maps.Equal(fields, want) {
		t.Errorf("form fields = %v, want %v", fields, want)
	}
	// Every input has a label; every button and input is reachable by Tab.
	unlabelled := run(t, ctx, chromedp.Evaluate[[]string](`[...document.querySelectorAll('input')].filter(i => i.labels.length === 0).map(i => i.id)`))
	untabbable := run(t, ctx, chromedp.Evaluate[[]string](`[...document.querySelectorAll('input, button')].filter(e => e.tabIndex < 0).map(e => e.id)`))
	if len(unlabelled) > 0 || len(untabbable) > 0 {
		t.Errorf("inputs without a label: %v; controls out of the Tab order: %v", unlabelled, untabbable)
	}
	if errs := console.errors("load"); len(errs) > 0 {
		t.Errorf("console errors while the page loaded:\n%s", strings.Join(errs, "\n"))
	}

	// A wrong bearer key: the endpoint's own error message, and no device.
	step("wrong key")
	do(t, ctx, chromedp.SetValue(chromedp.ID("bearer-key"), "wrong-key-wrong-key"), chromedp.Click(chromedp.ID("connect")))
	shown := poll[string](t, ctx, `document.getElementById('errors').textContent.includes('401 unauthorized') && document.getElementById('errors').textContent`)
	if !strings.Contains(shown, "missing or wrong API key for this account") {
		t.Errorf("wrong key: errors show %q, want the endpoint's message", shown)
	}
	if run(t, ctx, chromedp.Evaluate[bool](`softphone.device !== null`)) {
		t.Error("wrong key: a Device was created")
	}

	// The example key: a token for alice, handed to a real Twilio.Device,
	// which tries to reach Twilio and reports the SDK's error code.
	step("connect")
	do(t, ctx, chromedp.SetValue(chromedp.ID("bearer-key"), exampleKey), chromedp.Click(chromedp.ID("connect")))
	poll[bool](t, ctx, `document.getElementById('token-identity').textContent.startsWith('alice')`)
	expiry := run(t, ctx, chromedp.Text(chromedp.ID("token-expiry")))
	if !regexp.MustCompile(`^\d\d:\d\d:\d\d \(in (60 min|59 min|\d+ s)\)$`).MatchString(expiry) {
		t.Errorf("token expiry shows %q, want a time an hour ahead", expiry)
	}
	first := deviceToken(t, ctx)
	code := poll[string](t, ctx, `[...document.querySelectorAll('#errors li')].filter(li => li.textContent.includes('Twilio SDK')).map(li => li.querySelector('.code').textContent)[0]`)
	if !sdkErrorCode.MatchString(code) {
		t.Errorf("the page shows SDK error code %q, want a 31xxx or 53xxx code", code)
	}
	state := run(t, ctx, chromedp.Text(chromedp.ID("device-state")))
	if !strings.Contains(state, "error "+code) {
		t.Errorf("device state %q does not name error %s", state, code)
	}
	t.Logf("the SDK could not reach Twilio: the page shows error %s; device state %q", code, state)

	// Call stays disabled while the device is not registered, and says why.
	step("not registered")
	callable := run(t, ctx, chromedp.Evaluate[map[string]any](`({disabled: document.getElementById('call').disabled,
		why: document.getElementById('call-why').textContent, state: softphone.device.state})`))
	if callable["state"] != "registered" && (callable["disabled"] != true || !strings.Contains(callable["why"].(string), "registered") ||
		!strings.Contains(callable["why"].(string), "error "+code)) {
		t.Errorf("with the device %v, Call is disabled=%v and explains %q; want disabled, naming registration and error %s",
			callable["state"], callable["disabled"], callable["why"], code)
	}
	checkCollapsedErrors(t, ctx, code)

	// A refresh fetches a new token and hands it to the Device. Tokens are
	// minted per second (the jti is the key and iat, as Twilio's libraries
	// make it), so wait for the next second first.
	step("refresh")
	poll[bool](t, ctx, fmt.Sprintf(`Date.now() >= %d`, (first.IssuedAt.Unix()+1)*1000))
	do(t, ctx, chromedp.Click(chromedp.ID("refresh")))
	poll[bool](t, ctx, `[...document.querySelectorAll('#log li')].some(li => li.textContent.includes('New token handed to the device'))`)
	second := deviceToken(t, ctx)
	if !second.IssuedAt.After(first.IssuedAt) || second.Identity != "alice" {
		t.Errorf("after the refresh the Device holds a token issued %v for %q; the first was issued %v", second.IssuedAt, second.Identity, first.IssuedAt)
	}

	// Only the refused token request and the SDK's own reports of Twilio
	// being out of reach may reach the console.
	for _, phase := range []string{"wrong key", "connect", "refresh"} {
		for _, e := range console.errors(phase) {
			if !expected(phase, e) {
				t.Errorf("console error while %s: %s", phase, e)
			}
		}
	}

	step("screenshot")
	screenshot(t, ctx, root)

	// A call placed while Twilio is out of reach waits for the signaling
	// connection, visibly, and Hang up gives up on it. Twilio cannot
	// register the device here, so the test tells the page it did: Call is
	// then enabled and its reason gone.
	step("outgoing")
	do(t, ctx, chromedp.Evaluate[chromedp.Void](`Object.defineProperty(softphone.device, 'state', {value: 'registered', configurable: true});
		softphone.device.emit('registered')`))
	poll[bool](t, ctx, `!document.getElementById('call').disabled && document.getElementById('call-why').textContent === ''`)
	do(t, ctx, chromedp.SetValue(chromedp.ID("to"), "client:bob"), chromedp.Click(chromedp.ID("call")))
	status := poll[string](t, ctx, `!document.getElementById('active').hidden && document.getElementById('call-status').textContent`)
	if !strings.Contains(status, "waiting for Twilio") {
		t.Errorf("pending call shows %q", status)
	}
	do(t, ctx, chromedp.Click(chromedp.ID("hangup")))
	poll[bool](t, ctx, `document.getElementById('active').hidden && !document.getElementById('call').disabled`)

	// Incoming calls come from Twilio, which is out of reach: a stand-in
	// Call, emitted by the real Device, checks what each button does.
	step("incoming")
	for _, choice := range []string{"ignore", "reject", "accept"} {
		do(t, ctx, chromedp.Evaluate[chromedp.Void](`window.standIn = Object.assign(new EventTarget(), {
			parameters: {From: '+14155550123', CallSid: 'CA0123456789abcdef0123456789abcdef'}, did: [],
			on(name, fn) { this.addEventListener(name, (e) => fn(...(e.detail || []))); },
			accept() { this.did.push('accept'); this.dispatchEvent(new CustomEvent('accept')); },
			ignore() { this.did.push('ignore'); }, reject() { this.did.push('reject'); },
			disconnect() { this.did.push('disconnect'); this.dispatchEvent(new CustomEvent('disconnect')); },
			mute(m) { this.did.push(m ? 'mute' : 'unmute'); this.dispatchEvent(new CustomEvent('mute', {detail: [m]})); },
			isMuted() { return this.did.filter(d => d === 'mute').length > this.did.filter(d => d === 'unmute').length; } });
			softphone.device.emit('incoming', standIn)`))
		from := poll[string](t, ctx, `!document.getElementById('incoming').hidden && document.getElementById('incoming-from').textContent`)
		if from != "+14155550123" {
			t.Errorf("incoming call shows caller %q", from)
		}
		if focused := run(t, ctx, chromedp.Evaluate[string](`document.activeElement.id`)); focused != "accept" {
			t.Errorf("an incoming call puts the focus on %q, want accept", focused)
		}
		do(t, ctx, chromedp.Click(chromedp.ID(choice)))
		if choice == "accept" {
			poll[bool](t, ctx, `document.getElementById('call-status').textContent === 'In call.'`)
			if run(t, ctx, chromedp.Evaluate[bool](`document.getElementById('call').disabled`)) == false {
				t.Error("Call is enabled during a call")
			}
			step("call control")
			checkCallControl(t, ctx, base)
			step("incoming")
			do(t, ctx, chromedp.Click(chromedp.ID("mute")))
			poll[bool](t, ctx, `document.getElementById('mute').getAttribute('aria-pressed') === 'true'`)
			do(t, ctx, chromedp.Click(chromedp.ID("hangup")))
			poll[bool](t, ctx, `document.getElementById('active').hidden`)
		}
		did := run(t, ctx, chromedp.Evaluate[[]string](`standIn.did`))
		want := map[string][]string{"ignore": {"ignore"}, "reject": {"reject"}, "accept": {"accept", "mute", "disconnect"}}[choice]
		if !slices.Equal(did, want) || !run(t, ctx, chromedp.Evaluate[bool](`document.getElementById('incoming').hidden`)) {
			t.Errorf("%s: the stand-in call saw %v, want %v, and the incoming panel hidden", choice, did, want)
		}
	}
	for _, e := range append(console.errors("outgoing"), console.errors("incoming")...) {
		if !expected("", e) {
			t.Errorf("console error while calling: %s", e)
		}
	}
	step("resume held")
	checkResumeAfterReload(t, ctx, base)
	for _, e := range append(console.errors("call control"), console.errors("resume held")...) {
		if !expected("call control", e) {
			t.Errorf("console error while calling: %s", e)
		}
	}

	step("bubble snippet")
	checkBubbleSnippet(t, ctx, root, base)
	for _, e := range console.errors("bubble snippet") {
		if !expected("", e) {
			t.Errorf("console error while running docs/bubble.md's JavaScript: %s", e)
		}
	}

	// Another origin's token URL: a stack that allows this page's origin
	// answers it; one that does not is named as the likely cause.
	step("cors")
	do(t, ctx, chromedp.SetValue(chromedp.ID("token-url"), stack+"/token"), chromedp.Click(chromedp.ID("connect")))
	poll[bool](t, ctx, `document.getElementById('token-identity').textContent === 'alice' && softphone.device !== null`)
	deviceToken(t, ctx)
	do(t, ctx, chromedp.Navigate(stack+"/"))
	poll[bool](t, ctx, `document.getElementById('account-sid').value !== ''`)
	do(t, ctx, chromedp.SetValue(chromedp.ID("token-url"), base+"/token"), chromedp.Click(chromedp.ID("connect")))
	shown = poll[string](t, ctx, `document.getElementById('errors').textContent.includes('network') && document.getElementById('errors').textContent`)
	if !strings.Contains(shown, "CorsAllowedOrigins includes "+stack) {
		t.Errorf("a token URL without CORS for this page shows %q", shown)
	}
	for _, e := range console.errors("cors") {
		if !expected("cors", e) {
			t.Errorf("console error while trying another origin: %s", e)
		}
	}
}

// deviceToken checks that the Device holds the page's latest token and that
// it is one of ours, and returns its claims.
func deviceToken(t *testing.T, ctx context.Context) token.Claims {
	t.Helper()
	jwt := poll[string](t, ctx, `softphone.device && softphone.device.token === softphone.token && softphone.token`)
	c, err := token.Verify(jwt, exampleKeySecret, time.Now())
	if err != nil {
		t.Fatalf("the Device's token does not verify with the example tenant's key: %v", err)
	}
	if c.AccountSID != exampleSID {
		t.Errorf("the Device's token is for %s", c.AccountSID)
	}
	return c
}

func screenshot(t *testing.T, ctx context.Context, root string) {
	t.Helper()
	// Scroll the log to its end and take the focus off the buttons, so the
	// picture shows a settled page.
	do(t, ctx, chromedp.Evaluate[chromedp.Void](`document.activeElement.blur(); window.scrollTo(0, 0)`))
	png := run(t, ctx, chromedp.FullScreenshot(100))
	path := filepath.Join(t.ArtifactDir(), "softphone.png")
	if err := os.WriteFile(path, png, 0o644); err != nil {
		t.Fatal(err)
	}
	t.Logf("screenshot: %s", path)
	if *update {
		docs := filepath.Join(root, "docs", "softphone.png")
		if err := os.WriteFile(docs, png, 0o644); err != nil {
			t.Fatal(err)
		}
		t.Logf("wrote %s", docs)
	}
}

// buildDevServer builds cmd/devserver, the binary `make run` runs.
func buildDevServer(t *testing.T, root string) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "devserver")
	build := exec.Command("go", "build", "-o", bin, "./cmd/devserver")
	build.Dir = root
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build ./cmd/devserver: %v\n%s", err, out)
	}
	return bin
}

// startDevServer runs the dev server as `make run` does, from the
// repository root with its default (example) tenants file, on a free port,
// with env added. It returns the server's base URL.
func startDevServer(t *testing.T, root, bin string, env ...string) string {
	t.Helper()
	cmd := exec.Command(bin)
	cmd.Dir = root
	cmd.Env = append([]string{"ADDR=127.0.0.1:0", "LOG_LEVEL=info", "PATH=" + os.Getenv("PATH")}, env...)
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	var stderr strings.Builder
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan struct{})
	t.Cleanup(func() {
		_ = cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-exited:
		case <-time.After(10 * time.Second):
			_ = cmd.Process.Kill()
			<-exited
		}
	})

	addrc := make(chan string, 1)
	go func() {
		defer close(exited)
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			var line struct {
				Msg  string `json:"msg"`
				Addr string `json:"addr"`
			}
			if json.Unmarshal(sc.Bytes(), &line) == nil && line.Msg == "devserver listening" {
				addrc <- line.Addr
			}
		}
		_, _ = io.Copy(io.Discard, stdout)
		_ = cmd.Wait()
	}()
	select {
	case addr := <-addrc:
		return "http://" + addr
	case <-exited:
		t.Fatalf("the dev server exited before listening: %s", stderr.String())
	case <-time.After(20 * time.Second):
		t.Fatal("the dev server did not start listening in 20 s")
	}
	return ""
}

// newBrowser returns the context of a headless Chromium with a fresh
// profile, which the first action starts, and what reaches its console.
func newBrowser(t *testing.T) (context.Context, *consoleLog) {
	t.Helper()
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(chromium),
		chromedp.UserDataDir(t.TempDir()),
		chromedp.NoSandbox, // CI runs as root
		chromedp.DisableGPU,
		chromedp.WindowSize(1200, 900),
		chromedp.Flag("disable-quic", true),
		chromedp.Flag("disable-component-update", true),
		// No name resolves but the dev server's address: nothing leaves this
		// machine, and the SDK's connection to Twilio fails at once.
		chromedp.Flag("host-resolver-rules", "MAP * ~NOTFOUND, EXCLUDE 127.0.0.1"),
		// A call would ask for the microphone: say yes, with a fake one.
		chromedp.Flag("use-fake-ui-for-media-stream", true),
		chromedp.Flag("use-fake-device-for-media-stream", true),
	)
	allocCtx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	console := &consoleLog{}
	ctx, cancel := chromedp.NewContext(allocCtx, chromedp.WithListener(console.listen))
	ctx, cancelTimeout := context.WithTimeout(ctx, 60*time.Second)
	t.Cleanup(func() {
		cancelTimeout()
		cancel()
		cancelAlloc()
	})
	return ctx, console
}

// consoleLog keeps the console errors, exceptions and error log entries of
// the page, by the step of the test they happened in.
type consoleLog struct {
	mu     sync.Mutex
	phase  string
	byStep map[string][]string
}

func (c *consoleLog) step(name string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.phase = name
}

func (c *consoleLog) errors(step string) []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.byStep[step]
}

func (c *consoleLog) add(s string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.byStep == nil {
		c.byStep = map[string][]string{}
	}
	c.byStep[c.phase] = append(c.byStep[c.phase], s)
}

// listen runs in chromedp's read loop: it only formats and stores.
func (c *consoleLog) listen(ev any) {
	switch ev := ev.(type) {
	case *runtime.EventConsoleAPICalled:
		if ev.Type != runtime.ConsoleAPICalledTypeError && ev.Type != runtime.ConsoleAPICalledTypeAssert {
			return
		}
		var parts []string
		for _, a := range ev.Args {
			if a.Description != "" {
				parts = append(parts, a.Description)
			} else {
				parts = append(parts, string(a.Value))
			}
		}
		c.add("console." + string(ev.Type) + ": " + strings.Join(parts, " "))
	case *runtime.EventExceptionThrown:
		d := ev.ExceptionDetails
		text := d.Text
		if d.Exception != nil {
			text += " " + d.Exception.Description
		}
		c.add(fmt.Sprintf("exception at %s:%d: %s", d.URL, d.LineNumber+1, text))
	case *log.EventEntryAdded:
		if ev.Entry.Level == log.EntryLevelError {
			c.add(fmt.Sprintf("log %s: %s %s", ev.Entry.Source, ev.Entry.Text, ev.Entry.URL))
		}
	}
}

// expected reports whether a console error is one the step must cause: the
// browser's notes of the 401 and of the request CORS refused; the SDK's logger ("[TwilioVoice]...") saying
// that it cannot reach Twilio; and Chromium's notes of the requests to
// Twilio (signaling, ringtones) that cannot resolve here.
func expected(step, e string) bool {
	switch {
	case step == "wrong key":
		return strings.Contains(e, "status of 401") && strings.Contains(e, "/token")
	case step == "call control" && strings.Contains(e, "/calls/"):
		return strings.Contains(e, "status of 404") || strings.Contains(e, "status of 503")
	case step == "cors" && strings.Contains(e, "blocked by CORS policy"), step == "cors" && strings.Contains(e, "net::ERR_FAILED"):
		return true
	}
	return strings.HasPrefix(e, `console.error: "[TwilioVoice]`) ||
		(strings.Contains(e, "net::ERR_NAME_NOT_RESOLVED") && strings.Contains(e, ".twilio.com"))
}

// pinnedVersion is the SDK version in cmd/devserver/web/vendor/voice-sdk.pin.
func pinnedVersion(t *testing.T, root string) string {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(root, "cmd", "devserver", "web", "vendor", "voice-sdk.pin"))
	if err != nil {
		t.Fatal(err)
	}
	for line := range strings.Lines(string(data)) {
		if v, ok := strings.CutPrefix(strings.TrimSpace(line), "version="); ok {
			return v
		}
	}
	t.Fatal("voice-sdk.pin has no version= line")
	return ""
}

func do(t *testing.T, ctx context.Context, actions ...chromedp.Action[chromedp.Void]) {
	t.Helper()
	if err := chromedp.Do(ctx, actions...); err != nil {
		t.Fatal(err)
	}
}

func run[T any](t *testing.T, ctx context.Context, action chromedp.Action[T]) T {
	t.Helper()
	v, err := chromedp.Run(ctx, action)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

// poll waits, at most 15 s, for a JavaScript expression to be truthy and
// returns its value.
func poll[T any](t *testing.T, ctx context.Context, expr string) T {
	t.Helper()
	v, err := chromedp.Run(ctx, chromedp.Poll[T](expr, chromedp.WithPollingInterval(50*time.Millisecond), chromedp.WithPollingTimeout(15*time.Second)))
	if err != nil {
		t.Fatalf("waiting for %s: %v", expr, err)
	}
	return v
}
