// Package deadletter is what an operator does with the call events the
// delivery gave up on (the app refused them, or kept failing for 24 h): list
// them from the dead-letter queue, and send them back to the events queue
// once the app is fixed, where they get a fresh 24 h of retries. The
// subaccounts CLI's dead-letters command runs it.
package deadletter

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/aws/aws-sdk-go-v2/service/sqs/types"

	"bubble-twilio-voice/shared/events"
	"bubble-twilio-voice/shared/queue"
)

// API is the subset of *sqs.Client used.
type API interface {
	ReceiveMessage(context.Context, *sqs.ReceiveMessageInput, ...func(*sqs.Options)) (*sqs.ReceiveMessageOutput, error)
	DeleteMessage(context.Context, *sqs.DeleteMessageInput, ...func(*sqs.Options)) (*sqs.DeleteMessageOutput, error)
	SendMessage(context.Context, *sqs.SendMessageInput, ...func(*sqs.Options)) (*sqs.SendMessageOutput, error)
	GetQueueAttributes(context.Context, *sqs.GetQueueAttributesInput, ...func(*sqs.Options)) (*sqs.GetQueueAttributesOutput, error)
	ChangeMessageVisibility(context.Context, *sqs.ChangeMessageVisibilityInput, ...func(*sqs.Options)) (*sqs.ChangeMessageVisibilityOutput, error)
}

// Queues are the two queues of a deployment.
type Queues struct {
	Events      string // EventsQueueUrl
	DeadLetters string // EventsDeadLetterQueueUrl
}

// Stack outputs naming the queues (template.yaml).
const (
	OutputEventsQueue      = "EventsQueueUrl"
	OutputDeadLetterQueue  = "EventsDeadLetterQueueUrl"
	defaultListVisibility  = 30 * time.Second
	redriveVisibility      = 2 * time.Minute
	receiveBatch           = 10
	defaultMaxMessages     = 1000
	maxEmptyReceivesInARow = 2
)

// StackQueues takes the queue URLs from a stack's outputs.
func StackQueues(outputs map[string]string, stack string) (Queues, error) {
	q := Queues{Events: outputs[OutputEventsQueue], DeadLetters: outputs[OutputDeadLetterQueue]}
	if q.Events == "" || q.DeadLetters == "" {
		return Queues{}, fmt.Errorf("stack %s has no %s/%s outputs (deployed before call events?)", stack, OutputEventsQueue, OutputDeadLetterQueue)
	}
	return q, nil
}

// Letter is one dead-lettered event.
type Letter struct {
	MessageID     string
	ReceiptHandle string
	Body          string
	// Event is the event as queued (RecordingURL is never set there: the
	// link is made when the event is delivered). Zero when the body is
	// not a readable event message.
	Event events.Event
	// Reason and FailedAt are what the delivery recorded; empty for a
	// message SQS moved itself after too many receives (the delivery
	// crashing on it).
	Reason   string
	FailedAt string
	// SentAt is when it reached the dead-letter queue.
	SentAt time.Time
}

// Count returns the dead-letter queue's approximate number of messages
// (SQS's ApproximateNumberOfMessages plus those in flight).
func Count(ctx context.Context, api API, dlq string) (int, error) {
	out, err := api.GetQueueAttributes(ctx, &sqs.GetQueueAttributesInput{
		QueueUrl:       aws.String(dlq),
		AttributeNames: []types.QueueAttributeName{types.QueueAttributeNameApproximateNumberOfMessages, types.QueueAttributeNameApproximateNumberOfMessagesNotVisible},
	})
	if err != nil {
		return 0, fmt.Errorf("queue attributes: %w", err)
	}
	visible, _ := strconv.Atoi(out.Attributes[string(types.QueueAttributeNameApproximateNumberOfMessages)])
	hidden, _ := strconv.Atoi(out.Attributes[string(types.QueueAttributeNameApproximateNumberOfMessagesNotVisible)])
	return visible + hidden, nil
}

// List receives up to max messages (0: 1000) of the dead-letter queue
// without deleting them. Each is hidden while the listing runs (for at
// most visibility, 0: 30 s), so it is shown once, and made visible again at
// the end, so a redrive right after finds it.
func List(ctx context.Context, api API, dlq string, max int, visibility time.Duration) ([]Letter, error) {
	letters, err := list(ctx, api, dlq, max, visibility)
	release(ctx, api, dlq, letters)
	return letters, err
}

func list(ctx context.Context, api API, dlq string, max int, visibility time.Duration) ([]Letter, error) {
	if max <= 0 {
		max = defaultMaxMessages
	}
	if visibility <= 0 {
		visibility = defaultListVisibility
	}
	var out []Letter
	seen := map[string]bool{}
	empty := 0
	for len(out) < max && empty < maxEmptyReceivesInARow {
		got, err := receive(ctx, api, dlq, min(receiveBatch, max-len(out)), visibility)
		if err != nil {
			return out, err
		}
		if len(got) == 0 {
			empty++
			continue
		}
		empty = 0
		for _, l := range got {
			if !seen[l.MessageID] {
				seen[l.MessageID] = true
				out = append(out, l)
			}
		}
	}
	return out, nil
}

