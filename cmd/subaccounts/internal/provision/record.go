package provision

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"reflect"
	"slices"
	"strings"

	"bubble-twilio-voice/shared/tenant"
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
	maps.Copy(c, r)
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

// setOrDrop sets field to v, a list or an object, or removes the field
// when v has no elements (n == 0), so no empty list or object is left.
func (r record) setOrDrop(field string, v any, n int) {
	if n == 0 {
		delete(r, field)
	} else {
		r.set(field, v)
	}
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
	both := maps.Clone(a)
	maps.Copy(both, b)
	var out []string
	for _, k := range slices.Sorted(maps.Keys(both)) {
		if !sameJSON(a[k], b[k]) {
			out = append(out, k)
		}
	}
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

// notSecret lists the record's fields whose names look like a credential's
// but are not one: SIDs, times, names and lifetimes.
var notSecret = map[string]bool{
	"api_key_sid": true, "previous_api_key_sid": true, "previous_api_key_replaced_at": true,
	"pending_api_key_names": true, "token_ttl_seconds": true,
}

// secretWords are the parts of a field name, at any depth, that mark its
// value as a credential.
var secretWords = []string{"token", "secret", "pass", "key", "credential", "auth"}

// isSecretField reports whether a field (at any depth of the record) holds
// a credential: by a broad name pattern, so a field added later, or nested
// in a route, is redacted without anyone remembering to list it.
func isSecretField(name string) bool {
	if notSecret[name] {
		return false
	}
	n := strings.ToLower(name)
	return slices.ContainsFunc(secretWords, func(w string) bool { return strings.Contains(n, w) })
}

// redacted returns a copy of r in which every value under a secret field
// name, at any depth, shows only that it is set: "(redacted)", or a list of
// as many "(redacted)" for a list.
func (r record) redacted() record {
	c := make(record, len(r))
	for k, v := range r {
		c[k] = redactField(k, v)
	}
	return c
}

// redactField renders the value of field name redacted.
func redactField(name string, raw json.RawMessage) json.RawMessage {
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber() // numbers keep their exact text
	var v any
	if dec.Decode(&v) != nil {
		return json.RawMessage(`"(redacted)"`) // not JSON: show nothing of it
	}
	b, err := json.Marshal(redact(name, v))
	if err != nil {
		return json.RawMessage(`"(redacted)"`)
	}
	return b
}

// redact returns the value v of field name with every secret field in it,
// at any depth, redacted (all of it when name itself is a secret's), and the
// query values of every URL (events.url may carry a ?secret=).
func redact(name string, v any) any {
	if isSecretField(name) {
		return redactAll(v)
	}
	switch x := v.(type) {
	case string:
		if strings.Contains(x, "://") && strings.Contains(x, "?") {
			return tenant.RedactURLQuery(x)
		}
	case map[string]any:
		for k, val := range x {
			x[k] = redact(k, val)
		}
	case []any:
		for i := range x {
			x[i] = redact(name, x[i])
		}
	}
	return v
}

// redactAll replaces a secret value: a list keeps its length so a reader
// sees how many keys there are.
func redactAll(v any) any {
	switch x := v.(type) {
	case nil:
		return nil
	case []any:
		out := make([]any, len(x))
		for i := range out {
			out[i] = "(redacted)"
		}
		return out
	default:
		return "(redacted)"
	}
}

// describeChange renders the change of each field for a plan or a report,
// never showing a secret's value, however deep.
func describeChange(new record, fields []string) []string {
	var out []string
	for _, f := range fields {
		switch {
		case new[f] == nil:
			out = append(out, "remove "+f)
		case isSecretField(f):
			out = append(out, "set "+f+" (redacted)")
		default:
			out = append(out, "set "+f+" = "+string(compact(redactField(f, new[f]))))
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

// stored is a tenant record as Secrets Manager holds it: what the last read
// or write of this run left there.
type stored struct {
	name  string
	rec   record
	found bool
	tags  map[string]string
}

// loadStored reads the record name; a missing secret is an empty record.
// A record tagged for another stack is refused (see checkOwner) before
// anything is written.
func (p *Provisioner) loadStored(ctx context.Context, name string) (*stored, error) {
	rec, found, err := p.loadRecord(ctx, name)
	if err != nil {
		return nil, err
	}
	st := &stored{name: name, rec: rec, found: found}
	if found {
		info, err := p.secrets.Describe(ctx, name)
		if err != nil {
			return nil, stepErr("describe secret "+name, err)
		}
		if err := p.checkOwner(ctx, name, info.Tags); err != nil {
			return nil, err
		}
		st.tags = info.Tags
	}
	return st, nil
}

// loadRecord reads name as a JSON object; a missing secret is an empty
// record and found false.
func (p *Provisioner) loadRecord(ctx context.Context, name string) (record, bool, error) {
	data, found, err := p.secrets.Get(ctx, name)
	if errors.Is(err, ErrScheduledForDeletion) {
		return nil, false, fmt.Errorf("secret %s is scheduled for deletion (the subaccount was closed): restore it first with aws secretsmanager restore-secret --secret-id %s", name, name)
	}
	if err != nil {
		return nil, false, stepErr("read secret "+name, err)
	}
	rec, err := parseRecord(data)
	if err != nil {
		return nil, false, stepErr("read secret "+name, err)
	}
	return rec, found, nil
}

// write stores value as secret name, creating the secret unless it exists.
// A write under way finishes even if the user interrupts now: the
// interruption stops the run before its next write, not in one.
func (p *Provisioner) write(ctx context.Context, name string, value []byte, exists bool) error {
	tags, err := p.stackTags(ctx)
	if err != nil {
		return err
	}
	ctx = context.WithoutCancel(ctx)
	if exists {
		return p.secrets.Put(ctx, name, value)
	}
	return p.secrets.Create(ctx, name, value, tags)
}

// save writes next as the record when it differs from what is stored, and
// reports the change without secrets. With validate it first checks next
// with tenant.Parse, what the functions will run; without, it writes
// bookkeeping (pending key names) that may precede a complete record.
func (p *Provisioner) save(ctx context.Context, st *stored, next record, validate bool) error {
	if validate {
		if _, err := tenant.Parse(next.bytes()); err != nil {
			return stepErr("validate record "+st.name, err)
		}
	}
	changed := changedFields(st.rec, next)
	if st.found && len(changed) == 0 {
		p.printf("secret %s: unchanged\n", st.name)
		return p.ensureTagged(ctx, st.name, st.tags)
	}
	if err := p.checkpoint(ctx, "writing secret "+st.name); err != nil {
		return err
	}
	verb := "created"
	if st.found {
		verb = "updated"
	}
	if err := p.write(ctx, st.name, next.bytes(), st.found); err != nil {
		return stepErr("write secret "+st.name, err)
	}
	changes := strings.Join(describeChange(next, changed), "; ")
	if p.dryRun {
		p.printf("plan:   changes: %s\n", changes)
	} else {
		p.printf("secret %s: %s (%s)\n", st.name, verb, changes)
	}
	wasFound := st.found
	st.rec, st.found = next.clone(), true
	if !wasFound {
		st.tags, _ = p.stackTags(ctx) // written with the Create
		return nil
	}
	if err := p.ensureTagged(ctx, st.name, st.tags); err != nil {
		return err
	}
	st.tags, _ = p.stackTags(ctx)
	return nil
}
