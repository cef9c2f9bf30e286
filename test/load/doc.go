// Package load is a bounded loopback load test of the dev server's handlers
// (TestLoad: a few hundred requests in every go test run, 20,000 mixed
// token and webhook requests at concurrency 50 with LOAD=1, as make load
// runs it), a race-detector test of the Secrets Manager tenant cache under
// concurrent refresh and rotation, and the flood of made-up AccountSids
// (TestUnknownTenantsCostNothing: 100,000 random SIDs, Secrets Manager calls
// held under the cold fetch cap, heap flat).
package load
