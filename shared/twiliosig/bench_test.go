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

func BenchmarkValidate(b *testing.B) {
	u, form, sig, token, _ := benchCase(b)
	b.ReportAllocs()
	for b.Loop() {
		if !ValidateForm(u, form, sig, token) {
			b.Fatal("invalid")
		}
	}
}

// BenchmarkValidateInvalid is the worst case: every URL form, two tokens.
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
