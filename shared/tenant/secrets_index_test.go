package tenant

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	fakesm "bubble-twilio-voice/test/fake/secretsmanager"
)

// indexCalls counts the reads of the index secret.
func (h *secretsHarness) indexCalls() int {
	return h.srv.CallsFor("GetSecretValue", h.store.IndexName())
}

// putIndex replaces the index secret with one listing sids.
func (h *secretsHarness) putIndex(t *testing.T, sids ...string) {
	t.Helper()
	raw, err := EncodeIndex(sids, h.clock.Now())
	if err != nil {
		t.Fatal(err)
	}
	h.srv.Put(h.store.IndexName(), string(raw))
}

// unknownSID is a well-formed AccountSid of no tenant, different for each i.
func unknownSID(i int) string { return fmt.Sprintf("AC%032x", 0xdead0000+i) }

// TestSecretsStoreIndex: an AccountSid the index rules out costs no call
// for a tenant secret, the index is read once per TTL however many lookups
// want it, and once more per IndexRecheck at most when a lookup names a SID
// it does not admit (see recheck_test.go for a tenant added meanwhile).
func TestSecretsStoreIndex(t *testing.T) {
	h := newSecretsHarness(t, SecretsConfig{}, "", nil)
	h.putIndex(t, secretSIDA)
	h.srv.Put("twilio-voice/"+secretSIDA, secretRecord(secretSIDA, "t"))
	h.srv.Put("twilio-voice/"+secretSIDB, secretRecord(secretSIDB, "t")) // a secret, but not yet in the index

	steps := []struct {
		name           string
		advance        time.Duration
		sid            string
		wantErr        error // nil: the tenant is served
		wantCalls      int   // tenant secret reads so far
		wantIndexReads int
	}{
		{"tenant in the index is fetched", 0, secretSIDA, nil, 1, 1},
		{"unknown SID refused from memory", 0, unknownSID(1), ErrNotFound, 1, 1},
		{"another unknown SID, IndexRecheck later: one re-read", time.Minute, unknownSID(2), ErrNotFound, 1, 2},
		{"secret not yet in the index", 0, secretSIDB, ErrNotFound, 1, 2},
		{"the index secret's own name", 0, IndexSecretName, ErrNotFound, 1, 2},
		{"index re-read after TTL", DefaultSecretsTTL, secretSIDB, nil, 3, 3}, // A refreshed, B fetched
		{"unknown SID under the new index", 0, unknownSID(3), ErrNotFound, 3, 3},
	}
	for _, st := range steps {
		t.Run(st.name, func(t *testing.T) {
			h.clock.Advance(st.advance)
			if st.name == "index re-read after TTL" {
				h.putIndex(t, secretSIDA, secretSIDB) // what `subaccounts create` does
				mustLookupSecret(t, h.store, secretSIDA)
			}
			tn, err := h.store.Lookup(context.Background(), st.sid)
			switch {
			case st.wantErr == nil && (err != nil || tn.AccountSID != st.sid):
				t.Errorf("Lookup(%s) = %v, %v; want the tenant", st.sid, tn, err)
			case st.wantErr != nil && (!errors.Is(err, st.wantErr) || errors.Is(err, ErrUnavailable)):
				t.Errorf("Lookup(%s) err = %v, want %v", st.sid, err, st.wantErr)
			}
			if n := h.calls(); n != st.wantCalls {
				t.Errorf("tenant secret reads = %d, want %d", n, st.wantCalls)
			}
			if n := h.indexCalls(); n != st.wantIndexReads {
				t.Errorf("index reads = %d, want %d", n, st.wantIndexReads)
			}
		})
	}
	if strings.Contains(h.logs.String(), "WARN") {
		t.Errorf("warnings with a good index:\n%s", h.logs)
	}
}

