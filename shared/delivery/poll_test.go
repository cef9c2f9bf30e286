package delivery

import (
	"testing"
	"time"

	"bubble-twilio-voice/shared/events"
)

// A transcript whose job runs long must reach events.MaxAge, and so its
// own dead-letter reason, before the queue's redrive (maxReceiveCount 25
// in template.yaml) moves it without one; the first five minutes poll
// every TranscriptPoll.
func TestTranscriptWait(t *testing.T) {
	const maxReceiveCount = 25
	var waited time.Duration
	receives := 0
	for waited < events.MaxAge {
		receives++
		w := transcriptWait(receives)
		if receives <= transcriptPolls && w != TranscriptPoll {
			t.Errorf("receive %d waits %s, want %s", receives, w, TranscriptPoll)
		}
		if w <= 0 || w > events.MaxDelay {
			t.Fatalf("receive %d waits %s", receives, w)
		}
		waited += w
	}
	if receives >= maxReceiveCount {
		t.Errorf("MaxAge reached at receive %d; the queue's redrive moves it at %d, without a reason", receives, maxReceiveCount)
	}
	if w := transcriptWait(transcriptPolls + 1); w != 15*time.Minute {
		t.Errorf("after the polls, %s; want the schedule's 15-minute step", w)
	}
}
