package apigw

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"reflect"
	"sort"
	"strings"
	"testing"

	"github.com/aws/aws-lambda-go/events"

	"bubble-twilio-voice/test/kit"
)

// readEvent reads a recorded event as the Lambda runtime hands it over:
// decoded into aws-lambda-go's type.
func readEvent(t testing.TB, name string) *events.APIGatewayV2HTTPRequest {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return decodeEvent(t, string(b))
}

func decodeEvent(t testing.TB, raw string) *events.APIGatewayV2HTTPRequest {
	t.Helper()
	var e events.APIGatewayV2HTTPRequest
	if err := json.Unmarshal([]byte(raw), &e); err != nil {
		t.Fatal(err)
	}
	return &e
}

func TestRequest(t *testing.T) {
	tests := []struct {
		file       string
		method     string
		path       string
		host       string
		requestURI string
		remoteAddr string
		requestID  string
		query      map[string][]string
		headers    map[string][]string // canonical key -> values
		body       string
	}{
		{
			file: "v2-default-stage.json", method: "GET", path: "/token",
			host:       "abcde12345.execute-api.us-east-1.amazonaws.com",
			requestURI: "/token?identity=alice&account_sid=AC0123456789abcdef0123456789abcdef&ttl_seconds=600",
			remoteAddr: "203.0.113.7", requestID: "LV7fzho-PHcEJPw=",
			query: map[string][]string{"identity": {"alice"}, "account_sid": {"AC0123456789abcdef0123456789abcdef"}, "ttl_seconds": {"600"}},
			headers: map[string][]string{
				"Authorization": {"Bearer REDACTED-bearer-key"},
				"User-Agent":    {"Bubble/1.0 (API Connector)"},
				"X-Multi":       {"one,two"},
				"Cookie":        {"session=REDACTED; theme=dark"},
			},
		},
		{
			file: "v2-named-stage.json", method: "POST", path: "/voice",
			host:       "abcde12345.execute-api.us-east-1.amazonaws.com",
			requestURI: "/prod/voice?b=2&a=1&a=%2B1",
			remoteAddr: "198.51.100.20", requestID: "Qx1aBcd-IAMEbYw=",
			query:   map[string][]string{"a": {"1", "+1"}, "b": {"2"}},
			headers: map[string][]string{"Content-Type": {"application/json"}},
			body:    `{"To":"+14155550199","x":"é"}`,
		},
		{
			// A custom domain mapped to the named stage "prod": rawPath
			// starts with the stage, the URL Twilio called does not.
			file: "v2-base64-form.json", method: "POST", path: "/incoming",
			host:       "voice.example.com",
			requestURI: "/incoming",
			remoteAddr: "54.172.60.1", requestID: "Tw1lIoW-HookId0=",
			query: map[string][]string{},
			headers: map[string][]string{
				"Content-Type":       {"application/x-www-form-urlencoded"},
				"X-Twilio-Signature": {"REDACTEDREDACTEDREDACTED0000="},
			},
			body: "AccountSid=AC0123456789abcdef0123456789abcdef&ApiVersion=2010-04-01&CallSid=CA00000000000000000000000000000001&CallStatus=ringing&Called=%2B14155550100&Caller=%2B14155550123&Direction=inbound&From=%2B14155550123&To=%2B14155550100",
		},
		{
			// A custom domain mapped with no key to the $default stage.
			file: "v2-custom-domain.json", method: "POST", path: "/voice",
			host: "voice.example.com", requestURI: "/voice",
			remoteAddr: "54.172.60.1", requestID: "Cd0mAin-NoKey00=",
			query:   map[string][]string{},
			headers: map[string][]string{"Content-Type": {"application/x-www-form-urlencoded"}},
			body:    "AccountSid=AC0123456789abcdef0123456789abcdef&ApiVersion=2010-04-01&CallSid=CA00000000000000000000000000000003&CallStatus=ringing&From=client%3Aalice&To=%2B14155550123",
		},
		{
			// A custom domain mapped with the key "calls": Twilio called
			// https://calls.example.org/calls/voice, yet nothing in the
			// event names "calls" (httpapi adds it from PUBLIC_BASE_URL).
			file: "v2-custom-domain-base-path.json", method: "POST", path: "/voice",
			host: "calls.example.org", requestURI: "/voice",
			remoteAddr: "54.172.60.1", requestID: "Cd0mAin-Calls00=",
			query:   map[string][]string{},
			headers: map[string][]string{"Content-Type": {"application/x-www-form-urlencoded"}},
			body:    "AccountSid=AC0123456789abcdef0123456789abcdef&ApiVersion=2010-04-01&CallSid=CA00000000000000000000000000000003&CallStatus=ringing&From=client%3Aalice&To=%2B14155550123",
		},
	}
	for _, tc := range tests {
		t.Run(tc.file, func(t *testing.T) {
			type key struct{}
			ctx := context.WithValue(context.Background(), key{}, "ctx")
			r, err := Request(ctx, readEvent(t, tc.file))
			if err != nil {
				t.Fatal(err)
			}
			if r.Context().Value(key{}) != "ctx" {
				t.Error("request does not carry the context")
			}
			checks := []struct{ what, got, want string }{
				{"method", r.Method, tc.method},
				{"URL.Path", r.URL.Path, tc.path},
				{"Host", r.Host, tc.host},
				{"RequestURI", r.RequestURI, tc.requestURI},
				{"RemoteAddr", r.RemoteAddr, tc.remoteAddr},
				{"X-Request-Id", r.Header.Get("X-Request-Id"), tc.requestID},
			}
			for _, c := range checks {
				if c.got != c.want {
					t.Errorf("%s = %q, want %q", c.what, c.got, c.want)
				}
			}
			if q := map[string][]string(r.URL.Query()); !reflect.DeepEqual(q, tc.query) {
				t.Errorf("query = %v, want %v", q, tc.query)
			}
			for k, want := range tc.headers {
				if got := r.Header.Values(k); !reflect.DeepEqual(got, want) {
					t.Errorf("header %s = %q, want %q", k, got, want)
				}
			}
			for k := range r.Header {
				if k != http.CanonicalHeaderKey(k) {
					t.Errorf("header key %q is not canonical", k)
				}
			}
			body, err := io.ReadAll(r.Body)
			if err != nil {
				t.Fatal(err)
			}
			if string(body) != tc.body {
				t.Errorf("body = %q, want %q", body, tc.body)
			}
			if r.ContentLength != int64(len(tc.body)) {
				t.Errorf("ContentLength = %d, want %d", r.ContentLength, len(tc.body))
			}
		})
	}
}

