// Command twiliosign prints the X-Twilio-Signature Twilio would send for a
// webhook URL and form body, so the dev server's webhooks can be tried with
// curl exactly as Twilio calls them.
//
//	twiliosign -url http://127.0.0.1:3000/voice -auth-token TOKEN 'AccountSid=AC...&To=%2B14155550123'
package main

import (
	"flag"
	"fmt"
	"io"
	"net/url"
	"os"

	"bubble-twilio-voice/shared/twiliosig"
)

func main() {
	if err := run(os.Args[1:], os.Stdout, os.Stderr); err != nil {
		fmt.Fprintln(os.Stderr, "twiliosign:", err)
		os.Exit(2)
	}
}

func run(args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("twiliosign", flag.ContinueOnError)
	fs.SetOutput(stderr)
	rawURL := fs.String("url", "", "the full URL Twilio calls, query included")
	token := fs.String("auth-token", os.Getenv("TWILIO_AUTH_TOKEN"), "the subaccount's auth token (default $TWILIO_AUTH_TOKEN)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *rawURL == "" || *token == "" || fs.NArg() != 1 {
		return fmt.Errorf("usage: twiliosign -url URL -auth-token TOKEN 'form-encoded body'")
	}
	form, err := url.ParseQuery(fs.Arg(0))
	if err != nil {
		return fmt.Errorf("body is not form encoded: %w", err)
	}
	_, err = fmt.Fprintln(stdout, twiliosig.Sign(*rawURL, form, *token))
	return err
}
