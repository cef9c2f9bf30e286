// Command deliver is the Lambda function fed by the events queue: it POSTs
// each call event to its tenant's app, copying recordings into the bucket
// first, and reports the events to retry as batch item failures.
package main

import (
	"fmt"
	"os"

	"bubble-twilio-voice/shared/delivery"
	"bubble-twilio-voice/shared/queue/sqsqueue"

	"github.com/aws/aws-lambda-go/lambda"
)

func main() {
	env, err := delivery.FromEnv(os.Getenv, "deliver", os.Stdout)
	if err != nil {
		fmt.Fprintln(os.Stderr, "deliver:", err)
		os.Exit(1)
	}
	lambda.Start(sqsqueue.Handler(env.Deliver.Deliver, env.Visibility, env.Deliver.Log))
}
