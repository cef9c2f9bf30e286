package main

import (
	"cmp"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"

	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/sqs"

	"bubble-twilio-voice/cmd/subaccounts/internal/deadletter"
)

const deadLettersUsage = `usage: subaccounts dead-letters list    [--stack NAME | --queue-url URL --dlq-url URL] [--max N] [--json]
       subaccounts dead-letters redrive (--all | --event-id ID ...) [--stack NAME | --queue-url URL --dlq-url URL] [--dry-run]

Call events the delivery gave up on (the app answered a 4xx, or failed for 24 h)
wait in the dead-letter queue. "list" shows them; "redrive" sends them back to the
events queue once the app is fixed, for another 24 h of retries.
`

// runDeadLetters is the dead-letters command, apart from the provisioning
// commands: it needs AWS only (the stack's outputs and SQS), no Twilio.
func runDeadLetters(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 || (args[0] != "list" && args[0] != "redrive") {
		fmt.Fprint(stderr, deadLettersUsage)
		return flag.ErrHelp
	}
	sub, args := args[0], args[1:]
	fs := flag.NewFlagSet("subaccounts dead-letters "+sub, flag.ContinueOnError)
	fs.SetOutput(stderr)
	var (
		q        deadletter.Queues
		stack    string
		max      int
		asJSON   bool
		all      bool
		dryRun   bool
		eventIDs listFlag
	)
	fs.StringVar(&stack, "stack", "", "CloudFormation stack to read EventsQueueUrl and EventsDeadLetterQueueUrl from")
	fs.StringVar(&q.Events, "queue-url", "", "the events queue URL (instead of --stack)")
	fs.StringVar(&q.DeadLetters, "dlq-url", "", "the dead-letter queue URL (instead of --stack)")
	switch sub {
	case "list":
		fs.IntVar(&max, "max", 100, "list at most this many")
		fs.BoolVar(&asJSON, "json", false, "one JSON object per event instead of a table")
	case "redrive":
		fs.BoolVar(&all, "all", false, "send every dead-lettered event back")
		fs.Var(&eventIDs, "event-id", "send back this event_id (or SQS message id); repeatable")
		fs.BoolVar(&dryRun, "dry-run", false, "show what would be sent back and change nothing")
	}
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() != 0 {
		return fmt.Errorf("dead-letters %s takes no arguments, got %q", sub, fs.Args())
	}
	awsCfg, err := config.LoadDefaultConfig(ctx)
	if err != nil {
		return fmt.Errorf("load AWS configuration: %w", err)
	}
	if stack != "" {
		outputs, err := stackOutputs(ctx, awsCfg, stack)
		if err != nil {
			return err
		}
		s, err := deadletter.StackQueues(outputs, stack)
		if err != nil {
			return err
		}
		q.Events = cmp.Or(q.Events, s.Events)
		q.DeadLetters = cmp.Or(q.DeadLetters, s.DeadLetters)
	}
	if q.DeadLetters == "" || (sub == "redrive" && q.Events == "") {
		return errors.New("the queues are not set: pass --stack, or --queue-url and --dlq-url")
	}
	api := sqs.NewFromConfig(awsCfg)
	switch sub {
	case "list":
		n, err := deadletter.Count(ctx, api, q.DeadLetters)
		if err != nil {
			return err
		}
		letters, err := deadletter.List(ctx, api, q.DeadLetters, max, 0)
		if err != nil {
			return err
		}
		if asJSON {
			return deadletter.PrintJSON(stdout, letters)
		}
		fmt.Fprintf(stdout, "%d dead-lettered event(s)%s\n", n, more(n, len(letters)))
		if len(letters) == 0 {
			return nil
		}
		return deadletter.Print(stdout, letters)
	default: // redrive
		var match func(deadletter.Letter) bool
		switch {
		case all && len(eventIDs) > 0:
			return errors.New("give --all or --event-id, not both")
		case !all:
			if match, err = deadletter.MatchEventIDs(eventIDs); err != nil {
				return errors.New("say which events: --all, or --event-id ID (from dead-letters list)")
			}
		}
		n, err := deadletter.Redrive(ctx, api, q, match, dryRun, stdout)
		verb := "sent back"
		if dryRun {
			verb = "would be sent back"
		}
		fmt.Fprintf(stdout, "%d event(s) %s\n", n, verb)
		return err
	}
}

func more(total, shown int) string {
	if total > shown {
		return fmt.Sprintf(" (showing %d)", shown)
	}
	return ""
}
