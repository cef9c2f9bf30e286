// Package template checks template.yaml, the SAM template, against the
// code and the Makefile: every function has its build target and package,
// runs the runtime and architecture the Makefile builds for, has exactly
// the permissions it needs (its tenants' secrets; for call events, sending
// only to the events queue, reading and writing only the recordings
// bucket), and is routed the paths its handler serves; the API is
// throttled, logs expire and the alarms exist; the events queue retries
// long enough before its dead-letter queue, and the recordings bucket is
// private, encrypted and expiring. Each check is also run on
// a mutated copy of the template (or Makefile) to prove it can fail.
package template
