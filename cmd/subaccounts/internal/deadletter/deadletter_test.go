package deadletter_test

import (
	"bytes"
	"context"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/sqs"

	"bubble-twilio-voice/cmd/subaccounts/internal/deadletter"
	"bubble-twilio-voice/shared/events"
	fakesqs "bubble-twilio-voice/test/fake/sqs"
)

func message(callSID string) (events.Queued, string) {
	f := url.Values{"AccountSid": {"AC0123456789abcdef0123456789abcdef"}, "CallSid": {callSID}, "From": {"client:alice"},
		"To": {"+14155550123"}, "CallStatus": {"completed"}}
	e, _ := events.CallCompleted(f, time.Date(2026, 11, 13, 15, 0, 0, 0, time.UTC))
	m := events.Queued{Version: events.QueuedVersion, Event: e}
	return m, string(m.Encode())
}

type rig struct {
	fake *fakesqs.Server
	api  *sqs.Client
	q    deadletter.Queues
	ids  []string // event ids seeded, in order
}

func newRig(t *testing.T) *rig {
	t.Helper()
	fake := fakesqs.Start(t)
	r := &rig{fake: fake}
	r.q = deadletter.Queues{Events: fake.CreateQueue("events", 0), DeadLetters: fake.CreateQueue("events-dlq", 0)}
	r.api = fake.SDKClient(t)
	for i, sid := range []string{"CA00000000000000000000000000000001", "CA00000000000000000000000000000002", "CA00000000000000000000000000000003"} {
		m, body := message(sid)
		attrs := map[string]string{"reason": "app answered 404", "failed_at": "2026-11-13T15:00:0" + string(rune('1'+i)) + "Z"}
		if i == 2 {
			attrs = nil // moved by SQS's redrive policy: no reason
		}
		fake.Put("events-dlq", body, attrs)
		r.ids = append(r.ids, m.Event.ID)
	}
	fake.Put("events-dlq", "not an event", nil)
	return r
}

func TestListAndPrint(t *testing.T) {
	r := newRig(t)
	ctx := context.Background()
	n, err := deadletter.Count(ctx, r.api, r.q.DeadLetters)
	if err != nil || n != 4 {
		t.Fatalf("Count = %d, %v", n, err)
	}
	letters, err := deadletter.List(ctx, r.api, r.q.DeadLetters, 0, 0)
	if err != nil || len(letters) != 4 {
		t.Fatalf("List: %d letters, %v", len(letters), err)
	}
	if letters[0].Event.ID != r.ids[0] || letters[0].Reason != "app answered 404" || letters[0].SentAt.IsZero() {
		t.Errorf("letter %+v", letters[0])
	}
	// Listing leaves every message in the queue.
	if got := len(r.fake.Messages("events-dlq")); got != 4 {
		t.Errorf("%d messages left after List", got)
	}
	var out bytes.Buffer
	if err := deadletter.Print(&out, letters); err != nil {
		t.Fatal(err)
	}
	s := out.String()
	for _, want := range []string{"FAILED_AT", "2026-11-13T15:00:01Z", "call.completed", r.ids[0], "app answered 404",
		"(moved by SQS after too many receives)", "(unreadable)", "CA00000000000000000000000000000002"} {
		if !strings.Contains(s, want) {
			t.Errorf("table lacks %q:\n%s", want, s)
		}
	}
	out.Reset()
	if err := deadletter.PrintJSON(&out, letters[:1]); err != nil || !strings.Contains(out.String(), `"event_id":"`+r.ids[0]+`"`) {
		t.Errorf("JSON %s %v", out.String(), err)
	}
	// Listed messages are visible again at once.
	for _, m := range r.fake.Messages("events-dlq") {
		if !m.HiddenUntil.IsZero() {
			t.Errorf("message %s still hidden after List", m.ID)
		}
	}
	// max bounds the listing.
	if few, _ := deadletter.List(ctx, r.api, r.q.DeadLetters, 2, time.Second); len(few) > 2 {
		t.Errorf("List(max 2) = %d", len(few))
	}
}

func TestRedrive(t *testing.T) {
	ctx := context.Background()
	t.Run("dry run", func(t *testing.T) {
		r := newRig(t)
		var log bytes.Buffer
		n, err := deadletter.Redrive(ctx, r.api, r.q, nil, true, &log)
		if err != nil || n != 4 || len(r.fake.Messages("events")) != 0 || len(r.fake.Messages("events-dlq")) != 4 {
			t.Errorf("dry run moved: n=%d err=%v events=%d", n, err, len(r.fake.Messages("events")))
		}
	})
	t.Run("one event", func(t *testing.T) {
		r := newRig(t)
		match, err := deadletter.MatchEventIDs([]string{r.ids[1]})
		if err != nil {
			t.Fatal(err)
		}
		var log bytes.Buffer
		n, err := deadletter.Redrive(ctx, r.api, r.q, match, false, &log)
		if err != nil || n != 1 {
			t.Fatalf("Redrive = %d, %v", n, err)
		}
		back := r.fake.Messages("events")
		_, want := message("CA00000000000000000000000000000002")
		if len(back) != 1 || back[0].Body != want {
			t.Errorf("events queue %+v", back)
		}
		if left := r.fake.Messages("events-dlq"); len(left) != 3 {
			t.Errorf("%d left in the dead-letter queue", len(left))
		}
		if !strings.Contains(log.String(), r.ids[1]) {
			t.Errorf("log %q", log.String())
		}
		for _, m := range r.fake.Messages("events-dlq") {
			if !m.HiddenUntil.IsZero() {
				t.Errorf("skipped message %s still hidden", m.ID)
			}
		}
	})
	t.Run("all", func(t *testing.T) {
		r := newRig(t)
		n, err := deadletter.Redrive(ctx, r.api, r.q, nil, false, &bytes.Buffer{})
		if err != nil || n != 4 || len(r.fake.Messages("events")) != 4 || len(r.fake.Messages("events-dlq")) != 0 {
			t.Errorf("Redrive all = %d, %v", n, err)
		}
	})
	t.Run("events queue down: nothing lost", func(t *testing.T) {
		r := newRig(t)
		r.fake.SetFault(func(op string) fakesqs.Fault {
			if op == "SendMessage" {
				return fakesqs.Fault{Status: 400, Type: "AccessDenied", Message: "no"}
			}
			return fakesqs.Fault{}
		})
		n, err := deadletter.Redrive(ctx, r.api, r.q, nil, false, &bytes.Buffer{})
		if err == nil || n != 0 || len(r.fake.Messages("events-dlq")) != 4 {
			t.Errorf("Redrive = %d, %v; %d left", n, err, len(r.fake.Messages("events-dlq")))
		}
	})
	if _, err := deadletter.MatchEventIDs(nil); err == nil {
		t.Error("MatchEventIDs(nil) accepted")
	}
}

func TestStackQueues(t *testing.T) {
	full := map[string]string{"EventsQueueUrl": "https://sqs/1/e", "EventsDeadLetterQueueUrl": "https://sqs/1/d", "VoiceUrl": "https://x/voice"}
	q, err := deadletter.StackQueues(full, "voice-prod")
	if err != nil || q.Events != "https://sqs/1/e" || q.DeadLetters != "https://sqs/1/d" {
		t.Errorf("%+v %v", q, err)
	}
	if _, err := deadletter.StackQueues(map[string]string{"VoiceUrl": "x"}, "old"); err == nil {
		t.Error("a stack without the outputs was accepted")
	}
}
