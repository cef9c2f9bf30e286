package httpapi_test

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/aws/aws-lambda-go/events"

	"bubble-twilio-voice/shared/apigw"
	"bubble-twilio-voice/shared/twiliosig"
)

// apiEvent is a recorded API Gateway event from testdata/events, held as
// generic JSON so a test can sign it and move it to another path.
type apiEvent map[string]any

func loadEvent(tb testing.TB, name string) apiEvent {
	tb.Helper()
	data, err := os.ReadFile(filepath.Join("testdata", "events", name))
	if err != nil {
		tb.Fatal(err)
	}
	var e apiEvent
	if err := json.Unmarshal(data, &e); err != nil {
		tb.Fatalf("%s: %v", name, err)
	}
	return e
}

func (e apiEvent) obj(k string) map[string]any { m, _ := e[k].(map[string]any); return m }

// domain is requestContext.domainName: the host Twilio called.
func (e apiEvent) domain() string { d, _ := e.obj("requestContext")["domainName"].(string); return d }

// form decodes the event's body, base64 or not.
func (e apiEvent) form(tb testing.TB) url.Values {
	tb.Helper()
	body, _ := e["body"].(string)
	if e["isBase64Encoded"] == true {
		b, err := base64.StdEncoding.DecodeString(body)
		if err != nil {
			tb.Fatal(err)
		}
		body = string(b)
	}
	f, err := url.ParseQuery(body)
	if err != nil {
		tb.Fatal(err)
	}
	return f
}

// setForm replaces the body, keeping the event's encoding.
func (e apiEvent) setForm(f url.Values) {
	body := f.Encode()
	if e["isBase64Encoded"] == true {
		body = base64.StdEncoding.EncodeToString([]byte(body))
	}
	e["body"] = body
}

// setCalledPath moves a v2 event to another path as called, stage included.
func (e apiEvent) setCalledPath(p string) {
	e["rawPath"] = p
	e.obj("requestContext")["http"].(map[string]any)["path"] = p
}

// sign sets X-Twilio-Signature as API Gateway passes it: lower-case.
func (e apiEvent) sign(sig string) { e.obj("headers")["x-twilio-signature"] = sig }

// eventResponse is the HTTP API's response, as API Gateway reads it.
type eventResponse struct {
	StatusCode int               `json:"statusCode"`
	Headers    map[string]string `json:"headers"`
	Body       string            `json:"body"`
	IsBase64   bool              `json:"isBase64Encoded"`
}

func (r eventResponse) contentType() string { return r.Headers["Content-Type"] }

// invoke runs e through the Lambda entry point the functions use.
func invoke(tb testing.TB, h http.Handler, e apiEvent) eventResponse {
	tb.Helper()
	raw, err := json.Marshal(e)
	if err != nil {
		tb.Fatal(err)
	}
	// Decoded and encoded as the Lambda runtime does.
	var in events.APIGatewayV2HTTPRequest
	if err := json.Unmarshal(raw, &in); err != nil {
		tb.Fatal(err)
	}
	sent, err := apigw.Handler(h)(context.Background(), in)
	if err != nil {
		tb.Fatalf("apigw.Handler: %v", err)
	}
	out, err := json.Marshal(sent)
	if err != nil {
		tb.Fatal(err)
	}
	var resp eventResponse
	if err := json.Unmarshal(out, &resp); err != nil {
		tb.Fatalf("response: %v\n%s", err, out)
	}
	if resp.IsBase64 {
		tb.Fatalf("TwiML or refusal answered as base64: %s", out)
	}
	return resp
}

