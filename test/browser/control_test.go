package browser

import (
	"context"
	"encoding/json"
	"maps"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/fetch"
	"github.com/chromedp/chromedp"
)

// checkCollapsedErrors waits for the SDK to repeat its error (it retries
// the signaling connection about once a second) and checks that the repeats
// were counted on the error's one line, in the log and in the Errors list,
// instead of adding a line each.
func checkCollapsedErrors(t *testing.T, ctx context.Context, code string) {
	t.Helper()
	line := poll[map[string]any](t, ctx, `(() => {
		const li = [...document.querySelectorAll('#log li')].find(li => li.textContent.includes('error `+code+`') && Number(li.dataset.count) >= 2);
		return li && {text: li.textContent, count: Number(li.dataset.count)};
	})()`)
	dup := run(t, ctx, chromedp.Evaluate[[]string](`(() => {
		const keys = [...document.querySelectorAll('#log li')].map(li => li.dataset.key).filter(k => k.includes('error `+code+`'));
		return keys.filter((k, i) => keys.indexOf(k) !== i);
	})()`))
	if len(dup) > 0 {
		t.Errorf("the log repeats the SDK's error on new lines: %q", dup)
	}
	if !strings.Contains(line["text"].(string), "×") {
		t.Errorf("the repeated log line %q does not show its count", line["text"])
	}
	times := run(t, ctx, chromedp.Evaluate[[]string](`[...document.querySelectorAll('#errors li')].filter(li => li.querySelector('.code')?.textContent === '`+code+`').map(li => li.querySelector('.when').textContent)`))
	if len(times) != 1 || !strings.Contains(times[0], "times") {
		t.Errorf("the Errors list shows error %s as %q, want one entry with a count", code, times)
	}
	t.Logf("error %s repeated: one log line %q", code, line["text"])
}

// controlRequest is what the page sent to a call-control route.
type controlRequest struct {
	ev   *fetch.EventRequestPaused
	path string
	auth string
	body map[string]any
}

// interceptor pauses the page's requests to /calls/* with the DevTools
// Fetch domain, so the test answers them in the routes' place.
type interceptor struct {
	t      *testing.T
	ctx    context.Context
	base   string
	paused chan *fetch.EventRequestPaused
}

// interceptCalls starts pausing /calls/* until the test ends its step
// (the returned stop).
func interceptCalls(t *testing.T, ctx context.Context, base string) (*interceptor, func()) {
	t.Helper()
	ictx, cancel := context.WithCancel(ctx)
	in := &interceptor{t: t, ctx: ctx, base: base, paused: make(chan *fetch.EventRequestPaused, 8)}
	events := chromedp.Events(ictx, fetch.RequestPaused)
	go func() {
		for ev, err := range events {
			if err != nil {
				return
			}
			in.paused <- &ev
		}
	}()
	cdpDo(t, ctx, func(ctx context.Context, tg *chromedp.Target) error {
		_, err := cdp.Call(ctx, tg, fetch.Enable, fetch.EnableParams{Patterns: []*fetch.RequestPattern{{URLPattern: "*/calls/*"}}})
		return err
	})
	return in, func() {
		cdpDo(t, ctx, func(ctx context.Context, tg *chromedp.Target) error {
			_, err := cdp.Call(ctx, tg, fetch.Disable, cdp.Empty{})
			return err
		})
		cancel()
	}
}

// next waits for the page's next call-control request and checks it is a
// POST of wantBody to wantPath with the Device's current token.
func (in *interceptor) next(wantPath string, wantBody map[string]any) controlRequest {
	t := in.t
	t.Helper()
	var ev *fetch.EventRequestPaused
	select {
	case ev = <-in.paused:
	case <-time.After(10 * time.Second):
		t.Fatalf("the page sent no request to %s", wantPath)
	}
	bearer := "Bearer " + run(t, in.ctx, chromedp.Evaluate[string](`softphone.token`))
	r := controlRequest{ev: ev, path: strings.TrimPrefix(ev.Request.URL, in.base)}
	for k, v := range ev.Request.Headers {
		if strings.EqualFold(k, "Authorization") {
			r.auth, _ = v.(string)
		}
	}
	var raw []byte
	for _, e := range ev.Request.PostDataEntries {
		raw = append(raw, e.Bytes...)
	}
	if err := json.Unmarshal(raw, &r.body); err != nil {
		t.Errorf("%s: body %q is not JSON: %v", r.path, raw, err)
	}
	if ev.Request.Method != "POST" || r.path != wantPath || r.auth != bearer || !maps.Equal(r.body, wantBody) {
		t.Errorf("the page sent %s %s (Authorization %q) %v; want POST %s with the Device's token and %v",
			ev.Request.Method, r.path, r.auth, r.body, wantPath, wantBody)
	}
	return r
}

