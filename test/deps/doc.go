// Package deps checks what the binaries link. No main package under
// functions/ or cmd/ may depend on package testing or on anything under
// test/ (the fakes and the kit): cmd/ binaries are production tools too. The
// Lambda functions under functions/ may not carry twilio-go's REST client
// either (size, cold start, attack surface): only cmd/subaccounts provisions,
// and Go's internal/ rule already keeps its cmd/subaccounts/internal/provision
// out of every other binary. Nor the AWS SDK's SQS client (sqsqueue calls
// SQS: the SDK's client costs about 330 KB of a bootstrap), and only the
// events and deliver functions the S3 client.
//
// The dependencies are those go list reports for the host with default
// build tags, a superset of what the linux/arm64 lambda.norpc build links.
package deps