// TestSecretsStoreNoIndex: without the index secret every well-formed SID
// may be fetched (today's behaviour), and the store says so once per TTL.
func TestSecretsStoreNoIndex(t *testing.T) {
	h := newSecretsHarness(t, SecretsConfig{}, "", nil)
	h.srv.Delete(h.store.IndexName())
	h.srv.Put("twilio-voice/"+secretSIDA, secretRecord(secretSIDA, "t"))

	mustLookupSecret(t, h.store, secretSIDA)
	for i := range 5 {
		if _, err := h.store.Lookup(context.Background(), unknownSID(i)); !errors.Is(err, ErrNotFound) {
			t.Fatalf("unknown SID: err = %v, want ErrNotFound", err)
		}
	}
	if n := h.calls(); n != 6 {
		t.Errorf("tenant secret reads = %d, want 6 (one per SID)", n)
	}
	warnings := func() int { return strings.Count(h.logs.String(), "subaccounts reindex") }
	if n, w := h.indexCalls(), warnings(); n != 1 || w != 1 {
		t.Errorf("index reads = %d, warnings = %d; want 1 and 1 per TTL\n%s", n, w, h.logs)
	}
	h.clock.Advance(DefaultSecretsTTL)
	_, _ = h.store.Lookup(context.Background(), unknownSID(9))
	if n, w := h.indexCalls(), warnings(); n != 2 || w != 2 {
		t.Errorf("after TTL: index reads = %d, warnings = %d; want 2 and 2", n, w)
	}
	// The index appears (`subaccounts reindex`): used from the next read on.
	h.putIndex(t, secretSIDA)
	h.clock.Advance(DefaultSecretsTTL)
	before := h.calls()
	if _, err := h.store.Lookup(context.Background(), unknownSID(10)); !errors.Is(err, ErrNotFound) || h.calls() != before {
		t.Errorf("with the new index: err = %v, %d tenant reads; want ErrNotFound from memory", err, h.calls()-before)
	}
}

// TestSecretsStoreIndexFailure: a failing index read keeps the last good
// index (or, with none, admits every SID) and is retried after RetryAfter,
// not on every lookup.
func TestSecretsStoreIndexFailure(t *testing.T) {
	indexFault := func(f fakesm.Fault) func(op, id string) fakesm.Fault {
		return func(_, id string) fakesm.Fault {
			if strings.HasSuffix(id, "/"+IndexSecretName) {
				return f
			}
			return fakesm.Fault{}
		}
	}
	cases := []struct {
		name  string
		fault fakesm.Fault
		body  string // a bad index value instead of a fault
	}{
		{"throttled", fakesm.Throttle(), ""},
		{"internal error", fakesm.InternalError(), ""},
		{"not an index", fakesm.Fault{}, `{"version":7}`},
		{"not JSON", fakesm.Fault{}, `index`},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Run("with a last good index", func(t *testing.T) {
				h := newSecretsHarness(t, SecretsConfig{}, "", nil)
				h.putIndex(t, secretSIDA)
				h.srv.Put("twilio-voice/"+secretSIDA, secretRecord(secretSIDA, "t"))
				mustLookupSecret(t, h.store, secretSIDA)

				h.srv.SetFault(indexFault(tc.fault))
				if tc.body != "" {
					h.srv.Put(h.store.IndexName(), tc.body)
				}
				h.clock.Advance(DefaultSecretsTTL)
				for i := range 3 {
					if _, err := h.store.Lookup(context.Background(), unknownSID(i)); !errors.Is(err, ErrNotFound) {
						t.Fatalf("unknown SID: err = %v, want ErrNotFound", err)
					}
				}
				if n := h.calls(); n != 1 {
					t.Errorf("tenant secret reads = %d, want 1: the last index still refuses unknown SIDs", n)
				}
				reads := h.indexCalls()
				h.clock.Advance(DefaultRetryAfter - time.Second)
				_, _ = h.store.Lookup(context.Background(), unknownSID(5))
				if n := h.indexCalls(); n != reads {
					t.Errorf("index read again within RetryAfter (%d reads, want %d)", n, reads)
				}
				h.clock.Advance(time.Second)
				_, _ = h.store.Lookup(context.Background(), unknownSID(6))
				if n := h.indexCalls(); n <= reads {
					t.Errorf("index not read again after RetryAfter")
				}
				if !strings.Contains(h.logs.String(), `"msg":"tenant index read failed"`) || !strings.Contains(h.logs.String(), `"serving_last_index":true`) {
					t.Errorf("failure not logged:\n%s", h.logs)
				}
				if h.fetchErrors() != 0 {
					t.Errorf("index failures counted as tenant failures")
				}
			})
			t.Run("with no index yet", func(t *testing.T) {
				h := newSecretsHarness(t, SecretsConfig{}, "", nil)
				h.srv.SetFault(indexFault(tc.fault))
				if tc.body != "" {
					h.srv.Put(h.store.IndexName(), tc.body)
				}
				h.srv.Put("twilio-voice/"+secretSIDA, secretRecord(secretSIDA, "t"))
				mustLookupSecret(t, h.store, secretSIDA) // admitted: no index to refuse it
				if _, err := h.store.Lookup(context.Background(), unknownSID(1)); !errors.Is(err, ErrNotFound) {
					t.Errorf("unknown SID: err = %v, want ErrNotFound", err)
				}
				if n := h.calls(); n != 2 {
					t.Errorf("tenant secret reads = %d, want 2", n)
				}
			})
		})
	}
}

