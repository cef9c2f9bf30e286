package tenant

import "context"

// StoreFunc adapts a function to a Store, as http.HandlerFunc does for
// handlers: StoreFunc(f).Lookup(ctx, sid) calls f(ctx, sid). It suits a
// store wrapped with a little behaviour (counting, failing) and tests.
type StoreFunc func(ctx context.Context, accountSID string) (*Tenant, error)

// Lookup calls f(ctx, accountSID).
func (f StoreFunc) Lookup(ctx context.Context, accountSID string) (*Tenant, error) {
	return f(ctx, accountSID)
}