func TestRequestForm(t *testing.T) {
	r, err := Request(context.Background(), readEvent(t, "v2-base64-form.json"))
	if err != nil {
		t.Fatal(err)
	}
	if err := r.ParseForm(); err != nil {
		t.Fatal(err)
	}
	if got := r.PostForm.Get("From"); got != "+14155550123" {
		t.Errorf("From = %q", got)
	}
	if got := r.PostForm.Get("CallSid"); got != "CA00000000000000000000000000000001" {
		t.Errorf("CallSid = %q", got)
	}
}

func TestRequestErrors(t *testing.T) {
	tests := []struct {
		name, event string
	}{
		{"no method", `{"version":"2.0","rawPath":"/x","requestContext":{"http":{}}}`},
		{"REST API (payload 1.0)", `{"httpMethod":"GET","path":"/x"}`},
		{"bad base64", `{"version":"2.0","rawPath":"/x","requestContext":{"http":{"method":"POST"}},"body":"!!!","isBase64Encoded":true}`},
		{"bad method", `{"version":"2.0","rawPath":"/x","requestContext":{"http":{"method":"GET /x"}}}`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r, err := Request(context.Background(), decodeEvent(t, tc.event))
			if err == nil || r != nil {
				t.Errorf("Request = %v, %v; want an error", r, err)
			}
		})
	}
}

