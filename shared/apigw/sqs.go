package apigw

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"strconv"
	"sync"
	"time"

	"bubble-twilio-voice/shared/queue"
)

// sqsEvent is the part of a Lambda SQS event the adapter reads.
type sqsEvent struct {
	Records []sqsRecord `json:"Records"`
}

type sqsRecord struct {
	MessageID         string            `json:"messageId"`
	ReceiptHandle     string            `json:"receiptHandle"`
	Body              string            `json:"body"`
	Attributes        map[string]string `json:"attributes"`
	MessageAttributes map[string]struct {
		StringValue *string `json:"stringValue"`
		DataType    string  `json:"dataType"`
	} `json:"messageAttributes"`
	EventSource string `json:"eventSource"`
}

// sqsResponse is the partial batch response (the event source mapping has
// FunctionResponseTypes [ReportBatchItemFailures]): the ids of the messages
// to keep in the queue.
type sqsResponse struct {
	BatchItemFailures []sqsItemFailure `json:"batchItemFailures"`
}

type sqsItemFailure struct {
	ItemIdentifier string `json:"itemIdentifier"`
}

// Visibility changes how long a received message stays hidden: SQS's
// ChangeMessageVisibility (sqsqueue.Queue implements it).
type Visibility interface {
	ChangeVisibility(ctx context.Context, receiptHandle string, d time.Duration) error
}

// SQSHandler adapts h to a Lambda function fed by an SQS queue. Each record
// becomes a POST of its body to path (queue.Dispatch: message id, receive
// count and first send time as headers), the records of a batch in
// parallel. A record whose request answers 2xx is done (Lambda deletes it);
// any other answer reports it as a batch item failure, so SQS offers it
// again, after the handler's Retry-After when it sent one (applied with
// vis.ChangeVisibility) or the queue's visibility timeout otherwise. An
// event that is not an SQS event is an error for the Lambda runtime.
func SQSHandler(h http.Handler, path string, vis Visibility, log *slog.Logger) func(context.Context, json.RawMessage) (json.RawMessage, error) {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return func(ctx context.Context, raw json.RawMessage) (json.RawMessage, error) {
		var ev sqsEvent
		if err := json.Unmarshal(raw, &ev); err != nil {
			return nil, fmt.Errorf("decode SQS event: %w", err)
		}
		if ev.Records == nil {
			return nil, fmt.Errorf("decode SQS event: no Records")
		}
		for i, rec := range ev.Records {
			if rec.EventSource != "" && rec.EventSource != "aws:sqs" {
				return nil, fmt.Errorf("decode SQS event: record %d comes from %q", i, rec.EventSource)
			}
		}
		failed := make([]bool, len(ev.Records))
		var wg sync.WaitGroup
		for i, rec := range ev.Records {
			wg.Go(func() {
				res := queue.Dispatch(ctx, h, path, delivery(rec))
				if res.Done {
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
						slog.String("message_id", rec.MessageID), slog.Duration("delay", res.RetryAfter), slog.Any("error", err))
				}
			})
		}
		wg.Wait()
		resp := sqsResponse{BatchItemFailures: []sqsItemFailure{}}
		for i, f := range failed {
			if f {
				resp.BatchItemFailures = append(resp.BatchItemFailures, sqsItemFailure{ItemIdentifier: ev.Records[i].MessageID})
			}
		}
		return json.Marshal(resp)
	}
}

// delivery reads a record's system and message attributes.
func delivery(rec sqsRecord) queue.Delivery {
	d := queue.Delivery{MessageID: rec.MessageID, Body: []byte(rec.Body), ReceiveCount: 1}
	if n, err := strconv.Atoi(rec.Attributes["ApproximateReceiveCount"]); err == nil && n > 0 {
		d.ReceiveCount = n
	}
	if ms, err := strconv.ParseInt(rec.Attributes["SentTimestamp"], 10, 64); err == nil && ms > 0 {
		d.SentAt = time.UnixMilli(ms)
	}
	for k, v := range rec.MessageAttributes {
		if v.StringValue != nil {
			if d.Attributes == nil {
				d.Attributes = map[string]string{}
			}
			d.Attributes[k] = *v.StringValue
		}
	}
	return d
}
