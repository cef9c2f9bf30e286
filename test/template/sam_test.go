package template

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"
)

// installHint says how to get the tools these tests run.
const installHint = "install them with: pip install aws-sam-translator cfn-lint (Python 3.9+)"

// minTranslator is the oldest SAM translator that knows LoggingConfig, which
// every function uses (first bundled in SAM CLI 1.103.0).
var minTranslator = [2]int{1, 80}

// requireTool skips the test when a tool is missing, except on CI (CI set
// to anything but "false"), where the tools are installed and a missing one
// is a failure.
func requireTool(t *testing.T, what string) {
	t.Helper()
	if ci := os.Getenv("CI"); ci != "" && ci != "false" {
		t.Fatalf("%s is missing on CI; %s", what, installHint)
	}
	t.Skipf("%s is missing; %s", what, installHint)
}

// translate is a Python program that runs the SAM translator, as `sam
// deploy` has CloudFormation run it, on each template it reads (a JSON list
// of YAML texts on stdin), and writes a JSON list of {"template": ...} or
// {"error": ...}. Local CodeUris become S3 URIs as `sam package` makes them.
// The policy loader knows the real names and ARNs of the AWS managed
// policies recorded in testdata/managed-policies.json (argv[1]), as SAM
// CLI's loader would from IAM, so a template naming one gets its real ARN.
// Each template also gets "x-taggable-types": which of its resource types
// take Tags, from cfn-lint's CloudFormation resource schemas (null without
// cfn-lint).
const translate = `
import json, sys
from samtranslator.yaml_helper import yaml_parse
from samtranslator.translator.transform import transform

class ManagedPolicies:
    def load(self):
        return {name: p["arn"] for name, p in json.load(open(sys.argv[1])).items()}

def taggable(types):
    # cfn-lint's schema files, read directly: importing cfnlint takes seconds.
    import importlib.util, os, re
    spec = importlib.util.find_spec("cfnlint")
    if spec is None:
        return None
    schemas = os.path.join(spec.submodule_search_locations[0], "data", "schemas")
    index = dict(re.findall(r'"([A-Za-z0-9:]+)": "([0-9a-f]+)"', open(os.path.join(schemas, "providers", "us_east_1.py")).read()))
    return sorted(t for t in types if "Tags" in json.load(open(os.path.join(schemas, "resources", index[t] + ".json"))).get("properties", {}))

out = []
for text in json.load(sys.stdin):
    try:
        tmpl = yaml_parse(text)
        for lid, r in tmpl.get("Resources", {}).items():
            p = r.get("Properties") or {}
            if r.get("Type") == "AWS::Serverless::Function" and isinstance(p.get("CodeUri"), str) and not p["CodeUri"].startswith("s3://"):
                p["CodeUri"] = "s3://bucket/" + lid + ".zip"
        doc = transform(tmpl, {}, ManagedPolicies())
        doc["x-taggable-types"] = taggable({r["Type"] for r in doc["Resources"].values()})
        out.append({"template": doc})
    except Exception as e:
        out.append({"error": "%s: %s" % (type(e).__name__, e)})
json.dump(out, sys.stdout)
`

// managedPoliciesFile holds the AWS managed policies SAM may attach, as IAM
// has them (see each entry's source): the checks read what a role really
// allows from it, and a role with a managed policy not recorded there fails.
const managedPoliciesFile = "testdata/managed-policies.json"

// python is the interpreter the SAM translator and cfn-lint are installed for.
func python() string {
	if p := os.Getenv("PYTHON"); p != "" {
		return p
	}
	return "python3"
}

// translatorVersion returns the installed SAM translator's version, or an
// error when there is none.
func translatorVersion() ([2]int, string, error) {
	out, err := exec.Command(python(), "-c", "import samtranslator; print(samtranslator.__version__)").Output()
	if err != nil {
		return [2]int{}, "", err
	}
	v := strings.TrimSpace(string(out))
	m := regexp.MustCompile(`^(\d+)\.(\d+)`).FindStringSubmatch(v)
	if m == nil {
		return [2]int{}, v, fmt.Errorf("unreadable version %q", v)
	}
	major, _ := strconv.Atoi(m[1])
	minor, _ := strconv.Atoi(m[2])
	return [2]int{major, minor}, v, nil
}

