package isolation_test

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"encoding/xml"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"

	"bubble-twilio-voice/shared/httpapi"
	"bubble-twilio-voice/shared/phone"
	"bubble-twilio-voice/shared/tenant"
	"bubble-twilio-voice/shared/twiliosig"
)

const publicBase = "https://voice.example.test"

// Two tenants with nothing in common. Their client identities differ so a
// TwiML answer shows whose route it came from.
const (
	sidA = "AC0000000000000000000000000000000a"
	sidB = "AC0000000000000000000000000000000b"
)

type fixture struct {
	sid, authToken, prevToken, keySID, keySecret, appSID, bearer string
	callerID, extraCallerID, number                              string
	clients                                                      []string
	record                                                       string
}

var tenantA, tenantB = newFixture("a", sidA, "+14155550100", "+14155550101", []string{"alice_a", "anne_a"}, true),
	newFixture("b", sidB, "+12125550100", "+12125550101", []string{"bob_b", "bill_b"}, false)

func newFixture(n, sid, callerID, extra string, clients []string, withDefault bool) fixture {
	f := fixture{
		sid: sid, authToken: "auth-token-" + n, prevToken: "previous-auth-token-" + n,
		keySID: "SK000000000000000000000000000000" + n + n, keySecret: "api-key-secret-" + n,
		appSID: "AP000000000000000000000000000000" + n + n, bearer: "bearer-key-of-tenant-" + n,
		callerID: callerID, extraCallerID: extra, number: callerID, clients: clients,
	}
	def := ""
	if withDefault {
		def = fmt.Sprintf(`,"default":{"clients":[%q]}`, "support_"+n)
	}
	cl, _ := json.Marshal(clients)
	f.record = fmt.Sprintf(`{"account_sid":%q,"auth_token":%q,"previous_auth_token":%q,"api_key_sid":%q,
		"api_key_secret":%q,"twiml_app_sid":%q,"caller_id":%q,"caller_ids":[%q],"token_api_keys":[%q],
		"outbound":{"allowed_countries":["US"]},
		"incoming":{"numbers":{%q:{"clients":%s}}%s}}`,
		f.sid, f.authToken, f.prevToken, f.keySID, f.keySecret, f.appSID, f.callerID, f.extraCallerID, f.bearer,
		f.number, cl, def)
	return f
}

// handlers are the token and webhook handlers over one store holding both
// tenants, as one deployment serves them.
func handlers(t *testing.T) (tok, hooks http.Handler) {
	t.Helper()
	store, err := tenant.ParseFile([]byte("[" + tenantA.record + "," + tenantB.record + "]"))
	if err != nil {
		t.Fatal(err)
	}
	now := func() time.Time { return time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC) }
	log := slog.New(slog.DiscardHandler)
	d := httpapi.Deps{Store: store, Now: now, Log: log, PublicBaseURL: publicBase, Numbers: phone.Library{}}
	return httpapi.Token(d), httpapi.All(d)
}

func tokenRequest(accountSID, bearer string) *http.Request {
	body := fmt.Sprintf(`{"account_sid":%q,"identity":"alice_a"}`, accountSID)
	r := httptest.NewRequest(http.MethodPost, "/token", strings.NewReader(body))
	r.Header.Set("Content-Type", "application/json")
	r.Header.Set("Authorization", "Bearer "+bearer)
	return r
}

// webhookRequest is a form POST to path signed with authToken.
func webhookRequest(path string, form url.Values, authToken string) *http.Request {
	r := httptest.NewRequest(http.MethodPost, path, strings.NewReader(form.Encode()))
	r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	r.Header.Set(twiliosig.Header, twiliosig.Sign(publicBase+path, form, authToken))
	return r
}

func serve(h http.Handler, r *http.Request) *httptest.ResponseRecorder {
	w := httptest.NewRecorder()
	h.ServeHTTP(w, r)
	return w
}

