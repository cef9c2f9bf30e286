package apigw_test

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"testing"

	"github.com/aws/aws-lambda-go/events"

	"bubble-twilio-voice/shared/apigw"
)

// FuzzRequest feeds arbitrary bytes, decoded as the Lambda runtime decodes
// them into events.APIGatewayV2HTTPRequest, to the event adapter (it must
// never panic, and a request it builds must be servable), and builds HTTP
// API v2 events around arbitrary bodies, which must reach the handler byte
// for byte and come back through the response byte for byte.
func FuzzRequest(f *testing.F) {
	recorded, err := filepath.Glob(filepath.Join("testdata", "*.json"))
	if err != nil || len(recorded) == 0 {
		f.Fatalf("no recorded events in testdata: %v", err)
	}
	for _, name := range recorded {
		raw, err := os.ReadFile(name)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(raw, []byte("AccountSid=AC0123456789abcdef0123456789abcdef&To=%2B14155550100"), false, "/prod/voice", "a=1&b=2", "prod")
	}
	f.Add([]byte(`{"version":"2.0","rawPath":"/x","requestContext":{"http":{"method":"POST"}},"body":"!!!","isBase64Encoded":true}`),
		[]byte("\xff\xfe\x00binary"), true, "/token", "", "$default")
	f.Add([]byte(`{"httpMethod":"GET","path":"/%zz","multiValueQueryStringParameters":{"a":["1","2"]}}`),
		[]byte(`{"To":"+14155550199","x":"é"}`), false, "/%2Fvoice", "x=%zz", "")
	f.Add([]byte(`null`), []byte{}, true, "", "", "stage")

	f.Fuzz(func(t *testing.T, raw, body []byte, b64 bool, rawPath, rawQuery, stage string) {
		// Any event: an error or a request, never a panic.
		var e events.APIGatewayV2HTTPRequest
		if json.Unmarshal(raw, &e) == nil {
			if r, err := apigw.Request(context.Background(), &e); err == nil {
				got, err := io.ReadAll(r.Body)
				if err != nil {
					t.Fatalf("reading the body of an accepted event: %v", err)
				}
				if want, ok := eventBody(raw); ok && !bytes.Equal(got, want) {
					t.Fatalf("event body %q reached the handler as %q", want, got)
				}
				if r.URL == nil || r.Header == nil {
					t.Fatalf("accepted event gave a request without URL or header: %+v", r)
				}
			}
		}

		// A well-formed v2 event around body: the handler gets body exactly,
		// and the response encoder gives it back exactly.
		ev := map[string]any{
			"version":        "2.0",
			"rawPath":        rawPath,
			"rawQueryString": rawQuery,
			"headers":        map[string]string{"content-type": "application/octet-stream"},
			"requestContext": map[string]any{
				"stage": stage,
				"http":  map[string]any{"method": "POST", "sourceIp": "203.0.113.7"},
			},
		}
		if b64 {
			ev["body"], ev["isBase64Encoded"] = base64.StdEncoding.EncodeToString(body), true
		} else {
			// Without base64 a JSON string carries only valid UTF-8.
			body = bytes.ToValidUTF8(body, []byte("\uFFFD"))
			ev["body"] = string(body)
		}
		evJSON, err := json.Marshal(ev)
		if err != nil {
			t.Fatal(err)
		}
		var in events.APIGatewayV2HTTPRequest
		if err := json.Unmarshal(evJSON, &in); err != nil {
			t.Fatal(err)
		}
		var seen []byte
		h := apigw.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			var err error
			if seen, err = io.ReadAll(r.Body); err != nil {
				t.Errorf("read body: %v", err)
			}
			_, _ = w.Write(seen)
		}))
		resp, err := h(context.Background(), in)
		if err != nil {
			t.Fatalf("well-formed v2 event %s refused: %v", evJSON, err)
		}
		out, err := json.Marshal(resp) // as the Lambda runtime sends it
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(seen, body) {
			t.Fatalf("body %q reached the handler as %q", body, seen)
		}
		var sent struct {
			StatusCode int    `json:"statusCode"`
			Body       string `json:"body"`
			IsBase64   bool   `json:"isBase64Encoded"`
		}
		if err := json.Unmarshal(out, &sent); err != nil {
			t.Fatalf("response event %s is not JSON: %v", out, err)
		}
		back := []byte(sent.Body)
		if sent.IsBase64 {
			if back, err = base64.StdEncoding.DecodeString(sent.Body); err != nil {
				t.Fatalf("response body is not base64: %v", err)
			}
		}
		if sent.StatusCode != http.StatusOK || !bytes.Equal(back, body) {
			t.Fatalf("response %d %q, want 200 %q", sent.StatusCode, back, body)
		}
	})
}

// eventBody decodes the body an event carries, as API Gateway means it.
func eventBody(raw []byte) ([]byte, bool) {
	var e struct {
		Body     string `json:"body"`
		IsBase64 bool   `json:"isBase64Encoded"`
	}
	if json.Unmarshal(raw, &e) != nil {
		return nil, false
	}
	if !e.IsBase64 {
		return []byte(e.Body), true
	}
	b, err := base64.StdEncoding.DecodeString(e.Body)
	return b, err == nil
}