// reply answers a paused request in the route's place.
func (in *interceptor) reply(r controlRequest, status int, body string, header ...string) {
	in.t.Helper()
	headers := []*fetch.HeaderEntry{{Name: "Content-Type", Value: "application/json"}}
	for i := 0; i+1 < len(header); i += 2 {
		headers = append(headers, &fetch.HeaderEntry{Name: header[i], Value: header[i+1]})
	}
	cdpDo(in.t, in.ctx, func(ctx context.Context, tg *chromedp.Target) error {
		_, err := cdp.Call(ctx, tg, fetch.FulfillRequest, fetch.FulfillRequestParams{
			RequestID: r.ev.RequestID, ResponseCode: int64(status), ResponseHeaders: headers, Body: []byte(body)})
		return err
	})
}

// callSID is the stand-in call's CallSid.
const callSID = "CA0123456789abcdef0123456789abcdef"

func answer(state string) string { return `{"call_sid":"` + callSID + `","state":"` + state + `"}` }

// checkCallControl drives the Hold/Resume, Transfer, Complete/Cancel, Add
// and Remove buttons of an accepted call (the stand-in's CallSid) against
// answers the test gives in the routes' place: the requests to /calls/*
// are paused by the DevTools Fetch domain and answered here, so the page
// is checked against the routes' contract (issue 21, docs/call-control.md)
// whatever the dev server's routes would do with a made-up call. It leaves
// the call on hold.
func checkCallControl(t *testing.T, ctx context.Context, base string) {
	t.Helper()
	const sid = callSID
	in, stop := interceptCalls(t, ctx, base)
	defer stop()
	next, reply := in.next, in.reply
	setTo := func(to string) {
		do(t, ctx, chromedp.Evaluate[chromedp.Void](`(() => { const i = document.getElementById('transfer-to');
			i.value = '`+to+`'; i.dispatchEvent(new Event('input')); })()`))
	}
	enabled := func() map[string]bool {
		return run(t, ctx, chromedp.Evaluate[map[string]bool](`Object.fromEntries(['hold', 'transfer', 'add', 'remove',
			'transfer-complete', 'transfer-cancel'].map(id => [id, !document.getElementById(id).disabled &&
			!document.getElementById(id).closest('[hidden]')]))`))
	}
	want := func(what string, on ...string) {
		t.Helper()
		got := enabled()
		w := map[string]bool{}
		for k := range got {
			w[k] = false
		}
		for _, k := range on {
			w[k] = true
		}
		if !maps.Equal(got, w) {
			t.Errorf("%s: enabled buttons %v, want %v", what, got, w)
		}
	}

	// A connected call: Hold is on; Transfer and Add wait for a To.
	want("connected", "hold")

	// Hold, then Resume; a 503 with Retry-After is tried again, once.
	do(t, ctx, chromedp.Click(chromedp.ID("hold")))
	r := next("/calls/hold", map[string]any{"call_sid": sid})
	want("while the hold request is on its way")
	reply(r, 200, answer("held"))
	poll[bool](t, ctx, `document.getElementById('hold').textContent === 'Resume' && document.getElementById('call-status').textContent.startsWith('On hold')`)
	do(t, ctx, chromedp.Click(chromedp.ID("hold")))
	reply(next("/calls/resume", map[string]any{"call_sid": sid}), 503,
		`{"error":{"code":"unavailable","message":"try again"}}`, "Retry-After", "1")
	reply(next("/calls/resume", map[string]any{"call_sid": sid}), 200, answer("active"))
	poll[bool](t, ctx, `document.getElementById('hold').textContent === 'Hold' && document.getElementById('call-status').textContent === 'In call.'`)

	// Warm transfer to a colleague, then Cancel: back to the caller.
	setTo("client:bob")
	want("with a To", "hold", "transfer", "add")
	do(t, ctx, chromedp.Click(chromedp.ID("mode-warm")), chromedp.Click(chromedp.ID("transfer")))
	reply(next("/calls/transfer", map[string]any{"call_sid": sid, "to": "client:bob", "mode": "warm"}), 200, answer("transferring"))
	poll[bool](t, ctx, `!document.getElementById('warm').hidden && !document.getElementById('transfer-cancel').disabled`)
	want("during a warm transfer", "transfer-complete", "transfer-cancel")
	do(t, ctx, chromedp.Click(chromedp.ID("transfer-cancel")))
	reply(next("/calls/transfer/cancel", map[string]any{"call_sid": sid}), 200, answer("active"))
	poll[bool](t, ctx, `document.getElementById('warm').hidden && !document.getElementById('hold').disabled`)

	// Add a third party, then Remove them.
	setTo("+14155550199")
	do(t, ctx, chromedp.Click(chromedp.ID("add")))
	reply(next("/calls/add", map[string]any{"call_sid": sid, "to": "+14155550199"}), 200, answer("active"))
	poll[bool](t, ctx, `!document.getElementById('remove').disabled`)
	do(t, ctx, chromedp.Click(chromedp.ID("remove")))
	reply(next("/calls/remove", map[string]any{"call_sid": sid, "to": "+14155550199"}), 200, answer("active"))
	poll[bool](t, ctx, `document.getElementById('remove').disabled && !document.getElementById('hold').disabled`)

	// A 4xx is shown with its code and message, and never tried again.
	do(t, ctx, chromedp.Click(chromedp.ID("hold")))
	reply(next("/calls/hold", map[string]any{"call_sid": sid}), 404,
		`{"error":{"code":"call_not_found","message":"no call with that call_sid is yours"}}`)
	shown := poll[string](t, ctx, `document.getElementById('errors').textContent.includes('404 call_not_found') && document.getElementById('errors').textContent`)
	if !strings.Contains(shown, "no call with that call_sid is yours") {
		t.Errorf("a 404 shows %q, want the route's message", shown)
	}
	select {
	case ev := <-in.paused:
		t.Errorf("the page tried %s again after a 404", ev.Request.URL)
		reply(controlRequest{ev: ev}, 404, `{}`)
	case <-time.After(1500 * time.Millisecond):
	}
	poll[bool](t, ctx, `!document.getElementById('hold').disabled && document.getElementById('hold').textContent === 'Hold'`)

	// A cold transfer: the caller is put through, this browser leaves.
	setTo("client:bob")
	do(t, ctx, chromedp.Click(chromedp.ID("mode-cold")), chromedp.Click(chromedp.ID("transfer")))
	reply(next("/calls/transfer", map[string]any{"call_sid": sid, "to": "client:bob", "mode": "cold"}), 200, answer("transferred"))
	poll[bool](t, ctx, `document.getElementById('control-state').textContent.includes('transferred')`)

	// Hold once more: this tab remembers the held call, for a reload.
	do(t, ctx, chromedp.Click(chromedp.ID("hold")))
	reply(next("/calls/hold", map[string]any{"call_sid": sid}), 200, answer("held"))
	poll[bool](t, ctx, `document.getElementById('hold').textContent === 'Resume'`)
	if saved := run(t, ctx, chromedp.Evaluate[string](`JSON.parse(sessionStorage.getItem('softphone.held')).call_sid`)); saved != sid {
		t.Errorf("the held call is remembered as %q, want %s", saved, sid)
	}
}