// transformed runs the SAM translator on each template and returns the
// CloudFormation each becomes, or the translator's error for it.
func transformed(t *testing.T, templates []string) ([]map[string]any, []error) {
	t.Helper()
	in, err := json.Marshal(templates)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, python(), "-c", translate, managedPoliciesFile)
	cmd.Stdin = bytes.NewReader(in)
	// The translator wants a region for its pseudo parameters; nothing else
	// of the environment's AWS settings matters, and no AWS call is made.
	cmd.Env = append(os.Environ(), "AWS_DEFAULT_REGION=us-east-1", "AWS_REGION=us-east-1")
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("SAM translator: %v\n%s", err, stderr.String())
	}
	var results []struct {
		Template map[string]any `json:"template"`
		Error    string         `json:"error"`
	}
	if err := json.Unmarshal(out, &results); err != nil || len(results) != len(templates) {
		t.Fatalf("SAM translator output (%v): %.500s", err, out)
	}
	docs, errs := make([]map[string]any, len(results)), make([]error, len(results))
	for i, r := range results {
		docs[i] = r.Template
		if r.Error != "" {
			errs[i] = errors.New(r.Error)
		}
	}
	return docs, errs
}

// cfn is a transformed template: plain CloudFormation.
type cfn map[string]any

func (c cfn) resource(id string) map[string]any {
	r, _ := dig(map[string]any(c), "Resources", id).(map[string]any)
	return r
}

func (c cfn) ofType(typ string) []string {
	var ids []string
	for id, r := range dig(map[string]any(c), "Resources").(map[string]any) {
		if dig(r, "Type") == typ {
			ids = append(ids, id)
		}
	}
	slices.Sort(ids)
	return ids
}

// functionIDs maps the function names of expectedRoutes to logical IDs.
var functionIDs = map[string]string{"token": "TokenFunction", "voice": "VoiceFunction", "incoming": "IncomingFunction", "events": "EventsFunction", "calls": "CallsFunction"}

