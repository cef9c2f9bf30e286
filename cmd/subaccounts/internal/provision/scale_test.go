package provision_test

import (
	"context"
	"fmt"
	"os"
	"testing"
	"time"

	"bubble-twilio-voice/cmd/subaccounts/internal/provision"
	"bubble-twilio-voice/shared/tenant"
	"bubble-twilio-voice/test/kit"
)

// subSID returns the SID of the subaccount named name.
func (e *env) subSID(name string) string {
	e.t.Helper()
	for _, a := range e.tw.Subaccounts() {
		if a.FriendlyName == name {
			return a.SID
		}
	}
	e.t.Fatalf("no subaccount named %q", name)
	return ""
}

// TestCreateWithLaggingListing is issue 20 item 1. Reproduction on the
// release before it: ListSecrets is eventually consistent ("might not
// reflect changes from the last five minutes"); create rebuilt the index
// from the listing only, printed "index ...: unchanged", and the new tenant
// was refused by every container (401 at /token, 403 at the webhooks) until
// a later create, close or reindex. Now create adds the SID it wrote and
// keeps the ones written lately, and a warm container (index read a minute
// earlier, TTL 5 minutes) serves the new tenant once create returns.
func TestCreateWithLaggingListing(t *testing.T) {
	e := newEnv(t)
	e.sm.SetClock(e.clock.Now)
	e.sm.SetListLag(5 * time.Minute)
	kit.SetAWSEnv(t, e.sm.URL())
	client, err := tenant.NewSecretsClient(os.Getenv)
	if err != nil {
		t.Fatal(err)
	}
	store := tenant.NewSecretsStore(client, tenant.SecretsConfig{Now: e.clock.Now})

	var sids []string
	for i := range 3 {
		name := fmt.Sprint("customer-", i)
		e.mustCreate(provision.CreateOptions{Name: name, CallerID: "+14155550100"})
		sids = append(sids, e.subSID(name))
		for _, sid := range sids {
			if !e.indexed(sid) {
				t.Errorf("after create %d, the index does not admit %s", i, sid)
			}
			if _, err := store.Lookup(context.Background(), sid); err != nil {
				t.Errorf("after create %d, a warm store refuses %s: %v", i, sid, err)
			}
		}
		e.clock.Advance(time.Minute)
	}
}