// TestSecretsStoreColdFetchCap: GetSecretValue calls for tenants with
// nothing cached are capped per store; over the cap a lookup is
// ErrUnavailable from memory (logged once a minute), while refreshing a
// cached tenant is never capped.
func TestSecretsStoreColdFetchCap(t *testing.T) {
	limited := 0
	h := newSecretsHarness(t, SecretsConfig{
		TTL: 10 * time.Second, ColdFetchesPerSecond: 2, ColdFetchBurst: 4,
		OnColdFetchLimit: func(string) { limited++ },
	}, "", nil)
	h.srv.Delete(h.store.IndexName()) // every SID admitted: only the cap stands
	h.srv.Put("twilio-voice/"+secretSIDA, secretRecord(secretSIDA, "t"))
	mustLookupSecret(t, h.store, secretSIDA) // 1 of the burst

	next := 0
	lookupUnknown := func() error {
		next++
		_, err := h.store.Lookup(context.Background(), unknownSID(next))
		return err
	}
	for i := range 3 {
		if err := lookupUnknown(); !errors.Is(err, ErrNotFound) {
			t.Fatalf("lookup %d within the burst: err = %v, want ErrNotFound", i, err)
		}
	}
	err := lookupUnknown()
	if !errors.Is(err, ErrUnavailable) || !errors.Is(err, ErrColdFetchLimit) || errors.Is(err, ErrNotFound) {
		t.Fatalf("lookup past the burst: err = %v, want ErrUnavailable (ErrColdFetchLimit)", err)
	}
	if n := h.calls(); n != 4 {
		t.Errorf("tenant secret reads = %d, want the burst, 4", n)
	}
	_ = lookupUnknown()
	if limited != 2 || strings.Count(h.logs.String(), "over the cap") != 1 {
		t.Errorf("OnColdFetchLimit called %d times (want 2), cap warnings:\n%s", limited, h.logs)
	}

	// Half a second refills one call at 2 a second.
	h.clock.Advance(500 * time.Millisecond)
	if err := lookupUnknown(); !errors.Is(err, ErrNotFound) {
		t.Errorf("after refill: err = %v, want ErrNotFound", err)
	}
	if err := lookupUnknown(); !errors.Is(err, ErrUnavailable) {
		t.Errorf("refill spent: err = %v, want ErrUnavailable", err)
	}

	// A cached tenant past its TTL is refreshed even with the bucket empty.
	h.clock.Advance(10 * time.Second)
	for errors.Is(lookupUnknown(), ErrNotFound) { // spend the refilled burst
	}
	h.srv.Put("twilio-voice/"+secretSIDA, secretRecord(secretSIDA, "rotated"))
	if tn := mustLookupSecret(t, h.store, secretSIDA); tn.AuthToken != "rotated" {
		t.Errorf("refresh of a cached tenant was capped: auth token %q", tn.AuthToken)
	}
}