func TestStripStage(t *testing.T) {
	tests := []struct{ path, stage, want string }{
		{"/prod/voice", "prod", "/voice"},
		{"/prod", "prod", "/"},
		{"/prod/", "prod", "/"},
		{"/production/voice", "prod", "/production/voice"},
		{"/voice", "prod", "/voice"},
		{"/prod/prod/voice", "prod", "/prod/voice"},
	}
	for _, tc := range tests {
		t.Run(tc.path, func(t *testing.T) {
			if got := stripStage(tc.path, tc.stage); got != tc.want {
				t.Errorf("stripStage(%q, %q) = %q, want %q", tc.path, tc.stage, got, tc.want)
			}
		})
	}
}

func TestRequestEscapedPath(t *testing.T) {
	ev := `{"version":"2.0","rawPath":"/prod/files/a%2Fb%20c","rawQueryString":"x=%26","requestContext":{"stage":"prod","http":{"method":"GET"}}}`
	r, err := Request(context.Background(), decodeEvent(t, ev))
	if err != nil {
		t.Fatal(err)
	}
	if r.URL.Path != "/files/a/b c" || r.URL.EscapedPath() != "/files/a%2Fb%20c" {
		t.Errorf("Path %q EscapedPath %q", r.URL.Path, r.URL.EscapedPath())
	}
	if r.RequestURI != "/prod/files/a%2Fb%20c?x=%26" || r.URL.Query().Get("x") != "&" {
		t.Errorf("RequestURI %q query %v", r.RequestURI, r.URL.Query())
	}
}

// encode runs h on the recorder and returns the event response, through
// JSON as API Gateway reads it.
func encode(t *testing.T, h http.HandlerFunc) events.APIGatewayV2HTTPResponse {
	t.Helper()
	w := NewResponseWriter()
	h(w, newRequest(t))
	raw, err := json.Marshal(w.Response())
	if err != nil {
		t.Fatal(err)
	}
	var d events.APIGatewayV2HTTPResponse
	if err := json.Unmarshal(raw, &d); err != nil {
		t.Fatalf("%s: %v", raw, err)
	}
	return d
}

func newRequest(t *testing.T) *http.Request {
	t.Helper()
	r, err := http.NewRequest(http.MethodGet, "/", nil)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func TestEncode(t *testing.T) {
	full := func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "text/xml")
		w.Header().Add("Vary", "Origin")
		w.Header().Add("Vary", "Accept")
		w.Header().Add("Set-Cookie", "a=1; Path=/")
		w.Header().Add("Set-Cookie", "b=2; HttpOnly")
		w.WriteHeader(http.StatusCreated)
		w.WriteHeader(http.StatusTeapot) // ignored, as net/http does
		_, _ = io.WriteString(w, "<Response/>")
	}
	t.Run("headers and cookies", func(t *testing.T) {
		d := encode(t, full)
		if d.StatusCode != 201 || d.Body != "<Response/>" || d.IsBase64Encoded {
			t.Errorf("status %d body %q base64 %v", d.StatusCode, d.Body, d.IsBase64Encoded)
		}
		if d.Headers["Content-Type"] != "text/xml" || d.Headers["Vary"] != "Origin,Accept" {
			t.Errorf("headers = %v", d.Headers)
		}
		if _, ok := d.Headers["Set-Cookie"]; ok {
			t.Error("v2 sent Set-Cookie as a header; it must go in cookies")
		}
		if want := []string{"a=1; Path=/", "b=2; HttpOnly"}; !reflect.DeepEqual(d.Cookies, want) {
			t.Errorf("cookies = %q, want %q", d.Cookies, want)
		}
		if d.MultiValueHeaders != nil {
			t.Errorf("v2 has multiValueHeaders %v", d.MultiValueHeaders)
		}
	})
	binary := []byte{0xff, 0xfe, 0x00, 'b', 'i', 'n'}
	t.Run("binary", func(t *testing.T) {
		d := encode(t, func(w http.ResponseWriter, _ *http.Request) {
			w.Header().Set("Content-Type", "audio/x-wav")
			_, _ = w.Write(binary)
		})
		got, err := base64.StdEncoding.DecodeString(d.Body)
		if !d.IsBase64Encoded || err != nil || !bytes.Equal(got, binary) {
			t.Errorf("body %q base64 %v: want base64 of %x", d.Body, d.IsBase64Encoded, binary)
		}
		if d.StatusCode != 200 {
			t.Errorf("status %d, want 200 after a bare Write", d.StatusCode)
		}
	})
	t.Run("nothing written", func(t *testing.T) {
		d := encode(t, func(http.ResponseWriter, *http.Request) {})
		if d.StatusCode != 200 || d.Body != "" || d.IsBase64Encoded || d.Headers["Content-Type"] != "" {
			t.Errorf("%+v", d)
		}
	})
	t.Run("content type sniffed", func(t *testing.T) {
		d := encode(t, func(w http.ResponseWriter, _ *http.Request) { _, _ = io.WriteString(w, "hello") })
		if d.Headers["Content-Type"] != "text/plain; charset=utf-8" {
			t.Errorf("Content-Type = %q", d.Headers["Content-Type"])
		}
	})
	t.Run("204", func(t *testing.T) {
		d := encode(t, func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(http.StatusNoContent) })
		if d.StatusCode != 204 || d.Body != "" {
			t.Errorf("%+v", d)
		}
	})
}

