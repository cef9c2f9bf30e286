// Package apigw turns API Gateway HTTP API events (payload 2.0, the only
// kind the template's routes send) into *http.Request and the handler's
// response back into the event response, on aws-lambda-go's event types, so
// the Lambda functions and the dev server run the same http.Handler.
package apigw

import (
	"bytes"
	"cmp"
	"context"
	"encoding/base64"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"unicode/utf8"

	"github.com/aws/aws-lambda-go/events"
)

// Request builds the http.Request for an HTTP API (payload 2.0) event.
// r.URL.Path is the route path (a named stage prefix removed, so
// "/prod/voice" routes as "/voice"), while r.Host and r.RequestURI are the
// URL as it was called, because Twilio signs that URL: on the API's own
// execute-api host the stage is part of it.
//
// On a custom domain the stage never is: the API mapping picks the stage,
// yet an event through a mapping to a named stage still starts rawPath
// with the stage name, so RequestURI is the route path there. What the
// event does not say is the mapping's own path (the API mapping key,
// "calls" in https://voice.example.com/calls/voice), which a handler must
// be told (see httpapi.Deps.PublicBaseURL); README.md, "Custom domain",
// gives the shapes and their sources.
func Request(ctx context.Context, e *events.APIGatewayV2HTTPRequest) (*http.Request, error) {
	method, calledPath, query := e.RequestContext.HTTP.Method, e.RawPath, e.RawQueryString
	if method == "" {
		return nil, fmt.Errorf("decode API Gateway event: no HTTP method")
	}
	calledPath = cmp.Or(calledPath, "/")
	routePath := calledPath
	if s := e.RequestContext.Stage; s != "" && s != "$default" {
		routePath = stripStage(calledPath, s)
	}

	body := []byte(e.Body)
	if e.IsBase64Encoded {
		var err error
		if body, err = base64.StdEncoding.DecodeString(e.Body); err != nil {
			return nil, fmt.Errorf("decode API Gateway event body: %w", err)
		}
	}

	u := &url.URL{RawQuery: query}
	if p, err := url.PathUnescape(routePath); err == nil {
		u.Path, u.RawPath = p, routePath
		if u.EscapedPath() != routePath {
			u.RawPath = ""
		}
	} else {
		u.Path = routePath
	}

	r, err := http.NewRequestWithContext(ctx, method, "/", bytes.NewReader(body))
	if err != nil {
		return nil, fmt.Errorf("build request: %w", err)
	}
	r.URL = u
	r.RequestURI = calledPath
	if !awsEndpoint(e.RequestContext.DomainName) {
		r.RequestURI = routePath
	}
	if query != "" {
		r.RequestURI += "?" + query
	}
	r.RemoteAddr = e.RequestContext.HTTP.SourceIP
	// Payload 2.0 joins a repeated header's values with commas, as one
	// value, and moves cookies to their own list.
	for k, v := range e.Headers {
		r.Header.Set(k, v)
	}
	if len(e.Cookies) > 0 {
		r.Header.Set("Cookie", strings.Join(e.Cookies, "; "))
	}
	r.Host = cmp.Or(e.RequestContext.DomainName, r.Header.Get("Host"))
	if id := e.RequestContext.RequestID; id != "" {
		r.Header.Set("X-Request-Id", id)
	}
	return r, nil
}

// awsEndpoint reports whether host is one of AWS's own names for the API
// (abc123.execute-api.us-east-1.amazonaws.com), as opposed to a custom
// domain. An empty host (a hand-made event) counts as AWS's.
func awsEndpoint(host string) bool {
	return host == "" || strings.HasSuffix(host, ".amazonaws.com") || strings.HasSuffix(host, ".amazonaws.com.cn")
}

func stripStage(path, stage string) string {
	prefix := "/" + stage
	if path == prefix {
		return "/"
	}
	if strings.HasPrefix(path, prefix+"/") {
		return path[len(prefix):]
	}
	return path
}

// ResponseWriter records a handler's response in memory.
type ResponseWriter struct {
	header http.Header
	sent   http.Header // header as it was at WriteHeader, as net/http sends it
	status int
	body   bytes.Buffer
}

// NewResponseWriter returns an empty recorder.
func NewResponseWriter() *ResponseWriter {
	return &ResponseWriter{header: http.Header{}}
}

// Header implements http.ResponseWriter.
func (w *ResponseWriter) Header() http.Header { return w.header }

// WriteHeader implements http.ResponseWriter; only the first call counts.
func (w *ResponseWriter) WriteHeader(code int) {
	if w.status == 0 {
		w.status = code
		// Like net/http, later changes to the header map are not sent, so
		// a handler behaves the same on the dev server and on Lambda.
		w.sent = w.header.Clone()
	}
}

// Write implements http.ResponseWriter.
func (w *ResponseWriter) Write(b []byte) (int, error) {
	if w.status == 0 {
		w.WriteHeader(http.StatusOK)
	}
	return w.body.Write(b)
}

// Response returns what the handler wrote as the event response. Bodies
// that are not valid UTF-8 text are base64 encoded; Set-Cookie headers go
// in Cookies, every other header is one comma-joined value.
func (w *ResponseWriter) Response() events.APIGatewayV2HTTPResponse {
	resp := events.APIGatewayV2HTTPResponse{StatusCode: cmp.Or(w.status, http.StatusOK)}
	header := w.sent
	if header == nil { // nothing written: net/http sends the header as it is now
		header = w.header.Clone()
	}
	if ct := header.Get("Content-Type"); ct == "" && w.body.Len() > 0 {
		header.Set("Content-Type", http.DetectContentType(w.body.Bytes()))
	}
	if b := w.body.Bytes(); utf8.Valid(b) {
		resp.Body = string(b)
	} else {
		resp.Body, resp.IsBase64Encoded = base64.StdEncoding.EncodeToString(b), true
	}
	resp.Headers = make(map[string]string, len(header))
	for k, vs := range header {
		if k == "Set-Cookie" {
			resp.Cookies = append(resp.Cookies, vs...)
			continue
		}
		resp.Headers[k] = strings.Join(vs, ",")
	}
	return resp
}

// Handler adapts h to the Lambda handler of an HTTP API route, as
// aws-lambda-go's lambda.Start takes it. An event it cannot read is an
// error for the Lambda runtime (API Gateway answers 502): it is not a
// request h could serve.
func Handler(h http.Handler) func(context.Context, events.APIGatewayV2HTTPRequest) (events.APIGatewayV2HTTPResponse, error) {
	return func(ctx context.Context, e events.APIGatewayV2HTTPRequest) (events.APIGatewayV2HTTPResponse, error) {
		r, err := Request(ctx, &e)
		if err != nil {
			return events.APIGatewayV2HTTPResponse{}, err
		}
		w := NewResponseWriter()
		h.ServeHTTP(w, r)
		return w.Response(), nil
	}
}
