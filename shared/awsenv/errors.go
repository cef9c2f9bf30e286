package awsenv

import (
	"errors"
	"strings"

	"github.com/aws/smithy-go"
)

// The AWS error codes the code base tells apart, by the code the SDK's
// typed errors report (so no service's types package is linked for them).
// logging.ErrorKind names any other failure by its code.
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
