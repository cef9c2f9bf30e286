// Package hygiene runs every handler path (token successes and errors,
// webhook steps signed and unsigned, refusals, tenant store failures) with
// the logger and metrics writing to one buffer, and fails if any line holds
// a secret: a tenant's auth token, previous auth token, API key secret or
// bearer key, a JWT, or an X-Twilio-Signature sent during the run. It also
// checks that no response carries a store's internal error text. The
// call-event paths (callbacks, delivery under every app answer, recording
// copies and links) get the same check for their own secrets: the events
// bearer token and signing secret, a token in the events URL, the link
// key, link signatures and presigned URLs.
package hygiene