// TestAPIGatewayStagePrefix runs recorded events of a named stage ("prod")
// through apigw.Handler with no PublicBaseURL: the handler routes on the
// path without the stage but must check the signature of the URL Twilio
// called, stage included.
func TestAPIGatewayStagePrefix(t *testing.T) {
	cases := []struct {
		name       string
		event      string
		signedPath string // "" to send no signature
		wantStatus int
	}{
		{"v2 signed with the stage", "v2-prod-voice.json", "/prod/voice", http.StatusOK},
		{"v2 signed without the stage", "v2-prod-voice.json", "/voice", http.StatusForbidden},
		{"v2 unsigned", "v2-prod-voice.json", "", http.StatusForbidden},
		{"v2 incoming signed with the stage", "v2-prod-incoming.json", "/prod/incoming", http.StatusOK},
		{"v2 incoming signed without the stage", "v2-prod-incoming.json", "/incoming", http.StatusForbidden},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			h := newHarness(t, "")
			main := h.tenant(t, "main")
			e := loadEvent(t, tc.event)
			if tc.signedPath != "" {
				e.sign(twiliosig.Sign("https://"+e.domain()+tc.signedPath, e.form(t), main.AuthToken))
			}
			resp := invoke(t, h.handler, e)
			if resp.StatusCode != tc.wantStatus {
				t.Fatalf("status %d, want %d; body %q; logs:\n%s", resp.StatusCode, tc.wantStatus, resp.Body, h.logs.String())
			}
			emf := parseEMF(t, h.emf.String())
			if tc.wantStatus != http.StatusOK {
				if resp.Body != "invalid signature\n" {
					t.Errorf("body %q", resp.Body)
				}
				if len(emf) != 1 || emf[0].Name != "SignatureRejected" {
					t.Errorf("EMF %+v, want one SignatureRejected", emf)
				}
				return
			}
			if ct := resp.contentType(); ct != "text/xml; charset=utf-8" {
				t.Errorf("Content-Type %q", ct)
			}
			doc := parseTwiML(t, []byte(resp.Body))
			if doc.Dial == nil {
				t.Fatalf("no <Dial> in %s", resp.Body)
			}
			if len(emf) != 1 || emf[0].Name != "CallDialled" {
				t.Errorf("EMF %+v, want one CallDialled", emf)
			}
			// The request id API Gateway assigned names the access line.
			id, _ := e.obj("requestContext")["requestId"].(string)
			access := withMsg(parseLogs(t, h.logs.String()), "request")
			if len(access) != 1 || access[0].str("request_id") != id || access[0].str("path") != strings.TrimPrefix(tc.signedPath, "/prod") {
				t.Errorf("access line %v, want request_id %q and the route path", access, id)
			}
		})
	}
}

// TestAPIGatewayNoAnswerFlow follows an incoming call the way Twilio does,
// on the execute-api host with a named stage and on a custom domain with a
// base path: each action URL resolved against the URL just called (RFC
// 3986), so it keeps the stage or base path, each step signed for the URL it
// goes to and delivered the way API Gateway delivers it.
func TestAPIGatewayNoAnswerFlow(t *testing.T) {
	cases := []struct {
		name, event, base, called string
		prefix                    string // the part of the called path that is not the route
		rawPath                   func(calledPath string) string
	}{
		{"execute-api, stage prod", "v2-prod-incoming.json", "", "https://abcde12345.execute-api.us-east-1.amazonaws.com/prod/incoming", "/prod",
			func(p string) string { return p }},
		{"custom domain, base path calls", "v2-domain-calls-incoming.json", "https://calls.example.org/calls", "https://calls.example.org/calls/incoming", "/calls",
			func(p string) string { return strings.TrimPrefix(p, "/calls") }},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			h := newHarness(t, tc.base)
			main := h.tenant(t, "main")
			e := loadEvent(t, tc.event)
			form := e.form(t)
			called, err := url.Parse(tc.called)
			if err != nil {
				t.Fatal(err)
			}
			e.sign(twiliosig.Sign(called.String(), form, main.AuthToken))
			doc := parseTwiML(t, []byte(invoke(t, h.handler, e).Body))
			if doc.Dial == nil || doc.Dial.Action == "" {
				t.Fatalf("incoming answered %+v, want a Dial with an action; logs:\n%s", doc, h.logs.String())
			}

			steps := []struct {
				action   func(twimlDoc) string
				wantPath string
				params   []string
				check    func(twimlDoc) bool
			}{
				{func(d twimlDoc) string { return d.Dial.Action }, tc.prefix + "/incoming/dial-complete",
					[]string{"DialCallStatus", "no-answer", "CallStatus", "in-progress"},
					func(d twimlDoc) bool { return d.Record != nil && d.Record.Action != "" }},
				{func(d twimlDoc) string { return d.Record.Action }, tc.prefix + "/incoming/recording-complete",
					[]string{"RecordingSid", "RE0123456789abcdef0123456789abcdef", "RecordingDuration", "7"},
					func(d twimlDoc) bool { return d.Hangup != nil && d.Dial == nil && d.Record == nil }},
			}
			for _, st := range steps {
				ref, err := url.Parse(st.action(doc))
				if err != nil {
					t.Fatal(err)
				}
				next := called.ResolveReference(ref)
				if next.Path != st.wantPath || next.Host != e.domain() {
					t.Fatalf("action %q from %s resolves to %s, want path %s", ref, called, next, st.wantPath)
				}
				for i := 0; i+1 < len(st.params); i += 2 {
					form.Set(st.params[i], st.params[i+1])
				}
				step := loadEvent(t, tc.event)
				step.setCalledPath(tc.rawPath(next.Path))
				step.setForm(form)

				// Signed for the URL it was sent to, the step is answered.
				step.sign(twiliosig.Sign(next.String(), form, main.AuthToken))
				resp := invoke(t, h.handler, step)
				if resp.StatusCode != http.StatusOK {
					t.Fatalf("%s: status %d; logs:\n%s", next.Path, resp.StatusCode, h.logs.String())
				}
				doc = parseTwiML(t, []byte(resp.Body))
				if !st.check(doc) {
					t.Fatalf("%s answered %s", next.Path, resp.Body)
				}
				// Replayed with the previous step's signature, it is refused.
				step.sign(twiliosig.Sign(called.String(), form, main.AuthToken))
				if resp := invoke(t, h.handler, step); resp.StatusCode != http.StatusForbidden {
					t.Errorf("%s signed for %s: status %d, want 403", next.Path, called, resp.StatusCode)
				}
				called = next
			}
		})
	}
}

