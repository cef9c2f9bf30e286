package delivery_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"testing"
	"time"

	"bubble-twilio-voice/shared/delivery"
	"bubble-twilio-voice/shared/metrics"
	"bubble-twilio-voice/shared/queue"
	"bubble-twilio-voice/shared/recordings"
	"bubble-twilio-voice/shared/tenant"
	fakesm "bubble-twilio-voice/test/fake/secretsmanager"
	"bubble-twilio-voice/test/kit"
)

const newAccount = "AC0d0d0d0d0d0d0d0d0d0d0d0d0d0d0d0d"

// TestDeliverNewTenant is issue 20 item 4. Before it, an event of a tenant
// the deliver container did not know yet was answered as done: no POST, no
// dead letter, one log line. Reproduction: the deliver function's store
// (the real SecretsStore, on the Secrets Manager wire fake) looks the SID
// up before its secret exists and caches "not found"; the secret is
// written; the events function (which reads the secret fresh) queues a
// call.completed; the deliver function's first attempt dropped it. Now
// every attempt looks the tenant up without a cached "not found", so the
// first one delivers.
func TestDeliverNewTenant(t *testing.T) {
	rig := newDeliverRig(t, "disk")
	rig.app.set(answer(200))
	sm := fakesm.Start(t)
	kit.SetAWSEnv(t, sm.URL())
	client, err := tenant.NewSecretsClient(os.Getenv)
	if err != nil {
		t.Fatal(err)
	}
	store := tenant.NewSecretsStore(client, tenant.SecretsConfig{Now: rig.clock.Now})
	rig.deps.Store = store
	ctx := context.Background()
	if _, err := store.Lookup(ctx, newAccount); !errors.Is(err, tenant.ErrNotFound) {
		t.Fatalf("before create: %v", err)
	}

	sm.Put(tenant.DefaultSecretPrefix+newAccount, fmt.Sprintf(tenantRecord, newAccount, `,"events":{"url":"`+rig.app.srv.URL+`/api/1.1/wf/call-event"}`))
	if _, err := store.Lookup(ctx, newAccount); !errors.Is(err, tenant.ErrNotFound) {
		t.Fatalf("reproduction: the deliver store's Lookup answered %v, want its cached ErrNotFound", err)
	}
	res := rig.deliver(completedMessage(newAccount), 1, 0)
	if res.Kind != queue.Delivered || len(rig.app.events(t)) != 1 {
		t.Fatalf("result %+v, %d posts, want delivered once\n%s", res, len(rig.app.events(t)), rig.logs.String())
	}
	if n := sm.CallsFor("GetSecretValue", tenant.DefaultSecretPrefix+newAccount); n != 2 {
		t.Errorf("%d reads of the tenant's secret, want 2 (one before create, one fresh; the second Lookup was answered from memory)", n)
	}
	// Cached now: later events cost no call.
	if res := rig.deliver(completedMessage(newAccount), 1, 0); res.Kind != queue.Delivered {
		t.Fatalf("second event: %+v", res)
	}
	if n := sm.CallsFor("GetSecretValue", tenant.DefaultSecretPrefix+newAccount); n != 2 {
		t.Errorf("a cached tenant cost a call: %d reads", n)
	}
}

// TestDeliverUnknownTenant follows an event whose tenant never appears (or
// was closed): every attempt asks again without the cached "not found"
// (within the store's caps), none posts, and once events.MaxAge has passed
// it is dead-lettered with reason tenant_not_found.
func TestDeliverUnknownTenant(t *testing.T) {
	rig := newDeliverRig(t, "disk")
	rig.app.set(answer(200))
	fresh := 0
	rig.deps.Store = refresher{
		Store: tenant.StoreFunc(func(context.Context, string) (*tenant.Tenant, error) {
			t.Error("Lookup, which may answer a cached not found")
			return nil, tenant.ErrNotFound
		}),
		fresh: func(context.Context, string) (*tenant.Tenant, error) { fresh++; return nil, tenant.ErrNotFound },
	}
	var emf kit.LogBuffer
	rig.deps.Metrics = metrics.New(&emf, "deliver", rig.clock.Now)
	body := completedMessage(newAccount)
	var sentAgo time.Duration
	for attempt := 1; ; attempt++ {
		res := rig.deliver(body, attempt, sentAgo)
		if fresh != attempt {
			t.Fatalf("attempt %d: %d fresh lookups", attempt, fresh)
		}
		if res.Kind == queue.DeadLettered {
			if res.Reason != delivery.ReasonTenantNotFound || sentAgo < 24*time.Hour {
				t.Fatalf("dead-lettered %+v after %v", res, sentAgo)
			}
			break
		}
		if res.Kind != queue.Retry || res.Reason != delivery.ReasonTenantNotFound {
			t.Fatalf("attempt %d: %+v, want a retry for tenant_not_found", attempt, res)
		}
		sentAgo += res.RetryAfter
	}
	dl := rig.dlq.Messages()
	if len(dl) != 1 || dl[0].Attributes[queue.AttrReason] != "tenant_not_found" || string(dl[0].Body) != string(body) {
		t.Errorf("dead letters %+v", dl)
	}
	if n := len(rig.app.events(t)); n != 0 {
		t.Errorf("%d posts for an unknown tenant", n)
	}
	if !strings.Contains(emf.String(), `"EventDeadLettered":1`) {
		t.Errorf("no EventDeadLettered metric:\n%s", emf.String())
	}
	assertCleanLogs(t, rig.logs.String())
}

