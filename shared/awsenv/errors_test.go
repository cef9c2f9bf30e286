package awsenv

import (
	"context"
	"errors"
	"fmt"
	"testing"

	"github.com/aws/aws-sdk-go-v2/service/s3/types"
	smtypes "github.com/aws/aws-sdk-go-v2/service/secretsmanager/types"
	"github.com/aws/smithy-go"
)

func TestErrorCodes(t *testing.T) {
	text := func(s string) *string { return &s }
	cases := []struct {
		name              string
		err               error
		notFound, deleted bool
	}{
		{"secret not found", fmt.Errorf("get: %w", &smtypes.ResourceNotFoundException{}), true, false},
		{"s3 head not found", &types.NotFound{}, true, false},
		{"s3 no such key", &types.NoSuchKey{}, true, false},
		{"marked for deletion", &smtypes.InvalidRequestException{
			Message: text("You can't perform this operation on the secret because it was marked for deletion."),
		}, false, true},
		{"other invalid request", &smtypes.InvalidRequestException{Message: text("other")}, false, false},
		{"throttled", &smithy.GenericAPIError{Code: "ThrottlingException", Message: "Rate exceeded"}, false, false},
		{"timeout", fmt.Errorf("op: %w", context.DeadlineExceeded), false, false},
		{"not an AWS error", errors.New("NotFound"), false, false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if got := NotFound(tc.err); got != tc.notFound {
				t.Errorf("NotFound = %v, want %v", got, tc.notFound)
			}
			if got := MarkedForDeletion(tc.err); got != tc.deleted {
				t.Errorf("MarkedForDeletion = %v, want %v", got, tc.deleted)
			}
		})
	}
}