// samChecks run on the translator's output for template.yaml; each must
// pass on it and fail on the mutated template named with it.
var samChecks = []struct {
	name     string
	check    func(cfn) error
	mutation mutation
}{
	{"routes: one integration per route, to its function", checkSAMRoutes,
		mutation{"catch-all step route", false, "Path: /incoming/recording-complete, Method: POST", "Path: \"/incoming/{step}\", Method: POST"}},
	{"permissions: API Gateway may invoke each function on its routes only", checkSAMPermissions,
		mutation{"route moved to another function", false, "Properties: {ApiId: !Ref HttpApi, Path: /voice, Method: POST}", "Properties: {ApiId: !Ref HttpApi, Path: /voice, Method: PUT}"}},
	{"stage: throttle per route, access log", checkSAMStage,
		mutation{"a route without settings", false, "        \"POST /incoming\": {ThrottlingBurstLimit: !Ref WebhookThrottleBurst, ThrottlingRateLimit: !Ref WebhookThrottleRate}\n", ""}},
	{"domain: only with DomainName, mapped to the API's stage, execute-api off", checkSAMDomain,
		mutation{"mapping without the condition", false, "    Condition: HasDomain\n    Properties:\n      DomainName: !Ref ApiDomainName\n", "    Properties:\n      DomainName: !Ref ApiDomainName\n"}},
	{"outputs and PUBLIC_BASE_URL: one URL per deployment shape", checkSAMOneURL,
		mutation{"VoiceUrl always on execute-api", false, voiceURLOutput, "  VoiceUrl:\n    Description: x\n    Value: !Sub https://${HttpApi}.execute-api.${AWS::Region}.${AWS::URLSuffix}/voice\n"}},
	{"policies: GetSecretValue on the prefix, kms:Decrypt only with a key and only through Secrets Manager", checkSAMPolicies,
		mutation{"kms:Decrypt without its conditions", false, "            Condition:\n              StringEquals:\n                kms:ViaService: !Sub secretsmanager.${AWS::Region}.${AWS::URLSuffix}\n              StringLike:\n                kms:EncryptionContext:SecretARN: !Sub arn:${AWS::Partition}:secretsmanager:${AWS::Region}:${AWS::AccountId}:secret:${SecretPrefix}*\n", ""}},
	{"least privilege: no role allows a data action on every resource, with what SAM adds", checkSAMLeastPrivilege,
		mutation{"SAM's CodeDeploy role (AWSCodeDeployRoleForLambda)", false, "        Alarms: [!Ref TokenErrorsAlarm]\n        Role: !GetAtt DeployRole.Arn\n", "        Alarms: [!Ref TokenErrorsAlarm]\n"}},
	{"least privilege: the SQS execution policy is caught", checkSAMLeastPrivilege,
		mutation{"AWSLambdaSQSQueueExecutionRole on deliver", false, "      ManagedPolicyArns: !If [HasKmsKey, [!Ref TenantSecretsKeyPolicy], !Ref AWS::NoValue]\n      Policies:\n        - PolicyName: deliver", "      ManagedPolicyArns: [!Sub \"arn:${AWS::Partition}:iam::aws:policy/service-role/AWSLambdaSQSQueueExecutionRole\"]\n      Policies:\n        - PolicyName: deliver"}},
	{"least privilege: a managed policy nobody recorded fails", checkSAMLeastPrivilege,
		mutation{"AdministratorAccess on voice", false, "      ManagedPolicyArns: !If [HasKmsKey, [!Ref TenantSecretsKeyPolicy], !Ref AWS::NoValue]\n      Policies:\n        - PolicyName: voice", "      ManagedPolicyArns: [arn:aws:iam::aws:policy/AdministratorAccess]\n      Policies:\n        - PolicyName: voice"}},
	{"aliases: routes and the queue invoke live; CodeDeploy shifts it, rolled back by the Errors alarm", checkSAMAliases,
		mutation{"voice without an alias", false, "      AutoPublishAlias: live\n      DeploymentPreference:\n        Type: !Ref DeploymentType\n        Alarms: [!Ref VoiceErrorsAlarm]\n        Role: !GetAtt DeployRole.Arn\n", ""}},
	{"tags: every resource that takes tags carries the cost-allocation tag", checkSAMTags,
		mutation{"an untagged queue", false, "      MessageRetentionPeriod: 345600\n      RedrivePolicy:\n        deadLetterTargetArn: !GetAtt EventsDeadLetterQueue.Arn\n        maxReceiveCount: 25\n      Tags:\n        - {Key: app, Value: bubble-twilio-voice}\n", "      MessageRetentionPeriod: 345600\n      RedrivePolicy:\n        deadLetterTargetArn: !GetAtt EventsDeadLetterQueue.Arn\n        maxReceiveCount: 25\n"}},
	{"functions: 5 s, arm64, own log group", checkSAMFunctions,
		mutation{"default log group", false, "      LoggingConfig:\n        LogGroup: !Ref VoiceLogGroup\n", ""}},
	{"rules kept", func(c cfn) error {
		rules, _ := c["Rules"].(map[string]any)
		for _, r := range requiredRules {
			if rules[r] == nil {
				return fmt.Errorf("rule %s is not in the transformed template", r)
			}
		}
		return nil
	}, mutation{"rule dropped", false, "  OneBaseUrl:\n", "  OneBaseUrlX:\n"}},
}

// TestSAMTranslator runs the SAM translator (python aws-sam-translator, the
// transform CloudFormation applies) on template.yaml and checks the
// CloudFormation it becomes; then on one mutated copy per check, which that
// check must refuse.
func TestSAMTranslator(t *testing.T) {
	t.Parallel() // the slow ones (Python, many parses) run side by side
	v, text, err := translatorVersion()
	if err != nil {
		requireTool(t, "the SAM translator (python3 -c 'import samtranslator': "+err.Error()+")")
	}
	if v[0] < minTranslator[0] || v[0] == minTranslator[0] && v[1] < minTranslator[1] {
		t.Fatalf("SAM translator %s is older than %d.%d, which LoggingConfig needs; %s", text, minTranslator[0], minTranslator[1], installHint)
	}
	tmpl, _ := readRepo(t)
	inputs := []string{tmpl}
	for _, c := range samChecks {
		if !strings.Contains(tmpl, c.mutation.old) {
			t.Fatalf("%s: mutation no longer applies: %q not found; update it", c.name, c.mutation.old)
		}
		inputs = append(inputs, strings.Replace(tmpl, c.mutation.old, c.mutation.new, 1))
	}
	docs, errs := transformed(t, inputs)
	if errs[0] != nil {
		t.Fatalf("the SAM translator refuses template.yaml: %v", errs[0])
	}
	t.Logf("SAM translator %s: %d resources", text, len(dig(docs[0], "Resources").(map[string]any)))
	for i, c := range samChecks {
		t.Run(c.name, func(t *testing.T) {
			if err := c.check(cfn(docs[0])); err != nil {
				t.Error(err)
			}
			if errs[i+1] != nil {
				t.Fatalf("mutated copy (%s) does not translate, so it proves nothing: %v", c.mutation.name, errs[i+1])
			}
			if err := c.check(cfn(docs[i+1])); err == nil {
				t.Errorf("check passed on a template with %s", c.mutation.name)
			} else {
				t.Logf("caught %s: %v", c.mutation.name, err)
			}
		})
	}
}

