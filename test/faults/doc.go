// Package faults holds fault-injection tests: Secrets Manager failures
// (throttling, 500s, slow answers, refused connections, malformed answers, a
// rotation to a record that does not parse), played by fakesm, reached by the
// real SDK client and the real token and webhook handlers. They check that
// cached tenants keep working for SECRET_MAX_STALE, that cold fetches give up
// within the fetch deadline with 503 (and Retry-After on /token), and that
// each outage is logged once per tenant, not once per request.
package faults
