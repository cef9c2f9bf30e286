package template

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
)

// tableFirstColumn returns the backquoted names in the first column of the
// Markdown table whose header row starts with header ("| Output |").
func tableFirstColumn(markdown, header string) []string {
	var names []string
	inTable := false
	for _, line := range strings.Split(markdown, "\n") {
		switch {
		case strings.HasPrefix(line, header):
			inTable = true
		case !strings.HasPrefix(line, "|"):
			inTable = false
		case inTable && !strings.HasPrefix(line, "|---"):
			cell, _, _ := strings.Cut(strings.TrimPrefix(line, "|"), "|")
			for _, m := range regexp.MustCompile("`([^`]+)`").FindAllStringSubmatch(cell, -1) {
				names = append(names, m[1])
			}
		}
	}
	return names
}

// readDeployDoc returns docs/deploy.md.
func readDeployDoc(t *testing.T) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(root, deployDoc))
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// checkOutputsTable: the outputs table names every output of the template,
// and nothing else.
func checkOutputsTable(s *stack, markdown string) error {
	documented := tableFirstColumn(markdown, "| Output |")
	outputs, _ := s.raw["Outputs"].(map[string]any)
	var errs []error
	for name := range outputs {
		if !slices.Contains(documented, name) {
			errs = append(errs, fmt.Errorf("output %s is not in the outputs table", name))
		}
	}
	for _, name := range documented {
		if outputs[name] == nil {
			errs = append(errs, fmt.Errorf("the outputs table lists %s, which the template does not output", name))
		}
	}
	return errors.Join(errs...)
}

// functionPlaceholder stands, in the alarm table, for each function's
// name prefix (Token, Voice, ...).
const functionPlaceholder = "<Function>"

// checkAlarmTable: the alarm table explains every alarm of the template,
// and no other.
func checkAlarmTable(s *stack, markdown string) error {
	var prefixes []string
	for _, id := range s.rawResourcesOfType("AWS::Serverless::Function") {
		prefixes = append(prefixes, strings.TrimSuffix(id, "Function"))
	}
	documented := map[string]bool{}
	for _, name := range tableFirstColumn(markdown, "| Alarm |") {
		if strings.Contains(name, functionPlaceholder) {
			for _, p := range prefixes {
				documented[strings.ReplaceAll(name, functionPlaceholder, p)] = true
			}
			continue
		}
		documented[name] = true
	}
	var errs []error
	alarms := s.rawResourcesOfType("AWS::CloudWatch::Alarm")
	for _, id := range alarms {
		if !documented[id] {
			errs = append(errs, fmt.Errorf("alarm %s is not in the alarm table", id))
		}
	}
	for name := range documented {
		if !slices.Contains(alarms, name) {
			errs = append(errs, fmt.Errorf("the alarm table lists %s, which the template does not create", name))
		}
	}
	return errors.Join(errs...)
}

// alarmMetrics counts the template's alarms and what CloudWatch bills for
// them: one alarm metric per alarm on a metric, and one per metric a metric
// math alarm reads.
func alarmMetrics(s *stack) (alarms, metrics int) {
	for _, id := range s.rawResourcesOfType("AWS::CloudWatch::Alarm") {
		alarms++
		p, _ := s.rawResource(id)["Properties"].(map[string]any)
		if p["MetricName"] != nil {
			metrics++
			continue
		}
		for _, q := range asList(p["Metrics"]) {
			if dig(q, "MetricStat") != nil {
				metrics++
			}
		}
	}
	return alarms, metrics
}

// costAlarms reads the cost section's "N alarm metrics in M alarms", "about
// K custom metrics" and its fixed CloudWatch line.
var (
	costAlarms        = regexp.MustCompile(`(\d+) alarm metrics in (\d+) alarms`)
	costCustomMetrics = regexp.MustCompile(`about (\d+) custom metrics`)
	costFixedLine     = regexp.MustCompile(`(?m)^\| CloudWatch alarms and metrics \(fixed\) \| \$([0-9.]+) \|`)
)

// checkCostTable: the cost section counts the alarms the template creates,
// and its fixed CloudWatch line is what they and the custom metrics cost
// ($0.10 per alarm metric, $0.30 per custom metric, us-east-1).
func checkCostTable(s *stack, markdown string) error {
	alarms, metrics := alarmMetrics(s)
	m := costAlarms.FindStringSubmatch(markdown)
	if m == nil {
		return fmt.Errorf("the cost section does not say \"%d alarm metrics in %d alarms\"", metrics, alarms)
	}
	var errs []error
	if m[1] != strconv.Itoa(metrics) || m[2] != strconv.Itoa(alarms) {
		errs = append(errs, fmt.Errorf("the cost section counts %s alarm metrics in %s alarms; the template has %d in %d", m[1], m[2], metrics, alarms))
	}
	c := costCustomMetrics.FindStringSubmatch(markdown)
	f := costFixedLine.FindStringSubmatch(markdown)
	if c == nil || f == nil {
		return errors.Join(append(errs, errors.New("the cost section has no \"about N custom metrics\" or no fixed CloudWatch line"))...)
	}
	custom, _ := strconv.Atoi(c[1])
	if want := fmt.Sprintf("%.2f", float64(metrics)*0.10+float64(custom)*0.30); f[1] != want {
		errs = append(errs, fmt.Errorf("the fixed CloudWatch line says $%s; %d alarm metrics and %d custom metrics cost $%s", f[1], metrics, custom, want))
	}
	return errors.Join(errs...)
}

// TestDeployDoc checks docs/deploy.md against the template: the outputs
// table, the alarm table and the cost section's alarm count; each check
// also on a mutated template, which it must refuse.
func TestDeployDoc(t *testing.T) {
	md := readDeployDoc(t)
	tmpl, _ := readRepo(t)
	for _, c := range []struct {
		name     string
		check    func(*stack, string) error
		mutation mutation
	}{
		{"outputs table", checkOutputsTable, mutation{"an output added", false, "Outputs:\n", "Outputs:\n  Extra:\n    Value: x\n"}},
		{"alarm table", checkAlarmTable, mutation{"an alarm added", false, "  Api4xxRateAlarm:\n", "  ExtraAlarm:\n    Type: AWS::CloudWatch::Alarm\n    Properties: {MetricName: X, Namespace: Y}\n  Api4xxRateAlarm:\n"}},
		{"cost section counts the alarms", checkCostTable, mutation{"an alarm added", false, "  Api4xxRateAlarm:\n", "  ExtraAlarm:\n    Type: AWS::CloudWatch::Alarm\n    Properties: {MetricName: X, Namespace: Y}\n  Api4xxRateAlarm:\n"}},
	} {
		t.Run(c.name, func(t *testing.T) {
			if err := c.check(mustStack(t, tmpl), md); err != nil {
				t.Errorf("%s: %v", deployDoc, err)
			}
			if !strings.Contains(tmpl, c.mutation.old) {
				t.Fatalf("mutation no longer applies: %q", c.mutation.old)
			}
			if c.check(mustStack(t, strings.Replace(tmpl, c.mutation.old, c.mutation.new, 1)), md) == nil {
				t.Errorf("check passed on a template with %s", c.mutation.name)
			}
		})
	}
}