// checkSAMRoutes: the API's OpenAPI body has exactly the expected routes,
// each a payload 2.0 proxy integration with its own function's live alias
// (so a deploy's traffic shift and rollback move the routes too).
func checkSAMRoutes(c cfn) error {
	paths, _ := dig(map[string]any(c), "Resources", "HttpApi", "Properties", "Body", "paths").(map[string]any)
	var errs []error
	var got []string
	for path, ops := range paths {
		for method, op := range ops.(map[string]any) {
			route := strings.ToUpper(method) + " " + path
			got = append(got, route)
			integ, _ := dig(op, "x-amazon-apigateway-integration").(map[string]any)
			uri := fmt.Sprint(dig(integ, "uri", "Fn::Sub"))
			fn := ""
			for name, rs := range expectedRoutes {
				if slices.Contains(rs, route) {
					fn = functionIDs[name]
				}
			}
			if integ["type"] != "aws_proxy" || integ["payloadFormatVersion"] != "2.0" || fn == "" || !strings.Contains(uri, "${"+aliasID(fn)+"}") {
				errs = append(errs, fmt.Errorf("route %s integrates %v, want a payload 2.0 proxy to %s's %s alias", route, integ, fn, liveAlias))
			}
		}
	}
	var want []string
	for _, rs := range expectedRoutes {
		want = append(want, rs...)
	}
	slices.Sort(got)
	slices.Sort(want)
	if !slices.Equal(got, want) {
		errs = append(errs, fmt.Errorf("API routes %v, want %v", got, want))
	}
	return errors.Join(errs...)
}

// sourceRoute reads "METHOD /path" from a permission's SourceArn
// (.../${__Stage__}/POST/incoming/dial-complete).
var sourceRoute = regexp.MustCompile(`/\$\{__Stage__\}/([A-Z]+)(/.*)$`)

// checkSAMPermissions: each route's function, and only it, may be invoked
// by API Gateway for that route of this API, through its live alias only.
func checkSAMPermissions(c cfn) error {
	var errs []error
	got := map[string][]string{}
	for _, id := range c.ofType("AWS::Lambda::Permission") {
		p, _ := dig(c.resource(id), "Properties").(map[string]any)
		sub, _ := dig(p, "SourceArn", "Fn::Sub").([]any)
		if len(sub) != 2 || p["Principal"] != "apigateway.amazonaws.com" || p["Action"] != "lambda:InvokeFunction" ||
			dig(sub[1], "__ApiId__", "Ref") != "HttpApi" {
			errs = append(errs, fmt.Errorf("permission %s: %v, want API Gateway invoking through HttpApi", id, p))
			continue
		}
		if ref := fmt.Sprint(dig(p, "FunctionName", "Ref")); !strings.HasSuffix(ref, "Alias"+liveAlias) {
			errs = append(errs, fmt.Errorf("permission %s lets API Gateway invoke %s, not its %s alias", id, ref, liveAlias))
		}
		m := sourceRoute.FindStringSubmatch(fmt.Sprint(sub[0]))
		if m == nil {
			errs = append(errs, fmt.Errorf("permission %s: SourceArn %v names no route", id, sub[0]))
			continue
		}
		fn, _ := strings.CutSuffix(fmt.Sprint(dig(p, "FunctionName", "Ref")), "Alias"+liveAlias)
		got[fn] = append(got[fn], m[1]+" "+m[2])
	}
	for name, routes := range expectedRoutes {
		id := functionIDs[name]
		if id == "" {
			continue // not behind the API (deliver)
		}
		// A permission's SourceArn has * where the route has a {parameter}.
		want := make([]string, len(routes))
		for i, r := range routes {
			want[i] = pathParam.ReplaceAllString(r, "*")
		}
		slices.Sort(want)
		slices.Sort(got[id])
		if !slices.Equal(got[id], want) {
			errs = append(errs, fmt.Errorf("%s may be invoked for %v, want exactly %v", id, got[id], want))
		}
		delete(got, id)
	}
	for id, rs := range got {
		errs = append(errs, fmt.Errorf("%s may be invoked for %v, but has no routes in this test", id, rs))
	}
	return errors.Join(errs...)
}

