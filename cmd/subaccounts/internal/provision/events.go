package provision

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"unicode/utf8"

	"bubble-twilio-voice/cmd/internal/eventsamples"
	"bubble-twilio-voice/shared/events"
)

// EventsTestOptions tune EventsTest.
type EventsTestOptions struct {
	// Type is the one event type to send; "" sends one of each type the
	// tenant takes.
	Type string
	// Deployment's base URL is where the recording samples' links point.
	Deployment Deployment
	// Poster sends the events: the delivery's own (events.NewPoster), so
	// a test event leaves with exactly the headers, bearer token and
	// signature a real one does.
	Poster *events.Poster
}

// EventsTest POSTs one test event of each type (or of o.Type) to the
// tenant's events.url as the delivery does, and prints each answer's status
// and the first events.AnswerBodyShown bytes of its body: what a Bubble
// builder sends to a workflow's /initialize address so "Detect data"
// learns every field. The events are eventsamples.For's (every field,
// realistic values, event_id starting with events.TestIDPrefix); nothing
// is queued and nothing changes. The URL is printed with its query
// redacted (it may carry the tenant's ?secret=). It fails when an event
// was not answered 2xx. A suspended tenant's are sent too, after a note
// saying so.
func (p *Provisioner) EventsTest(ctx context.Context, accountSID string, o EventsTestOptions) error {
	_, t, err := p.loadTenant(ctx, accountSID)
	if err != nil {
		return err
	}
	if t.Events == nil {
		return fmt.Errorf("tenant %s has no events object: set events.url in its record first (docs/call-events.md)", accountSID)
	}
	if o.Type != "" && !t.Events.Wants(o.Type) {
		return fmt.Errorf("tenant %s's events.types leaves out %s: the delivery would not send it", accountSID, o.Type)
	}
	if o.Deployment.VoiceURL == "" {
		return errors.New("events test needs the deployment (--stack, or --voice-url): the test recordings link to it")
	}
	samples, err := eventsamples.For(t, o.Deployment.base(), o.Type, p.now())
	if err != nil {
		return err
	}
	var with []string
	if t.Events.BearerToken != "" {
		with = append(with, "Authorization: Bearer (redacted)")
	}
	if t.Events.SigningSecret != "" {
		with = append(with, events.HeaderSignature)
	}
	if t.Suspended() {
		// Sent anyway: the operator may test an app before reactivate, and a
		// suspended tenant's real events are still delivered. The dev
		// server's /dev/events/test, which a tenant's own key opens,
		// refuses it as /token does.
		p.printf("note: tenant %s is suspended (since %s): its calls and tokens are refused until reactivate; the test events are sent anyway\n", accountSID, t.SuspendedAt)
	}
	p.printf("POST %s%s\n", t.Events.RedactedURL(), parenthesized(with))
	failed, sent := 0, 0
	for _, e := range samples {
		if !t.Events.Wants(e.Type) {
			p.printf("%-21s not sent: events.types leaves it out\n", e.Type)
			continue
		}
		if err := ctx.Err(); err != nil {
			return err
		}
		sent++
		a := o.Poster.Post(ctx, t.Events, e)
		switch {
		case a.Err != nil:
			failed++
			p.printf("%-21s %s  %v\n", e.Type, e.ID, a.Err)
		default:
			if a.Outcome() != events.Delivered {
				failed++
			}
			p.printf("%-21s %s  %d %s\n", e.Type, e.ID, a.Status, printable(a.Body))
		}
	}
	if failed > 0 {
		return fmt.Errorf("%d of %d test events were not answered 2xx", failed, sent)
	}
	return nil
}

func parenthesized(items []string) string {
	if len(items) == 0 {
		return ""
	}
	return " (" + strings.Join(items, ", ") + ")"
}

// printable shows an app's answer on one terminal line: control characters
// become spaces and bytes that are not UTF-8 a replacement character, so an
// answer cannot move the cursor or clear the screen.
func printable(b []byte) string {
	var s strings.Builder
	for len(b) > 0 {
		r, n := utf8.DecodeRune(b)
		b = b[n:]
		switch {
		case r == utf8.RuneError && n <= 1:
			s.WriteRune('\uFFFD')
		case r < 0x20 || r == 0x7f || (r >= 0x80 && r < 0xa0):
			s.WriteByte(' ')
		default:
			s.WriteRune(r)
		}
	}
	return s.String()
}
