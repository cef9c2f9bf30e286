package secretsmanager

import (
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"strings"
	"time"
)

// Wire constants of Secrets Manager's awsJson1_1 protocol.
const (
	contentType  = "application/x-amz-json-1.1"
	targetPrefix = "secretsmanager."
	maxBody      = 1 << 20 // far above AWS's 64 KiB secret limit
)

// apiError is an AWS error answer.
type apiError struct {
	code    string
	message string
	status  int // 0: statusFor(code)
}

func errf(code, message string) *apiError { return &apiError{code: code, message: message} }

// serveHTTP is the whole protocol: check the envelope and the signature,
// count, apply the fault, run the operation, answer in AWS's shapes.
func (s *Server) serveHTTP(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	s.total++
	s.mu.Unlock()

	if r.Method != http.MethodPost {
		writeError(w, &apiError{code: "UnknownOperationException", status: http.StatusNotFound})
		return
	}
	op, ok := strings.CutPrefix(r.Header.Get("X-Amz-Target"), targetPrefix)
	if !ok || operations[op] == nil {
		writeError(w, errf("UnknownOperationException", ""))
		return
	}
	s.mu.Lock()
	s.calls[op]++
	fault := s.fault
	s.mu.Unlock()

	if e := checkSignature(r); e != nil {
		writeError(w, e)
		return
	}
	if ct := r.Header.Get("Content-Type"); !strings.HasPrefix(ct, contentType) {
		writeError(w, errf("SerializationException", "Content-Type must be "+contentType))
		return
	}
	body, err := io.ReadAll(io.LimitReader(r.Body, maxBody))
	if err != nil {
		return // the client went away
	}
	var ids struct{ SecretId, Name string }
	if err := json.Unmarshal(body, &ids); err != nil {
		writeError(w, errf("SerializationException", "Start of structure or map found where not expected."))
		return
	}

	id := ids.SecretId
	if op == "CreateSecret" {
		id = ids.Name
	}
	s.mu.Lock()
	s.perID[op+"\x00"+id]++
	s.mu.Unlock()
	if fault != nil {
		if done := s.applyFault(w, r, fault(op, id)); done {
			return
		}
	}

	out, e := operations[op](s, body)
	if e != nil {
		writeError(w, e)
		return
	}
	writeJSON(w, http.StatusOK, out)
}

// applyFault carries out f and reports whether the request is finished.
func (s *Server) applyFault(w http.ResponseWriter, r *http.Request, f Fault) bool {
	if f.Delay > 0 {
		t := time.NewTimer(f.Delay)
		defer t.Stop()
		select {
		case <-t.C:
		case <-r.Context().Done():
			return true
		case <-s.closed:
			hangUp(w) // no answer, not an implicit empty 200
			return true
		}
	}
	if f.Hold != nil {
		select {
		case <-f.Hold:
		case <-r.Context().Done():
			return true
		case <-s.closed:
			hangUp(w) // no answer, not an implicit empty 200
			return true
		}
	}
	switch {
	case f.CloseConnection:
		hangUp(w)
		return true
	case f.Body != "":
		w.Header().Set("Content-Type", contentType)
		w.Header().Set("X-Amzn-Requestid", newUUID())
		_, _ = io.WriteString(w, f.Body)
		return true
	case f.Code != "":
		writeError(w, &apiError{code: f.Code, message: f.Message})
		return true
	}
	return false
}

// hangUp closes the connection under the request without answering.
func hangUp(w http.ResponseWriter) {
	if hj, ok := w.(http.Hijacker); ok {
		if conn, _, err := hj.Hijack(); err == nil {
			_ = conn.Close()
			return
		}
	}
	// HTTP/2 or a wrapped writer: the documented way to abort a response.
	panic(http.ErrAbortHandler)
}

// checkSignature requires a well-formed SigV4 Authorization header scoped to
// this service, as AWS does before anything else. It does not verify the
// signature: tests use arbitrary static credentials.
func checkSignature(r *http.Request) *apiError {
	auth := r.Header.Get("Authorization")
	if auth == "" {
		return errf("MissingAuthenticationTokenException", "Missing Authentication Token")
	}
	rest, ok := strings.CutPrefix(auth, "AWS4-HMAC-SHA256 ")
	if !ok {
		return errf("IncompleteSignatureException", "Authorization header requires the AWS4-HMAC-SHA256 algorithm.")
	}
	parts := map[string]string{}
	for _, p := range strings.Split(rest, ",") {
		k, v, _ := strings.Cut(strings.TrimSpace(p), "=")
		parts[k] = v
	}
	for _, k := range []string{"Credential", "SignedHeaders", "Signature"} {
		if parts[k] == "" {
			return errf("IncompleteSignatureException", "Authorization header requires '"+k+"' parameter.")
		}
	}
	// Credential=AKID/20260101/us-east-1/secretsmanager/aws4_request
	scope := strings.Split(parts["Credential"], "/")
	if len(scope) != 5 || scope[4] != "aws4_request" {
		return errf("IncompleteSignatureException", "Credential is malformed.")
	}
	if scope[3] != "secretsmanager" {
		return errf("InvalidSignatureException", "Credential should be scoped to correct service: 'secretsmanager'.")
	}
	if r.Header.Get("X-Amz-Date") == "" && r.Header.Get("Date") == "" {
		return errf("IncompleteSignatureException", "Authorization header requires existence of either a 'X-Amz-Date' or a 'Date' header.")
	}
	return nil
}

// writeError answers in the awsJson error shape: the code in the body's
// __type and in the x-amzn-ErrorType header, the text in Message (the member
// name Secrets Manager's error shapes use).
func writeError(w http.ResponseWriter, e *apiError) {
	status := e.status
	if status == 0 {
		status = statusFor(e.code)
	}
	w.Header().Set("X-Amzn-Errortype", e.code)
	body := map[string]string{"__type": e.code}
	if e.message != "" {
		body["Message"] = e.message
	}
	writeJSON(w, status, body)
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	data, err := json.Marshal(v)
	if err != nil {
		// Only our own types are encoded here; this is a bug in the fake.
		status, data = http.StatusInternalServerError, []byte(`{"__type":"InternalServiceError","Message":"fakesm: encode response"}`)
	}
	w.Header().Set("Content-Type", contentType)
	w.Header().Set("X-Amzn-Requestid", newUUID())
	w.WriteHeader(status)
	_, _ = w.Write(data)
}

// decode reads an operation's input. Unknown members are ignored, as AWS
// does for members a newer SDK may send.
func decode(body []byte, v any) *apiError {
	if err := json.Unmarshal(body, v); err != nil {
		var te *json.UnmarshalTypeError
		if errors.As(err, &te) {
			return errf("SerializationException", "Invalid type for member "+te.Field)
		}
		return errf("SerializationException", "Malformed request body.")
	}
	return nil
}