// pathParam is a route's {parameter}.
var pathParam = regexp.MustCompile(`\{[^}]+\}`)

// checkSAMStage: the $default stage (the one the domain maps) throttles
// every route of the API and writes the access log.
func checkSAMStage(c cfn) error {
	stage := c.resource("HttpApiApiGatewayDefaultStage")
	p, _ := dig(stage, "Properties").(map[string]any)
	var errs []error
	if stage["Type"] != "AWS::ApiGatewayV2::Stage" || p["StageName"] != "$default" || p["AutoDeploy"] != true {
		errs = append(errs, fmt.Errorf("stage %v, want the auto-deployed $default stage", stage))
	}
	var routes []string
	for path, ops := range dig(map[string]any(c), "Resources", "HttpApi", "Properties", "Body", "paths").(map[string]any) {
		for method := range ops.(map[string]any) {
			routes = append(routes, strings.ToUpper(method)+" "+path)
		}
	}
	settings, _ := p["RouteSettings"].(map[string]any)
	for _, r := range routes {
		if settings[r] == nil {
			errs = append(errs, fmt.Errorf("route %s has no throttle of its own", r))
		}
	}
	if dig(p, "AccessLogSettings", "DestinationArn", "Fn::GetAtt") == nil || dig(p, "DefaultRouteSettings", "ThrottlingRateLimit") == nil {
		errs = append(errs, fmt.Errorf("stage has no access log or default throttle: %v", p))
	}
	return errors.Join(errs...)
}

// checkSAMDomain: the domain and its mapping exist only with DomainName, the
// mapping serves the stage SAM creates (with the base path as its key), a
// DNS record only with a hosted zone, and the API's body turns the
// execute-api endpoint off only when ExecuteApiEndpoint asks (with a domain).
func checkSAMDomain(c cfn) error {
	var errs []error
	for id, cond := range map[string]string{"ApiDomainName": "HasDomain", "ApiMapping": "HasDomain", "ApiDomainRecord": "HasHostedZone"} {
		if r := c.resource(id); r == nil || r["Condition"] != cond {
			errs = append(errs, fmt.Errorf("%s: condition %v, want %s", id, r["Condition"], cond))
		}
	}
	m, _ := dig(c.resource("ApiMapping"), "Properties").(map[string]any)
	stage := fmt.Sprint(dig(m, "Stage", "Ref"))
	if c.resource(stage) == nil || dig(m, "ApiId", "Ref") != "HttpApi" || dig(m, "DomainName", "Ref") != "ApiDomainName" ||
		fmt.Sprint(m["ApiMappingKey"]) != fmt.Sprint(map[string]any{"Fn::If": []any{"HasDomainBasePath", map[string]any{"Ref": "DomainBasePath"}, map[string]any{"Ref": "AWS::NoValue"}}}) {
		errs = append(errs, fmt.Errorf("ApiMapping %v, want HttpApi's stage on ApiDomainName keyed by DomainBasePath", m))
	}
	servers, _ := dig(map[string]any(c), "Resources", "HttpApi", "Properties", "Body", "servers").([]any)
	want := fmt.Sprint(map[string]any{"Fn::If": []any{"ExecuteApiOff", true, false}})
	if len(servers) != 1 || fmt.Sprint(dig(servers[0], "x-amazon-apigateway-endpoint-configuration", "disableExecuteApiEndpoint")) != want {
		errs = append(errs, fmt.Errorf("API servers %v, want disableExecuteApiEndpoint %s", servers, want))
	}
	if fmt.Sprint(dig(map[string]any(c), "Conditions", "HasDomain")) != fmt.Sprint(map[string]any{"Fn::Not": []any{map[string]any{"Fn::Equals": []any{map[string]any{"Ref": "DomainName"}, ""}}}}) {
		errs = append(errs, fmt.Errorf("condition HasDomain is %v", dig(map[string]any(c), "Conditions", "HasDomain")))
	}
	return errors.Join(errs...)
}

