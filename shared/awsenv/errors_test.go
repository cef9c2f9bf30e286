package awsenv

import (
	"context"
	"errors"
	"fmt"
	"testing"

	"github.com/aws/aws-sdk-go-v2/service/s3/types"
	smtypes "github.com/aws/aws-sdk-go-v2/service/secretsmanager/types"
	"github.com/aws/smithy-go"
	smithyhttp "github.com/aws/smithy-go/transport/http"
)

func TestErrorKinds(t *testing.T) {
	deleting := &smtypes.InvalidRequestException{Message: smithyString("You can't perform this operation on the secret because it was marked for deletion.")}
	cases := []struct {
		name              string
		err               error
		kind              string
		notFound, deleted bool
	}{
		{"secret not found", fmt.Errorf("get: %w", &smtypes.ResourceNotFoundException{}), "ResourceNotFoundException", true, false},
		{"s3 head not found", &types.NotFound{}, "NotFound", true, false},
		{"s3 no such key", &types.NoSuchKey{}, "NoSuchKey", true, false},
		{"marked for deletion", deleting, "InvalidRequestException", false, true},
		{"other invalid request", &smtypes.InvalidRequestException{Message: smithyString("other")}, "InvalidRequestException", false, false},
		{"throttled", &smithy.GenericAPIError{Code: "ThrottlingException", Message: "Rate exceeded"}, "ThrottlingException", false, false},
		{"timeout", fmt.Errorf("op: %w", context.DeadlineExceeded), "timeout", false, false},
		{"canceled", context.Canceled, "canceled", false, false},
		{"malformed", &smithy.DeserializationError{Err: errors.New("bad json")}, "malformed response", false, false},
		{"connection", &smithyhttp.RequestSendError{Err: errors.New("refused")}, "connection error", false, false},
		{"other", errors.New("boom"), "request failed", false, false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if got := ErrorKind(tc.err); got != tc.kind {
				t.Errorf("ErrorKind = %q, want %q", got, tc.kind)
			}
			if got := NotFound(tc.err); got != tc.notFound {
				t.Errorf("NotFound = %v, want %v", got, tc.notFound)
			}
			if got := MarkedForDeletion(tc.err); got != tc.deleted {
				t.Errorf("MarkedForDeletion = %v, want %v", got, tc.deleted)
			}
		})
	}
}

func smithyString(s string) *string { return &s }
