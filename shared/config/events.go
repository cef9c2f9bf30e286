package config

import (
	"cmp"
	"fmt"
	"net/url"
	"strings"

	"bubble-twilio-voice/shared/recordings"
)

// Events configures call events: where they are queued, where undeliverable
// ones go, where recordings are kept and how long their links last. Each
// function's template entry sets only what it uses.
type Events struct {
	// QueueURL is the SQS queue of call events (EVENTS_QUEUE_URL): the
	// callbacks send to it, the delivery changes its messages' visibility.
	QueueURL string
	// DeadLetterQueueURL is where undeliverable events go (EVENTS_DLQ_URL).
	DeadLetterQueueURL string
	// RecordingsBucket is the S3 bucket recordings are copied to
	// (RECORDINGS_BUCKET).
	RecordingsBucket string
	// RecordingRetentionDays is how long the bucket keeps a recording, and
	// so how long its link is valid (RECORDING_RETENTION_DAYS, default
	// recordings.DefaultRetentionDays; the template passes its
	// RecordingRetentionDays parameter).
	RecordingRetentionDays int
	// LinkKeySecretARN names the Secrets Manager secret whose value signs
	// recording links (LINK_KEY_SECRET_ARN); read once at start.
	LinkKeySecretARN string
	// TwilioAPIBaseURL is the only host recordings are fetched from, and
	// where call control sends its REST calls (TWILIO_API_BASE_URL, default
	// recordings.DefaultTwilioAPIBase; tests point it at a local server, as
	// for the provisioning CLI).
	TwilioAPIBaseURL string
	// RecordingsDir is where the dev server keeps recordings
	// (RECORDINGS_DIR, default .devdata/recordings).
	RecordingsDir string
}

// loadEvents reads the Events settings into c.
func loadEvents(getenv func(string) string, c *Config) error {
	e := Events{
		QueueURL:           getenv("EVENTS_QUEUE_URL"),
		DeadLetterQueueURL: getenv("EVENTS_DLQ_URL"),
		RecordingsBucket:   getenv("RECORDINGS_BUCKET"),
		LinkKeySecretARN:   getenv("LINK_KEY_SECRET_ARN"),
		TwilioAPIBaseURL:   strings.TrimRight(getenv("TWILIO_API_BASE_URL"), "/"),
		RecordingsDir:      getenv("RECORDINGS_DIR"),
	}
	e.TwilioAPIBaseURL = cmp.Or(e.TwilioAPIBaseURL, recordings.DefaultTwilioAPIBase)
	e.RecordingsDir = cmp.Or(e.RecordingsDir, ".devdata/recordings")
	var err error
	if e.RecordingRetentionDays, err = integer(getenv, "RECORDING_RETENTION_DAYS", recordings.DefaultRetentionDays, 1, 3650); err != nil {
		return err
	}
	for _, v := range []struct{ name, value string }{
		{"EVENTS_QUEUE_URL", e.QueueURL}, {"EVENTS_DLQ_URL", e.DeadLetterQueueURL}, {"TWILIO_API_BASE_URL", e.TwilioAPIBaseURL},
	} {
		if v.value == "" {
			continue
		}
		if u, perr := url.Parse(v.value); perr != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
			return fmt.Errorf("%s: %q must be an absolute http(s) URL", v.name, v.value)
		}
	}
	c.Events = e
	return nil
}