// Redrive moves the dead-lettered messages that match (nil: all) back to
// the events queue, body unchanged, and returns how many it moved. Each is
// sent before it is deleted, so a failure in between leaves a duplicate,
// never a loss (the app dedupes by event_id). With dryRun nothing moves and
// the count is of what would.
func Redrive(ctx context.Context, api API, q Queues, match func(Letter) bool, dryRun bool, log io.Writer) (int, error) {
	var skipped []Letter
	defer func() { release(ctx, api, q.DeadLetters, skipped) }()
	moved, empty := 0, 0
	for empty < maxEmptyReceivesInARow {
		got, err := receive(ctx, api, q.DeadLetters, receiveBatch, redriveVisibility)
		if err != nil {
			return moved, err
		}
		if len(got) == 0 {
			empty++
			continue
		}
		for _, l := range got {
			if match != nil && !match(l) {
				skipped = append(skipped, l) // hidden until the end, so it is not received again
				continue
			}
			if dryRun {
				fmt.Fprintf(log, "would send %s (%s %s) back\n", l.MessageID, l.Event.Type, l.Event.ID)
				skipped = append(skipped, l)
				moved++
				continue
			}
			if _, err := api.SendMessage(ctx, &sqs.SendMessageInput{QueueUrl: aws.String(q.Events), MessageBody: aws.String(l.Body)}); err != nil {
				return moved, fmt.Errorf("send %s back: %w", l.MessageID, err)
			}
			if _, err := api.DeleteMessage(ctx, &sqs.DeleteMessageInput{QueueUrl: aws.String(q.DeadLetters), ReceiptHandle: aws.String(l.ReceiptHandle)}); err != nil {
				return moved, fmt.Errorf("%s was sent back but not deleted from the dead-letter queue (it will be delivered twice): %w", l.MessageID, err)
			}
			fmt.Fprintf(log, "sent %s (%s %s) back\n", l.MessageID, l.Event.Type, l.Event.ID)
			moved++
		}
	}
	return moved, nil
}

// release makes received messages visible again at once.
func release(ctx context.Context, api API, dlq string, letters []Letter) {
	for _, l := range letters {
		_, _ = api.ChangeMessageVisibility(ctx, &sqs.ChangeMessageVisibilityInput{
			QueueUrl: aws.String(dlq), ReceiptHandle: aws.String(l.ReceiptHandle), VisibilityTimeout: 0,
		}) // best effort: otherwise it reappears after the visibility timeout
	}
}

func receive(ctx context.Context, api API, dlq string, n int, visibility time.Duration) ([]Letter, error) {
	out, err := api.ReceiveMessage(ctx, &sqs.ReceiveMessageInput{
		QueueUrl:                    aws.String(dlq),
		MaxNumberOfMessages:         int32(n),
		VisibilityTimeout:           int32(visibility / time.Second),
		WaitTimeSeconds:             1,
		MessageAttributeNames:       []string{"All"},
		MessageSystemAttributeNames: []types.MessageSystemAttributeName{types.MessageSystemAttributeNameSentTimestamp},
	})
	if err != nil {
		return nil, fmt.Errorf("receive from the dead-letter queue: %w", err)
	}
	letters := make([]Letter, 0, len(out.Messages))
	for _, m := range out.Messages {
		l := Letter{MessageID: aws.ToString(m.MessageId), ReceiptHandle: aws.ToString(m.ReceiptHandle), Body: aws.ToString(m.Body)}
		if msg, err := events.DecodeQueued([]byte(l.Body)); err == nil {
			l.Event = msg.Event
		}
		if a, ok := m.MessageAttributes[queue.AttrReason]; ok {
			l.Reason = aws.ToString(a.StringValue)
		}
		if a, ok := m.MessageAttributes[queue.AttrFailedAt]; ok {
			l.FailedAt = aws.ToString(a.StringValue)
		}
		if ms, err := strconv.ParseInt(m.Attributes[string(types.MessageSystemAttributeNameSentTimestamp)], 10, 64); err == nil {
			l.SentAt = time.UnixMilli(ms).UTC()
		}
		letters = append(letters, l)
	}
	return letters, nil
}

// Print writes letters as a table: when each failed, the event's type, ids
// and the reason. Nothing secret is in a queued event.
func Print(w io.Writer, letters []Letter) error {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "FAILED_AT\tTYPE\tEVENT_ID\tACCOUNT_SID\tCALL_SID\tOCCURRED_AT\tREASON")
	for _, l := range letters {
		failed := l.FailedAt
		if failed == "" && !l.SentAt.IsZero() {
			failed = l.SentAt.Format(time.RFC3339)
		}
		reason := cmp.Or(l.Reason, "(moved by SQS after too many receives)")
		e := l.Event
		if e.ID == "" {
			e.Type, e.ID = "(unreadable)", l.MessageID
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\n", cmp.Or(failed, "-"), e.Type, e.ID, cmp.Or(e.AccountSID, "-"), cmp.Or(e.CallSID, "-"), cmp.Or(e.OccurredAt, "-"), oneLine(reason))
	}
	return tw.Flush()
}

// PrintJSON writes one JSON object per letter: the event as queued plus
// reason and failed_at.
func PrintJSON(w io.Writer, letters []Letter) error {
	enc := json.NewEncoder(w)
	for _, l := range letters {
		if err := enc.Encode(struct {
			MessageID string       `json:"message_id"`
			Reason    string       `json:"reason"`
			FailedAt  string       `json:"failed_at"`
			Event     events.Event `json:"event"`
		}{l.MessageID, l.Reason, l.FailedAt, l.Event}); err != nil {
			return err
		}
	}
	return nil
}

// MatchEventIDs returns a filter for Redrive that takes the listed event
// ids (or message ids).
func MatchEventIDs(ids []string) (func(Letter) bool, error) {
	if len(ids) == 0 {
		return nil, errors.New("no event id given")
	}
	want := map[string]bool{}
	for _, id := range ids {
		want[id] = true
	}
	return func(l Letter) bool { return want[l.Event.ID] || want[l.MessageID] }, nil
}

func oneLine(s string) string { return strings.Join(strings.Fields(s), " ") }
