// Command incoming is the Lambda function behind POST /incoming and its
// no-answer steps: the webhooks of the subaccounts' phone numbers. It queues
// call.missed on the events queue (EVENTS_QUEUE_URL).
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
	d, err := httpapi.FromEnv(os.Getenv, "incoming", os.Stdout)
	if err != nil {
		// At start-up, so the first invocation fails loudly in the logs
		// instead of a half-configured function answering.
		fmt.Fprintln(os.Stderr, "incoming:", err)
		os.Exit(1)
	}
	d.Numbers = phone.Library{}
	lambda.Start(apigw.Handler(httpapi.Incoming(d)))
}