// checkResumeAfterReload: a call this tab held before the page reloaded is
// offered for Resume, which needs the new Device's token and POSTs
// /calls/resume with the held leg's call_sid; then it is forgotten.
func checkResumeAfterReload(t *testing.T, ctx context.Context, base string) {
	t.Helper()
	do(t, ctx, chromedp.Navigate(base+"/"))
	poll[bool](t, ctx, `document.getElementById('account-sid').value !== ''`)
	label := poll[string](t, ctx, `!document.getElementById('held').hidden && document.getElementById('held-label').textContent`)
	if label != "Call from +14155550123" || !run(t, ctx, chromedp.Evaluate[bool](`document.getElementById('resume-held').disabled`)) {
		t.Errorf("after a reload the held call shows %q, with Resume enabled before Connect", label)
	}
	do(t, ctx, chromedp.Click(chromedp.ID("connect")))
	poll[bool](t, ctx, `!document.getElementById('resume-held').disabled`)
	in, stop := interceptCalls(t, ctx, base)
	defer stop()
	do(t, ctx, chromedp.Click(chromedp.ID("resume-held")))
	in.reply(in.next("/calls/resume", map[string]any{"call_sid": callSID}), 200, answer("active"))
	poll[bool](t, ctx, `document.getElementById('held').hidden && sessionStorage.getItem('softphone.held') === null`)
}

