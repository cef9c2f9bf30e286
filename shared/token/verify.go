package token

import (
	"errors"
	"fmt"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

// Claims is what a verified Voice access token says.
type Claims struct {
	ID              string // jti: the API key SID and the issue time
	APIKeySID       string // iss
	AccountSID      string // sub
	Identity        string
	ApplicationSID  string // the TwiML App of outgoing calls
	IncomingAllowed bool
	IssuedAt        time.Time
	NotBefore       time.Time
	ExpiresAt       time.Time
}

// parsedClaims is the token's payload as golang-jwt decodes it.
type parsedClaims struct {
	jwt.RegisteredClaims
	Grants grants `json:"grants"`
}

// Verify checks that s is a Voice access token signed with apiKeySecret
// (HS256 with Twilio's "twilio-fpa;v=1" content type), valid at now, and
// returns its claims. It is the one decoder of our tokens: tests, the dev
// server and the CLI's check all use it, so none of them re-declares the
// token's shape.
func Verify(s, apiKeySecret string, now time.Time) (Claims, error) {
	var pc parsedClaims
	tok, err := jwt.ParseWithClaims(s, &pc,
		func(*jwt.Token) (any, error) { return []byte(apiKeySecret), nil },
		jwt.WithValidMethods([]string{jwt.SigningMethodHS256.Alg()}),
		jwt.WithTimeFunc(func() time.Time { return now }),
		jwt.WithIssuedAt(),
		jwt.WithExpirationRequired())
	if err != nil {
		return Claims{}, fmt.Errorf("verify access token: %w", err)
	}
	if cty, _ := tok.Header["cty"].(string); cty != "twilio-fpa;v=1" {
		return Claims{}, errors.New("verify access token: content type is not twilio-fpa;v=1")
	}
	if pc.Issuer == "" || pc.Subject == "" || pc.Grants.Identity == "" {
		return Claims{}, errors.New("verify access token: iss, sub and identity are required")
	}
	c := Claims{
		ID: pc.ID, APIKeySID: pc.Issuer, AccountSID: pc.Subject,
		Identity:        pc.Grants.Identity,
		ApplicationSID:  pc.Grants.Voice.Outgoing.ApplicationSID,
		IncomingAllowed: pc.Grants.Voice.Incoming.Allow,
		ExpiresAt:       pc.ExpiresAt.Time,
	}
	if pc.IssuedAt != nil {
		c.IssuedAt = pc.IssuedAt.Time
	}
	if pc.NotBefore != nil {
		c.NotBefore = pc.NotBefore.Time
	}
	return c, nil
}

// Subject returns the account SID a token says it is for (its sub), read
// without checking the signature: only to know whose API key secret to
// Verify it with. Nothing else may trust it. ok is false for anything that
// is not a JWT with a string sub.
func Subject(s string) (accountSID string, ok bool) {
	var rc jwt.RegisteredClaims
	if _, _, err := jwt.NewParser().ParseUnverified(s, &rc); err != nil || rc.Subject == "" {
		return "", false
	}
	return rc.Subject, true
}