// checkSAMOneURL evaluates the transformed template for each deployment
// shape: the URL outputs are the base URL plus the route, and every
// function (as CloudFormation will create it) checks signatures against
// that base.
func checkSAMOneURL(c cfn) error {
	var errs []error
	for _, shape := range deploymentShapes {
		e, err := newEvaluator(c, shape.params)
		if err != nil {
			return err
		}
		for name, route := range map[string]string{"BaseUrl": "", "TokenUrl": "/token", "VoiceUrl": "/voice", "IncomingUrl": "/incoming"} {
			got, err := e.eval(dig(map[string]any(c), "Outputs", name, "Value"))
			if err != nil || got != shape.base+route {
				errs = append(errs, fmt.Errorf("%s: output %s = %v (%v), want %s", shape.name, name, got, err, shape.base+route))
			}
		}
		for _, id := range c.ofType("AWS::Lambda::Function") {
			got, err := e.eval(dig(c.resource(id), "Properties", "Environment", "Variables", "PUBLIC_BASE_URL"))
			want := shape.env
			if id == "DeliverFunction" {
				want = shape.base // no request to take the URL from: the recording links need it
			}
			if err != nil || got != want {
				errs = append(errs, fmt.Errorf("%s: %s PUBLIC_BASE_URL = %v (%v), want %q", shape.name, id, got, err, want))
			}
		}
	}
	return errors.Join(errs...)
}

// callEventStatements are what the call events add to a function's role
// (test/template checks they name only this stack's queue, bucket and key).
var callEventStatements = map[string][]string{
	"IncomingFunction": {sendToQueue},
	"EventsFunction": {
		fmt.Sprint(map[string]any{"Action": "secretsmanager:GetSecretValue", "Effect": "Allow", "Resource": "${RecordingLinkKey}"}),
		sendToQueue,
		fmt.Sprint(map[string]any{"Action": "s3:GetObject", "Effect": "Allow", "Resource": "${RecordingsBucket.Arn}/*"}),
	},
}

var sendToQueue = fmt.Sprint(map[string]any{"Action": "sqs:SendMessage", "Effect": "Allow", "Resource": map[string]any{"Fn::GetAtt": []any{"EventsQueue", "Arn"}}})

// aliasID is the logical ID SAM gives a function's live alias.
func aliasID(function string) string { return function + "Alias" + liveAlias }

