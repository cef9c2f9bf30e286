package tenant

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
)

// FileStore serves tenants from a local JSON file (an array of tenant
// records) for the dev server and tests. It is loaded once and never changes.
type FileStore struct {
	tenants map[string]*Tenant
}

// LoadFile reads and validates every record in path. One bad record fails the
// whole load with an error naming its index and field.
func LoadFile(path string) (*FileStore, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read tenants file: %w", err)
	}
	return ParseFile(data)
}

// ParseFile is LoadFile on bytes already read.
func ParseFile(data []byte) (*FileStore, error) {
	var raws []json.RawMessage
	if err := json.Unmarshal(data, &raws); err != nil {
		return nil, fmt.Errorf("tenants file: must be a JSON array of tenant records: %s", jsonReason(err))
	}
	if raws == nil { // the document was null, which Unmarshal accepts silently
		return nil, fmt.Errorf("tenants file: must be a JSON array of tenant records, not null")
	}
	s := &FileStore{tenants: make(map[string]*Tenant, len(raws))}
	for i, raw := range raws {
		t, err := Parse(raw)
		if err != nil {
			return nil, fmt.Errorf("tenants file: record %d: %w", i, err)
		}
		if _, dup := s.tenants[t.AccountSID]; dup {
			return nil, fmt.Errorf("tenants file: record %d: account_sid %s appears twice", i, t.AccountSID)
		}
		s.tenants[t.AccountSID] = t
	}
	return s, nil
}

// NewMemoryStore returns a store holding the given tenants, for tests.
func NewMemoryStore(ts ...*Tenant) *FileStore {
	s := &FileStore{tenants: make(map[string]*Tenant, len(ts))}
	for _, t := range ts {
		s.tenants[t.AccountSID] = t
	}
	return s
}

// Lookup implements Store.
func (s *FileStore) Lookup(_ context.Context, accountSID string) (*Tenant, error) {
	if t, ok := s.tenants[accountSID]; ok {
		return t, nil
	}
	return nil, fmt.Errorf("lookup %q: %w", redactSID(accountSID), ErrNotFound)
}

// redactSID keeps log lines short and free of whatever a stranger posted in
// place of an AccountSid.
func redactSID(s string) string {
	if ValidAccountSID(s) {
		return s
	}
	return "(malformed)"
}
