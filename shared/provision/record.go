package provision

import (
	"bytes"
	"encoding/json"
	"fmt"
	"reflect"
	"sort"
	"strings"
)

// record is a tenant record held as a JSON object, so fields this tool does
// not manage (routing it did not set, outbound policy, fields added by later
// versions) pass through a read-modify-write untouched.
type record map[string]json.RawMessage

func parseRecord(data []byte) (record, error) {
	r := record{}
	if len(bytes.TrimSpace(data)) == 0 {
		return r, nil
	}
	if err := json.Unmarshal(data, &r); err != nil {
		// The JSON error may quote a value, which may be a secret.
		return nil, fmt.Errorf("the stored record is not a JSON object")
	}
	return r, nil
}

// clone returns a copy sharing no map with r (RawMessages are never
// modified in place, only replaced).
func (r record) clone() record {
	c := make(record, len(r))
	for k, v := range r {
		c[k] = v
	}
	return c
}

// str returns field as a string, "" when absent or not a string.
func (r record) str(field string) string {
	var s string
	if raw, ok := r[field]; ok {
		_ = json.Unmarshal(raw, &s)
	}
	return s
}

// strs returns field as a list of strings, nil when absent or malformed.
func (r record) strs(field string) []string {
	var s []string
	if raw, ok := r[field]; ok {
		_ = json.Unmarshal(raw, &s)
	}
	return s
}

// set stores v (marshalled) as field.
func (r record) set(field string, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		panic("provision: marshal " + field + ": " + err.Error()) // only plain values are set
	}
	r[field] = b
}

// object returns field as a nested record (a new empty one when absent or
// not an object).
func (r record) object(field string) record {
	o := record{}
	if raw, ok := r[field]; ok {
		if err := json.Unmarshal(raw, &o); err != nil || o == nil {
			o = record{}
		}
	}
	return o
}

// bytes renders r indented with sorted keys (json.Marshal sorts map keys).
func (r record) bytes() []byte {
	b, err := json.MarshalIndent(r, "", "  ")
	if err != nil {
		panic("provision: marshal record: " + err.Error()) // RawMessages came from valid JSON
	}
	return b
}

// changedFields lists the top-level fields whose values differ between a
// and b (semantically: whitespace and key order don't count), sorted.
func changedFields(a, b record) []string {
	var out []string
	seen := map[string]bool{}
	for _, m := range []record{a, b} {
		for k := range m {
			if seen[k] {
				continue
			}
			seen[k] = true
			if !sameJSON(a[k], b[k]) {
				out = append(out, k)
			}
		}
	}
	sort.Strings(out)
	return out
}

func sameJSON(a, b json.RawMessage) bool {
	if a == nil || b == nil {
		return a == nil && b == nil
	}
	var x, y any
	if json.Unmarshal(a, &x) != nil || json.Unmarshal(b, &y) != nil {
		return bytes.Equal(a, b)
	}
	return reflect.DeepEqual(x, y)
}

// isSecretField reports whether a top-level field holds a credential: the
// known ones, and by name any future field that looks like one.
func isSecretField(name string) bool {
	switch name {
	case "auth_token", "previous_auth_token", "api_key_secret", "token_api_keys":
		return true
	}
	n := strings.ToLower(name)
	return strings.Contains(n, "secret") || strings.Contains(n, "password") ||
		strings.HasSuffix(n, "_token") || strings.HasSuffix(n, "_tokens")
}

// redacted returns a copy of r whose secret fields show only that they are
// set: strings become "(redacted)", lists a list of "(redacted)".
func (r record) redacted() record {
	c := r.clone()
	for k, v := range c {
		if !isSecretField(k) {
			continue
		}
		var list []json.RawMessage
		if json.Unmarshal(v, &list) == nil {
			red := make([]string, len(list))
			for i := range red {
				red[i] = "(redacted)"
			}
			c.set(k, red)
			continue
		}
		c.set(k, "(redacted)")
	}
	return c
}

// describeChange renders the change of each field for a plan or a report,
// never showing a secret's value.
func describeChange(new record, fields []string) []string {
	var out []string
	for _, f := range fields {
		switch {
		case new[f] == nil:
			out = append(out, "remove "+f)
		case isSecretField(f):
			out = append(out, "set "+f+" (redacted)")
		default:
			out = append(out, "set "+f+" = "+string(compact(new[f])))
		}
	}
	return out
}

func compact(raw json.RawMessage) []byte {
	var b bytes.Buffer
	if json.Compact(&b, raw) != nil {
		return raw
	}
	return b.Bytes()
}