// TestBearerKeyIsPerTenant: a tenant's key mints only for its own account,
// and a wrong key looks exactly like an unknown account.
func TestBearerKeyIsPerTenant(t *testing.T) {
	tok, _ := handlers(t)
	unknown := serve(tok, tokenRequest("ACffffffffffffffffffffffffffffffff", tenantA.bearer))
	tests := []struct {
		name    string
		account string
		bearer  string
		status  int
	}{
		{"A's key for A", sidA, tenantA.bearer, http.StatusOK},
		{"B's key for B", sidB, tenantB.bearer, http.StatusOK},
		{"A's key for B", sidB, tenantA.bearer, http.StatusUnauthorized},
		{"B's key for A", sidA, tenantB.bearer, http.StatusUnauthorized},
		{"A's API key secret for A", sidA, tenantA.keySecret, http.StatusUnauthorized},
		{"A's auth token for A", sidA, tenantA.authToken, http.StatusUnauthorized},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			w := serve(tok, tokenRequest(tc.account, tc.bearer))
			if w.Code != tc.status {
				t.Fatalf("status %d, want %d: %s", w.Code, tc.status, w.Body)
			}
			if tc.status == http.StatusUnauthorized && w.Body.String() != unknown.Body.String() {
				t.Errorf("wrong key answer %q differs from unknown account %q", w.Body, unknown.Body)
			}
		})
	}
}

// TestWebhookSignedByAnotherTenant: a webhook carrying B's AccountSid but
// signed with A's token (current or previous) is refused on every path; a
// request naming both accounts is judged by the first only.
func TestWebhookSignedByAnotherTenant(t *testing.T) {
	_, hooks := handlers(t)
	paths := []string{httpapi.PathVoice, httpapi.PathIncoming, httpapi.PathDialComplete, httpapi.PathRecordingComplete}
	form := func(accounts ...string) url.Values {
		return url.Values{"AccountSid": accounts, "CallSid": {"CA00000000000000000000000000000001"},
			"From": {"+13105550142"}, "To": {tenantB.number}, "DialCallStatus": {"no-answer"}}
	}
	tests := []struct {
		name     string
		form     url.Values
		token    string
		status   int
		tenantOf *fixture // whose route must answer a 200
	}{
		{"B's account, A's token", form(sidB), tenantA.authToken, http.StatusForbidden, nil},
		{"B's account, A's previous token", form(sidB), tenantA.prevToken, http.StatusForbidden, nil},
		{"A's account, B's token", form(sidA), tenantB.authToken, http.StatusForbidden, nil},
		{"B first then A, A's token", form(sidB, sidA), tenantA.authToken, http.StatusForbidden, nil},
		{"A first then B, A's token: served as A", form(sidA, sidB), tenantA.authToken, http.StatusOK, &tenantA},
		{"B's account, B's token", form(sidB), tenantB.authToken, http.StatusOK, &tenantB},
		{"B's account, B's previous token", form(sidB), tenantB.prevToken, http.StatusOK, &tenantB},
	}
	for _, tc := range tests {
		for _, path := range paths {
			t.Run(tc.name+" "+path, func(t *testing.T) {
				w := serve(hooks, webhookRequest(path, tc.form, tc.token))
				if w.Code != tc.status {
					t.Fatalf("status %d, want %d: %s", w.Code, tc.status, w.Body)
				}
				if tc.tenantOf != nil {
					other := tenantA
					if tc.tenantOf.sid == sidA {
						other = tenantB
					}
					for _, c := range clientsIn(t, w.Body.String()) {
						if slices.Contains(other.clients, c) || strings.HasSuffix(c, "_"+other.sid[len(other.sid)-1:]) {
							t.Errorf("%s's request rang %s's client %q", tc.tenantOf.sid, other.sid, c)
						}
					}
				}
			})
		}
	}
}

