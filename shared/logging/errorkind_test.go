package logging

import (
	"context"
	"errors"
	"fmt"
	"testing"

	"github.com/aws/smithy-go"
	smithyhttp "github.com/aws/smithy-go/transport/http"
)

// TestErrorKindNamesWithoutText: each kind of failure gets its name, and
// never the error's own text.
func TestErrorKindNamesWithoutText(t *testing.T) {
	const secret = "auth_token=0123456789abcdef"
	cases := []struct {
		err  error
		want string
	}{
		{&smithy.GenericAPIError{Code: "ThrottlingException", Message: secret}, "ThrottlingException"},
		{fmt.Errorf("send: %w", context.DeadlineExceeded), "timeout"},
		{context.Canceled, "canceled"},
		{&smithy.DeserializationError{Err: errors.New(secret)}, "malformed response"},
		{&smithyhttp.RequestSendError{Err: errors.New(secret)}, "connection error"},
		{errors.New(secret), "request failed"},
	}
	for _, tc := range cases {
		if got := ErrorKind(tc.err); got != tc.want {
			t.Errorf("ErrorKind(%T) = %q, want %q", tc.err, got, tc.want)
		}
	}
}
