// Package template checks template.yaml, the SAM template, against the
// code and the Makefile: every function has its build target and package,
// runs the runtime and architecture the Makefile builds for, may read only
// its tenants' secrets, and is routed the paths its handler serves; the API
// is throttled, logs expire and the alarms exist. Each check is also run on
// a mutated copy of the template (or Makefile) to prove it can fail.
package template
