// Command token is the Lambda function behind GET/POST /token: it mints
// Twilio Voice access tokens for a Bubble workflow (or the browser's Device).
package main

import (
	"fmt"
	"os"

	"bubble-twilio-voice/shared/apigw"
	"bubble-twilio-voice/shared/httpapi"

	"github.com/aws/aws-lambda-go/lambda"
)

func main() {
	d, err := httpapi.FromEnv(os.Getenv, "token", os.Stdout)
	if err != nil {
		// At start-up, so the first invocation fails loudly in the logs
		// instead of a half-configured function answering.
		fmt.Fprintln(os.Stderr, "token:", err)
		os.Exit(1)
	}
	lambda.Start(apigw.Handler(httpapi.Token(d)))
}
