// Command twiliosign prints the X-Twilio-Signature Twilio would send for a
// webhook URL and form body, so the dev server's webhooks can be tried with
// curl exactly as Twilio calls them.
//
//	twiliosign -url http://127.0.0.1:3000/voice -auth-token TOKEN 'AccountSid=AC...&To=%2B14155550123'
package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"net/url"
	"os"

	"bubble-twilio-voice/shared/twiliosig"
)

func main() {
	err := run(os.Args[1:], os.Getenv, os.Stdout, os.Stderr)
	switch {
	case errors.Is(err, flag.ErrHelp):
		return // -h: the usage is printed, and asking for it is no error
	case err != nil:
		fmt.Fprintln(os.Stderr, "twiliosign:", err)
		os.Exit(2)
	}
}

func run(args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("twiliosign", flag.ContinueOnError)
	fs.SetOutput(stderr)
	rawURL := fs.String("url", "", "the full URL Twilio calls, query included")
	// The environment is read after parsing, not as the flag's default:
	// flag prints non-empty defaults in the usage, which would put the
	// token on the terminal (and in CI logs) after any mistyped flag.
	token := fs.String("auth-token", "", "the subaccount's auth token (default $TWILIO_AUTH_TOKEN)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *token == "" {
		*token = getenv("TWILIO_AUTH_TOKEN")
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
