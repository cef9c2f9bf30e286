package delivery_test

import (
	"context"
	"io"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/johannesboyne/gofakes3"
	"github.com/johannesboyne/gofakes3/backend/s3mem"

	"bubble-twilio-voice/shared/delivery"
	"bubble-twilio-voice/shared/queue"
	fakesm "bubble-twilio-voice/test/fake/secretsmanager"
	fakesqs "bubble-twilio-voice/test/fake/sqs"
	"bubble-twilio-voice/test/kit"
)

const key = "link-key-0123456789abcdefghijklmnopqrstuvwxyz"

func TestFromEnv(t *testing.T) {
	sm := fakesm.Start(t)
	sm.Put("link-key", key)
	sm.Put("short-key", "too-short")
	sqs := fakesqs.Start(t)
	events, dlq := sqs.CreateQueue("events", 0), sqs.CreateQueue("dlq", 0)
	s3 := httptest.NewServer(gofakes3.New(s3mem.New()).Server())
	defer s3.Close()
	base := []string{"AWS_ENDPOINT_URL_SECRETS_MANAGER", sm.URL(), "AWS_ENDPOINT_URL_SQS", sqs.URL(), "AWS_ENDPOINT_URL_S3", s3.URL}
	env := func(kv ...string) func(string) string {
		return kit.Getenv(append(append([]string{}, base...), kv...)...)
	}

	tests := []struct {
		name    string
		getenv  func(string) string
		wantErr string
		check   func(t *testing.T, e delivery.Env)
	}{
		{"nothing for events", env(), "", func(t *testing.T, e delivery.Env) {
			h, d := e.HTTP.Events, e.Deliver
			if h.Queue != nil || h.Recordings != nil || h.Links != nil || e.Visibility != nil || d.DeadLetters != nil {
				t.Errorf("%+v %+v", h, d)
			}
			if d.Fetcher.Base() != "https://api.twilio.com" || d.Retention.Hours() != 30*24 || d.Poster == nil || d.Store == nil {
				t.Errorf("fetcher %s, retention %s, poster %v", d.Fetcher.Base(), d.Retention, d.Poster)
			}
		}},
		{"deliver: everything", env("EVENTS_QUEUE_URL", events, "EVENTS_DLQ_URL", dlq, "RECORDINGS_BUCKET", "b",
			"LINK_KEY_SECRET_ARN", "link-key", "PUBLIC_BASE_URL", "https://voice.example.test", "RECORDING_RETENTION_DAYS", "7",
			"TWILIO_API_BASE_URL", "http://127.0.0.1:9"), "", func(t *testing.T, e delivery.Env) {
			h, d := e.HTTP.Events, e.Deliver
			if h.Queue == nil || e.Visibility == nil || d.DeadLetters == nil || d.Recordings == nil || d.Links == nil ||
				h.Recordings != d.Recordings || h.Links != d.Links || h.Fetcher != d.Fetcher ||
				d.Retention.Hours() != 7*24 || d.Fetcher.Base() != "http://127.0.0.1:9" {
				t.Fatalf("%+v %+v", h, d)
			}
			if !strings.HasPrefix(d.Links.URL("AC1", "RE1", time.Now()), "https://voice.example.test/recordings/AC1/RE1?") {
				t.Error("links not under PUBLIC_BASE_URL")
			}
			ctx := context.Background()
			if err := h.Queue.Send(ctx, queue.Message{Body: []byte("e")}); err != nil || len(sqs.Messages("events")) != 1 {
				t.Errorf("events go elsewhere: %v", err)
			}
			if err := d.DeadLetters.Send(ctx, queue.Message{Body: []byte("x")}); err != nil || len(sqs.Messages("dlq")) != 1 {
				t.Errorf("dead letters go elsewhere: %v", err)
			}
		}},
		{"link key missing", env("LINK_KEY_SECRET_ARN", "nope"), "ResourceNotFoundException", nil},
		{"link key too short", env("LINK_KEY_SECRET_ARN", "short-key"), "shorter than", nil},
		{"bad config", env("RECORDING_RETENTION_DAYS", "0"), "RECORDING_RETENTION_DAYS", nil},
		{"Twilio base with a path", env("TWILIO_API_BASE_URL", "https://api.twilio.com/2010-04-01"), "TWILIO_API_BASE_URL", nil},
		{"no credentials", kit.Getenv("AWS_ACCESS_KEY_ID", "", "EVENTS_QUEUE_URL", events), "AWS_ACCESS_KEY_ID", nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			e, err := delivery.FromEnv(tc.getenv, "deliver", io.Discard)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("err = %v, want %q", err, tc.wantErr)
				}
				if strings.Contains(err.Error(), key) {
					t.Error("the error carries the link key")
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			tc.check(t, e)
		})
	}
}
