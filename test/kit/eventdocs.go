package kit

import (
	"encoding/json"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
)

// eventFieldCell is a backquoted field name in the first cell of a row of
// docs/call-events.md's event table.
var eventFieldCell = regexp.MustCompile("`([a-z_]+)`")

// DocumentedEventFields reads the fields every call event has from the
// table under "## The event" in docs/call-events.md (root is the
// repository), so a test checks events against what users are told, not
// against the Go struct.
func DocumentedEventFields(tb testing.TB, root string) []string {
	tb.Helper()
	data, err := os.ReadFile(filepath.Join(root, "docs", "call-events.md"))
	if err != nil {
		tb.Fatal(err)
	}
	_, section, ok := strings.Cut(string(data), "\n## The event\n")
	if !ok {
		tb.Fatal(`docs/call-events.md has no "## The event" section`)
	}
	section, _, _ = strings.Cut(section, "\n## ")
	var fields []string
	for line := range strings.Lines(section) {
		cells := strings.Split(line, "|")
		if !strings.HasPrefix(line, "| `") || len(cells) < 3 {
			continue
		}
		for _, m := range eventFieldCell.FindAllStringSubmatch(cells[1], -1) {
			fields = append(fields, m[1])
		}
	}
	if len(fields) < 10 {
		tb.Fatalf("docs/call-events.md's event table lists only %v", fields)
	}
	return fields
}

// MissingEventFields returns the fields of want that the JSON object body
// lacks, and every field when body is not a JSON object.
func MissingEventFields(body []byte, want []string) []string {
	var got map[string]json.RawMessage
	if json.Unmarshal(body, &got) != nil {
		return want
	}
	var missing []string
	for _, f := range want {
		if v, ok := got[f]; !ok || string(v) == "null" {
			missing = append(missing, f)
		}
	}
	return missing
}

// SentHeaderNames returns the sorted names of the headers a sender set on
// a request, leaving out those Go's transport adds (Content-Length,
// Accept-Encoding): two senders that set the same headers give the same
// list.
func SentHeaderNames(h http.Header) []string {
	var names []string
	for k := range h {
		if k != "Content-Length" && k != "Accept-Encoding" {
			names = append(names, k)
		}
	}
	slices.Sort(names)
	return names
}
