// Package template checks template.yaml, the SAM template, against the
// code and the Makefile: every function has its build target and package,
// runs the runtime and architecture the Makefile builds for, has exactly
// the permissions it needs (its tenants' secrets; for call events, sending
// only to the events queue, reading and writing only the recordings
// bucket), and is routed the paths its handler serves; every route has its
// own throttle (/token apart from the webhooks), parameters that could
// break the stack are refused by CloudFormation, the outputs and the
// functions' PUBLIC_BASE_URL agree on one URL in every deployment shape
// (execute-api, custom domain, custom domain with a base path, a proxy in
// front), the access log and the alarms exist and notify, logs expire, the
// events queue retries long enough before its dead-letter queue, and the
// recordings bucket is private, encrypted and expiring. Each check is also
// run on a mutated copy of the template (or Makefile) to prove it can fail.
//
// TestSAMTranslator runs AWS's SAM translator (python aws-sam-translator)
// on the template and checks the CloudFormation it becomes; TestCfnLint
// runs cfn-lint. Both need Python with `pip install aws-sam-translator
// cfn-lint`: without it they skip, except on CI (CI=true), where they fail.
package template
