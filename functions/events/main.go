// Command events is the Lambda function behind POST /events/call-status and
// /events/recording-status (Twilio's status callbacks: each event is
// queued for the deliver function) and GET /recordings/... and
// /transcripts/... (the recording and transcript links the app receives).
package main

import (
	"fmt"
	"os"

	"bubble-twilio-voice/shared/apigw"
	"bubble-twilio-voice/shared/delivery"
	"bubble-twilio-voice/shared/httpapi"

	"github.com/aws/aws-lambda-go/lambda"
)

func main() {
	env, err := delivery.FromEnv(os.Getenv, "events", os.Stdout)
	if err != nil {
		fmt.Fprintln(os.Stderr, "events:", err)
		os.Exit(1)
	}
	lambda.Start(apigw.Handler(httpapi.Events(env.HTTP)))
}
