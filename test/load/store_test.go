package load_test

import (
	"context"
	"fmt"
	"os"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"bubble-twilio-voice/shared/tenant"
	fakesm "bubble-twilio-voice/test/fake/secretsmanager"
	"bubble-twilio-voice/test/kit"
)

// TestSecretsStoreConcurrentRefresh has many goroutines look up several
// tenants through a SecretsStore over the real SDK client and fakesm while
// the fake clock moves past the TTL again and again and every secret is
// rotated each time. Run under -race (make test), it checks the cache's
// locking; it also checks that every answer is the asked tenant's own
// record, that no goroutine ever sees a tenant's auth token go back to an
// older version, that each expiry costs at most one fetch per tenant, and
// that the last rotation is served once the TTL has passed.
func TestSecretsStoreConcurrentRefresh(t *testing.T) {
	const (
		tenants   = 4
		lookers   = 16
		perLooker = 400
		rotations = 20
		ttl       = time.Minute
	)
	sm := fakesm.Start(t)
	kit.SetAWSEnv(t, sm.URL())

	sids := make([]string, tenants)
	for i := range sids {
		sids[i] = fmt.Sprintf("AC%032x", 0x10ad0000+i)
		sm.Put(tenant.DefaultSecretPrefix+sids[i], rotatedRecord(sids[i], i, 0))
	}
	client, err := tenant.NewSecretsClient(os.Getenv)
	if err != nil {
		t.Fatal(err)
	}
	var clock kit.Clock
	store := tenant.NewSecretsStore(client, tenant.SecretsConfig{TTL: ttl, FetchTimeout: 2 * time.Second, Now: clock.Now})

	var lookups atomic.Int64
	done := make(chan struct{})
	var wg sync.WaitGroup
	for g := range lookers {
		wg.Go(func() {
			seen := make([]int, tenants) // highest version seen per tenant
			for n := range perLooker {
				i := (g + n) % tenants
				tn, err := store.Lookup(context.Background(), sids[i])
				lookups.Add(1)
				if err != nil {
					t.Errorf("Lookup(%s): %v", sids[i], err)
					return
				}
				owner, version, ok := parseToken(tn.AuthToken)
				if tn.AccountSID != sids[i] || !ok || owner != i {
					t.Errorf("Lookup(%s) returned %s with auth token %q", sids[i], tn.AccountSID, tn.AuthToken)
					return
				}
				if version < seen[i] {
					t.Errorf("tenant %d went back from version %d to %d", i, seen[i], version)
				}
				seen[i] = version
			}
		})
	}
	// The rotator: every perRound lookups, rotate every secret and move the
	// clock past the TTL.
	total := int64(lookers * perLooker)
	perRound := total / (rotations + 1)
	rotator := make(chan struct{})
	go func() {
		defer close(rotator)
		for r := 1; r <= rotations; r++ {
		wait:
			for lookups.Load() < int64(r)*perRound {
				select {
				case <-done:
					// The lookers are done (possibly after this loop's
					// check): rotate without waiting, so the final check
					// below always sees the last rotation.
					break wait
				default:
					runtime.Gosched()
				}
			}
			for i, sid := range sids {
				sm.Put(tenant.DefaultSecretPrefix+sid, rotatedRecord(sid, i, r))
			}
			clock.Advance(ttl + time.Second)
		}
	}()
	wg.Wait()
	close(done)
	<-rotator

	// Each clock period costs at most one fetch per tenant (+1 for the
	// first fetch, +1 for the final check below).
	clock.Advance(ttl + time.Second)
	for i, sid := range sids {
		tn, err := store.Lookup(context.Background(), sid)
		if err != nil {
			t.Fatal(err)
		}
		if _, version, _ := parseToken(tn.AuthToken); version != rotations {
			t.Errorf("tenant %d serves version %d after the TTL, want the last rotation %d", i, version, rotations)
		}
	}
	// Tenant reads and index reads apart: the store also reads the tenant
	// index (absent here) once per TTL, in the background, so how many of
	// those land before the clock moves on depends on scheduling.
	tenantCalls := 0
	for _, sid := range sids {
		tenantCalls += sm.CallsFor("GetSecretValue", tenant.DefaultSecretPrefix+sid)
	}
	if most := tenants * (rotations + 2); tenantCalls > most {
		t.Errorf("%d GetSecretValue calls for tenants, want at most %d (one per tenant per TTL)", tenantCalls, most)
	}
	indexCalls := sm.CallsFor("GetSecretValue", tenant.DefaultSecretPrefix+tenant.IndexSecretName)
	if most := rotations + 2; indexCalls > most {
		t.Errorf("%d GetSecretValue calls for the index, want at most %d (one per TTL)", indexCalls, most)
	}
	t.Logf("%d lookups, %d GetSecretValue calls for tenants, %d for the index", lookups.Load(), tenantCalls, indexCalls)
}

// rotatedRecord is tenant i's record at rotation r: its auth token names
// both, so an answer shows whose record and which version it is.
func rotatedRecord(sid string, i, r int) string {
	return fmt.Sprintf(`{"account_sid":%q,"auth_token":"tok-%d-v%d","api_key_sid":"SK%032x","api_key_secret":"secret-%d-v%d",
		"twiml_app_sid":"AP%032x","caller_id":"+14155550100","token_api_keys":["load-bearer-key-%d-0123456789"]}`,
		sid, i, r, i, i, r, i, i)
}

func parseToken(tok string) (owner, version int, ok bool) {
	rest, ok := strings.CutPrefix(tok, "tok-")
	if !ok {
		return 0, 0, false
	}
	o, v, ok := strings.Cut(rest, "-v")
	if !ok {
		return 0, 0, false
	}
	owner, err1 := strconv.Atoi(o)
	version, err2 := strconv.Atoi(v)
	return owner, version, err1 == nil && err2 == nil
}