// TestEncodeMatchesNetHTTP runs handlers under a real net/http server and
// under the adapter: the client must see the same status, headers and body.
func TestEncodeMatchesNetHTTP(t *testing.T) {
	tests := []struct {
		name string
		h    http.HandlerFunc
	}{
		{"header set after WriteHeader is not sent", func(w http.ResponseWriter, _ *http.Request) {
			w.Header().Set("X-Early", "1")
			w.WriteHeader(http.StatusAccepted)
			w.Header().Set("X-Late", "1")
			_, _ = io.WriteString(w, "ok")
		}},
		{"header set after Write is not sent", func(w http.ResponseWriter, _ *http.Request) {
			w.Header().Set("Content-Type", "text/xml")
			_, _ = io.WriteString(w, "<Response/>")
			w.Header().Set("Content-Type", "application/json")
			w.Header().Set("X-Late", "1")
		}},
		{"header set without writing is sent", func(w http.ResponseWriter, _ *http.Request) {
			w.Header().Set("X-Only", "1")
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			srv := httptest.NewServer(tc.h)
			defer srv.Close()
			res, err := srv.Client().Get(srv.URL)
			if err != nil {
				t.Fatal(err)
			}
			wantBody, _ := io.ReadAll(res.Body)
			res.Body.Close()

			d := encode(t, tc.h)
			if d.StatusCode != res.StatusCode || d.Body != string(wantBody) {
				t.Errorf("adapter: %d %q; net/http: %d %q", d.StatusCode, d.Body, res.StatusCode, wantBody)
			}
			for _, k := range []string{"Content-Type", "X-Early", "X-Late", "X-Only"} {
				if got, want := d.Headers[k], strings.Join(res.Header.Values(k), ","); got != want {
					t.Errorf("%s: adapter sent %q, net/http sent %q", k, got, want)
				}
			}
		})
	}
}

