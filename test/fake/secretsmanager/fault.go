package secretsmanager

import (
	"net/http"
	"time"
)

// Fault is what SetFault's function asks the server to do with one request.
// Fields combine in this order: wait (Delay, Hold), then hang up
// (CloseConnection), else answer 200 with Body, else with the AWS error
// Code, else run the operation. The zero Fault runs the operation.
type Fault struct {
	// Delay waits this long before answering. The wait ends early, without
	// an answer, if the client gives up (request context cancelled) or the
	// server closes.
	Delay time.Duration
	// Hold waits until the channel is closed, with the same early exits as
	// Delay; a test uses it to keep calls in flight until it is ready.
	Hold <-chan struct{}

	// CloseConnection drops the TCP connection without an answer.
	CloseConnection bool

	// Body, if set, is sent verbatim with status 200, e.g. a truncated JSON
	// document.
	Body string

	// Code is an AWS error code such as "ThrottlingException", sent in the
	// AWS error shape with the HTTP status AWS uses for it and Message.
	Code    string
	Message string
}

// AWSError is a Fault answering with the AWS error code and the HTTP status
// AWS uses for it.
func AWSError(code string) Fault { return Fault{Code: code} }

// Throttle is the fault AWS answers with when over its request rate.
func Throttle() Fault {
	return Fault{Code: "ThrottlingException", Message: "Rate exceeded"}
}

// InternalError is Secrets Manager's own 500.
func InternalError() Fault {
	return Fault{Code: "InternalServiceError", Message: "An error occurred on the server side."}
}

// Slow delays the answer by d and then runs the real operation.
func Slow(d time.Duration) Fault { return Fault{Delay: d} }

// Malformed answers 200 with body, which is not what the operation returns.
func Malformed(body string) Fault { return Fault{Body: body} }

// Hangup drops the connection without an answer.
func Hangup() Fault { return Fault{CloseConnection: true} }

// statusFor is the HTTP status AWS sends with an error code: 500 for its own
// failures, 503 when unavailable, 400 for everything else (throttling and
// auth failures included, as awsJson services do).
func statusFor(code string) int {
	switch code {
	case "InternalServiceError", "InternalFailure":
		return http.StatusInternalServerError
	case "ServiceUnavailable":
		return http.StatusServiceUnavailable
	default:
		return http.StatusBadRequest
	}
}
