package kit

import (
	"path/filepath"
	"slices"
	"testing"
)

func TestDocumentedEventFields(t *testing.T) {
	fields := DocumentedEventFields(t, filepath.Join("..", ".."))
	for _, want := range []string{"event_id", "type", "account_sid", "call_sid", "recording_url", "recording_duration_seconds", "occurred_at_unix"} {
		if !slices.Contains(fields, want) {
			t.Errorf("documented fields %v lack %s", fields, want)
		}
	}
	body := []byte(`{"event_id":"x","type":null}`)
	if got := MissingEventFields(body, []string{"event_id", "type", "to"}); !slices.Equal(got, []string{"type", "to"}) {
		t.Errorf("MissingEventFields = %v, want [type to]", got)
	}
	if got := MissingEventFields([]byte(`[1]`), []string{"a"}); !slices.Equal(got, []string{"a"}) {
		t.Errorf("not an object: %v", got)
	}
}