// TestSignedURLShapes is the URL a webhook's signature is checked against in
// every shape of deployment, through the recorded event of each and the
// Lambda entry point: signed for the URL Twilio called, a request passes;
// signed for any other URL of the same deployment, it is refused. (The
// execute-api host with a named stage is TestAPIGatewayStagePrefix.)
func TestSignedURLShapes(t *testing.T) {
	const (
		api    = "https://abcde12345.execute-api.us-east-1.amazonaws.com"
		domain = "https://voice.example.com"
		calls  = "https://calls.example.org/calls"
	)
	cases := []struct {
		name      string
		event     string
		base      string // PUBLIC_BASE_URL
		signedFor string // the URL the signature was made for
		want      int
	}{
		{"execute-api $default", "v2-default-voice.json", "", api + "/voice", http.StatusOK},
		{"execute-api $default, signed for a stage", "v2-default-voice.json", "", api + "/prod/voice", http.StatusForbidden},

		{"custom domain, no base URL", "v2-domain-voice.json", "", domain + "/voice", http.StatusOK},
		{"custom domain, PUBLIC_BASE_URL is the domain", "v2-domain-voice.json", domain, domain + "/voice", http.StatusOK},
		{"custom domain, signed for execute-api", "v2-domain-voice.json", domain, api + "/voice", http.StatusForbidden},
		// PUBLIC_BASE_URL names the domain while a subaccount not yet
		// repointed still calls the execute-api URL, which stays on until the
		// operator turns it off (docs/deploy.md): its signature, made for
		// the URL it called, passes; one made for any other URL does not.
		{"PUBLIC_BASE_URL set, Twilio calls execute-api", "v2-default-voice.json", domain, api + "/voice", http.StatusOK},
		{"PUBLIC_BASE_URL set, execute-api called, signed for elsewhere", "v2-default-voice.json", domain, "https://elsewhere.example.com/voice", http.StatusForbidden},
		{"PUBLIC_BASE_URL set, Twilio calls it (through a proxy)", "v2-default-voice.json", domain, domain + "/voice", http.StatusOK},

		{"custom domain on a named stage, no base URL", "v2-domain-prod-voice.json", "", domain + "/voice", http.StatusOK},
		{"custom domain on a named stage, signed with the stage", "v2-domain-prod-voice.json", "", domain + "/prod/voice", http.StatusForbidden},
		{"custom domain on a named stage, PUBLIC_BASE_URL", "v2-domain-prod-voice.json", domain, domain + "/voice", http.StatusOK},

		{"base path, rawPath without it", "v2-domain-calls-voice.json", calls, calls + "/voice", http.StatusOK},
		{"base path, rawPath with it", "v2-domain-calls-kept-voice.json", calls, calls + "/voice", http.StatusOK},
		{"base path, signed without it", "v2-domain-calls-voice.json", calls, "https://calls.example.org/voice", http.StatusForbidden},
		{"base path, signed twice over", "v2-domain-calls-kept-voice.json", calls, calls + "/calls/voice", http.StatusForbidden},
		// Without PUBLIC_BASE_URL the base path is unknowable: the event
		// does not carry it. The template always sets it with a domain.
		{"base path, no PUBLIC_BASE_URL", "v2-domain-calls-voice.json", "", calls + "/voice", http.StatusForbidden},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			h := newHarness(t, tc.base)
			main := h.tenant(t, "main")
			e := loadEvent(t, tc.event)
			e.sign(twiliosig.Sign(tc.signedFor, e.form(t), main.AuthToken))
			resp := invoke(t, h.handler, e)
			if resp.StatusCode != tc.want {
				t.Fatalf("status %d, want %d; body %q; logs:\n%s", resp.StatusCode, tc.want, resp.Body, h.logs.String())
			}
			if tc.want != http.StatusOK {
				return
			}
			if doc := parseTwiML(t, []byte(resp.Body)); doc.Dial == nil {
				t.Errorf("no <Dial> in %s", resp.Body)
			}
			access := withMsg(parseLogs(t, h.logs.String()), "request")
			if len(access) != 1 || access[0].str("path") != "/voice" {
				t.Errorf("access line %v, want the route path /voice", access)
			}
		})
	}
}