// TestTokenCarriesOnlyItsTenant: the JWT minted for a tenant names only its
// own SIDs, and is signed with its own API key secret only.
func TestTokenCarriesOnlyItsTenant(t *testing.T) {
	tok, _ := handlers(t)
	for _, tc := range []struct{ mine, other fixture }{{tenantA, tenantB}, {tenantB, tenantA}} {
		t.Run(tc.mine.sid, func(t *testing.T) {
			w := serve(tok, tokenRequest(tc.mine.sid, tc.mine.bearer))
			if w.Code != http.StatusOK {
				t.Fatalf("status %d: %s", w.Code, w.Body)
			}
			var resp httpapi.TokenResponse
			if err := json.Unmarshal(w.Body.Bytes(), &resp); err != nil {
				t.Fatal(err)
			}
			parts := strings.Split(resp.Token, ".")
			if len(parts) != 3 {
				t.Fatalf("token %q is not a JWT", resp.Token)
			}
			payload, err := base64.RawURLEncoding.DecodeString(parts[1])
			if err != nil {
				t.Fatal(err)
			}
			var claims struct {
				Jti, Iss, Sub string
				Grants        struct {
					Voice struct {
						Outgoing struct {
							ApplicationSID string `json:"application_sid"`
						}
					}
				}
			}
			if err := json.Unmarshal(payload, &claims); err != nil {
				t.Fatal(err)
			}
			if claims.Iss != tc.mine.keySID || claims.Sub != tc.mine.sid ||
				claims.Grants.Voice.Outgoing.ApplicationSID != tc.mine.appSID || !strings.HasPrefix(claims.Jti, tc.mine.keySID+"-") {
				t.Errorf("claims %+v do not name %s's SIDs", claims, tc.mine.sid)
			}
			for _, s := range []string{tc.other.sid, tc.other.keySID, tc.other.appSID, tc.other.keySecret, tc.mine.keySecret} {
				if strings.Contains(string(payload), s) || strings.Contains(w.Body.String(), s) {
					t.Errorf("token response carries %q: %s", s, payload)
				}
			}
			if !hs256Valid(parts, tc.mine.keySecret) {
				t.Error("token is not signed with its tenant's API key secret")
			}
			if hs256Valid(parts, tc.other.keySecret) {
				t.Error("token verifies with the other tenant's API key secret")
			}
		})
	}
}

func hs256Valid(parts []string, secret string) bool {
	m := hmac.New(sha256.New, []byte(secret))
	m.Write([]byte(parts[0] + "." + parts[1]))
	sig, err := base64.RawURLEncoding.DecodeString(parts[2])
	return err == nil && hmac.Equal(sig, m.Sum(nil))
}

// TestRoutingStaysInTenant: an incoming call rings only the signing
// tenant's clients, whatever number it names.
func TestRoutingStaysInTenant(t *testing.T) {
	_, hooks := handlers(t)
	tests := []struct {
		name   string
		caller fixture
		to     string
		want   []string // clients rung; nil: refused
	}{
		{"A's number for A", tenantA, tenantA.number, tenantA.clients},
		{"B's number for A: A's default", tenantA, tenantB.number, []string{"support_a"}},
		{"B's number for B", tenantB, tenantB.number, tenantB.clients},
		{"A's number for B: no route", tenantB, tenantA.number, nil},
	}
	for _, tc := range tests {
		for _, path := range []string{httpapi.PathIncoming, httpapi.PathVoice} {
			t.Run(tc.name+" "+path, func(t *testing.T) {
				form := url.Values{"AccountSid": {tc.caller.sid}, "CallSid": {"CA00000000000000000000000000000002"},
					"From": {"+13105550142"}, "To": {tc.to}}
				w := serve(hooks, webhookRequest(path, form, tc.caller.authToken))
				if w.Code != http.StatusOK {
					t.Fatalf("status %d: %s", w.Code, w.Body)
				}
				if got := clientsIn(t, w.Body.String()); !slices.Equal(got, tc.want) {
					t.Errorf("rang %q, want %q: %s", got, tc.want, w.Body)
				}
			})
		}
	}
}

