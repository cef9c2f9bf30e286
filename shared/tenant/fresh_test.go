package tenant

import (
	"context"
	"errors"
	"testing"

	fakesm "bubble-twilio-voice/test/fake/secretsmanager"
)

// TestLookupFreshForgetsNotFound is issue 20 item 4 at the store. Before
// it, the deliver function's store answered a new tenant "not found" from
// its negative cache (or its stale index) and the event was dropped.
// Reproduction: Lookup of a SID before its secret exists caches "not
// found"; the secret is written; Lookup within NegativeTTL still answers
// ErrNotFound with no call to AWS. LookupFresh asks AWS and finds it.
func TestLookupFreshForgetsNotFound(t *testing.T) {
	h := newSecretsHarness(t, SecretsConfig{}, "", nil)
	ctx := context.Background()
	if _, err := h.store.Lookup(ctx, secretSIDNone); !errors.Is(err, ErrNotFound) {
		t.Fatalf("before create: %v", err)
	}
	h.srv.Put(DefaultSecretPrefix+secretSIDNone, secretRecord(secretSIDNone, "t"))
	if _, err := h.store.Lookup(ctx, secretSIDNone); !errors.Is(err, ErrNotFound) {
		t.Fatalf("reproduction: Lookup right after create answered %v, want the cached ErrNotFound", err)
	}
	if n := h.calls(); n != 1 {
		t.Fatalf("%d calls, want 1", n)
	}
	got, err := LookupFresh(ctx, h.store, secretSIDNone)
	if err != nil || got.AccountSID != secretSIDNone {
		t.Fatalf("LookupFresh = %v, %v", got, err)
	}
	if n := h.calls(); n != 2 {
		t.Errorf("%d calls, want 2", n)
	}
	// Now cached: neither lookup asks AWS again.
	for _, lookup := range []func(context.Context, string) (*Tenant, error){h.store.Lookup, h.store.LookupFresh} {
		if _, err := lookup(ctx, secretSIDNone); err != nil {
			t.Fatal(err)
		}
	}
	if n := h.calls(); n != 2 {
		t.Errorf("a cached tenant cost %d calls, want 2 in all", n)
	}
}

// TestLookupFreshKeepsTheCaps checks that fresh lookups of a tenant that
// really is gone (the events of a closed subaccount, retried for a day)
// stay within the per-container cold fetch cap, and that a cached failure
// is not bypassed either.
func TestLookupFreshKeepsTheCaps(t *testing.T) {
	h := newSecretsHarness(t, SecretsConfig{ColdFetchesPerSecond: 1, ColdFetchBurst: 3}, "", nil)
	ctx := context.Background()
	limited := 0
	for range 50 {
		_, err := h.store.LookupFresh(ctx, secretSIDNone)
		switch {
		case errors.Is(err, ErrColdFetchLimit):
			limited++
		case !errors.Is(err, ErrNotFound):
			t.Fatalf("LookupFresh of a missing tenant: %v", err)
		}
	}
	if n := h.calls(); n != 3 {
		t.Errorf("50 fresh lookups made %d calls, want the burst of 3", n)
	}
	if limited != 47 {
		t.Errorf("%d lookups refused by the cap, want 47", limited)
	}

	h.srv.SetFault(func(op, id string) fakesm.Fault {
		if id == DefaultSecretPrefix+secretSIDA {
			return fakesm.Throttle()
		}
		return fakesm.Fault{}
	})
	h.clock.Advance(DefaultNegativeTTL)
	before := h.calls()
	for range 5 {
		if _, err := h.store.LookupFresh(ctx, secretSIDA); !errors.Is(err, ErrUnavailable) {
			t.Fatalf("while throttled: %v", err)
		}
	}
	if n := h.calls() - before; n > secretsClientAttempts {
		t.Errorf("a cached failure was bypassed: %d calls", n)
	}
}

// TestLookupFreshOtherStores: a store that remembers nothing is asked
// with Lookup.
func TestLookupFreshOtherStores(t *testing.T) {
	calls := 0
	s := StoreFunc(func(context.Context, string) (*Tenant, error) { calls++; return nil, ErrNotFound })
	if _, err := LookupFresh(context.Background(), s, secretSIDA); !errors.Is(err, ErrNotFound) || calls != 1 {
		t.Errorf("err %v, %d calls", err, calls)
	}
}

// TestLookupFreshStaleIndex: the deliver container read the index before
// the tenant was added, and then looked the tenant up (the index said no).
// Once the CLI has rewritten the index, a fresh lookup finds the tenant
// (the store re-reads the index on a miss, at most once per IndexRecheck).
func TestLookupFreshStaleIndex(t *testing.T) {
	h := newSecretsHarness(t, SecretsConfig{}, "", nil)
	const sid = "AC0d0d0d0d0d0d0d0d0d0d0d0d0d0d0d0d"
	h.putIndex(t, secretSIDA)
	ctx := context.Background()
	if _, err := h.store.LookupFresh(ctx, sid); !errors.Is(err, ErrNotFound) {
		t.Fatalf("before create: %v", err)
	}
	h.srv.Put(DefaultSecretPrefix+sid, secretRecord(sid, "t"))
	h.putIndex(t, secretSIDA, sid)
	h.clock.Advance(DefaultIndexRecheck)
	if got, err := h.store.LookupFresh(ctx, sid); err != nil || got.AccountSID != sid {
		t.Fatalf("after create: %v, %v", got, err)
	}
}
