package lambda

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"bubble-twilio-voice/shared/events"
	"bubble-twilio-voice/shared/tenant"
	"bubble-twilio-voice/shared/token"
	"bubble-twilio-voice/shared/twiliosig"
	fakesm "bubble-twilio-voice/test/fake/secretsmanager"
)

// TwiML the webhooks must answer (the same documents as the goldens in
// shared/voice/testdata/golden).
const (
	xmlHeader      = `<?xml version="1.0" encoding="UTF-8"?>`
	twimlNumber    = xmlHeader + `<Response><Dial answerOnBridge="true" callerId="+14155550100"><Number>+14155550123</Number></Dial><Pause length="2"/></Response>`
	twimlClient    = xmlHeader + `<Response><Dial answerOnBridge="true" callerId="client:alice"><Client>bob_2</Client></Dial><Pause length="2"/></Response>`
	twimlCountry   = xmlHeader + `<Response><Say>Calls to that country are not allowed.</Say><Hangup/></Response>`
	twimlIncoming  = xmlHeader + `<Response><Dial answerOnBridge="true" timeout="20" action="incoming/dial-complete"><Client><Identity>alice</Identity><Parameter name="caller" value="+14155550123"/><Parameter name="called" value="+14155550100"/></Client></Dial></Response>`
	twimlDefault   = xmlHeader + `<Response><Dial answerOnBridge="true" timeout="20" action="incoming/dial-complete"><Client><Identity>support</Identity><Parameter name="caller" value="+14155550123"/><Parameter name="called" value="+14155550199"/></Client></Dial></Response>`
	twimlVoicemail = xmlHeader + `<Response><Say>Please leave a message after the tone.</Say><Record maxLength="120" playBeep="true" action="recording-complete"/><Hangup/></Response>`
	twimlHangup    = xmlHeader + `<Response><Hangup/></Response>`
	forbiddenBody  = "invalid signature\n"
)

// invocation is one request to a function and what must come back.
type invocation struct {
	name        string
	req         request
	wantStatus  int
	wantHeaders map[string]string // exact values, names case-insensitive
	wantBody    *string           // nil: not compared
	check       func(t *testing.T, r response)
	// event, when set, builds the event instead of req (an SQS event, or a
	// request that needs the world's addresses); world checks what the
	// fakes saw.
	event func(t testing.TB, w *world) map[string]any
	world func(t *testing.T, r response, w *world)
}

// payload is the event tc sends.
func (tc invocation) payload(t testing.TB, w *world) map[string]any {
	if tc.event != nil {
		return tc.event(t, w)
	}
	return tc.req.event()
}

// linkKeyReads is the recording link key's GetSecretValue calls in a
// function's cold request: the functions that sign or check links read its
// AWSCURRENT and AWSPREVIOUS values at start (and again every
// SECRET_CACHE_TTL, never on the warm requests here).
var linkKeyReads = map[string]int{"events": 2, "deliver": 2}

func body(s string) *string { return &s }

// forgedAccessToken is a Voice access token of the test tenant signed with
// a secret that is not its API key secret.
func forgedAccessToken() string {
	t := &tenant.Tenant{AccountSID: accountSID, APIKeySID: "SK0123456789abcdef0123456789abcdef", APIKeySecret: "not-the-secret", TwiMLAppSID: "AP0123456789abcdef0123456789abcdef"}
	tok, err := token.Issue(time.Now(), t, "alice", time.Hour)
	if err != nil {
		panic(err)
	}
	return tok.JWT
}

var (
	xmlHeaders  = map[string]string{"Content-Type": "text/xml; charset=utf-8", "Cache-Control": "no-store"}
	jsonHeaders = map[string]string{"Content-Type": "application/json", "Cache-Control": "no-store"}
	bearer      = map[string]string{"authorization": "Bearer " + bearerKey}
)

func with(h map[string]string, kv ...string) map[string]string {
	out := map[string]string{}
	for k, v := range h {
		out[k] = v
	}
	for i := 0; i+1 < len(kv); i += 2 {
		out[kv[i]] = kv[i+1]
	}
	return out
}

