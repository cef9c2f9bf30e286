package template

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path"
	"slices"
	"strings"
)

// dataActions read or write what a stack holds or carries: messages,
// objects, secret values, plaintext under a key, log lines, invocations,
// notifications. No role may allow one of them on Resource "*" (or with
// NotResource), whatever its conditions: a role is scoped to this stack's
// queues, bucket, secrets, key, log groups and functions. Patterns use IAM's
// wildcards, and an action pattern of a statement ("sqs:*") that matches any
// of them counts.
var dataActions = []string{
	"s3:GetObject*", "s3:PutObject*", "s3:DeleteObject*", "s3:ListBucket*", "s3:RestoreObject",
	"sqs:ReceiveMessage", "sqs:DeleteMessage*", "sqs:SendMessage*", "sqs:ChangeMessageVisibility*", "sqs:PurgeQueue",
	"sns:Publish",
	"secretsmanager:GetSecretValue", "secretsmanager:PutSecretValue", "secretsmanager:BatchGetSecretValue",
	"kms:Decrypt", "kms:Encrypt", "kms:GenerateDataKey*", "kms:ReEncrypt*",
	"logs:PutLogEvents", "logs:GetLogEvents", "logs:FilterLogEvents", "logs:StartQuery",
	"lambda:InvokeFunction", "lambda:InvokeFunctionUrl",
	"dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:UpdateItem", "dynamodb:DeleteItem", "dynamodb:Query", "dynamodb:Scan", "dynamodb:Batch*",
}

// isDataAction reports whether an action, or an action pattern, of a
// statement covers a data action. IAM action names are case-insensitive.
func isDataAction(action string) bool {
	a := strings.ToLower(action)
	for _, d := range dataActions {
		d = strings.ToLower(d)
		if ok, _ := path.Match(d, a); ok {
			return true
		}
		if ok, _ := path.Match(a, d); ok {
			return true
		}
		// "sqs:Send*" in a statement covers "sqs:SendMessage*" of the list.
		if ok, _ := path.Match(a, strings.TrimSuffix(d, "*")); ok {
			return true
		}
	}
	return false
}

// managedPolicy is one recorded AWS managed policy.
type managedPolicy struct {
	ARN      string         `json:"arn"`
	Version  string         `json:"version"`
	Source   string         `json:"source"`
	Document map[string]any `json:"document"`
}

// loadManagedPolicies reads testdata/managed-policies.json, by ARN.
func loadManagedPolicies() (map[string]managedPolicy, error) {
	b, err := os.ReadFile(managedPoliciesFile)
	if err != nil {
		return nil, err
	}
	var byName map[string]managedPolicy
	if err := json.Unmarshal(b, &byName); err != nil {
		return nil, fmt.Errorf("%s: %w", managedPoliciesFile, err)
	}
	out := map[string]managedPolicy{}
	for name, p := range byName {
		if !strings.HasSuffix(p.ARN, "/"+name) || p.Document == nil {
			return nil, fmt.Errorf("%s: %s has ARN %q and document %v", managedPoliciesFile, name, p.ARN, p.Document)
		}
		out[p.ARN] = p
	}
	return out, nil
}

// leastPrivilegeParams are the deployments checked: the defaults, and a
// customer-managed key with a custom domain (every conditional role and
// policy present).
var leastPrivilegeParams = []map[string]string{
	nil,
	{"SecretsKmsKeyArn": "arn:aws:kms:us-east-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab",
		"DomainName": "voice.example.com", "CertificateArn": testCertificate, "AlarmEmail": "ops@example.com"},
}

