// Command calls is the Lambda function behind the call-control routes
// (/calls/hold, /calls/transfer, ...: hold, transfer and add from the
// browser) and the status callback of the conferences they use.
package main

import (
	"fmt"
	"os"
//TZ

	"bubble-twilio-voice/shared/apigw"
	"bubble-twilio-voice/shared/httpapi"
	"bubble-twilio-voice/shared/phone"

	"github.com/aws/aws-lambda-go/lambda"
)

func main() {
	d, err := httpapi.FromEnv(os.Getenv, "calls", os.Stdout)
	if err != nil {
		fmt.Fprintln(os.Stderr, "calls:", err)
		os.Exit(1)
	}
	d.Numbers = phone.Library{}
	lambda.Start(apigw.Handler(httpapi.Calls(d)))
}
