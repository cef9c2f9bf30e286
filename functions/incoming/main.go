// Command incoming is the Lambda function behind POST /incoming and its
// no-answer steps: the webhooks of the subaccounts' phone numbers.
package main

import (
	"fmt"
	"os"

	"bubble-twilio-voice/shared/apigw"
	"bubble-twilio-voice/shared/eventsaws"
	"bubble-twilio-voice/shared/httpapi"

	"github.com/aws/aws-lambda-go/lambda"
)

func main() {
	d, err := httpapi.FromEnv(os.Getenv, "incoming", os.Stdout)
	if err == nil {
		err = eventsaws.QueueFromEnv(os.Getenv, &d) // call.missed
	}
	if err != nil {
		// At start-up, so the first invocation fails loudly in the logs
		// instead of a half-configured function answering.
		fmt.Fprintln(os.Stderr, "incoming:", err)
		os.Exit(1)
	}
	lambda.Start(apigw.Handler(httpapi.Incoming(d)))
}
