package metrics

import (
	"bufio"
	"bytes"
	"encoding/json"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"bubble-twilio-voice/test/kit"
)

var fixed = func() time.Time { return time.Date(2026, 11, 19, 8, 26, 40, 123e6, time.UTC) }

func TestCountGolden(t *testing.T) {
	tests := []struct {
		name, metric, reason, account string
	}{
		{"token_issued", TokenIssued, "", "AC0123456789abcdef0123456789abcdef"},
		{"call_refused_reason", CallRefused, "blocked_prefix", "AC0123456789abcdef0123456789abcdef"},
		{"secret_fetch_failed_no_account", SecretFetchFailed, "", ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var buf bytes.Buffer
			New(&buf, "token", fixed).Count(tc.metric, tc.reason, tc.account)
			kit.CheckGolden(t, filepath.Join("testdata", tc.name+".golden"), buf.Bytes())
		})
	}
}

// TestCountEMF checks the line against the EMF rules CloudWatch applies:
// every dimension and metric named in the directive is a top-level member.
func TestCountEMF(t *testing.T) {
	var buf bytes.Buffer
	New(&buf, "voice", fixed).Count(CallRefused, "not_allowed_country", "AC1")
	var line map[string]any
	if err := json.Unmarshal(bytes.TrimSuffix(buf.Bytes(), []byte("\n")), &line); err != nil {
		t.Fatal(err)
	}
	aws := line["_aws"].(map[string]any)
	if aws["Timestamp"] != float64(fixed().UnixMilli()) {
		t.Errorf("Timestamp = %v", aws["Timestamp"])
	}
	d := aws["CloudWatchMetrics"].([]any)[0].(map[string]any)
	if d["Namespace"] != Namespace {
		t.Errorf("Namespace = %v", d["Namespace"])
	}
	for _, set := range d["Dimensions"].([]any) {
		for _, dim := range set.([]any) {
			if _, ok := line[dim.(string)].(string); !ok {
				t.Errorf("dimension %v is not a top-level string member", dim)
			}
		}
	}
	for _, m := range d["Metrics"].([]any) {
		name := m.(map[string]any)["Name"].(string)
		if line[name] != float64(1) {
			t.Errorf("metric %s value = %v, want 1", name, line[name])
		}
	}
	if line["AccountSid"] != "AC1" || line["Function"] != "voice" || line["Reason"] != "not_allowed_country" {
		t.Errorf("line = %v", line)
	}
}

func TestNilEmitter(t *testing.T) {
	var e *Emitter
	e.Count(TokenIssued, "", "AC1") // must not panic
}

func TestConcurrentLines(t *testing.T) {
	var buf bytes.Buffer
	e := New(&buf, "token", fixed)
	var wg sync.WaitGroup
	for range 20 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			e.Count(TokenIssued, "", "AC1")
		}()
	}
	wg.Wait()
	sc := bufio.NewScanner(&buf)
	n := 0
	for sc.Scan() {
		if !json.Valid(sc.Bytes()) {
			t.Errorf("interleaved line: %s", sc.Bytes())
		}
		n++
	}
	if n != 20 {
		t.Errorf("%d lines, want 20", n)
	}
}

func BenchmarkCount(b *testing.B) {
	var buf bytes.Buffer
	e := New(&buf, "token", time.Now)
	b.ReportAllocs()
	for b.Loop() {
		buf.Reset()
		e.Count(TokenIssued, "", "AC0123456789abcdef0123456789abcdef")
	}
}
