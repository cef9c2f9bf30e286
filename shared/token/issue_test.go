package token

import (
	"encoding/base64"
	"encoding/json"
	"os"
	"reflect"
	"strings"
	"testing"
	"time"

	"bubble-twilio-voice/shared/tenant"

	"github.com/golang-jwt/jwt/v5"
	twiliojwt "github.com/twilio/twilio-go/client/jwt"
)

// vector is one token made by Twilio's Node library with a frozen clock
// (testdata/tokens.json, copied from the shared vectors).
type vector struct {
	Now          int64          `json:"now"`
	AccountSID   string         `json:"account_sid"`
	APIKeySID    string         `json:"api_key_sid"`
	APIKeySecret string         `json:"api_key_secret"`
	TwiMLAppSID  string         `json:"twiml_app_sid"`
	Identity     string         `json:"identity"`
	TTL          int            `json:"ttl"`
	JWT          string         `json:"jwt"`
	Header       map[string]any `json:"header"`
	Payload      map[string]any `json:"payload"`
}

func loadVectors(t testing.TB) []vector {
	t.Helper()
	data, err := os.ReadFile("testdata/tokens.json")
	if err != nil {
		t.Fatal(err)
	}
	var f struct {
		Cases []vector `json:"cases"`
	}
	if err := json.Unmarshal(data, &f); err != nil {
		t.Fatal(err)
	}
	if len(f.Cases) == 0 {
		t.Fatal("no vectors in testdata/tokens.json")
	}
	return f.Cases
}

func (v vector) tenant() *tenant.Tenant {
	return &tenant.Tenant{
		AccountSID: v.AccountSID, APIKeySID: v.APIKeySID, APIKeySecret: v.APIKeySecret,
		TwiMLAppSID: v.TwiMLAppSID, TokenTTLSeconds: v.TTL,
	}
}

// decodeSegment decodes one base64url JWT segment as a JSON object.
func decodeSegment(t *testing.T, seg string) map[string]any {
	t.Helper()
	raw, err := base64.RawURLEncoding.DecodeString(seg)
	if err != nil {
		t.Fatalf("segment %q: %v", seg, err)
	}
	var m map[string]any
	if err := json.Unmarshal(raw, &m); err != nil {
		t.Fatalf("segment %s: %v", raw, err)
	}
	return m
}

// parse verifies tok with golang-jwt's parser at the given time.
func parse(tok, secret string, at time.Time) (*jwt.Token, error) {
	return jwt.Parse(tok, func(*jwt.Token) (any, error) { return []byte(secret), nil },
		jwt.WithValidMethods([]string{"HS256"}),
		jwt.WithTimeFunc(func() time.Time { return at }),
		jwt.WithIssuedAt(),
		jwt.WithExpirationRequired(),
	)
}

func TestIssueMatchesTwilioVectors(t *testing.T) {
	for _, v := range loadVectors(t) {
		t.Run(v.Identity[:min(len(v.Identity), 12)], func(t *testing.T) {
			now := time.Unix(v.Now, 0)
			tok, err := Issue(now, v.tenant(), v.Identity, time.Duration(v.TTL)*time.Second)
			if err != nil {
				t.Fatal(err)
			}
			segs := strings.Split(tok.JWT, ".")
			if len(segs) != 3 {
				t.Fatalf("JWT has %d segments", len(segs))
			}
			wantSegs := strings.Split(v.JWT, ".")
			if segs[0] != wantSegs[0] {
				t.Errorf("header segment %q, Node made %q", segs[0], wantSegs[0])
			}
			if h := decodeSegment(t, segs[0]); !reflect.DeepEqual(h, v.Header) {
				t.Errorf("header = %v, want %v", h, v.Header)
			}
			got := decodeSegment(t, segs[1])
			for _, k := range []string{"iss", "sub", "jti", "exp", "grants"} {
				if !reflect.DeepEqual(got[k], v.Payload[k]) {
					t.Errorf("claim %s = %#v, Node made %#v", k, got[k], v.Payload[k])
				}
			}
			// Node adds iat and no nbf; we add both, at now.
			if got["iat"] != v.Payload["iat"] || got["iat"] != float64(v.Now) {
				t.Errorf("iat = %v, want %d", got["iat"], v.Now)
			}
			if got["nbf"] != float64(v.Now) {
				t.Errorf("nbf = %v, want %d", got["nbf"], v.Now)
			}
			if want := time.Unix(v.Now+int64(v.TTL), 0).UTC(); !tok.ExpiresAt.Equal(want) || tok.ExpiresAt.Location() != time.UTC {
				t.Errorf("ExpiresAt = %v, want %v", tok.ExpiresAt, want)
			}

			// golang-jwt accepts ours (and Node's, as a check on the harness)
			// with the right secret while valid ...
			for name, s := range map[string]string{"ours": tok.JWT, "node": v.JWT} {
				p, err := parse(s, v.APIKeySecret, now.Add(time.Duration(v.TTL-1)*time.Second))
				if err != nil || !p.Valid {
					t.Errorf("%s token did not verify: %v", name, err)
				}
			}
			// ... and refuses it with another secret, after exp, or before nbf.
			if _, err := parse(tok.JWT, v.APIKeySecret+"x", now); err == nil {
				t.Error("verified with the wrong secret")
			}
			if _, err := parse(tok.JWT, v.APIKeySecret, now.Add(time.Duration(v.TTL+1)*time.Second)); err == nil {
				t.Error("verified after exp")
			}
			if _, err := parse(tok.JWT, v.APIKeySecret, now.Add(-2*time.Minute)); err == nil {
				t.Error("verified before nbf")
			}
		})
	}
}

