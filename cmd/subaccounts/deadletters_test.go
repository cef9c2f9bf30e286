package main

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"strings"
	"testing"

	fakesqs "bubble-twilio-voice/test/fake/sqs"
	"bubble-twilio-voice/test/kit"
)

func TestDeadLettersCommand(t *testing.T) {
	fake := fakesqs.Start(t)
	kit.SetAWSEnv(t, "")
	t.Setenv("AWS_ENDPOINT_URL_SQS", fake.URL())
	events, dlq := fake.CreateQueue("events", 0), fake.CreateQueue("events-dlq", 0)
	body := `{"v":1,"event":{"event_id":"0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f","type":"call.missed","account_sid":"AC0123456789abcdef0123456789abcdef","call_sid":"CA0123456789abcdef0123456789abcdef","direction":"incoming","from":"+13105550142","to":"+14155550100","identity":"","status":"no-answer","duration_seconds":0,"recording_url":"","recording_duration_seconds":0,"occurred_at":"2026-11-13T15:00:00Z","occurred_at_unix":1794582000}}`
	fake.Put("events-dlq", body, map[string]string{"reason": "app answered 404", "failed_at": "2026-11-13T15:00:05Z"})
	getenv := func(string) string { return "" }
	ctx := context.Background()
	queues := []string{"--queue-url", events, "--dlq-url", dlq}

	var out, errOut bytes.Buffer
	if err := run(ctx, append([]string{"dead-letters", "list"}, queues...), getenv, &out, &errOut); err != nil {
		t.Fatalf("list: %v\n%s", err, errOut.String())
	}
	for _, want := range []string{"1 dead-lettered event(s)", "call.missed", "0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f", "app answered 404"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("list output lacks %q:\n%s", want, out.String())
		}
	}

	out.Reset()
	if err := run(ctx, append([]string{"dead-letters", "redrive", "--event-id", "0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f"}, queues...), getenv, &out, &errOut); err != nil {
		t.Fatalf("redrive: %v", err)
	}
	if !strings.Contains(out.String(), "1 event(s) sent back") || len(fake.Messages("events")) != 1 || len(fake.Messages("events-dlq")) != 0 {
		t.Errorf("redrive: %s; events %d, dlq %d", out.String(), len(fake.Messages("events")), len(fake.Messages("events-dlq")))
	}

	for _, bad := range [][]string{
		{"dead-letters"},
		{"dead-letters", "purge"},
		{"dead-letters", "list"}, // no queues
		append([]string{"dead-letters", "redrive"}, queues...),                             // no selection
		append([]string{"dead-letters", "redrive", "--all", "--event-id", "x"}, queues...), // both
		append([]string{"dead-letters", "list", "extra"}, queues...),
	} {
		err := run(ctx, bad, getenv, &bytes.Buffer{}, &bytes.Buffer{})
		if err == nil {
			t.Errorf("%q: no error", bad)
		}
		if len(bad) < 3 && bad[len(bad)-1] != "list" && !errors.Is(err, flag.ErrHelp) {
			t.Errorf("%q: %v, want the usage", bad, err)
		}
	}
}