// invocations lists each function's requests. The first one is the cold
// start: it must need the tenant, so it makes the one Secrets Manager call;
// none after it may make another.
var invocations = map[string][]invocation{
	"token": {
		{
			name: "JSON body, $default stage",
			req: request{method: "POST", stage: defaultStage, route: "/token",
				headers: with(bearer, "content-type", "application/json"),
				body:    `{"account_sid":"` + accountSID + `","identity":"alice"}`},
			wantStatus: 200, wantHeaders: jsonHeaders,
			check: tokenCheck("alice", 600),
		},
		{
			name: "base64 form body, named stage",
			req: request{method: "POST", stage: prodStage, route: "/token", base64: true,
				headers: with(bearer, "content-type", "application/x-www-form-urlencoded"),
				body:    url.Values{"account_sid": {accountSID}, "identity": {"bob_2"}, "ttl_seconds": {"120"}}.Encode()},
			wantStatus: 200, wantHeaders: jsonHeaders,
			check: tokenCheck("bob_2", 120),
		},
		{
			name: "GET with a query, named stage",
			req: request{method: "GET", stage: prodStage, route: "/token", headers: bearer,
				query: "account_sid=" + accountSID + "&identity=carol"},
			wantStatus: 200, wantHeaders: jsonHeaders,
			check: tokenCheck("carol", 600),
		},
		{
			name:        "CORS preflight",
			req:         request{method: "OPTIONS", stage: defaultStage, route: "/token"},
			wantStatus:  204,
			wantHeaders: map[string]string{"Access-Control-Allow-Methods": "GET, POST, OPTIONS"},
		},
		{
			name: "wrong API key",
			req: request{method: "POST", stage: defaultStage, route: "/token",
				headers: map[string]string{"authorization": "Bearer wrong-key-0123456789", "content-type": "application/json"},
				body:    `{"account_sid":"` + accountSID + `","identity":"alice"}`},
			wantStatus: 401,
			check:      noToken,
		},
		{
			name:       "another function's path",
			req:        webhook(defaultStage, "/voice", callForm("From", "client:alice", "To", "+14155550123"), authToken, false),
			wantStatus: 404,
		},
	},
	"voice": {
		{
			name:       "signed base64 form, named stage: number",
			req:        webhook(prodStage, "/voice", callForm("From", "client:alice", "Caller", "client:alice", "To", "+14155550123"), authToken, true),
			wantStatus: 200, wantHeaders: xmlHeaders, wantBody: body(twimlNumber),
		},
		{
			name:       "signed plain form, $default stage: client",
			req:        webhook(defaultStage, "/voice", callForm("From", "client:alice", "To", "client:bob_2"), authToken, false),
			wantStatus: 200, wantHeaders: xmlHeaders, wantBody: body(twimlClient),
		},
		{
			name:       "signed: country not allowed",
			req:        webhook(prodStage, "/voice", callForm("From", "client:alice", "To", "+442071838750"), authToken, true),
			wantStatus: 200, wantHeaders: xmlHeaders, wantBody: body(twimlCountry),
		},
		{
			name:       "unsigned",
			req:        webhook(prodStage, "/voice", callForm("From", "client:alice", "To", "+14155550123"), "", true),
			wantStatus: 403, wantBody: body(forbiddenBody),
		},
		{
			name:       "signed with another token",
			req:        webhook(prodStage, "/voice", callForm("From", "client:alice", "To", "+14155550123"), otherToken, true),
			wantStatus: 403, wantBody: body(forbiddenBody),
		},
		{
			name: "signed for the URL without the stage",
			req: func() request {
				r := webhook(prodStage, "/voice", callForm("From", "client:alice", "To", "+14155550123"), "", true)
				r.headers["x-twilio-signature"] = twiliosig.Sign("https://"+domainName+"/voice", callForm("From", "client:alice", "To", "+14155550123"), authToken)
				return r
			}(),
			wantStatus: 403, wantBody: body(forbiddenBody),
		},
		{
			name:       "another function's path",
			req:        webhook(prodStage, "/incoming", callForm("From", "+14155550123", "To", "+14155550100"), authToken, true),
			wantStatus: 404,
		},
	},
	"incoming": {
		{
			name:       "signed base64 form, named stage: number's route",
			req:        webhook(prodStage, "/incoming", callForm("From", "+14155550123", "Called", "+14155550100", "To", "+14155550100"), authToken, true),
			wantStatus: 200, wantHeaders: xmlHeaders, wantBody: body(twimlIncoming),
		},
		{
			name:       "signed plain form, $default stage: default route",
			req:        webhook(defaultStage, "/incoming", callForm("From", "+14155550123", "To", "+14155550199"), authToken, false),
			wantStatus: 200, wantHeaders: xmlHeaders, wantBody: body(twimlDefault),
		},
		{
			name:       "dial-complete step: voicemail, and call.missed queued",
			req:        webhook(prodStage, "/incoming/dial-complete", callForm("From", "+14155550123", "To", "+14155550100", "DialCallStatus", "no-answer"), authToken, true),
			wantStatus: 200, wantHeaders: xmlHeaders, wantBody: body(twimlVoicemail),
			world: func(t *testing.T, _ response, w *world) {
				q := w.queued(t, eventsQueue)
				if len(q) != 1 || q[0].Event.Type != "call.missed" || q[0].Event.From != "+14155550123" || q[0].Event.Status != "no-answer" {
					t.Errorf("events queue %+v, want one call.missed", q)
				}
			},
		},
		{
			name:       "recording-complete step",
			req:        webhook(defaultStage, "/incoming/recording-complete", callForm("From", "+14155550123", "To", "+14155550100", "RecordingUrl", "https://api.twilio.com/rec"), authToken, true),
			wantStatus: 200, wantHeaders: xmlHeaders, wantBody: body(twimlHangup),
		},
		{
			name:       "unsigned",
			req:        webhook(prodStage, "/incoming", callForm("From", "+14155550123", "To", "+14155550100"), "", true),
			wantStatus: 403, wantBody: body(forbiddenBody),
		},
		{
			name:       "signed with another token",
			req:        webhook(prodStage, "/incoming", callForm("From", "+14155550123", "To", "+14155550100"), otherToken, false),
			wantStatus: 403, wantBody: body(forbiddenBody),
		},
		{
			name:       "another function's path",
			req:        webhook(prodStage, "/voice", callForm("From", "client:alice", "To", "+14155550123"), authToken, true),
			wantStatus: 404,
		},
	},
	"calls": {
		{
			// Cold: the tenant is read (its key checked) and nothing sent to Twilio.
			name: "tenant key, wrong key",
			req: request{method: "POST", stage: prodStage, route: "/calls/hold",
				headers: map[string]string{"authorization": "Bearer wrong-key-0123456789", "content-type": "application/json"},
				body:    `{"call_sid":"CA0123456789abcdef0123456789abcdef","account_sid":"` + accountSID + `","identity":"alice"}`},
			wantStatus: 401, wantHeaders: jsonHeaders,
		},
		{
			name: "access token signed with another secret",
			req: request{method: "POST", stage: defaultStage, route: "/calls/transfer",
				headers: map[string]string{"authorization": "Bearer " + forgedAccessToken(), "content-type": "application/json"},
				body:    `{"call_sid":"CA0123456789abcdef0123456789abcdef","to":"bob"}`},
			wantStatus: 401, wantHeaders: jsonHeaders,
		},
		{
			name:        "CORS preflight",
			req:         request{method: "OPTIONS", stage: defaultStage, route: "/calls/transfer/complete"},
			wantStatus:  204,
			wantHeaders: map[string]string{"Access-Control-Allow-Methods": "POST, OPTIONS"},
		},
		{
			name:       "another function's path",
			req:        webhook(defaultStage, "/voice", callForm("From", "client:alice", "To", "+14155550123"), authToken, false),
			wantStatus: 404,
		},
	},
	"events": {
		{
			name:       "call status, named stage: call.completed queued",
			req:        webhook(prodStage, "/events/call-status", callForm("From", "client:alice", "To", "+14155550123", "CallStatus", "completed", "CallDuration", "42"), authToken, true),
			wantStatus: 204,
			world: func(t *testing.T, _ response, w *world) {
				q := w.queued(t, eventsQueue)
				if len(q) != 1 || q[0].Event.Type != "call.completed" || q[0].Event.Identity != "alice" || q[0].Event.DurationSeconds != 42 {
					t.Errorf("events queue %+v", q)
				}
			},
		},
		{
			name:       "call status ringing: dropped",
			req:        webhook(defaultStage, "/events/call-status", callForm("From", "client:alice", "CallStatus", "ringing"), authToken, false),
			wantStatus: 204,
			world: func(t *testing.T, _ response, w *world) {
				if n := len(w.sqs.Messages(eventsQueue)); n != 1 {
					t.Errorf("%d queued, want still 1", n)
				}
			},
		},
		{
			name: "recording status: call.recorded queued with the media URL",
			event: func(t testing.TB, w *world) map[string]any {
				return webhook(defaultStage, "/events/recording-status", callForm("RecordingSid", recordingSID, "RecordingStatus", "completed",
					"RecordingSource", "DialVerb", "RecordingDuration", "65",
					"RecordingUrl", w.twilio.URL+"/2010-04-01/Accounts/"+accountSID+"/Recordings/"+recordingSID), authToken, true).event()
			},
			wantStatus: 204,
			world: func(t *testing.T, _ response, w *world) {
				q := w.queued(t, eventsQueue)
				if len(q) != 2 || q[1].Event.Type != "call.recorded" || q[1].RecordingSID != recordingSID {
					t.Errorf("events queue %+v", q)
				}
			},
		},
		{
			name: "recording status with a foreign RecordingUrl: refused, nothing queued",
			req: webhook(defaultStage, "/events/recording-status", callForm("RecordingSid", recordingSID, "RecordingStatus", "completed",
				"RecordingSource", "DialVerb", "RecordingUrl", "https://media.example.net/2010-04-01/Accounts/"+accountSID+"/Recordings/"+recordingSID), authToken, true),
			wantStatus: 400,
			world: func(t *testing.T, _ response, w *world) {
				if n := len(w.sqs.Messages(eventsQueue)); n != 2 || w.mediaRequests() != 0 {
					t.Errorf("%d queued, %d media requests", n, w.mediaRequests())
				}
			},
		},
		{
			name:       "unsigned call status",
			req:        webhook(prodStage, "/events/call-status", callForm("CallStatus", "completed"), "", true),
			wantStatus: 403, wantBody: body(forbiddenBody),
		},
		{
			name: "recording link: 302 to a presigned S3 URL that plays",
			event: func(t testing.TB, w *world) map[string]any {
				w.storeRecording(t, recordingSID)
				u := link(t, recordingSID, time.Now().Add(time.Hour))
				path, query, _ := strings.Cut(strings.TrimPrefix(u, "https://"+domainName), "?")
				return request{method: "GET", stage: defaultStage, route: path, query: query}.event()
			},
			wantStatus: 302,
			world: func(t *testing.T, r response, w *world) {
				loc := r.header("Location")
				if !strings.HasPrefix(loc, w.s3.URL+"/"+bucket+"/") || !strings.Contains(loc, "X-Amz-Signature=") {
					t.Fatalf("Location %q", loc)
				}
				resp, err := http.Get(loc)
				if err != nil {
					t.Fatal(err)
				}
				got, _ := io.ReadAll(resp.Body)
				resp.Body.Close()
				if !bytes.Equal(got, mp3) {
					t.Errorf("presigned URL served %d bytes", len(got))
				}
			},
		},
		{
			name: "forged recording link",
			req: request{method: "GET", stage: defaultStage, route: "/recordings/" + accountSID + "/" + recordingSID,
				query: "expires=4102444800&sig=0000000000000000000000000000000000000000000000000000000000000000"},
			wantStatus: 403,
		},
		{
			name:       "another function's path",
			req:        webhook(prodStage, "/voice", callForm("From", "client:alice", "To", "+14155550123"), authToken, true),
			wantStatus: 404,
		},
	},
	"deliver": {
		{
			name: "SQS batch: delivered to the app",
			event: func(t testing.TB, w *world) map[string]any {
				return w.sqsEvent(t, eventBody(t, "call.completed", ""))
			},
			world: func(t *testing.T, r response, w *world) {
				wantBatch(t, r, 0)
				evs := w.appEvents(t)
				if len(evs) != 1 || evs[0].Type != "call.completed" || evs[0].CallSID != callSID {
					t.Errorf("app got %+v", evs)
				}
				if n := len(w.sqs.Messages(eventsQueue)); n != 1 {
					t.Errorf("%d left on the queue (the event source mapping deletes; here only the receipt is real)", n)
				}
			},
		},
		{
			name: "SQS batch: a recording copied to S3 and linked",
			event: func(t testing.TB, w *world) map[string]any {
				return w.sqsEvent(t, eventBody(t, "call.recorded", w.twilio.URL+"/2010-04-01/Accounts/"+accountSID+"/Recordings/"+recordingSID))
			},
			world: func(t *testing.T, r response, w *world) {
				wantBatch(t, r, 0)
				evs := w.appEvents(t)
				if len(evs) != 2 || !strings.HasPrefix(evs[1].RecordingURL, "https://"+domainName+"/recordings/"+accountSID+"/"+recordingSID+"?expires=") {
					t.Errorf("app got %+v", evs)
				}
				if w.mediaRequests() != 1 {
					t.Errorf("%d media requests, want 1", w.mediaRequests())
				}
			},
		},
		{
			name: "SQS batch: the app fails, retried in 3 s",
			event: func(t testing.TB, w *world) map[string]any {
				w.appMu.Lock()
				w.appCode = 503
				w.appMu.Unlock()
				return w.sqsEvent(t, eventBody(t, "call.missed", ""))
			},
			world: func(t *testing.T, r response, w *world) {
				wantBatch(t, r, 1)
				for _, m := range w.sqs.Messages(eventsQueue) {
					if strings.Contains(m.Body, `"call.missed"`) {
						if d := time.Until(m.HiddenUntil); d < time.Second || d > 4*time.Second {
							t.Errorf("the failed message is hidden for %s, want the 3 s retry delay", d)
						}
					}
				}
			},
		},
		{
			name: "SQS batch: the app refuses, dead-lettered",
			event: func(t testing.TB, w *world) map[string]any {
				w.appMu.Lock()
				w.appCode = 404
				w.appMu.Unlock()
				return w.sqsEvent(t, eventBody(t, "call.completed", ""))
			},
			world: func(t *testing.T, r response, w *world) {
				wantBatch(t, r, 0)
				dl := w.sqs.Messages(deadLetters)
				if len(dl) != 1 || dl[0].Attributes["reason"] != "app answered 404" {
					t.Errorf("dead letters %+v", dl)
				}
			},
		},
		{
			name:  "an API Gateway event is not an SQS event",
			req:   webhook(prodStage, "/voice", callForm("From", "client:alice"), authToken, true),
			check: func(t *testing.T, r response) { wantError(t, r) },
		},
	},
}