// cdpDo runs one DevTools protocol exchange on the page's target.
func cdpDo(t *testing.T, ctx context.Context, f func(ctx context.Context, tg *chromedp.Target) error) {
	t.Helper()
	do(t, ctx, chromedp.Func(f))
}

// checkBubbleSnippet runs docs/bubble.md's page JavaScript, as a Bubble
// page would, against the real pinned SDK and a token of the dev server's:
// it must parse, create and register a Device through voice.start, tell
// Bubble (the bubble_fn_ functions) the state and every error with its code,
// count an error the SDK repeats instead of telling it anew, and refuse a
// call before the Device is registered.
func checkBubbleSnippet(t *testing.T, ctx context.Context, root, base string) {
	t.Helper()
	doc, err := os.ReadFile(filepath.Join(root, "docs", "bubble.md"))
	if err != nil {
		t.Fatal(err)
	}
	const open, end = "```html\n<script>\n// Voice for Bubble", "</script>\n```"
	_, rest, ok := strings.Cut(string(doc), open)
	snippet, _, ok2 := strings.Cut(rest, end)
	if !ok || !ok2 {
		t.Fatalf("docs/bubble.md has no %q ... %q block", open, end)
	}
	do(t, ctx, chromedp.Navigate(base+"/"))
	poll[bool](t, ctx, `document.getElementById('account-sid').value !== ''`)
	do(t, ctx, chromedp.Evaluate[chromedp.Void](`window.told = [];
		for (const n of ['voice_token_needed', 'voice_state', 'voice_error', 'voice_incoming', 'voice_call_sid'])
			window['bubble_fn_' + n] = (v) => told.push(n + ': ' + v);`))
	do(t, ctx, chromedp.Evaluate[chromedp.Void]("// Voice for Bubble"+snippet))
	do(t, ctx, chromedp.Evaluate[chromedp.Void](`(async () => {
		const r = await fetch('/token', {method: 'POST', headers: {Authorization: 'Bearer `+exampleKey+`', 'Content-Type': 'application/json'},
			body: JSON.stringify({account_sid: '`+exampleSID+`', identity: 'alice'})});
		const tok = await r.json();
		voice.start(tok.token, tok.expires_at_unix, new URL('/token', location.href).href);
		window.started = true; })()`))
	poll[bool](t, ctx, `window.started === true`)
	told := poll[[]string](t, ctx, `told.some(m => /^voice_error: Twilio: (31|53)\d{3} .*\(\d+ times\)$/.test(m)) && told`)
	if !slices.Contains(told, "voice_state: Connecting to Twilio…") {
		t.Errorf("Bubble was told %q, want the registering state", told)
	}
	for _, m := range told {
		if regexp.MustCompile(`\((31|53)\d{3}\)`).MatchString(m) {
			t.Errorf("Bubble was told %q: the code twice", m)
		}
	}
	do(t, ctx, chromedp.Evaluate[chromedp.Void](`voice.dial('+14155550123', ''); voice.control('hold')`))
	told = poll[[]string](t, ctx, `told.some(m => m === 'voice_error: Call: not registered with Twilio yet') &&
		told.some(m => m.startsWith('voice_error: Call control: no call')) && told`)
	if run(t, ctx, chromedp.Evaluate[bool](`voice.ready()`)) {
		t.Error("voice.ready() is true for a Device that never registered")
	}
	t.Logf("the Bubble snippet told Bubble %d things, e.g. %q", len(told), told[len(told)-1])
}
