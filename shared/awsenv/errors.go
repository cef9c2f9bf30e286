package awsenv

import (
	"context"
	"errors"
	"strings"

	"github.com/aws/smithy-go"
	smithyhttp "github.com/aws/smithy-go/transport/http"
)

// The AWS error codes the code base tells apart, by the code the SDK's
// typed errors report (so no service's types package is linked for them).
const (
	// codeSecretNotFound is Secrets Manager's answer for a secret that
	// does not exist.
	codeSecretNotFound = "ResourceNotFoundException"
	// codeInvalidRequest is Secrets Manager's answer for, among others, a
	// secret scheduled for deletion (see MarkedForDeletion).
	codeInvalidRequest = "InvalidRequestException"
	// S3's answers to HeadObject (no body, so only the status's code) and
	// to GetObject for a missing key.
	codeS3NotFound  = "NotFound"
	codeS3NoSuchKey = "NoSuchKey"
)

// ErrorKind names the failure of an AWS call without quoting it (the SDK's
// text may quote a request or a malformed response, which could hold
// secrets): "timeout", "canceled", the AWS error code
// ("ThrottlingException"), "malformed response", "connection error" or
// "request failed".
func ErrorKind(err error) string {
	var api smithy.APIError
	var de *smithy.DeserializationError
	var se *smithyhttp.RequestSendError
	switch {
	case errors.Is(err, context.DeadlineExceeded):
		return "timeout"
	case errors.Is(err, context.Canceled):
		return "canceled"
	case errors.As(err, &api):
		return api.ErrorCode()
	case errors.As(err, &de):
		return "malformed response"
	case errors.As(err, &se):
		return "connection error"
	default:
		return "request failed"
	}
}

// NotFound reports whether err is AWS's answer that the thing asked for
// does not exist: a Secrets Manager secret or an S3 object.
func NotFound(err error) bool {
	var api smithy.APIError
	if !errors.As(err, &api) {
		return false
	}
	switch api.ErrorCode() {
	case codeSecretNotFound, codeS3NotFound, codeS3NoSuchKey:
		return true
	}
	return false
}

// MarkedForDeletion reports Secrets Manager's answer for a secret scheduled
// for deletion (an InvalidRequestException saying so): the secret is being
// removed, which is not an outage.
func MarkedForDeletion(err error) bool {
	var api smithy.APIError
	return errors.As(err, &api) && api.ErrorCode() == codeInvalidRequest &&
		strings.Contains(api.ErrorMessage(), "marked for deletion")
}
