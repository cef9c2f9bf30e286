package tenant

import (
	"context"
	"errors"
)

// Refresher is a Store that can look a tenant up again without trusting a
// "not found" it remembers. The deliver function uses it for an event whose
// tenant it does not know: the events function knew the tenant when it
// queued the event, so a remembered "not found" may just be older than the
// tenant.
type Refresher interface {
	Store
	// LookupFresh is Lookup that forgets a remembered "not found" for
	// accountSID first. It still goes through the tenant index (which the
	// store re-reads on a miss) and the store's per-container caps, so it
	// is no way around them.
	LookupFresh(ctx context.Context, accountSID string) (*Tenant, error)
}

// LookupFresh looks accountSID up in s without trusting a remembered "not
// found" when s is a Refresher, and with s.Lookup otherwise (a store that
// remembers nothing, such as the tenants file).
func LookupFresh(ctx context.Context, s Store, accountSID string) (*Tenant, error) {
	if r, ok := s.(Refresher); ok {
		return r.LookupFresh(ctx, accountSID)
	}
	return s.Lookup(ctx, accountSID)
}

// LookupFresh implements Refresher: a cached "not found" for accountSID is
// dropped, then Lookup runs. A cached record, and a cached failure (kept
// FailureTTL to spare a failing Secrets Manager), are kept.
func (s *SecretsStore) LookupFresh(ctx context.Context, accountSID string) (*Tenant, error) {
	s.mu.Lock()
	if e := s.entries[accountSID]; e != nil && e.tenant == nil && errors.Is(e.err, ErrNotFound) {
		delete(s.entries, accountSID)
	}
	s.mu.Unlock()
	return s.Lookup(ctx, accountSID)
}
