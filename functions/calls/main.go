// Command calls is the Lambda function behind the call-control routes
// (/calls/hold, /calls/transfer, ...: hold, transfer and add from the
// browser) and the status callback of the conferences they use.
//
// It embeds no zone database (time/tzdata, 450 KB): call control decides
// nothing by a route's hours (a transfer rings a route whatever they say),
// and the tenant records parse without one (tenant.loadZone).
package main

import (
	"fmt"
	"os"

	"bubble-twilio-voice/shared/apigw"
	"bubble-twilio-voice/shared/httpapi"
	"bubble-twilio-voice/shared/phone"

	"github.com/aws/aws-lambda-go/lambda"
)

func main() {
	d, err := httpapi.FromEnv(os.Getenv, "calls", os.Stdout)
	if err != nil {
		// At start-up, so the first invocation fails loudly in the logs
		// instead of a half-configured function answering.
		fmt.Fprintln(os.Stderr, "calls:", err)
		os.Exit(1)
	}
	d.Numbers = phone.Library{}
	lambda.Start(apigw.Handler(httpapi.Calls(d)))
}