// echo answers with what it saw of the request, as JSON, plus a cookie, a
// repeated header and a binary trailer when asked: enough to see both
// directions of the adapter in one golden response per event.
func echo(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	keys := make([]string, 0, len(r.Header))
	for k := range r.Header {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	seen := map[string]any{
		"method": r.Method, "path": r.URL.Path, "host": r.Host, "request_uri": r.RequestURI,
		"remote_addr": r.RemoteAddr, "query": r.URL.Query(), "header_keys": keys,
		"request_id": r.Header.Get("X-Request-Id"), "body": string(body),
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Add("X-Echo", "1")
	w.Header().Add("X-Echo", "2")
	http.SetCookie(w, &http.Cookie{Name: "seen", Value: "yes", Path: "/", HttpOnly: true})
	w.WriteHeader(http.StatusAccepted)
	_ = json.NewEncoder(w).Encode(seen)
}

func TestHandlerGolden(t *testing.T) {
	h := Handler(http.HandlerFunc(echo))
	for _, file := range []string{"v2-default-stage.json", "v2-named-stage.json", "v2-base64-form.json", "v2-custom-domain.json", "v2-custom-domain-base-path.json"} {
		t.Run(file, func(t *testing.T) {
			resp, err := h(context.Background(), *readEvent(t, file))
			if err != nil {
				t.Fatal(err)
			}
			out, err := json.Marshal(resp) // as the Lambda runtime sends it
			if err != nil {
				t.Fatal(err)
			}
			var pretty bytes.Buffer
			if err := json.Indent(&pretty, out, "", "  "); err != nil {
				t.Fatalf("response is not JSON: %v\n%s", err, out)
			}
			pretty.WriteByte('\n')
			goldenPath := filepath.Join("testdata", "golden", strings.TrimSuffix(file, ".json")+".response.json")
			kit.CheckGolden(t, goldenPath, pretty.Bytes())
		})
	}
}

// TestHandlerRoundTrip decodes the adapter's response the way API Gateway
// does and checks the fields a client sees.
func TestHandlerRoundTrip(t *testing.T) {
	resp, err := Handler(http.HandlerFunc(echo))(context.Background(), *readEvent(t, "v2-named-stage.json"))
	if err != nil {
		t.Fatal(err)
	}
	out, _ := json.Marshal(resp)
	var d events.APIGatewayV2HTTPResponse
	if err := json.Unmarshal(out, &d); err != nil {
		t.Fatal(err)
	}
	if d.StatusCode != http.StatusAccepted {
		t.Errorf("statusCode = %d", d.StatusCode)
	}
	var seen map[string]any
	if err := json.Unmarshal([]byte(d.Body), &seen); err != nil {
		t.Fatalf("body %q: %v", d.Body, err)
	}
	if seen["path"] != "/voice" || !strings.HasPrefix(seen["request_uri"].(string), "/prod/voice") {
		t.Errorf("handler saw path %v request_uri %v", seen["path"], seen["request_uri"])
	}
	if d.Headers["X-Echo"] != "1,2" || len(d.Cookies) != 1 || !strings.HasPrefix(d.Cookies[0], "seen=yes") {
		t.Errorf("headers %v cookies %v", d.Headers, d.Cookies)
	}
	if _, ok := d.Headers["Set-Cookie"]; ok || d.MultiValueHeaders != nil {
		t.Errorf("Set-Cookie sent as a header, or multiValueHeaders %v", d.MultiValueHeaders)
	}
}

func TestHandlerBadEvent(t *testing.T) {
	called := false
	h := Handler(http.HandlerFunc(func(http.ResponseWriter, *http.Request) { called = true }))
	if out, err := h(context.Background(), *decodeEvent(t, `{}`)); err == nil || out.StatusCode != 0 {
		t.Errorf("Handler = %+v, %v; want an error", out, err)
	}
	if called {
		t.Error("handler called for an undecodable event")
	}
}

func BenchmarkHandler(b *testing.B) {
	h := Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_ = r.ParseForm()
		w.Header().Set("Content-Type", "text/xml")
		_, _ = io.WriteString(w, "<Response><Dial><Client>alice</Client></Dial></Response>")
	}))
	ev := *readEvent(b, "v2-base64-form.json")
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		if _, err := h(ctx, ev); err != nil {
			b.Fatal(err)
		}
	}
}

func TestAWSEndpoint(t *testing.T) {
	tests := []struct {
		host string
		want bool
	}{
		{"abcde12345.execute-api.us-east-1.amazonaws.com", true},
		{"abcde12345.execute-api.cn-north-1.amazonaws.com.cn", true},
		{"urlid0123456789abcdef.lambda-url.us-east-1.on.aws", false}, // function URLs are not served
		{"", true},
		{"voice.example.com", false},
		{"amazonaws.com.example.com", false},
		{"api.example.amazonaws.com.evil", false},
	}
	for _, tc := range tests {
		if got := awsEndpoint(tc.host); got != tc.want {
			t.Errorf("awsEndpoint(%q) = %v, want %v", tc.host, got, tc.want)
		}
	}
}