// checkSAMLeastPrivilege reads every role of the transformed template, as
// CloudFormation creates it: its inline policies, the AWS::IAM::Policy
// resources attached to it, and its managed policies, both the template's
// own (AWS::IAM::ManagedPolicy) and AWS's, whose documents come from
// testdata/managed-policies.json (SAM adds AWS managed policies by ARN; one
// not recorded there fails, so what it allows cannot go unseen). No Allow
// statement may grant a data action on every resource.
func checkSAMLeastPrivilege(c cfn) error {
	recorded, err := loadManagedPolicies()
	if err != nil {
		return err
	}
	var errs []error
	for _, params := range leastPrivilegeParams {
		e, err := newEvaluator(c, params)
		if err != nil {
			return err
		}
		// Every policy document a role ends up with, by role.
		docs := map[string][]any{}
		for _, id := range c.ofType("AWS::IAM::Role") {
			r := c.resource(id)
			if cond, _ := r["Condition"].(string); cond != "" {
				if on, err := e.condition(cond); err != nil || !on {
					continue
				}
			}
			policies, err := e.eval(dig(r, "Properties", "Policies"))
			if err != nil {
				return err
			}
			for _, p := range asList(policies) {
				docs[id] = append(docs[id], dig(p, "PolicyDocument"))
			}
			managed, err := e.eval(dig(r, "Properties", "ManagedPolicyArns"))
			if err != nil {
				return err
			}
			for _, m := range asList(managed) {
				arn := strings.ReplaceAll(fmt.Sprint(m), "${AWS::Partition}", "aws")
				if own, ok := strings.CutPrefix(arn, "${"); ok {
					own = strings.TrimSuffix(own, "}")
					if c.resource(own)["Type"] != "AWS::IAM::ManagedPolicy" {
						errs = append(errs, fmt.Errorf("%s: managed policy %s is not an AWS::IAM::ManagedPolicy of this template", id, own))
						continue
					}
					doc, err := e.eval(dig(c.resource(own), "Properties", "PolicyDocument"))
					if err != nil {
						return err
					}
					docs[id] = append(docs[id], doc)
					continue
				}
				p, ok := recorded[arn]
				if !ok {
					errs = append(errs, fmt.Errorf("%s: managed policy %s is not recorded in %s; add its document (IAM console, or aws iam get-policy-version) so this check sees what it allows", id, arn, managedPoliciesFile))
					continue
				}
				docs[id] = append(docs[id], p.Document)
			}
		}
		for _, id := range c.ofType("AWS::IAM::Policy") {
			props, err := e.eval(dig(c.resource(id), "Properties"))
			if err != nil {
				return err
			}
			for _, role := range asList(dig(props, "Roles")) {
				docs[fmt.Sprint(role)] = append(docs[fmt.Sprint(role)], dig(props, "PolicyDocument"))
			}
		}
		for _, role := range slices.Sorted(mapsKeys(docs)) {
			for _, doc := range docs[role] {
				for _, st := range asList(dig(doc, "Statement")) {
					if dig(st, "Effect") != "Allow" {
						continue
					}
					resources := stringsOf(dig(st, "Resource"))
					everything := slices.Contains(resources, "*") || dig(st, "NotResource") != nil
					if !everything {
						continue
					}
					actions := stringsOf(dig(st, "Action"))
					if dig(st, "NotAction") != nil {
						actions = []string{"*"}
					}
					for _, a := range actions {
						if isDataAction(a) {
							errs = append(errs, fmt.Errorf("with %v: role %s allows %s on every resource", params, role, a))
						}
					}
				}
			}
		}
	}
	return errors.Join(errs...)
}

// mapsKeys returns a map's keys (for slices.Sorted).
func mapsKeys[V any](m map[string]V) func(func(string) bool) {
	return func(yield func(string) bool) {
		for k := range m {
			if !yield(k) {
				return
			}
		}
	}
}

