// Command incoming is the Lambda function behind POST /incoming and its
// no-answer steps: the webhooks of the subaccounts' phone numbers.
package main

import (
	"fmt"
	"os"
	"time"
	_ "time/tzdata" // routes' hours: Lambda's base image has no zone database

	"bubble-twilio-voice/shared/apigw"
	"bubble-twilio-voice/shared/config"
	"bubble-twilio-voice/shared/httpapi"
	"bubble-twilio-voice/shared/phone"
	"bubble-twilio-voice/shared/queue/sqsqueue"

	"github.com/aws/aws-lambda-go/lambda"
)

func main() {
	cfg, err := config.Load(os.Getenv)
	var d httpapi.Deps
	if err == nil {
		d, err = httpapi.Setup(cfg, os.Getenv, "incoming", os.Stdout, time.Now)
	}
	if err == nil && cfg.Events.QueueURL != "" {
		d.Events.Queue, err = sqsqueue.Open(os.Getenv, cfg.Events.QueueURL) // call.missed
	}
	if err != nil {
		// At start-up, so the first invocation fails loudly in the logs
		// instead of a half-configured function answering.
		fmt.Fprintln(os.Stderr, "incoming:", err)
		os.Exit(1)
	}
	d.Numbers = phone.Library{}
	lambda.Start(apigw.Handler(httpapi.Incoming(d)))
}
