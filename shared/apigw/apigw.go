// Package apigw turns API Gateway events (HTTP API payload 2.0, Lambda
// function URLs, and REST API / payload 1.0) into *http.Request and the
// handler's response back into the matching event response, so the Lambda
// functions and the dev server run the same http.Handler.
package apigw

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"sort"
	"strings"
	"unicode/utf8"
)

// event is the union of the v1 and v2 shapes: one decode serves both.
type event struct {
	Version        string            `json:"version"`
	RawPath        string            `json:"rawPath"`
	RawQueryString string            `json:"rawQueryString"`
	Cookies        []string          `json:"cookies"`
	Headers        map[string]string `json:"headers"`
	Body           string            `json:"body"`
	IsBase64       bool              `json:"isBase64Encoded"`

	// v1 only.
	HTTPMethod        string              `json:"httpMethod"`
	Path              string              `json:"path"`
	MultiValueHeaders map[string][]string `json:"multiValueHeaders"`
	MultiValueQuery   map[string][]string `json:"multiValueQueryStringParameters"`
	Query             map[string]string   `json:"queryStringParameters"`

	RequestContext struct {
		RequestID  string `json:"requestId"`
		DomainName string `json:"domainName"`
		Stage      string `json:"stage"`
		Path       string `json:"path"` // v1: the path as called, stage included
		HTTP       struct {
			Method   string `json:"method"`
			SourceIP string `json:"sourceIp"`
		} `json:"http"`
		Identity struct {
			SourceIP string `json:"sourceIp"`
		} `json:"identity"`
	} `json:"requestContext"`
}

func (e *event) isV2() bool { return e.Version == "2.0" }