// TestIssueNodeSignatureInput checks our signer against Node's signature:
// re-signing Node's own header.payload with our HS256 path must reproduce
// Node's signature byte for byte.
func TestIssueNodeSignatureInput(t *testing.T) {
	for _, v := range loadVectors(t) {
		i := strings.LastIndexByte(v.JWT, '.')
		sig, err := jwt.SigningMethodHS256.Sign(v.JWT[:i], []byte(v.APIKeySecret))
		if err != nil {
			t.Fatal(err)
		}
		if got := base64.RawURLEncoding.EncodeToString(sig); got != v.JWT[i+1:] {
			t.Errorf("%s: signature %s, Node made %s", v.Identity, got, v.JWT[i+1:])
		}
	}
}

func TestIssueSubSecondClock(t *testing.T) {
	v := loadVectors(t)[0]
	now := time.Unix(v.Now, 999_999_999) // claims are whole seconds
	tok, err := Issue(now, v.tenant(), v.Identity, time.Duration(v.TTL)*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	got := decodeSegment(t, strings.Split(tok.JWT, ".")[1])
	for _, k := range []string{"jti", "iat", "exp"} {
		if got[k] != v.Payload[k] {
			t.Errorf("claim %s = %v with a sub-second clock, Node made %v", k, got[k], v.Payload[k])
		}
	}
	if tok.ExpiresAt.Unix() != v.Now+int64(v.TTL) {
		t.Errorf("ExpiresAt = %d, want %d", tok.ExpiresAt.Unix(), v.Now+int64(v.TTL))
	}
}

func BenchmarkIssue(b *testing.B) {
	v := loadVectors(b)[0]
	tn, now, ttl := v.tenant(), time.Unix(v.Now, 0), time.Duration(v.TTL)*time.Second
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Issue(now, tn, v.Identity, ttl); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkIssueTwilioGo is the same token made with twilio-go's jwt package,
// the reference Issue is measured against.
func BenchmarkIssueTwilioGo(b *testing.B) {
	v := loadVectors(b)[0]
	b.ReportAllocs()
	for b.Loop() {
		if _, err := twilioGoToken(v); err != nil {
			b.Fatal(err)
		}
	}
}

// twilioGoToken mints v's token with twilio-go's jwt package: the reference
// for the benchmark and the agreement test.
func twilioGoToken(v vector) (string, error) {
	at := twiliojwt.CreateAccessToken(twiliojwt.AccessTokenParams{
		AccountSid: v.AccountSID, SigningKeySid: v.APIKeySID, Secret: v.APIKeySecret,
		Identity: v.Identity, Ttl: float64(v.TTL),
	})
	at.AddGrant(&twiliojwt.VoiceGrant{
		Incoming: twiliojwt.Incoming{Allow: true},
		Outgoing: twiliojwt.Outgoing{ApplicationSid: v.TwiMLAppSID},
	})
	return at.ToJwt()
}

// TestIssueAgreesWithTwilioGo compares our token with twilio-go's for the
// same inputs. twilio-go reads the wall clock, so only the time-independent
// parts are compared exactly.
func TestIssueAgreesWithTwilioGo(t *testing.T) {
	v := loadVectors(t)[0] // ttl 3600: twilio-go raises anything shorter to an hour
	theirs, err := twilioGoToken(v)
	if err != nil {
		t.Fatal(err)
	}
	tok, err := Issue(time.Now(), v.tenant(), v.Identity, time.Duration(v.TTL)*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	ours := strings.Split(tok.JWT, ".")
	their := strings.Split(theirs, ".")
	if h1, h2 := decodeSegment(t, ours[0]), decodeSegment(t, their[0]); !reflect.DeepEqual(h1, h2) {
		t.Errorf("header %v, twilio-go %v", h1, h2)
	}
	p1, p2 := decodeSegment(t, ours[1]), decodeSegment(t, their[1])
	for _, k := range []string{"iss", "sub", "grants"} {
		if !reflect.DeepEqual(p1[k], p2[k]) {
			t.Errorf("%s = %v, twilio-go %v", k, p1[k], p2[k])
		}
	}
	if p2["exp"].(float64)-p2["nbf"].(float64) != p1["exp"].(float64)-p1["nbf"].(float64) {
		t.Errorf("lifetime differs: ours %v..%v, twilio-go %v..%v", p1["nbf"], p1["exp"], p2["nbf"], p2["exp"])
	}
	if _, err := parse(theirs, v.APIKeySecret, time.Now()); err != nil {
		t.Errorf("twilio-go token does not verify with our parser settings: %v", err)
	}
}
