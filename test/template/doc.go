// Package template checks template.yaml, the SAM template, against the
// code, the Makefile and the deploy documentation: every function has its
// build target and package, runs the runtime and architecture the Makefile
// builds for, runs as its own role with exactly the permissions it needs
// (its own log group, its tenants' secrets; for call events, sending only
// to the events queue, reading and writing only the recordings bucket), is
// deployed behind a live alias that CodeDeploy shifts gradually and rolls
// back on the function's Errors alarm, and is routed the paths its handler
// serves; the queue feeds the deliver function's alias through an event
// source mapping of the template; every route has its own throttle (/token
// apart from the webhooks), parameters that could break the stack are
// refused by CloudFormation, the outputs and the functions' PUBLIC_BASE_URL
// agree on one URL in every deployment shape (execute-api, custom domain
// with execute-api still on and turned off, custom domain with a base path,
// a proxy in front), the access log and the alarms exist and notify (one
// that rises while an app is down), logs expire, the events queue retries
// long enough before its dead-letter queue, the deliver function's timeout
// fits its longest message, and the recordings bucket is private, encrypted
// and expiring. Each check is also run on a mutated copy of the template
// (or Makefile) to prove it can fail.
//
// TestSAMTranslator runs AWS's SAM translator (python aws-sam-translator)
// on the template and checks the CloudFormation it becomes, with the real
// AWS managed policies SAM may attach (testdata/managed-policies.json): no
// role allows a data action on every resource, every route and queue
// invokes an alias, every resource that takes tags carries the
// cost-allocation tag. TestCfnLint runs cfn-lint. Both need Python with
// `pip install aws-sam-translator cfn-lint`: without it they skip, except
// on CI (CI=true), where they fail.
//
// TestGuidedDeployPrompts derives what `sam deploy --guided` asks from the
// template the way SAM CLI does and checks docs/deploy.md's table lists it;
// TestDeployDoc checks that page's outputs, alarm and cost tables against
// the template.
package template
