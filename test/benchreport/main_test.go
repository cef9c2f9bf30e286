package main

import (
	"strings"
	"testing"
	"time"
)

const benchOutput = `goos: linux
goarch: amd64
pkg: bubble-twilio-voice/shared/token
cpu: Intel(R) Xeon(R) Processor
BenchmarkIssue-2          	  200000	      6020 ns/op	    3361 B/op	      16 allocs/op
BenchmarkIssueTwilioGo-2  	    2600	    460160 ns/op	    7013 B/op	      74 allocs/op
BenchmarkTokenHandler-2   	   50000	     23200 ns/op	   12473 B/op	      61 allocs/op
PASS
ok  	bubble-twilio-voice/shared/token	4.1s
pkg: bubble-twilio-voice/shared/twiml
BenchmarkRender           	 1000000	       768.5 ns/op
PASS
`

func TestParseBench(t *testing.T) {
	got := parseBench(benchOutput)
	tests := []struct {
		pkg, name string
		ns        float64
		allocs    float64
		hasMem    bool
	}{
		{"bubble-twilio-voice/shared/token", "BenchmarkIssue", 6020, 16, true},
		{"bubble-twilio-voice/shared/token", "BenchmarkIssueTwilioGo", 460160, 74, true},
		{"bubble-twilio-voice/shared/token", "BenchmarkTokenHandler", 23200, 61, true},
		{"bubble-twilio-voice/shared/twiml", "BenchmarkRender", 768.5, 0, false},
	}
	if len(got) != len(tests) {
		t.Fatalf("parsed %d results, want %d: %+v", len(got), len(tests), got)
	}
	for i, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			g := got[i]
			if g.pkg != tc.pkg || g.name != tc.name || g.nsPerOp != tc.ns || g.allocsPerOp != tc.allocs || g.hasMem != tc.hasMem {
				t.Errorf("got %+v, want %+v", g, tc)
			}
		})
	}
}

func TestMedians(t *testing.T) {
	tests := []struct {
		name string
		ns   []float64
		want float64
	}{
		{"one", []float64{5}, 5},
		{"outlier dropped", []float64{3300, 32000, 3100}, 3300},
		{"even count takes the upper middle", []float64{4, 1, 3, 2}, 3},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var samples []result
			for _, ns := range tc.ns {
				samples = append(samples, result{pkg: "p", name: "BenchmarkX", nsPerOp: ns})
			}
			got := medians(samples)
			if len(got) != 1 || got[0].nsPerOp != tc.want {
				t.Errorf("medians = %+v, want one result of %v ns/op", got, tc.want)
			}
		})
	}
}

func TestParseColdStart(t *testing.T) {
	out := "=== RUN   TestColdStart/token\n" +
		"    lambda_test.go:362: coldstart function=token runs=5 median_ms=7.77 min_ms=6.89 max_ms=12.39 rss_kb=11828\n" +
		"coldstart function=token runs=5 median_ms=7.77 min_ms=6.89 max_ms=12.39 rss_kb=11828\n" +
		"coldstart function=voice runs=7 median_ms=18.90 min_ms=16.65 max_ms=79.00 rss_kb=20144\n"
	got := parseColdStart(out)
	want := map[string]coldStart{
		"token": {runs: 5, median: 7.77, fastest: 6.89, slow: 12.39, rssKiB: 11828},
		"voice": {runs: 7, median: 18.90, fastest: 16.65, slow: 79.00, rssKiB: 20144},
	}
	if len(got) != len(want) {
		t.Fatalf("got %+v, want %+v", got, want)
	}
	for f, w := range want {
		if got[f] != w {
			t.Errorf("%s: got %+v, want %+v", f, got[f], w)
		}
	}
}

// TestWrite checks the table's verdicts, and that missing measurements are
// n/a rather than an error.
func TestWrite(t *testing.T) {
	r := &report{
		module:    "bubble-twilio-voice",
		benches:   parseBench(benchOutput),
		rounds:    1,
		functions: []string{"incoming", "token", "voice"},
		sizes:     map[string]int64{"token": 9_400_000, "voice": 9_699_452, "incoming": 16_253_052},
		cold:      map[string]coldStart{"token": {runs: 5, median: 7.8, rssKiB: 11828}, "voice": {runs: 5, median: 34.3}},
		when:      time.Date(2026, 11, 27, 3, 28, 0, 0, time.UTC),
	}
	var b strings.Builder
	r.write(&b)
	out := b.String()
	rows := map[string]string{}
	for _, line := range strings.Split(out, "\n") {
		cells := strings.Split(line, "|")
		if len(cells) > 2 {
			rows[strings.TrimSpace(cells[1])] = line
		}
	}
	tests := []struct {
		rowPrefix string
		want      string
	}{
		{"Token mint", "| 0.01× | ≤ 0.7× | yes |"},
		{"Signature check", "| n/a | n/a | n/a | ≤ 0.5× | n/a |"},
		{"TwiML render", "| 768 ns | n/a | n/a |"},
		{"Whole token handler", "23.20 µs, 12473 B, 61 allocs"},
		{"Whole voice handler", "| n/a |"},
		{"token bootstrap", "9.40 MB (8.96 MiB) | | | ≤ 9.5 MB | yes |"},
		{"voice bootstrap", "| **no** (yes in MiB) |"},
		{"incoming bootstrap", "| **no** |"},
		{"token cold start", "| ≤ 30 ms | yes |"},
		{"voice cold start", "| ≤ 30 ms | **no** |"},
		{"incoming cold start", "| n/a | | | ≤ 30 ms | n/a |"},
		{"token peak RSS", "11.6 MiB"},
		{"Secrets Manager calls", "not verified"},
	}
	for _, tc := range tests {
		t.Run(tc.rowPrefix, func(t *testing.T) {
			var row string
			for label, line := range rows {
				if strings.HasPrefix(label, tc.rowPrefix) {
					row = line
				}
			}
			if !strings.Contains(row, tc.want) {
				t.Errorf("row %q = %q, want it to contain %q\n%s", tc.rowPrefix, row, tc.want, out)
			}
		})
	}
}
