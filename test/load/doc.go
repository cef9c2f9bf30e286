// Package load is a bounded loopback load test of the dev server's handlers
// (TestLoad: a few hundred requests in every go test run, 20,000 mixed
// token and webhook requests at concurrency 50 with LOAD=1, as make load
// runs it), and a race-detector test of the Secrets Manager tenant cache
// under concurrent refresh and rotation.
package load
