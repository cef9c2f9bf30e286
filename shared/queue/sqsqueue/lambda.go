package sqsqueue

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"sync"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"bubble-twilio-voice/shared/queue"
)

// Visibility changes how long a received message stays hidden: SQS's
// ChangeMessageVisibility (Queue implements it).
type Visibility interface {
	ChangeVisibility(ctx context.Context, receiptHandle string, d time.Duration) error
}

// Handler is the Lambda handler of a function fed by an SQS queue whose
// event source mapping reports batch item failures
// (FunctionResponseTypes: ReportBatchItemFailures). It hands each record to
// consume, the records of a batch concurrently. A record whose Result is
// done is left out of the response, so Lambda deletes it; a record to retry
// is reported as a batch item failure, so SQS offers it again, after the
// Result's RetryAfter when it has one (applied with vis.ChangeVisibility)
// or the queue's visibility timeout otherwise. An event that is not an SQS
// event is an error for the Lambda runtime.
func Handler(consume queue.Consumer, vis Visibility, log *slog.Logger) func(context.Context, events.SQSEvent) (events.SQSEventResponse, error) {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return func(ctx context.Context, ev events.SQSEvent) (events.SQSEventResponse, error) {
		if ev.Records == nil {
			return events.SQSEventResponse{}, errors.New("not an SQS event: no Records")
		}
		for i, rec := range ev.Records {
			if rec.EventSource != "" && rec.EventSource != "aws:sqs" {
				return events.SQSEventResponse{}, fmt.Errorf("not an SQS event: record %d comes from %q", i, rec.EventSource)
			}
		}
		failed := make([]bool, len(ev.Records))
		var wg sync.WaitGroup
		for i, rec := range ev.Records {
			wg.Go(func() {
				res := consume(ctx, delivery(rec))
				if res.Done() {
					return
				}
				failed[i] = true
				if res.RetryAfter <= 0 || vis == nil {
					return
				}
				if err := vis.ChangeVisibility(ctx, rec.ReceiptHandle, res.RetryAfter); err != nil {
					// The message comes back after the queue's visibility
					// timeout instead: sooner, never lost.
					log.LogAttrs(ctx, slog.LevelWarn, "could not delay the retry",
						slog.String("message_id", rec.MessageId), slog.Duration("delay", res.RetryAfter), slog.Any("error", err))
				}
			})
		}
		wg.Wait()
		resp := events.SQSEventResponse{BatchItemFailures: []events.SQSBatchItemFailure{}}
		for i, f := range failed {
			if f {
				resp.BatchItemFailures = append(resp.BatchItemFailures, events.SQSBatchItemFailure{ItemIdentifier: ev.Records[i].MessageId})
			}
		}
		return resp, nil
	}
}

// delivery reads a record's system attributes: the receive count (1 when
// absent) and when the message was first sent.
func delivery(rec events.SQSMessage) queue.Delivery {
	d := queue.Delivery{MessageID: rec.MessageId, Body: []byte(rec.Body), ReceiveCount: 1}
	if n, err := strconv.Atoi(rec.Attributes["ApproximateReceiveCount"]); err == nil && n > 0 {
		d.ReceiveCount = n
	}
	if ms, err := strconv.ParseInt(rec.Attributes["SentTimestamp"], 10, 64); err == nil && ms > 0 {
		d.SentAt = time.UnixMilli(ms)
	}
	return d
}