// TestCallerIDIsPerTenant: a browser on A may present A's numbers only.
func TestCallerIDIsPerTenant(t *testing.T) {
	_, hooks := handlers(t)
	tests := []struct {
		name     string
		caller   fixture
		callerID string
		allowed  bool
	}{
		{"A presents A's caller_id", tenantA, tenantA.callerID, true},
		{"A presents A's caller_ids", tenantA, tenantA.extraCallerID, true},
		{"A presents B's caller_id", tenantA, tenantB.callerID, false},
		{"A presents B's caller_ids", tenantA, tenantB.extraCallerID, false},
		{"B presents A's caller_id", tenantB, tenantA.callerID, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			form := url.Values{"AccountSid": {tc.caller.sid}, "CallSid": {"CA00000000000000000000000000000003"},
				"From": {"client:alice"}, "To": {"+13105550142"}, "CallerId": {tc.callerID}}
			w := serve(hooks, webhookRequest(httpapi.PathVoice, form, tc.caller.authToken))
			body := w.Body.String()
			if w.Code != http.StatusOK {
				t.Fatalf("status %d: %s", w.Code, body)
			}
			dialled := strings.Contains(body, `callerId="`+tc.callerID+`"`) && strings.Contains(body, "<Number>+13105550142</Number>")
			if dialled != tc.allowed {
				t.Errorf("dialled with %s = %v, want %v: %s", tc.callerID, dialled, tc.allowed, body)
			}
			if !tc.allowed && strings.Contains(body, "<Dial") {
				t.Errorf("refused caller ID still dials: %s", body)
			}
		})
	}
}

// misfiled is a Secrets Manager whose secret for every name holds B's
// record, as if an operator pasted the wrong record.
type misfiled struct{}

func (misfiled) GetSecretValue(_ context.Context, _ *secretsmanager.GetSecretValueInput, _ ...func(*secretsmanager.Options)) (*secretsmanager.GetSecretValueOutput, error) {
	s := tenantB.record
	return &secretsmanager.GetSecretValueOutput{SecretString: &s}, nil
}

// TestMisfiledSecret: B's record stored under A's secret name never serves
// A's traffic, through either handler.
func TestMisfiledSecret(t *testing.T) {
	store := tenant.NewSecretsStore(misfiled{}, tenant.SecretsConfig{})
	tn, err := store.Lookup(context.Background(), sidA)
	if tn != nil || !errors.Is(err, tenant.ErrUnavailable) {
		t.Fatalf("Lookup(A) = %v, %v; want no tenant and ErrUnavailable", tn, err)
	}
	log := slog.New(slog.DiscardHandler)
	d := httpapi.Deps{Store: store, Now: time.Now, Log: log, PublicBaseURL: publicBase, Numbers: phone.Library{}}
	tok, hooks := httpapi.Token(d), httpapi.All(d)
	for _, bearer := range []string{tenantA.bearer, tenantB.bearer} {
		if w := serve(tok, tokenRequest(sidA, bearer)); w.Code == http.StatusOK {
			t.Errorf("token for A with %s's key minted from B's record: %s", bearer, w.Body)
		}
	}
	for _, authToken := range []string{tenantA.authToken, tenantB.authToken} {
		form := url.Values{"AccountSid": {sidA}, "From": {"+13105550142"}, "To": {tenantB.number}}
		if w := serve(hooks, webhookRequest(httpapi.PathIncoming, form, authToken)); w.Code == http.StatusOK {
			t.Errorf("webhook for A signed with %s served from B's record: %s", authToken, w.Body)
		}
	}
}

// clientsIn lists the <Client> identities of a TwiML document, nil for
// none.
func clientsIn(t *testing.T, doc string) []string {
	t.Helper()
	// A ringing browser is <Client><Identity>id</Identity><Parameter .../>
	// </Client>; a browser-to-browser call is <Client>id</Client>.
	var resp struct {
		Dial struct {
			Clients []struct {
				Text     string `xml:",chardata"`
				Identity string `xml:"Identity"`
			} `xml:"Client"`
		} `xml:"Dial"`
	}
	if err := xml.Unmarshal([]byte(doc), &resp); err != nil {
		t.Fatalf("TwiML %q: %v", doc, err)
	}
	var out []string
	for _, c := range resp.Dial.Clients {
		out = append(out, c.Identity+strings.TrimSpace(c.Text))
	}
	return out
}
