// Command deliver is the Lambda function fed by the events queue: it POSTs
// each call event to its tenant's app, copying recordings into the bucket
// first, and reports the events to retry as batch item failures.
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
	d, err := httpapi.FromEnv(os.Getenv, "deliver", os.Stdout)
	var q apigw.Visibility
	if err == nil {
		q, err = eventsaws.FromEnv(os.Getenv, &d)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "deliver:", err)
		os.Exit(1)
	}
	lambda.Start(apigw.SQSHandler(httpapi.Deliver(d), httpapi.PathDeliver, q, d.Log))
}