// eventBody is a queued message of the tenant's call, of type typ, with a
// recording when mediaURL is set.
func eventBody(t testing.TB, typ, mediaURL string) string {
	t.Helper()
	id := events.ID(typ, accountSID, callSID, "")
	m := events.Queued{Version: events.QueuedVersion, Event: events.Event{ID: id, Type: typ, AccountSID: accountSID, CallSID: callSID,
		Direction: "outgoing", From: "client:alice", To: "+14155550123", Identity: "alice", Status: "completed",
		OccurredAt: "2026-11-13T15:09:00Z", OccurredAtUnix: 1794582540}}
	if mediaURL != "" {
		m.Event.ID = events.ID(typ, accountSID, callSID, recordingSID)
		m.RecordingSID, m.RecordingMediaURL = recordingSID, mediaURL
	}
	return string(m.Encode())
}

// wantBatch checks an SQS batch response names failures failed messages.
func wantBatch(t *testing.T, r response, failures int) {
	t.Helper()
	var b struct {
		BatchItemFailures []struct {
			ItemIdentifier string `json:"itemIdentifier"`
		} `json:"batchItemFailures"`
	}
	if err := json.Unmarshal(r.Raw, &b); err != nil || b.BatchItemFailures == nil {
		t.Fatalf("not a batch response: %s (%v)", r.Raw, err)
	}
	if len(b.BatchItemFailures) != failures {
		t.Errorf("batch item failures %s, want %d", r.Raw, failures)
	}
}

