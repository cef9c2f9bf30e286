package load_test

import (
	"context"
	"encoding/hex"
	"errors"
	"math/rand/v2"
	"os"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"bubble-twilio-voice/shared/tenant"
	fakesm "bubble-twilio-voice/test/fake/secretsmanager"
	"bubble-twilio-voice/test/kit"
)

// Bounds of TestUnknownTenantsCostNothing.
const (
	unknownSIDs    = 100_000
	unknownWorkers = 8
	coldRate       = 10 // SECRET_COLD_FETCHES_PER_SECOND's default
	coldBurst      = 2 * coldRate
	maxHeapGrowth  = 20 << 20
)

// TestUnknownTenantsCostNothing is the flood of made-up AccountSids, loopback
// and bounded: 100,000 random well-formed SIDs (a "Bearer x" or any
// signature header is all a caller needs to make a lookup) through a
// SecretsStore with its defaults, over the real SDK client and fakesm. With
// the deployment's tenant index (1,000 tenants) almost all are refused from
// memory; without one, the per-container cap holds the GetSecretValue calls
// to rate x elapsed + burst. Either way heap growth stays under 20 MB: the
// refused SIDs leave nothing behind.
func TestUnknownTenantsCostNothing(t *testing.T) {
	cases := []struct {
		name  string
		index bool
	}{
		{"with the tenant index", true},
		{"without an index, the cap alone", false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			sm := fakesm.Start(t)
			kit.SetAWSEnv(t, sm.URL())
			indexName := tenant.DefaultSecretPrefix + tenant.IndexSecretName
			if tc.index {
				rng := rand.New(rand.NewPCG(1, 2))
				tenants := make([]string, 1000)
				for i := range tenants {
					tenants[i] = randomSID(rng)
				}
				raw, err := tenant.EncodeIndex(tenants, time.Now())
				if err != nil {
					t.Fatal(err)
				}
				sm.Put(indexName, string(raw))
			}
			client, err := tenant.NewSecretsClient(os.Getenv)
			if err != nil {
				t.Fatal(err)
			}
			store := tenant.NewSecretsStore(client, tenant.SecretsConfig{ColdFetchesPerSecond: coldRate, ColdFetchBurst: coldBurst})

			var notFound, unavailable, other atomic.Int64
			before := heapAfterGC()
			start := time.Now()
			var wg sync.WaitGroup
			for w := range unknownWorkers {
				wg.Go(func() {
					rng := rand.New(rand.NewPCG(uint64(w)+10, 99))
					for range unknownSIDs / unknownWorkers {
						_, err := store.Lookup(context.Background(), randomSID(rng))
						switch {
						case errors.Is(err, tenant.ErrNotFound):
							notFound.Add(1)
						case errors.Is(err, tenant.ErrUnavailable):
							unavailable.Add(1)
						default:
							other.Add(1)
						}
					}
				})
			}
			wg.Wait()
			elapsed := time.Since(start)
			after := heapAfterGC()

			calls := sm.Calls("GetSecretValue") - sm.CallsFor("GetSecretValue", indexName)
			most := int(coldRate*elapsed.Seconds()) + coldBurst
			growth := int64(after) - int64(before)
			t.Logf("%d SIDs in %v: %d not found, %d over the cap; %d GetSecretValue calls for tenants (cap %d), %d for the index; heap %+.1f MB",
				unknownSIDs, elapsed.Round(time.Millisecond), notFound.Load(), unavailable.Load(), calls, most,
				sm.CallsFor("GetSecretValue", indexName), float64(growth)/(1<<20))
			if n := other.Load(); n != 0 {
				t.Errorf("%d lookups of made-up SIDs neither not found nor unavailable", n)
			}
			if calls > most {
				t.Errorf("%d GetSecretValue calls in %v, over the cap of %d a second + %d", calls, elapsed, coldRate, coldBurst)
			}
			if tc.index && calls > 50 {
				// 1,000 tenants' 3-byte prefixes let about 6 in 100,000 through.
				t.Errorf("%d GetSecretValue calls with the index, want the few SIDs it cannot rule out", calls)
			}
			if n := sm.CallsFor("GetSecretValue", indexName); n != 1 {
				t.Errorf("the index was read %d times, want once (per TTL)", n)
			}
			if growth > maxHeapGrowth {
				t.Errorf("heap grew %d MB over %d made-up SIDs, want under %d MB", growth>>20, unknownSIDs, maxHeapGrowth>>20)
			}
		})
	}
}

// randomSID is a well-formed, random AccountSid: "AC" + 32 lowercase hex.
func randomSID(rng *rand.Rand) string {
	var b [16]byte
	for i := 0; i < len(b); i += 8 {
		v := rng.Uint64()
		for j := range 8 {
			b[i+j] = byte(v >> (8 * j))
		}
	}
	return "AC" + hex.EncodeToString(b[:])
}

// heapAfterGC is the live heap once the garbage is collected.
func heapAfterGC() uint64 {
	runtime.GC()
	runtime.GC()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return m.HeapAlloc
}
