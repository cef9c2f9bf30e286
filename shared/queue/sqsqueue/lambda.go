package sqsqueue

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
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
// consume, the records of a batch concurrently, so one slow app does not
// hold the others' events. A record whose Result is done is left out of the
// response, so Lambda deletes it; a record to retry is reported as a batch
// item failure, so SQS offers it again, after the Result's RetryAfter when
// it has one (applied with vis.ChangeVisibility) or the queue's visibility
// timeout otherwise. An event that is not an SQS event is an error for the
// Lambda runtime.
//
// Every record's work ends before the invocation's: its context ends at
// messageDeadline, and a consume that has not returned by then (plus a
// grace) is reported as a failure and logged with its message id, so the
// batch is answered, and nothing is lost, before Lambda's timeout would
// fail the whole batch with no reason recorded.
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
		msgCtx, cancel := ctx, context.CancelFunc(func() {})
		var giveUp <-chan time.Time
		if end, ok := messageDeadline(ctx); ok {
			msgCtx, cancel = context.WithDeadline(ctx, end)
			// A consume that ignores its context still may not hold the batch.
			timer := time.NewTimer(time.Until(end) + grace(ctx, end))
			defer timer.Stop()
			giveUp = timer.C
		}
		defer cancel()

		type outcome struct {
			i     int
			retry bool
		}
		done := make(chan outcome, len(ev.Records)) // buffered: a late sender never blocks
		for i, rec := range ev.Records {
			go func() {
				res := consume(msgCtx, delivery(rec))
				if res.Done() {
					done <- outcome{i, false}
					return
				}
				if res.RetryAfter > 0 && vis != nil {
					// The invocation's context, not the message's: the delay is
					// set even for a message that ran out of its time.
					if err := vis.ChangeVisibility(ctx, rec.ReceiptHandle, res.RetryAfter); err != nil {
						// The message comes back after the queue's visibility
						// timeout instead: sooner, never lost.
						log.LogAttrs(ctx, slog.LevelWarn, "could not delay the retry",
							slog.String("message_id", rec.MessageId), slog.Duration("delay", res.RetryAfter), slog.Any("error", err))
					}
				}
				done <- outcome{i, true}
			}()
		}
		failed := make([]bool, len(ev.Records))
		answered := make([]bool, len(ev.Records))
	wait:
		for range ev.Records {
			select {
			case o := <-done:
				answered[o.i], failed[o.i] = true, o.retry
			case <-giveUp:
				break wait
			}
		}
		resp := events.SQSEventResponse{BatchItemFailures: []events.SQSBatchItemFailure{}}
		for i := range ev.Records {
			if !answered[i] {
				// SQS offers it again after the visibility timeout.
				log.LogAttrs(ctx, slog.LevelError, "message out of time; left for a retry",
					slog.String("message_id", ev.Records[i].MessageId))
				failed[i] = true
			}
			if failed[i] {
				resp.BatchItemFailures = append(resp.BatchItemFailures, events.SQSBatchItemFailure{ItemIdentifier: ev.Records[i].MessageId})
			}
		}
		return resp, nil
	}
}

// maxMargin is the most of an invocation kept back from its messages: time
// to delay the retries (ChangeMessageVisibility) and answer Lambda.
const maxMargin = 15 * time.Second

// messageDeadline is when the records' work must end: the invocation's
// deadline less a margin of a tenth of the time left, at most maxMargin.
// No deadline (not in Lambda): none.
func messageDeadline(ctx context.Context) (time.Time, bool) {
	end, ok := ctx.Deadline()
	if !ok {
		return time.Time{}, false
	}
	margin := max(0, min(time.Until(end)/10, maxMargin))
	return end.Add(-margin), true
}

// grace is how long after the records' deadline the handler still waits
// for them: half the margin, the rest being for the answer.
func grace(ctx context.Context, msgEnd time.Time) time.Duration {
	end, _ := ctx.Deadline()
	return end.Sub(msgEnd) / 2
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
