package tenant

import (
	"context"
	"errors"
	"testing"
)

// TestNewTenantServedAtOnceOnWarmStore is issue 20 item 1 on a warm
// container: the store read the index (A only) a minute ago and trusts it
// for its TTL (5 minutes). The CLI then writes B's secret, rewrites the
// index with B, and waits DefaultIndexRecheck + DefaultFetchTimeout before
// saying B is ready. From then on B must be served; before this change the
// store refused B (401 at /token, 403 at the webhooks) until the TTL ran out.
// Made-up SIDs in the same window cost at most one more index read.
func TestNewTenantServedAtOnceOnWarmStore(t *testing.T) {
	h := newSecretsHarness(t, SecretsConfig{}, "", nil)
	h.putIndex(t, secretSIDA)
	h.srv.Put("twilio-voice/"+secretSIDA, secretRecord(secretSIDA, "t"))
	mustLookupSecret(t, h.store, secretSIDA)
	h.clock.Advance(DefaultSecretsTTL / 5)

	// create B: its secret, then the index, then the wait.
	h.srv.Put("twilio-voice/"+secretSIDB, secretRecord(secretSIDB, "t"))
	h.putIndex(t, secretSIDA, secretSIDB)
	h.clock.Advance(DefaultIndexRecheck + DefaultFetchTimeout)
	reads := h.indexCalls()

	mustLookupSecret(t, h.store, secretSIDB)
	if got := h.indexCalls() - reads; got != 1 {
		t.Errorf("%d index reads to admit B, want 1", got)
	}
	for i := range 100 {
		if _, err := h.store.Lookup(context.Background(), unknownSID(i)); !errors.Is(err, ErrNotFound) {
			t.Fatalf("made-up SID %d: %v, want ErrNotFound", i, err)
		}
	}
	if got := h.indexCalls() - reads; got != 1 {
		t.Errorf("100 made-up SIDs within %v made %d index reads in all, want the 1 that admitted B", DefaultIndexRecheck, got)
	}
	h.clock.Advance(DefaultIndexRecheck)
	for i := range 100 {
		_, _ = h.store.Lookup(context.Background(), unknownSID(1000+i))
	}
	if got := h.indexCalls() - reads; got != 2 {
		t.Errorf("made-up SIDs after another %v: %d index reads in all, want 2 (one re-read per IndexRecheck)", DefaultIndexRecheck, got)
	}
	if n := h.calls(); n != 2 {
		t.Errorf("%d GetSecretValue calls for tenant secrets, want 2 (A and B)", n)
	}
}

// TestStoreReadsVersion1Index: during the upgrade, until the new CLI first
// writes the index, the stack's index is version 1 (3-byte SID prefixes):
// the store still admits its tenants and refuses other SIDs from memory.
func TestStoreReadsVersion1Index(t *testing.T) {
	h := newSecretsHarness(t, SecretsConfig{}, "", nil)
	// secretSIDA's first 3 bytes, 01 23 45, as the release before wrote it.
	h.srv.Put(h.store.IndexName(), `{"version":1,"updated_at":"2026-11-30T09:00:00Z","count":1,"prefixes":"ASNF"}`)
	h.srv.Put("twilio-voice/"+secretSIDA, secretRecord(secretSIDA, "t"))
	mustLookupSecret(t, h.store, secretSIDA)
	if _, err := h.store.Lookup(context.Background(), secretSIDB); !errors.Is(err, ErrNotFound) {
		t.Errorf("a SID the version-1 index rules out: %v, want ErrNotFound", err)
	}
	if n := h.calls(); n != 1 {
		t.Errorf("%d tenant secret reads, want 1", n)
	}
}
