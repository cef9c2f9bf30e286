package main

import "testing"

func TestParse(t *testing.T) {
	tests := []struct {
		name, out  string
		execs, new string
		passed     bool
	}{
		{"pass", "fuzz: elapsed: 0s, gathering baseline coverage: 0/12 completed\n" +
			"fuzz: elapsed: 3s, execs: 1000 (333/sec), new interesting: 1 (total: 13)\n" +
			"fuzz: elapsed: 30s, execs: 556120 (18537/sec), new interesting: 12 (total: 24)\n" +
			"PASS\nok  \tbubble-twilio-voice/shared/voice\t30.2s\n", "556120", "12", true},
		{"failure", "fuzz: elapsed: 9s, execs: 4242 (471/sec), new interesting: 3 (total: 15)\n" +
			"--- FAIL: FuzzX (9.01s)\n    x_test.go:12: boom\nFAIL\nexit status 1\nFAIL\tpkg\t9.1s\n", "4242", "3", false},
		{"build error", "# pkg\n./x.go:1: syntax error\nFAIL\tpkg [build failed]\n", "", "", false},
		{"no output", "", "", "", false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := parse(tc.out)
			if r.execs != tc.execs || r.interesting != tc.new || r.passed != tc.passed {
				t.Errorf("parse = execs %q new %q passed %v, want %q %q %v", r.execs, r.interesting, r.passed, tc.execs, tc.new, tc.passed)
			}
		})
	}
}

func TestResultLine(t *testing.T) {
	got := result{pkg: "p", target: "FuzzA", execs: "10", interesting: "2", passed: true}.String()
	if want := "fuzz ok   p FuzzA execs=10 new=2"; got != want {
		t.Errorf("got %q, want %q", got, want)
	}
	got = result{pkg: "p", target: "FuzzB"}.String()
	if want := "fuzz FAIL p FuzzB execs=? new=?"; got != want {
		t.Errorf("got %q, want %q", got, want)
	}
}
