package awsenv

import (
	"errors"
	"strings"

	"github.com/aws/smithy-go"
)

// NotFound reports whether err is AWS's answer that the thing asked for
// does not exist: a Secrets Manager secret (ResourceNotFoundException) or an
// S3 object (NotFound from HeadObject, which has no body to carry more, and
// NoSuchKey from GetObject). Codes, not the SDK's typed errors, so that no
// service's types package is linked for them.
func NotFound(err error) bool {
	var api smithy.APIError
	if !errors.As(err, &api) {
		return false
	}
	switch api.ErrorCode() {
	case "ResourceNotFoundException", "NotFound", "NoSuchKey":
		return true
	}
	return false
}

// MarkedForDeletion reports Secrets Manager's answer for a secret scheduled
// for deletion (an InvalidRequestException saying so): the secret is being
// removed, which is not an outage.
func MarkedForDeletion(err error) bool {
	var api smithy.APIError
	return errors.As(err, &api) && api.ErrorCode() == "InvalidRequestException" &&
		strings.Contains(api.ErrorMessage(), "marked for deletion")
}

// AccessDenied reports AWS's refusal of a request the caller's policy does
// not allow (Secrets Manager's AccessDeniedException, S3's AccessDenied).
func AccessDenied(err error) bool {
	var api smithy.APIError
	if !errors.As(err, &api) {
		return false
	}
	return api.ErrorCode() == "AccessDeniedException" || api.ErrorCode() == "AccessDenied"
}
