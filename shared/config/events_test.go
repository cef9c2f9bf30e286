package config

import (
	"strings"
	"testing"
)

func TestLoadEvents(t *testing.T) {
	tests := []struct {
		name    string
		env     map[string]string
		wantErr string
		check   func(t *testing.T, e Events)
	}{
		{"defaults", nil, "", func(t *testing.T, e Events) {
			if e.RecordingRetentionDays != 30 || e.TwilioAPIBaseURL != "https://api.twilio.com" || e.RecordingsDir != ".devdata/recordings" ||
				e.QueueURL != "" || e.DeadLetterQueueURL != "" || e.RecordingsBucket != "" || e.LinkKeySecretARN != "" {
				t.Errorf("defaults %+v", e)
			}
		}},
		{"everything", map[string]string{
			"EVENTS_QUEUE_URL": "https://sqs.us-east-1.amazonaws.com/123456789012/events", "EVENTS_DLQ_URL": "https://sqs.us-east-1.amazonaws.com/123456789012/dlq",
			"RECORDINGS_BUCKET": "bucket", "RECORDING_RETENTION_DAYS": "7", "LINK_KEY_SECRET_ARN": "arn:aws:secretsmanager:us-east-1:123456789012:secret:link",
			"TWILIO_API_BASE_URL": "http://127.0.0.1:4010/", "RECORDINGS_DIR": "/tmp/r"}, "", func(t *testing.T, e Events) {
			if e.RecordingRetentionDays != 7 || e.TwilioAPIBaseURL != "http://127.0.0.1:4010" || e.RecordingsBucket != "bucket" || e.RecordingsDir != "/tmp/r" ||
				!strings.HasSuffix(e.QueueURL, "/events") || !strings.HasSuffix(e.DeadLetterQueueURL, "/dlq") || !strings.HasSuffix(e.LinkKeySecretARN, ":link") {
				t.Errorf("%+v", e)
			}
		}},
		{"retention 0", map[string]string{"RECORDING_RETENTION_DAYS": "0"}, "RECORDING_RETENTION_DAYS", nil},
		{"retention not a number", map[string]string{"RECORDING_RETENTION_DAYS": "30d"}, "RECORDING_RETENTION_DAYS", nil},
		{"queue URL not a URL", map[string]string{"EVENTS_QUEUE_URL": "events"}, "EVENTS_QUEUE_URL", nil},
		{"dlq URL not a URL", map[string]string{"EVENTS_DLQ_URL": "sqs://x"}, "EVENTS_DLQ_URL", nil},
		{"Twilio base not a URL", map[string]string{"TWILIO_API_BASE_URL": "api.twilio.com"}, "TWILIO_API_BASE_URL", nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c, err := Load(func(k string) string { return tc.env[k] })
			if tc.wantErr != "" {
				if err == nil || !strings.HasPrefix(err.Error(), tc.wantErr+":") {
					t.Fatalf("err = %v, want one naming %s", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			tc.check(t, c.Events)
		})
	}
}
