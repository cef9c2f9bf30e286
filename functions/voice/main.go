// Command voice is the Lambda function behind POST /voice, the subaccounts'
// TwiML App Voice URL: calls placed from browsers.
package main

import (
	"fmt"
	"os"
	_ "time/tzdata" // routes' hours: Lambda's base image has no zone database

	"bubble-twilio-voice/shared/apigw"
	"bubble-twilio-voice/shared/httpapi"
	"bubble-twilio-voice/shared/phone"

	"github.com/aws/aws-lambda-go/lambda"
)

func main() {
	d, err := httpapi.FromEnv(os.Getenv, "voice", os.Stdout)
	if err != nil {
		// At start-up, so the first invocation fails loudly in the logs
		// instead of a half-configured function answering.
		fmt.Fprintln(os.Stderr, "voice:", err)
		os.Exit(1)
	}
	d.Numbers = phone.Library{}
	lambda.Start(apigw.Handler(httpapi.Voice(d)))
}