// checkSAMPolicies: each function's role, as CloudFormation creates it,
// allows writing its own log group and GetSecretValue on the tenants'
// secrets (plus what call events need); with SecretsKmsKeyArn, and only
// then, it also has the template's managed policy allowing kms:Decrypt on
// that key, only through Secrets Manager and only for those secrets.
func checkSAMPolicies(c cfn) error {
	// A prefix other than the default, so a policy that hard-codes the
	// default is caught.
	const prefix = "tenants/prod/"
	const secrets = "arn:${AWS::Partition}:secretsmanager:${AWS::Region}:${AWS::AccountId}:secret:" + prefix + "*"
	const key = "arn:aws:kms:us-east-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab"
	var errs []error
	for _, fn := range functionIDs {
		role := c.resource(fn + "Role")
		for _, keyArn := range []string{"", key} {
			e, err := newEvaluator(c, map[string]string{"SecretsKmsKeyArn": keyArn, "SecretPrefix": prefix})
			if err != nil {
				return err
			}
			v, err := e.eval(dig(role, "Properties", "Policies"))
			if err != nil {
				return err
			}
			var statements []any
			for _, p := range v.([]any) {
				statements = append(statements, dig(p, "PolicyDocument", "Statement").([]any)...)
			}
			logGroup := strings.TrimSuffix(fn, "Function") + "LogGroup"
			want := []string{
				fmt.Sprint(map[string]any{"Action": []any{"logs:CreateLogStream", "logs:PutLogEvents"}, "Effect": "Allow", "Resource": map[string]any{"Fn::GetAtt": []any{logGroup, "Arn"}}}),
				fmt.Sprint(map[string]any{"Action": "secretsmanager:GetSecretValue", "Effect": "Allow", "Resource": secrets,
					"Condition": map[string]any{"StringEqualsIfExists": map[string]any{"aws:ResourceTag/bubble-twilio-voice:stack": "${AWS::StackName}"}}}),
			}
			want = append(want, callEventStatements[fn]...)
			var got []string
			for _, s := range statements {
				got = append(got, fmt.Sprint(s))
			}
			if !slices.Equal(got, want) {
				errs = append(errs, fmt.Errorf("%sRole with SecretsKmsKeyArn %q allows\n%s\nwant\n%s", fn, keyArn, strings.Join(got, "\n"), strings.Join(want, "\n")))
			}
			managed, err := e.eval(dig(role, "Properties", "ManagedPolicyArns"))
			if err != nil {
				return err
			}
			wantManaged := "[]"
			if keyArn != "" {
				wantManaged = "[${TenantSecretsKeyPolicy}]"
			}
			if fmt.Sprint(managed) != wantManaged && !(managed == nil && keyArn == "") {
				errs = append(errs, fmt.Errorf("%sRole with SecretsKmsKeyArn %q has managed policies %v, want %s", fn, keyArn, managed, wantManaged))
			}
		}
	}
	kms := c.resource("TenantSecretsKeyPolicy")
	e, err := newEvaluator(c, map[string]string{"SecretsKmsKeyArn": key, "SecretPrefix": prefix})
	if err != nil {
		return err
	}
	doc, err := e.eval(dig(kms, "Properties", "PolicyDocument", "Statement"))
	if err != nil {
		return err
	}
	want := fmt.Sprint([]any{map[string]any{"Action": "kms:Decrypt", "Effect": "Allow", "Resource": key, "Condition": map[string]any{
		"StringEquals": map[string]any{"kms:ViaService": "secretsmanager.${AWS::Region}.${AWS::URLSuffix}"},
		"StringLike":   map[string]any{"kms:EncryptionContext:SecretARN": secrets},
	}}})
	if kms["Type"] != "AWS::IAM::ManagedPolicy" || kms["Condition"] != "HasKmsKey" || fmt.Sprint(doc) != want {
		errs = append(errs, fmt.Errorf("TenantSecretsKeyPolicy (%v, condition %v) allows %v, want only with HasKmsKey: %s", kms["Type"], kms["Condition"], doc, want))
	}
	return errors.Join(errs...)
}

// checkSAMFunctions: as CloudFormation creates them, the functions run 5 s
// at most on arm64 and log to their own group (LoggingConfig, which needs
// the SAM translator 1.80.0 or later).
func checkSAMFunctions(c cfn) error {
	var errs []error
	for _, fn := range functionIDs {
		p, _ := dig(c.resource(fn), "Properties").(map[string]any)
		group := fmt.Sprint(dig(p, "LoggingConfig", "LogGroup", "Ref"))
		if p["Timeout"] != float64(maxTimeout) || fmt.Sprint(p["Architectures"]) != "[arm64]" || dig(c.resource(group), "Type") != "AWS::Logs::LogGroup" {
			errs = append(errs, fmt.Errorf("%s: Timeout %v, Architectures %v, log group %q", fn, p["Timeout"], p["Architectures"], group))
		}
	}
	return errors.Join(errs...)
}

// TestCfnLint runs cfn-lint (the CloudFormation linter, with its SAM
// support) on template.yaml: no error, no warning, no informational finding.
func TestCfnLint(t *testing.T) {
	t.Parallel() // the slow ones (Python, many parses) run side by side
	lint, args := "cfn-lint", []string{}
	if _, err := exec.LookPath(lint); err != nil {
		if exec.Command(python(), "-c", "import cfnlint").Run() != nil {
			requireTool(t, "cfn-lint")
		}
		// The package has no __main__: call what the cfn-lint script calls.
		lint, args = python(), []string{"-c", "import sys; from cfnlint.runner import main; sys.exit(main())"}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, lint, append(args, "--format", "parseable", "--", filepath.Join(root, "template.yaml"))...)
	cmd.Env = append(os.Environ(), "AWS_DEFAULT_REGION=us-east-1")
	out, err := cmd.CombinedOutput()
	if err != nil || len(bytes.TrimSpace(out)) > 0 {
		t.Fatalf("cfn-lint template.yaml: %v\n%s", err, out)
	}
}
