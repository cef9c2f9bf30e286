// Command token is the Lambda function behind GET/POST /token: it mints
// Twilio Voice access tokens for Bubble's API Connector.
package main

import (
	"net/http"

	"bubble-twilio-voice/shared/lambdarun"
	"bubble-twilio-voice/shared/token"
)

func main() {
	lambdarun.Run("token", func(d lambdarun.Deps) http.Handler {
		return token.NewHandler(token.OptionsFrom(d.Config, d.Store, d.Now, d.Log, d.Metrics))
	})
}