// checkSAMAliases: every function, as CloudFormation creates it, has a
// live alias that CodeDeploy moves (UpdatePolicy) through a deployment
// group that shifts gradually by default, rolls back on an alarm, and
// watches the function's Errors alarm; nothing invokes a function other
// than through its alias (API Gateway's permissions, checked in
// checkSAMPermissions, and the event source mappings here).
func checkSAMAliases(c cfn) error {
	var errs []error
	for _, fn := range c.ofType("AWS::Lambda::Function") {
		alias := c.resource(aliasID(fn))
		p, _ := dig(alias, "Properties").(map[string]any)
		if alias["Type"] != "AWS::Lambda::Alias" || p["Name"] != liveAlias || dig(p, "FunctionName", "Ref") != fn {
			errs = append(errs, fmt.Errorf("%s: no %s alias (%v)", fn, liveAlias, alias))
			continue
		}
		group := fmt.Sprint(dig(alias, "UpdatePolicy", "CodeDeployLambdaAliasUpdate", "DeploymentGroupName", "Ref"))
		g, _ := dig(c.resource(group), "Properties").(map[string]any)
		if g == nil {
			errs = append(errs, fmt.Errorf("%s: its alias is not moved by a CodeDeploy deployment group", fn))
			continue
		}
		config := fmt.Sprint(g["DeploymentConfigName"])
		if !strings.Contains(config, "Canary") && !strings.Contains(config, "Linear") {
			errs = append(errs, fmt.Errorf("%s: deployment config %s, want a canary or linear shift by default", fn, config))
		}
		if dig(g, "AutoRollbackConfiguration", "Enabled") != true || !slices.Contains(stringsOf(dig(g, "AutoRollbackConfiguration", "Events")), "DEPLOYMENT_STOP_ON_ALARM") {
			errs = append(errs, fmt.Errorf("%s: deployment group %s does not roll back on an alarm: %v", fn, group, g["AutoRollbackConfiguration"]))
		}
		errorsAlarm := ""
		for _, a := range c.ofType("AWS::CloudWatch::Alarm") {
			ap, _ := dig(c.resource(a), "Properties").(map[string]any)
			dims, _ := ap["Dimensions"].([]any)
			if ap["MetricName"] == "Errors" && ap["Namespace"] == "AWS/Lambda" && len(dims) == 1 && dig(dims[0], "Value", "Ref") == fn {
				errorsAlarm = a
			}
		}
		var watched []string
		for _, a := range asList(dig(g, "AlarmConfiguration", "Alarms")) {
			watched = append(watched, fmt.Sprint(dig(a, "Name", "Ref")))
		}
		if dig(g, "AlarmConfiguration", "Enabled") != true || errorsAlarm == "" || !slices.Contains(watched, errorsAlarm) {
			errs = append(errs, fmt.Errorf("%s: deployment group %s watches %v, want its Errors alarm %q", fn, group, watched, errorsAlarm))
		}
	}
	for _, id := range c.ofType("AWS::Lambda::EventSourceMapping") {
		ref := fmt.Sprint(dig(c.resource(id), "Properties", "FunctionName", "Ref"))
		if !strings.HasSuffix(ref, "Alias"+liveAlias) {
			errs = append(errs, fmt.Errorf("event source mapping %s invokes %s, not a %s alias", id, ref, liveAlias))
		}
	}
	return errors.Join(errs...)
}

// checkSAMTags: every resource CloudFormation will create whose type takes
// Tags (by cfn-lint's resource schemas) carries the cost-allocation tag,
// the HTTP API in its OpenAPI body where SAM puts it.
func checkSAMTags(c cfn) error {
	types, ok := c["x-taggable-types"].([]any)
	if !ok {
		return errors.New("no taggable types: cfn-lint's schemas are needed for this check")
	}
	taggable := map[string]bool{}
	for _, t := range types {
		taggable[fmt.Sprint(t)] = true
	}
	var errs []error
	for id, r := range dig(map[string]any(c), "Resources").(map[string]any) {
		typ := fmt.Sprint(dig(r, "Type"))
		if !taggable[typ] {
			continue
		}
		tags := map[string]string{}
		switch v := dig(r, "Properties", "Tags").(type) {
		case []any: // [{Key, Value}]
			for _, t := range v {
				tags[fmt.Sprint(dig(t, "Key"))] = fmt.Sprint(dig(t, "Value"))
			}
		case map[string]any: // API Gateway v2: a map
			for k, x := range v {
				tags[k] = fmt.Sprint(x)
			}
		}
		for _, t := range asList(dig(r, "Properties", "Body", "tags")) {
			tags[fmt.Sprint(dig(t, "name"))] = fmt.Sprint(dig(t, "x-amazon-apigateway-tag-value"))
		}
		for k, v := range costTag {
			if tags[k] != v {
				errs = append(errs, fmt.Errorf("%s (%s) has tags %v, want %s=%v", id, typ, tags, k, v))
			}
		}
	}
	return errors.Join(errs...)
}
