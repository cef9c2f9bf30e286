package twiliosig

import (
	"net/url"
	"testing"

	"github.com/twilio/twilio-go/client"
)

// benchCase is the first Node vector: a realistic voice webhook.
func benchCase(b *testing.B) (u string, form url.Values, sig, token, body string) {
	v := loadVectors(b).FormCases[0]
	form, err := url.ParseQuery(v.Body)
	if err != nil {
		b.Fatal(err)
	}
	return v.URL, form, v.Signature, v.AuthToken, v.Body
}

// BenchmarkValidate checks a genuine signature with one token. Like
// BenchmarkValidateTwilioGo it computes the HMAC of both URL forms (with and
// without the port): ValidateForm has no early exit.
func BenchmarkValidate(b *testing.B) {
	u, form, sig, token, _ := benchCase(b)
	b.ReportAllocs()
	for b.Loop() {
		if !ValidateForm(u, form, sig, token) {
			b.Fatal("invalid")
		}
	}
}

// BenchmarkValidateInvalid is the worst case: both URL forms with two tokens
// (during a rotation), and a query in the URL.
func BenchmarkValidateInvalid(b *testing.B) {
	u, form, _, token, _ := benchCase(b)
	u += "?n=O'Hara+x"
	b.ReportAllocs()
	for b.Loop() {
		if ValidateForm(u, form, "AAAAAAAAAAAAAAAAAAAAAAAAAAA=", token, "1b016a70676e43e91ae1bfce5b2ab4db") {
			b.Fatal("valid")
		}
	}
}

// BenchmarkValidateTwilioGo is twilio-go's validator on the same request:
// it computes both URL forms too, but takes a map with one value a key, so
// that conversion is left out of the loop (in its favour).
func BenchmarkValidateTwilioGo(b *testing.B) {
	u, form, sig, token, _ := benchCase(b)
	params := make(map[string]string, len(form))
	for k, vs := range form {
		params[k] = vs[0]
	}
	rv := client.NewRequestValidator(token)
	b.ReportAllocs()
	for b.Loop() {
		if !rv.Validate(u, params, sig) {
			b.Fatal("invalid")
		}
	}
}
