// Package token mints Twilio Voice access tokens and verifies them; the
// /token endpoint that hands them out is in shared/httpapi.
package token

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"strconv"
	"time"

	"bubble-twilio-voice/shared/tenant"

	"github.com/golang-jwt/jwt/v5"
)

// headerSegment is the base64url of Twilio's fixed access-token header
// {"alg":"HS256","typ":"JWT","cty":"twilio-fpa;v=1"}, encoded once: it never
// changes, so there is no reason to marshal it per token.
var headerSegment = base64.RawURLEncoding.EncodeToString(
	[]byte(`{"alg":"HS256","typ":"JWT","cty":"twilio-fpa;v=1"}`))

// Token is a minted access token and when it stops working.
type Token struct {
	JWT       string
	ExpiresAt time.Time
}

type claims struct {
	JTI    string `json:"jti"`
	Grants grants `json:"grants"`
	IAT    int64  `json:"iat"`
	NBF    int64  `json:"nbf"`
	EXP    int64  `json:"exp"`
	ISS    string `json:"iss"`
	SUB    string `json:"sub"`
}

type grants struct {
	Identity string     `json:"identity"`
	Voice    voiceGrant `json:"voice"`
}

type voiceGrant struct {
	Incoming struct {
		Allow bool `json:"allow"`
	} `json:"incoming"`
	Outgoing struct {
		ApplicationSID string `json:"application_sid"`
	} `json:"outgoing"`
}

// Issue mints a Voice access token for identity in t's subaccount, valid from
// now for ttl. It uses golang-jwt's HS256 signer rather than twilio-go's
// jwt package, which forces a TTL of at least an hour and reads the wall
// clock itself. The caller validates identity and ttl.
func Issue(now time.Time, t *tenant.Tenant, identity string, ttl time.Duration) (Token, error) {
	iat := now.Unix()
	exp := iat + int64(ttl/time.Second)
	c := claims{
		JTI: t.APIKeySID + "-" + strconv.FormatInt(iat, 10),
		IAT: iat, NBF: iat, EXP: exp,
		ISS: t.APIKeySID, SUB: t.AccountSID,
	}
	c.Grants.Identity = identity
	c.Grants.Voice.Incoming.Allow = true
	c.Grants.Voice.Outgoing.ApplicationSID = t.TwiMLAppSID
	payload, err := json.Marshal(c)
	if err != nil {
		return Token{}, fmt.Errorf("encode token claims: %w", err)
	}
	buf := make([]byte, 0, len(headerSegment)+1+base64.RawURLEncoding.EncodedLen(len(payload))+44)
	buf = append(buf, headerSegment...)
	buf = append(buf, '.')
	buf = base64.RawURLEncoding.AppendEncode(buf, payload)
	sig, err := jwt.SigningMethodHS256.Sign(string(buf), []byte(t.APIKeySecret))
	if err != nil {
		return Token{}, fmt.Errorf("sign token: %w", err)
	}
	buf = append(buf, '.')
	buf = base64.RawURLEncoding.AppendEncode(buf, sig)
	return Token{JWT: string(buf), ExpiresAt: time.Unix(exp, 0).UTC()}, nil
}
