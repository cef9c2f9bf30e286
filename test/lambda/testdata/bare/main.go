// Command bare is the reference of test/lambda's cold starts: an
// aws-lambda-go bootstrap that answers every API Gateway request 200 and
// does nothing else (no configuration, no AWS client, no secret read), so
// a function's cold start can be read against the floor the runtime sets.
package main

import (
	"context"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-lambda-go/lambda"
)

func main() {
	lambda.Start(func(context.Context, events.APIGatewayV2HTTPRequest) (events.APIGatewayV2HTTPResponse, error) {
		return events.APIGatewayV2HTTPResponse{StatusCode: 200}, nil
	})
}
