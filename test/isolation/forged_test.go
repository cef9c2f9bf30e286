package isolation_test

import (
	"crypto/rand"
	"encoding/hex"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"strings"
	"testing"
	"time"

	"bubble-twilio-voice/shared/httpapi"
	"bubble-twilio-voice/shared/phone"
	"bubble-twilio-voice/shared/tenant"
	fakesm "bubble-twilio-voice/test/fake/secretsmanager"
	"bubble-twilio-voice/test/kit"
)

// TestForgedSIDsCannotSpendTenantsBudget is issue 20 item 3. Reproduction
// on the release before it: the index kept the first 3 bytes of each
// tenant's SID, so 40 well-formed AccountSids sharing the first 8 hex digits
// of tenant A's, sent to /token with "Bearer x", all passed it: 21 paid
// GetSecretValue calls (the cold burst of 20, then 1 a second), the
// container's cold-fetch budget spent, and the next correct request for
// tenant B, not yet cached, answered 503 (with the budget of
// shared/ratelimit since, forged SIDs over it get the 503s and B waits for
// a token); the same through unsigned webhooks. With the keyed index 80 of them (40 of each) cost at most 5
// paid calls in all and B is served.
func TestForgedSIDsCannotSpendTenantsBudget(t *testing.T) {
	sm := fakesm.Start(t)
	kit.SetAWSEnv(t, sm.URL())
	index := tenant.DefaultSecretPrefix + tenant.IndexSecretName
	raw, err := tenant.EncodeIndex([]string{tenantA.sid, tenantB.sid}, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	sm.Put(index, string(raw))
	sm.Put(tenant.DefaultSecretPrefix+tenantA.sid, tenantA.record)
	sm.Put(tenant.DefaultSecretPrefix+tenantB.sid, tenantB.record)
	client, err := tenant.NewSecretsClient(os.Getenv)
	if err != nil {
		t.Fatal(err)
	}
	clock := kit.NewClock(time.Date(2026, 12, 7, 8, 0, 0, 0, time.UTC))
	store := tenant.NewSecretsStore(client, tenant.SecretsConfig{Now: clock.Now})
	d := httpapi.Deps{Store: store, Now: clock.Now, Log: slog.New(slog.DiscardHandler), PublicBaseURL: publicBase, Numbers: phone.Library{}}
	tok, hooks := httpapi.Token(d), httpapi.All(d)

	// A burst, as a stranger would send it: 10 ms apart.
	statuses := map[int]int{}
	for range 40 {
		var b [12]byte
		_, _ = rand.Read(b[:])
		forged := tenantA.sid[:10] + hex.EncodeToString(b[:])
		statuses[serve(tok, tokenRequest(forged, "x")).Code]++
		clock.Advance(10 * time.Millisecond)
	}
	if statuses[http.StatusUnauthorized] != 40 {
		t.Errorf("40 forged SIDs answered %v, want 401 to all", statuses)
	}
	if w := serve(tok, tokenRequest(tenantB.sid, tenantB.bearer)); w.Code != http.StatusOK {
		t.Errorf("tenant B after the forged SIDs: %d %s, want 200", w.Code, strings.TrimSpace(w.Body.String()))
	}

	// The same on the webhooks: an unsigned request reaches the lookup.
	for range 40 {
		var b [12]byte
		_, _ = rand.Read(b[:])
		form := url.Values{"AccountSid": {tenantA.sid[:10] + hex.EncodeToString(b[:])}, "From": {"client:alice_a"}, "To": {"+14155550123"}}
		r := httptest.NewRequest(http.MethodPost, httpapi.PathVoice, strings.NewReader(form.Encode()))
		r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		if w := serve(hooks, r); w.Code != http.StatusForbidden {
			t.Errorf("unsigned webhook of a forged SID: %d, want 403", w.Code)
		}
	}
	// Every GetSecretValue is paid: the index's reads count too.
	if paid := sm.Calls("GetSecretValue"); paid > 5 {
		t.Errorf("80 forged SIDs cost %d paid GetSecretValue calls (%d of the index), want at most 5", paid, sm.CallsFor("GetSecretValue", index))
	}
}
