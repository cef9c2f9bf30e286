// Command incoming is the Lambda function behind POST /incoming and its no-answer steps, the subaccounts' phone number webhooks.
// It serves the same webhook handler as the other webhook function, so
// either URL works for a phone number.
package main

import (
	"net/http"

	"bubble-twilio-voice/shared/lambdarun"
	"bubble-twilio-voice/shared/webhook"
)

func main() {
	lambdarun.Run("incoming", func(d lambdarun.Deps) http.Handler {
		return webhook.NewHandler(webhook.OptionsFrom(d.Config, d.Store, d.Log, d.Metrics))
	})
}
