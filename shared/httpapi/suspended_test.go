package httpapi_test

import (
	"bytes"
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"bubble-twilio-voice/shared/httpapi"
	"bubble-twilio-voice/shared/logging"
	"bubble-twilio-voice/shared/recordings"
	"bubble-twilio-voice/shared/tenant"
)

// A suspended tenant of the events tests.
const (
	susAccount = "AC5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a"
	susToken   = "suspended_events_auth_token_5u5u5u"
)

func suspendedEventTenant(tb testing.TB) *tenant.Tenant {
	tb.Helper()
	t, err := tenant.Parse(fmt.Appendf(nil, `{"account_sid":%q,"auth_token":%q,"api_key_sid":%q,"api_key_secret":%q,
		"twiml_app_sid":"AP0e0e0e0e0e0e0e0e0e0e0e0e0e0e0e0e","caller_id":"+14155550100","token_api_keys":["suspended-tenant-bearer-key"],
		"status":"suspended","suspended_at":"2026-11-13T09:00:00Z","events":{"url":"https://myapp.bubbleapps.io/api/1.1/wf/call-event"}}`,
		susAccount, susToken, evKeySID, evKeySecret))
	if err != nil {
		tb.Fatal(err)
	}
	return t
}

// TestSuspendedTenantCallbacks: a suspended tenant's status callbacks are
// still acknowledged and their events queued, so its app learns how the
// calls that suspend ended came out.
func TestSuspendedTenantCallbacks(t *testing.T) {
	h := newEventHarness(t, httpapi.EventDeps{})
	h.deps.Store = tenant.NewMemoryStore(append(h.tenants, suspendedEventTenant(t))...)
	h.handler = httpapi.All(h.deps)
	form := statusForm(susAccount, "From", "client:alice", "To", "+14155550123", "CallStatus", "completed", "CallDuration", "42")
	if w := h.post(httpapi.PathCallStatus, form, susToken); w.Code != http.StatusNoContent {
		t.Fatalf("status %d: %s", w.Code, w.Body)
	}
	got := queuedEvents(t, h.queue)
	if len(got) != 1 || got[0].Event.AccountSID != susAccount || got[0].Event.Type != tenant.EventCallCompleted {
		t.Errorf("queued %+v", got)
	}
}

// TestRecordingLinkOfSuspendedOrClosedTenant is issue 20 item 5 at the
// links, recordings' and transcripts'. Before it, a genuine link played whatever became of its tenant:
// reproduction: suspend the tenant (or close it: its record is gone), open
// a link sent before: 302/200. Now 404 while suspended, 404 once unknown,
// and 503 (not 404) when the store cannot answer.
func TestRecordingLinkOfSuspendedOrClosedTenant(t *testing.T) {
	rig := newLinkRig(t)
	active, suspended := eventTenant(t, evAccount, evAuthToken, ""), suspendedEventTenant(t)
	const closedAccount = "AC0c0c0c0c0c0c0c0c0c0c0c0c0c0c0c0c"
	var lookupErr error
	mem := tenant.NewMemoryStore(active, suspended)
	store := tenant.StoreFunc(func(ctx context.Context, sid string) (*tenant.Tenant, error) {
		if lookupErr != nil {
			return nil, lookupErr
		}
		return mem.Lookup(ctx, sid)
	})
	public := httpapi.All(httpapi.Deps{
		Store: store, PublicBaseURL: publicBase, Now: rig.clock.Now, Log: logging.New(&rig.logs, "debug"),
		Events: httpapi.EventDeps{Recordings: rig.store, Links: rig.links},
	})
	for _, acct := range []string{evAccount, susAccount, closedAccount} {
		if err := rig.store.Put(context.Background(), recordings.Key(acct, evRecording), bytes.NewReader(mediaMP3), int64(len(mediaMP3))); err != nil {
			t.Fatal(err)
		}
		if err := rig.store.Put(context.Background(), recordings.TranscriptTextKey(acct, evRecording), strings.NewReader("the text"), 8); err != nil {
			t.Fatal(err)
		}
	}
	// Each kind of link: a recording's, and a long transcript's (which
	// came later and must follow the same rule).
	link := map[string]func(acct string, rec string, expires time.Time) string{
		"recording": rig.links.URL, "transcript": rig.links.TranscriptURL,
	}
	get := func(kind, acct string) int {
		u, _ := url.Parse(link[kind](acct, evRecording, rig.clock.Now().Add(48*3600e9)))
		w := httptest.NewRecorder()
		r := httptest.NewRequest(http.MethodGet, u.RequestURI(), nil)
		r.Host = publicHost
		public.ServeHTTP(w, r)
		return w.Code
	}
	for _, tc := range []struct {
		name    string
		account string
		err     error
		want    int
	}{
		{"active", evAccount, nil, 200},
		{"suspended", susAccount, nil, 404},
		{"closed (unknown)", closedAccount, nil, 404},
		{"store unavailable", evAccount, tenant.ErrUnavailable, 503},
	} {
		lookupErr = tc.err
		for kind := range link {
			if got := get(kind, tc.account); got != tc.want {
				t.Errorf("%s %s link: %d, want %d", tc.name, kind, got, tc.want)
			}
		}
	}
	assertCleanLogs(t, rig.logs.String())
}