// TestDeliverNotWanted: an event of a type the tenant no longer takes is
// not sent, on purpose, and counted (it used to leave only a log line).
func TestDeliverNotWanted(t *testing.T) {
	rig := newDeliverRig(t, "disk")
	rig.app.set(answer(200))
	var emf kit.LogBuffer
	rig.deps.Metrics = metrics.New(&emf, "deliver", rig.clock.Now)
	res := rig.deliver(completedMessage(plainAccount), 1, 0)
	if res.Kind != queue.Delivered || len(rig.app.events(t)) != 0 || len(rig.dlq.Messages()) != 0 {
		t.Fatalf("result %+v", res)
	}
	if !strings.Contains(emf.String(), `"EventNotWanted":1`) || !strings.Contains(emf.String(), `"Reason":"call.completed"`) {
		t.Errorf("EventNotWanted not counted by type:\n%s", emf.String())
	}
}

// refresher is a store that remembers "not found": Lookup answers from
// memory, LookupFresh asks again.
type refresher struct {
	tenant.Store
	fresh func(context.Context, string) (*tenant.Tenant, error)
}

func (r refresher) LookupFresh(ctx context.Context, sid string) (*tenant.Tenant, error) {
	return r.fresh(ctx, sid)
}

// TestDeliverSuspendedTenant: a suspended tenant's events are delivered as
// any other's, so its app learns how its calls ended.
func TestDeliverSuspendedTenant(t *testing.T) {
	rig := newDeliverRig(t, "disk")
	rig.app.set(answer(200))
	sus, err := tenant.Parse(fmt.Appendf(nil, tenantRecord, newAccount,
		`,"status":"suspended","suspended_at":"2026-11-13T09:00:00Z","events":{"url":"`+rig.app.srv.URL+`/api/1.1/wf/call-event"}`))
	if err != nil {
		t.Fatal(err)
	}
	rig.deps.Store = tenant.NewMemoryStore(sus)
	if res := rig.deliver(completedMessage(newAccount), 1, 0); res.Kind != queue.Delivered || len(rig.app.events(t)) != 1 {
		t.Fatalf("result %+v, %d posts", res, len(rig.app.events(t)))
	}
}

// TestDeliverSuspendedTenantRecording: a suspended subaccount cannot use
// its own key (Twilio answers 20403 "account lacks permission", 10001
// "Account is not active"; the Twilio fake 401 20005), so the recording
// of its recording events cannot be copied. Before, the event waited as
// for any failed download and, after 24 h, was dead-lettered as "gave up
// after 24h0m0s: recording copy failed", with nothing saying why. Now the
// reason names the suspension; other failures of a suspended tenant, and
// a refusal for an active one, keep the plain reason.
func TestDeliverSuspendedTenantRecording(t *testing.T) {
	for _, tc := range []struct {
		name      string
		suspended bool
		status    int
		sentAgo   time.Duration
		wantKind  queue.Kind
		want      string
	}{
		{"suspended, 401", true, 401, 0, queue.Retry, "recording copy failed: " + delivery.ReasonSuspendedRecording},
		{"suspended, 403", true, 403, 0, queue.Retry, "recording copy failed: " + delivery.ReasonSuspendedRecording},
		{"suspended, 401 after 24 h", true, 401, 25 * time.Hour, queue.DeadLettered,
			"gave up after 24h0m0s: recording copy failed: " + delivery.ReasonSuspendedRecording},
		{"suspended, Twilio down", true, 500, 0, queue.Retry, "recording copy failed"},
		{"active, 401", false, 401, 0, queue.Retry, "recording copy failed"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rig := newDeliverRig(t, "disk")
			rig.app.set(answer(200))
			if tc.suspended {
				rig.tenantEvent.Status, rig.tenantEvent.SuspendedAt = tenant.StatusSuspended, "2026-12-07T12:00:00Z"
			}
			refusing := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(tc.status) }))
			t.Cleanup(refusing.Close)
			fetcher, err := recordings.NewFetcher(refusing.URL)
			if err != nil {
				t.Fatal(err)
			}
			rig.deps.Fetcher = fetcher
			res := rig.deliver(voicemailMessage(refusing.URL+"/2010-04-01/Accounts/"+evAccount+"/Recordings/"+evRecording), 3, tc.sentAgo)
			if res.Kind != tc.wantKind || res.Reason != tc.want {
				t.Errorf("result %+v, want %s with reason %q", res, tc.wantKind, tc.want)
			}
			if len(rig.app.events(t)) != 0 {
				t.Error("posted without its recording")
			}
		})
	}
}