// Request builds the http.Request for an event. r.URL.Path is the route path
// (a named stage prefix removed, so "/prod/voice" routes as "/voice"), while
// r.Host and r.RequestURI are the URL as it was called, because Twilio signs
// that URL: on the API's own execute-api host the stage is part of it.
//
// On a custom domain the stage never is: the API mapping picks the stage,
// yet a payload 2.0 event through a mapping to a named stage still starts
// rawPath with the stage name, so RequestURI is the route path there. What
// the event does not say is the mapping's own path (the API mapping key,
// "calls" in https://voice.example.com/calls/voice), which a handler must
// be told (see httpapi.Deps.PublicBaseURL); README.md, "Custom domain",
// gives the shapes and their sources.
func Request(ctx context.Context, raw []byte) (*http.Request, bool, error) {
	var e event
	if err := json.Unmarshal(raw, &e); err != nil {
		return nil, false, fmt.Errorf("decode API Gateway event: %w", err)
	}
	v2 := e.isV2()
	method, calledPath, query, sourceIP := e.HTTPMethod, e.Path, "", e.RequestContext.Identity.SourceIP
	if v2 {
		method, calledPath, query, sourceIP = e.RequestContext.HTTP.Method, e.RawPath, e.RawQueryString, e.RequestContext.HTTP.SourceIP
	} else {
		if e.RequestContext.Path != "" {
			calledPath = e.RequestContext.Path
		}
		query = v1Query(e.MultiValueQuery, e.Query)
	}
	if method == "" {
		return nil, v2, fmt.Errorf("decode API Gateway event: no HTTP method")
	}
	if calledPath == "" {
		calledPath = "/"
	}
	routePath := calledPath
	if !v2 {
		routePath = e.Path
	} else if s := e.RequestContext.Stage; s != "" && s != "$default" {
		routePath = stripStage(calledPath, s)
	}

	body := []byte(e.Body)
	if e.IsBase64 {
		var err error
		if body, err = base64.StdEncoding.DecodeString(e.Body); err != nil {
			return nil, v2, fmt.Errorf("decode API Gateway event body: %w", err)
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
		return nil, v2, fmt.Errorf("build request: %w", err)
	}
	r.URL = u
	r.RequestURI = calledPath
	if v2 && !awsEndpoint(e.RequestContext.DomainName) {
		r.RequestURI = routePath
	}
	if query != "" {
		r.RequestURI += "?" + query
	}
	r.RemoteAddr = sourceIP
	for k, vs := range e.MultiValueHeaders {
		for _, v := range vs {
			r.Header.Add(k, v)
		}
	}
	for k, v := range e.Headers {
		if _, done := e.MultiValueHeaders[k]; !done {
			r.Header.Set(k, v)
		}
	}
	if len(e.Cookies) > 0 {
		r.Header.Set("Cookie", strings.Join(e.Cookies, "; "))
	}
	r.Host = e.RequestContext.DomainName
	if r.Host == "" {
		r.Host = r.Header.Get("Host")
	}
	if id := e.RequestContext.RequestID; id != "" {
		r.Header.Set("X-Request-Id", id)
	}
	return r, v2, nil
}

// awsEndpoint reports whether host is one of AWS's own names for the API
// (abc123.execute-api.us-east-1.amazonaws.com, a function URL's
// *.lambda-url.<region>.on.aws), as opposed to a custom domain. An empty
// host (a hand-made event) counts as AWS's.
func awsEndpoint(host string) bool {
	return host == "" || strings.HasSuffix(host, ".amazonaws.com") || strings.HasSuffix(host, ".amazonaws.com.cn") || strings.HasSuffix(host, ".on.aws")
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

// v1Query rebuilds a query string from a payload 1.0 event, which keeps no
// raw query: keys are sorted, so a URL whose signature covers its query in
// another order cannot be checked (use HTTP API payload 2.0 for that).
func v1Query(multi map[string][]string, single map[string]string) string {
	vals := url.Values{}
	for k, vs := range multi {
		vals[k] = vs
	}
	for k, v := range single {
		if _, ok := multi[k]; !ok {
			vals.Set(k, v)
		}
	}
	if len(vals) == 0 {
		return ""
	}
	keys := make([]string, 0, len(vals))
	for k := range vals {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var b strings.Builder
	for _, k := range keys {
		for _, v := range vals[k] {
			if b.Len() > 0 {
				b.WriteByte('&')
			}
			b.WriteString(url.QueryEscape(k))
			b.WriteByte('=')
			b.WriteString(url.QueryEscape(v))
		}
	}
	return b.String()
}

// Response is what the handler wrote, as the event response for the same
// payload version: v2 (HTTP API, function URL) or v1 (REST API).
type response struct {
	StatusCode        int                 `json:"statusCode"`
	Headers           map[string]string   `json:"headers,omitempty"`
	MultiValueHeaders map[string][]string `json:"multiValueHeaders,omitempty"`
	Cookies           []string            `json:"cookies,omitempty"`
	Body              string              `json:"body"`
	IsBase64          bool                `json:"isBase64Encoded"`
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

// Encode returns the event response. Bodies that are not valid UTF-8 text
// are base64 encoded.
func (w *ResponseWriter) Encode(v2 bool) ([]byte, error) {
	status := w.status
	if status == 0 {
		status = http.StatusOK
	}
	resp := response{StatusCode: status}
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
		resp.Body, resp.IsBase64 = base64.StdEncoding.EncodeToString(b), true
	}
	if v2 {
		resp.Headers = make(map[string]string, len(header))
		for k, vs := range header {
			if k == "Set-Cookie" {
				resp.Cookies = append(resp.Cookies, vs...)
				continue
			}
			resp.Headers[k] = strings.Join(vs, ",")
		}
	} else {
		resp.MultiValueHeaders = map[string][]string(header)
	}
	return json.Marshal(resp)
}

// Handler adapts h to the Lambda handler signature aws-lambda-go's
// lambda.Start takes. An event it cannot decode is an error for the Lambda
// runtime (API Gateway answers 502): it is not a request h could serve.
func Handler(h http.Handler) func(context.Context, json.RawMessage) (json.RawMessage, error) {
	return func(ctx context.Context, raw json.RawMessage) (json.RawMessage, error) {
		r, v2, err := Request(ctx, raw)
		if err != nil {
			return nil, err
		}
		w := NewResponseWriter()
		h.ServeHTTP(w, r)
		return w.Encode(v2)
	}
}