// wantError checks the function failed the invocation.
func wantError(t *testing.T, r response) {
	t.Helper()
	if !strings.Contains(string(r.Raw), "errorMessage") {
		t.Errorf("response %s, want a function error", r.Raw)
	}
}

// TestBootstraps runs each function's bootstrap under the emulator and
// checks every response, that only the cold request reads Secrets Manager,
// and that no secret reaches the logs.
func TestBootstraps(t *testing.T) {
	fx := setup(t)
	for _, want := range []string{"token", "voice", "incoming", "events", "deliver", "calls"} {
		if !slices.Contains(fx.functions, want) {
			t.Errorf("functions/%s does not exist; found %v", want, fx.functions)
		}
	}
	for _, fn := range fx.functions {
		t.Run(fn, func(t *testing.T) {
			cases, ok := invocations[fn]
			if !ok {
				t.Fatalf("functions/%s has no invocations in test/lambda: add some", fn)
			}
			sm := seededSecretsManager(t)
			w := startWorld(t, sm)
			e := startEmulator(t, fx, fn, sm, w.env(fn)...)

			for i, tc := range cases {
				ev := tc.payload(t, w)
				before := sm.TotalCalls()
				r, elapsed := e.invoke(t, ev)
				if i == 0 {
					t.Logf("%s cold start (emulator starts the bootstrap, first response): %s", fn, elapsed.Round(10*time.Microsecond))
					// One read of the tenant index, one of the tenant, and one of
					// the recording link key for the functions that use it.
					n, x := sm.CallsFor("GetSecretValue", secretPrefix+accountSID), sm.CallsFor("GetSecretValue", secretPrefix+tenant.IndexSecretName)
					if want := 2 + linkKeyReads[fn]; n != 1 || x != 1 || sm.TotalCalls() != want {
						t.Errorf("cold request made %d GetSecretValue calls for the tenant, %d for the index and %d in all, want 1, 1, %d", n, x, sm.TotalCalls(), want)
					}
				} else if n := sm.TotalCalls() - before; n != 0 {
					t.Errorf("%s: warm request made %d Secrets Manager calls, want none", tc.name, n)
				}
				t.Run(tc.name, func(t *testing.T) {
					checkResponse(t, tc, r)
					if tc.world != nil {
						tc.world(t, r, w)
					}
				})
			}

			// The bootstrap's logs reach the emulator's output; make sure we
			// are looking at them before asserting what is not in them.
			out := e.out.String()
			if !strings.Contains(out, accountSID) {
				t.Errorf("no log line names the account; is the bootstrap's output captured?\n%s", out)
			}
			for _, s := range append(secretValues, w.secrets()...) {
				if strings.Contains(out, s) {
					t.Errorf("a secret of the tenant appears in the function's output")
				}
			}
			if strings.Contains(out, "sig=") || strings.Contains(out, "X-Amz-Signature") {
				t.Errorf("a link signature or a presigned URL appears in the function's output")
			}
		})
	}
}

func checkResponse(t *testing.T, tc invocation, r response) {
	t.Helper()
	if r.StatusCode != tc.wantStatus {
		t.Errorf("status %d, want %d (body %q)", r.StatusCode, tc.wantStatus, r.Body)
	}
	if r.IsBase64 {
		t.Errorf("response body is base64 encoded; want text")
	}
	for k, v := range tc.wantHeaders {
		if got := r.header(k); got != v {
			t.Errorf("header %s = %q, want %q", k, got, v)
		}
	}
	if tc.wantBody != nil && r.Body != *tc.wantBody {
		t.Errorf("body\n got %s\nwant %s", r.Body, *tc.wantBody)
	}
	if tc.check != nil {
		tc.check(t, r)
	}
}

// tokenCheck verifies the access token in a token response: signed HS256
// with the tenant's API key secret, Twilio's header, and the claims Twilio
// reads.
func tokenCheck(identity string, ttl int) func(*testing.T, response) {
	return func(t *testing.T, r response) {
		t.Helper()
		var resp struct {
			Token         string `json:"token"`
			Identity      string `json:"identity"`
			AccountSID    string `json:"account_sid"`
			TTLSeconds    int    `json:"ttl_seconds"`
			ExpiresAtUnix int64  `json:"expires_at_unix"`
		}
		if err := json.Unmarshal([]byte(r.Body), &resp); err != nil {
			t.Fatalf("body %q: %v", r.Body, err)
		}
		if resp.Identity != identity || resp.AccountSID != accountSID || resp.TTLSeconds != ttl {
			t.Errorf("response %+v, want identity %s, account %s, ttl %d", resp, identity, accountSID, ttl)
		}
		claims, err := token.Verify(resp.Token, apiKeySecret, time.Now()) // the bootstrap's clock is this machine's
		if err != nil {
			t.Fatalf("token does not verify with the tenant's API key secret: %v", err)
		}
		if claims.APIKeySID != apiKeySID || claims.AccountSID != accountSID || claims.Identity != identity ||
			!claims.IncomingAllowed || claims.ApplicationSID != twimlAppSID {
			t.Errorf("claims %+v, want key %s, account %s, identity %s, incoming allowed, application %s",
				claims, apiKeySID, accountSID, identity, twimlAppSID)
		}
		if life := claims.ExpiresAt.Sub(claims.IssuedAt); life != time.Duration(ttl)*time.Second {
			t.Errorf("token lives %s, want %ds", life, ttl)
		}
		if claims.ExpiresAt.Unix() != resp.ExpiresAtUnix {
			t.Errorf("exp %d, response says %d", claims.ExpiresAt.Unix(), resp.ExpiresAtUnix)
		}
	}
}

func noToken(t *testing.T, r response) {
	t.Helper()
	if strings.Contains(r.Body, `"token"`) {
		t.Errorf("refusal carries a token: %s", r.Body)
	}
}

// TestColdStart starts each function afresh several times (COLDSTART_RUNS,
// default 5) and reports the time from sending the first event to an idle
// emulator (which then starts the bootstrap: process start, Go runtime, AWS
// SDK configuration, runtime API handshake, Secrets Manager fetch, handler)
// to the first response, and the bootstrap's peak RSS after serving every
// invocation once. It prints one "coldstart ..." line per function for
// test/benchreport. The target (30 ms) is reported, not enforced: a loaded CI
// machine would make it flaky.
func TestColdStart(t *testing.T) {
	fx := setup(t)
	runs := 5
	if v := os.Getenv("COLDSTART_RUNS"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > 100 {
			t.Fatalf("COLDSTART_RUNS=%q: want 1..100", v)
		}
		runs = n
	}
	// The reference first: aws-lambda-go answering 200 with nothing else,
	// the floor a function's cold start is read against (BENCHMARKS.md).
	// Any API Gateway event does; token's first is one.
	for _, fn := range append([]string{bareName}, fx.functions...) {
		t.Run(fn, func(t *testing.T) {
			cases := invocations[fn]
			if fn == bareName {
				cases = []invocation{invocations["token"][0]}
				cases[0].wantStatus = http.StatusOK
			}
			if len(cases) == 0 {
				t.Fatalf("functions/%s has no invocations in test/lambda: add some", fn)
			}
			sm := seededSecretsManager(t)
			w := startWorld(t, sm)
			var cold []time.Duration
			maxRSS := 0
			for range runs {
				e := startEmulator(t, fx, fn, sm, w.env(fn)...)
				r, elapsed := e.invoke(t, cases[0].payload(t, w))
				if r.StatusCode != cases[0].wantStatus {
					t.Fatalf("cold request: status %d, want %d: %s", r.StatusCode, cases[0].wantStatus, r.Body)
				}
				cold = append(cold, elapsed)
				for _, tc := range cases[1:] {
					e.invoke(t, tc.payload(t, w))
				}
				rss, err := e.maxRSSKiB()
				if err != nil {
					t.Fatal(err)
				}
				maxRSS = max(maxRSS, rss)
				e.stop()
			}
			slices.Sort(cold)
			median := cold[len(cold)/2]
			if len(cold)%2 == 0 {
				median = (cold[len(cold)/2-1] + cold[len(cold)/2]) / 2
			}
			ms := func(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }
			line := fmt.Sprintf("coldstart function=%s runs=%d median_ms=%.2f min_ms=%.2f max_ms=%.2f rss_kb=%d",
				fn, runs, ms(median), ms(cold[0]), ms(cold[len(cold)-1]), maxRSS)
			t.Log(line)
			fmt.Println(line)
			if median > 30*time.Millisecond {
				t.Logf("%s: median cold start %.2f ms is over the 30 ms target", fn, ms(median))
			}
		})
	}
}

// seededSecretsManager is a Secrets Manager fake holding the tenant's secret
// and the deployment's tenant index, as the provisioning CLI writes them.
func seededSecretsManager(t *testing.T) *fakesm.Server {
	t.Helper()
	sm := fakesm.Start(t)
	sm.Put(secretPrefix+accountSID, tenantSecret)
	index, err := tenant.EncodeIndex([]string{accountSID}, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	sm.Put(secretPrefix+tenant.IndexSecretName, string(index))
	return sm
}
