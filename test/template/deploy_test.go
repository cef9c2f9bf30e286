package template

import (
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"regexp"
	"slices"
	"strings"

	"bubble-twilio-voice/shared/config"
)

// voiceURLOutput is the VoiceUrl output as template.yaml spells it, for the
// mutation that points it back at execute-api.
const voiceURLOutput = `  VoiceUrl:
    Description: The TwiML App's Voice URL (POST), shared by every subaccount.
    Value: !Join
      - ""
      - - !If
          - HasDomain
          - !Join ["", ["https://", !Ref DomainName, !If [HasDomainBasePath, !Sub "/${DomainBasePath}", ""]]]
          - !If [HasPublicBaseUrl, !Ref PublicBaseUrl, !Sub "https://${HttpApi}.execute-api.${AWS::Region}.${AWS::URLSuffix}"]
        - /voice
`

// executeAPIURL is the execute-api base URL as the template's Fn::Sub reads.
const executeAPIURL = "https://${HttpApi}.execute-api.${AWS::Region}.${AWS::URLSuffix}"

// testCertificate is a well-formed ACM certificate ARN.
const testCertificate = "arn:aws:acm:us-east-1:123456789012:certificate/0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0"

// deploymentShapes are the ways to deploy: each parameter set, the one base
// URL Twilio must be given, what the functions must check signatures
// against (PUBLIC_BASE_URL; "" = the URL each request was made to), and
// whether the execute-api endpoint is off.
var deploymentShapes = []struct {
	name          string
	params        map[string]string
	base          string
	env           string
	executeAPIOff bool
}{
	{"execute-api", nil, executeAPIURL, "", false},
	// The execute-api endpoint stays on when a domain is added (the subaccounts
	// still point there until repointed) and goes off only when asked.
	{"custom domain", map[string]string{"DomainName": "voice.example.com", "CertificateArn": testCertificate},
		"https://voice.example.com", "https://voice.example.com", false},
	{"custom domain, execute-api off", map[string]string{"DomainName": "voice.example.com", "CertificateArn": testCertificate, "ExecuteApiEndpoint": "disabled"},
		"https://voice.example.com", "https://voice.example.com", true},
	{"custom domain with a base path", map[string]string{"DomainName": "voice.example.com", "CertificateArn": testCertificate, "DomainBasePath": "calls/v1"},
		"https://voice.example.com/calls/v1", "https://voice.example.com/calls/v1", false},
	{"a proxy in front", map[string]string{"PublicBaseUrl": "https://calls.example.org/voice"},
		"https://calls.example.org/voice", "https://calls.example.org/voice", false},
}

// rawResource returns a resource of the unresolved template.
func (s *stack) rawResource(id string) map[string]any {
	resources, _ := s.raw["Resources"].(map[string]any)
	r, _ := resources[id].(map[string]any)
	return r
}

// rawResourcesOfType returns the IDs of the resources of typ, sorted.
func (s *stack) rawResourcesOfType(typ string) []string {
	resources, _ := s.raw["Resources"].(map[string]any)
	var ids []string
	for id, r := range resources {
		if r.(map[string]any)["Type"] == typ {
			ids = append(ids, id)
		}
	}
	slices.Sort(ids)
	return ids
}

// dig walks generic JSON by keys.
func dig(v any, keys ...string) any {
	for _, k := range keys {
		m, _ := v.(map[string]any)
		v = m[k]
	}
	return v
}

// checkOneURL evaluates the template for every deployment shape: the URL
// outputs (which `subaccounts create --stack` gives Twilio) are the one base
// URL plus the route, every function checks signatures against that same
// base, the execute-api endpoint is off only when ExecuteApiEndpoint says
// so (a domain's first deploy keeps it, so subaccounts not yet moved keep
// working), and the functions' PUBLIC_BASE_URL is one config.Load accepts.
func checkOneURL(s *stack) error {
	var errs []error
	for _, shape := range deploymentShapes {
		e, err := newEvaluator(s.raw, shape.params)
		if err != nil {
			return err
		}
		fail := func(format string, args ...any) {
			errs = append(errs, fmt.Errorf(shape.name+": "+format, args...))
		}
		output := func(name string) string {
			v, err := e.eval(dig(s.raw, "Outputs", name, "Value"))
			if err != nil {
				fail("output %s: %v", name, err)
			}
			str, _ := v.(string)
			return str
		}
		if got := output("BaseUrl"); got != shape.base {
			fail("output BaseUrl = %q, want %q", got, shape.base)
		}
		for name, route := range map[string]string{"TokenUrl": "/token", "VoiceUrl": "/voice", "IncomingUrl": "/incoming"} {
			if got := output(name); got != shape.base+route {
				fail("output %s = %q, want %q", name, got, shape.base+route)
			}
		}
		for _, id := range s.rawResourcesOfType("AWS::Serverless::Function") {
			v, err := e.eval(dig(s.rawResource(id), "Properties", "Environment", "Variables", "PUBLIC_BASE_URL"))
			got, _ := v.(string)
			want := shape.env
			if id == "DeliverFunction" {
				want = shape.base // no request to take the URL from: the recording links need it
			}
			switch {
			case err != nil:
				fail("%s PUBLIC_BASE_URL: %v", id, err)
			case got != want:
				fail("%s checks signatures against PUBLIC_BASE_URL %q, but Twilio is given %q", id, got, shape.base)
			}
			if strings.Contains(got, "${") {
				continue // the API's own URL, substituted by CloudFormation
			}
			if _, err := config.Load(func(k string) string { return map[string]string{"PUBLIC_BASE_URL": got}[k] }); err != nil {
				fail("%s would not start: %v", id, err)
			}
		}
		off, err := e.eval(dig(s.rawResource("HttpApi"), "Properties", "DisableExecuteApiEndpoint"))
		if err != nil || off != shape.executeAPIOff {
			fail("HttpApi DisableExecuteApiEndpoint = %v (%v), want %v", off, err, shape.executeAPIOff)
		}
		hasDomain, err := e.condition("HasDomain")
		if err != nil {
			return err
		}
		for _, id := range []string{"ApiDomainName", "ApiMapping"} {
			r := s.rawResource(id)
			if r == nil || r["Condition"] != "HasDomain" {
				fail("%s must exist under the condition HasDomain", id)
			}
		}
		if hasDomain {
			key, err := e.eval(dig(s.rawResource("ApiMapping"), "Properties", "ApiMappingKey"))
			if want := shape.params["DomainBasePath"]; err != nil || (key == nil && want != "") || (key != nil && key != want) {
				fail("ApiMapping key %v (%v), want %q", key, err, want)
			}
		}
	}
	return errors.Join(errs...)
}

// tokenRoute reports whether an API route key is one of /token's.
// tokenRoute: the routes browsers and Bubble call (/token and call
// control), as opposed to Twilio's webhooks (the hub's status callback is
// one).
func tokenRoute(key string) bool {
	_, path, _ := strings.Cut(key, " ")
	return path == "/token" || strings.HasPrefix(path, "/calls/")
}

// checkThrottling: every route of every function has its own settings (one
// bucket each, shared only by that route's callers), the browsers' routes
// (/token, call control) on the Token* parameters and the webhooks' on the
// Webhook* ones, so a flood on
// one cannot starve the other; the defaults are positive.
func checkThrottling(s *stack) error {
	props, _ := s.rawResource("HttpApi")["Properties"].(map[string]any)
	var errs []error
	def, _ := props["DefaultRouteSettings"].(map[string]any)
	if fmt.Sprint(def["ThrottlingRateLimit"]) != fmt.Sprint(map[string]any{"Ref": "WebhookThrottleRate"}) ||
		fmt.Sprint(def["ThrottlingBurstLimit"]) != fmt.Sprint(map[string]any{"Ref": "WebhookThrottleBurst"}) {
		errs = append(errs, fmt.Errorf("HttpApi DefaultRouteSettings %v, want the webhook limits", def))
	}
	settings, _ := props["RouteSettings"].(map[string]any)
	got, err := routes(s)
	if err != nil {
		return err
	}
	var all []string
	for _, rs := range got {
		all = append(all, rs...)
	}
	slices.Sort(all)
	if keys := slices.Sorted(maps.Keys(settings)); !slices.Equal(keys, all) {
		errs = append(errs, fmt.Errorf("RouteSettings for %v, want exactly the routes %v", keys, all))
	}
	params := dig(s.doc, "Parameters").(map[string]any)
	for key, v := range settings {
		kind := "Webhook"
		if tokenRoute(key) {
			kind = "Token"
		}
		for field, param := range map[string]string{"ThrottlingRateLimit": kind + "ThrottleRate", "ThrottlingBurstLimit": kind + "ThrottleBurst"} {
			if ref := dig(v, field, "Ref"); ref != param {
				errs = append(errs, fmt.Errorf("RouteSettings[%q].%s = %v, want !Ref %s", key, field, dig(v, field), param))
			}
			if d, _ := dig(params, param, "Default").(float64); d < 1 {
				errs = append(errs, fmt.Errorf("parameter %s defaults to %v, want a positive limit", param, d))
			}
		}
	}
	return errors.Join(errs...)
}

// parameterSamples are values each guarded parameter must accept and refuse.
var parameterSamples = map[string]struct{ good, bad []string }{
	"SecretPrefix": {[]string{"twilio-voice/", "prod/tenants/"}, []string{"", "a b/", "x*"}},
	"DomainName": {[]string{"", "voice.example.com", "a.b.co"},
		[]string{"https://voice.example.com", "voice.example.com/", "Voice.Example.com", "localhost", "-a.example.com"}},
	"CertificateArn": {[]string{"", testCertificate, "arn:aws-cn:acm:cn-north-1:123456789012:certificate/0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0"},
		[]string{"arn:aws:acm:us-east-1:123456789012:certificate/x", "0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0", "arn:aws:iam::123456789012:server-certificate/x"}},
	"DomainBasePath": {[]string{"", "calls", "voice/v1", "a_b.c~d-e"}, []string{"/calls", "calls/", "a//b", "a b", "a?b"}},
	"HostedZoneId":   {[]string{"", "Z0123456789ABCDEFGHIJ"}, []string{"z012", "Z01 23", "/hostedzone/Z0123"}},
	"PublicBaseUrl": {[]string{"", "https://voice.example.com", "https://voice.example.com/calls", "https://d111111abcdef8.cloudfront.net/a/b", "https://voice.example.com:8443"},
		[]string{"http://voice.example.com", "https://voice.example.com/", "https://voice.example.com/calls/", "https://voice.example.com?x=1",
			"https://voice.example.com/#f", "https://user@voice.example.com", "voice.example.com", "https://voice.example.com/a//b"}},
	"CorsAllowedOrigins": {[]string{"", "*", "https://app.example.com", "https://a.example.com,https://b.example.com:8443", "https://a.example.com, https://b.example.com"},
		[]string{"app.example.com", "https://a.example.com/", "*,https://a.example.com,*"}},
	"AlarmEmail": {[]string{"", "ops@example.com"}, []string{"ops", "ops@example", "a b@example.com"}},
	"AlarmTopicArn": {[]string{"", "arn:aws:sns:us-east-1:123456789012:alarms"},
		[]string{"alarms", "arn:aws:sqs:us-east-1:123456789012:alarms", "arn:aws:sns:us-east-1:1234:alarms"}},
	"SecretsKmsKeyArn": {[]string{"", "arn:aws:kms:us-east-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab", "arn:aws:kms:us-east-1:123456789012:key/mrk-1234abcd12ab34cd56ef1234567890ab"},
		[]string{"alias/tenants", "arn:aws:kms:us-east-1:123456789012:alias/tenants", "1234abcd-12ab-34cd-56ef-1234567890ab"}},
}

// numberBounds are the Number parameters' required bounds: none may accept
// a value that blocks everything (a throttle of 0) or has no ceiling.
// TokenRatePerIdentity's 0 means "no limit", which blocks nothing.
var numberBounds = map[string][2]float64{
	"TokenRatePerIdentity":       {0, 100000},
	"TokenThrottleRate":          {1, 10000},
	"TokenThrottleBurst":         {1, 5000},
	"WebhookThrottleRate":        {1, 10000},
	"WebhookThrottleBurst":       {1, 5000},
	"SecretColdFetchesPerSecond": {1, 1000},
	"RecordingRetentionDays":     {3, 3650},
}

// requiredRules are the parameter combinations CloudFormation must refuse.
var requiredRules = []string{"DomainNeedsCertificate", "CertificateNeedsDomain", "BasePathNeedsDomain", "HostedZoneNeedsDomain", "OneBaseUrl", "OneAlarmTarget", "ExecuteApiOffNeedsDomain"}

// checkParameters: every parameter that could break the stack is refused by
// CloudFormation (a pattern, bounds, allowed values or a rule) rather than
// by a function failing at cold start; a URL the pattern lets through is one
// the functions accept.
func checkParameters(s *stack) error {
	params, _ := s.raw["Parameters"].(map[string]any)
	var errs []error
	for _, name := range slices.Sorted(maps.Keys(params)) {
		p := params[name].(map[string]any)
		switch p["Type"] {
		case "Number":
			if p["AllowedValues"] != nil {
				continue
			}
			b, ok := numberBounds[name]
			if !ok {
				errs = append(errs, fmt.Errorf("parameter %s: a Number without bounds in this test; add it to numberBounds", name))
				continue
			}
			if p["MinValue"] != b[0] || p["MaxValue"] != b[1] {
				errs = append(errs, fmt.Errorf("parameter %s: MinValue %v MaxValue %v, want %v and %v", name, p["MinValue"], p["MaxValue"], b[0], b[1]))
			}
		case "String":
			if values, _ := p["AllowedValues"].([]any); len(values) > 0 {
				if !slices.Contains(values, p["Default"]) {
					errs = append(errs, fmt.Errorf("parameter %s: default %v is not one of %v", name, p["Default"], values))
				}
				continue
			}
			pattern, _ := p["AllowedPattern"].(string)
			if pattern == "" {
				errs = append(errs, fmt.Errorf("parameter %s: no AllowedPattern", name))
				continue
			}
			re, err := regexp.Compile(pattern)
			if err != nil {
				errs = append(errs, fmt.Errorf("parameter %s: %v", name, err))
				continue
			}
			samples, ok := parameterSamples[name]
			if !ok {
				errs = append(errs, fmt.Errorf("parameter %s: no samples in this test; add it to parameterSamples", name))
			}
			if def, _ := p["Default"].(string); !re.MatchString(def) {
				errs = append(errs, fmt.Errorf("parameter %s refuses its own default %q", name, def))
			}
			for _, v := range samples.good {
				if !re.MatchString(v) {
					errs = append(errs, fmt.Errorf("parameter %s refuses %q", name, v))
				}
			}
			for _, v := range samples.bad {
				if re.MatchString(v) {
					errs = append(errs, fmt.Errorf("parameter %s accepts %q", name, v))
				}
			}
		default:
			errs = append(errs, fmt.Errorf("parameter %s: type %v", name, p["Type"]))
		}
	}
	// What CloudFormation lets through must start: every PublicBaseUrl
	// sample the pattern accepts passes config.Load.
	if re, err := regexp.Compile(fmt.Sprint(dig(params, "PublicBaseUrl", "AllowedPattern"))); err == nil {
		samples := parameterSamples["PublicBaseUrl"]
		for _, v := range append(samples.good, samples.bad...) {
			if !re.MatchString(v) {
				continue
			}
			if _, err := config.Load(func(k string) string { return map[string]string{"PUBLIC_BASE_URL": v}[k] }); err != nil {
				errs = append(errs, fmt.Errorf("PublicBaseUrl %q passes the template but not the functions: %v", v, err))
			}
		}
	}
	rules, _ := s.raw["Rules"].(map[string]any)
	for _, r := range requiredRules {
		if rules[r] == nil {
			errs = append(errs, fmt.Errorf("no rule %s", r))
		}
	}
	return errors.Join(errs...)
}

// accessLogSample stands in for each $context variable: numbers where the
// format writes them bare, text otherwise.
var accessLogSample = regexp.MustCompile(`\$context\.[A-Za-z.]+`)

// checkAccessLog: the API writes one JSON line per request, with status (a
// number, which the 429 metric filter compares), route, error, integration
// error and domain, to a log group of this template.
func checkAccessLog(s *stack) error {
	settings, _ := dig(s.rawResource("HttpApi"), "Properties", "AccessLogSettings").(map[string]any)
	var errs []error
	dest := fmt.Sprint(settings["DestinationArn"])
	if dest != fmt.Sprint(map[string]any{"Fn::GetAtt": []any{"ApiAccessLogGroup", "Arn"}}) && dest != fmt.Sprint(map[string]any{"Fn::GetAtt": "ApiAccessLogGroup.Arn"}) {
		errs = append(errs, fmt.Errorf("access log destination %v, want ApiAccessLogGroup", dest))
	}
	if s.resourceType("ApiAccessLogGroup") != "AWS::Logs::LogGroup" {
		errs = append(errs, errors.New("no log group ApiAccessLogGroup"))
	}
	format, _ := settings["Format"].(string)
	line := accessLogSample.ReplaceAllStringFunc(format, func(v string) string {
		if v == "$context.status" || v == "$context.responseLatency" {
			return "429"
		}
		return "x"
	})
	var fields map[string]any
	if err := json.Unmarshal([]byte(line), &fields); err != nil {
		return errors.Join(append(errs, fmt.Errorf("access log format is not JSON: %v\n%s", err, line))...)
	}
	want := map[string]string{
		"$context.requestId": "", "$context.status": "", "$context.routeKey": "", "$context.error.message": "",
		"$context.integrationErrorMessage": "", "$context.domainName": "",
	}
	for v := range want {
		if !strings.Contains(format, v) {
			errs = append(errs, fmt.Errorf("access log format lacks %s", v))
		}
	}
	if fields["status"] != 429.0 {
		errs = append(errs, fmt.Errorf("access log status is %#v, want a number under \"status\"", fields["status"]))
	}
	filter := s.resourceProps("ApiThrottledMetricFilter")
	if filter["LogGroupName"] != "ApiAccessLogGroup" || filter["FilterPattern"] != "{ $.status = 429 }" {
		errs = append(errs, fmt.Errorf("429 metric filter %v, want { $.status = 429 } on ApiAccessLogGroup", filter))
	}
	return errors.Join(errs...)
}

// checkAlarms: each function has alarms on Errors, Throttles and Duration
// near its timeout; the API on its 5xx and 4xx rates and on 429s; the
// functions' own metrics on signature rejections, secret fetch failures and
// the cold fetch cap; and every alarm notifies AlarmEmail's topic or
// AlarmTopicArn, whichever is set.
func checkAlarms(s *stack) error {
	type alarm struct{ id, namespace, metric, function, stat string }
	var alarms []alarm
	var mathMetrics = map[string][]string{} // alarm id -> namespace/metric of its queries
	for _, id := range s.rawResourcesOfType("AWS::CloudWatch::Alarm") {
		p := s.resourceProps(id)
		a := alarm{id: id, namespace: fmt.Sprint(p["Namespace"]), metric: fmt.Sprint(p["MetricName"]), stat: fmt.Sprint(p["Statistic"])}
		if dims, _ := p["Dimensions"].([]any); len(dims) == 1 && dig(dims[0], "Name") == "FunctionName" {
			a.function = fmt.Sprint(dig(dims[0], "Value"))
		}
		alarms = append(alarms, a)
		queries, _ := p["Metrics"].([]any)
		for _, q := range queries {
			if m := dig(q, "MetricStat", "Metric"); m != nil {
				dims, _ := dig(m, "Dimensions").([]any)
				if len(dims) != 1 || dig(dims[0], "Name") != "ApiId" || dig(dims[0], "Value") != "HttpApi" {
					continue
				}
				mathMetrics[id] = append(mathMetrics[id], fmt.Sprint(dig(m, "Namespace"), "/", dig(m, "MetricName")))
			}
		}
	}
	has := func(namespace, metric, function string) *alarm {
		for i, a := range alarms {
			if a.namespace == namespace && a.metric == metric && (function == "" || a.function == function) {
				return &alarms[i]
			}
		}
		return nil
	}
	var errs []error
	for _, m := range []string{"SignatureRejected", "SecretFetchFailed", "SecretColdFetchLimited", "ApiThrottled"} {
		if has("BubbleTwilioVoice", m, "") == nil {
			errs = append(errs, fmt.Errorf("no alarm on BubbleTwilioVoice %s", m))
		}
	}
	for _, id := range sortedKeys(s.tmpl.GetAllServerlessFunctionResources()) {
		for _, m := range []string{"Errors", "Throttles", "Duration"} {
			if has("AWS/Lambda", m, id) == nil {
				errs = append(errs, fmt.Errorf("no alarm on AWS/Lambda %s for %s", m, id))
			}
		}
		if a := has("AWS/Lambda", "Duration", id); a != nil {
			timeout := s.tmpl.GetAllServerlessFunctionResources()[id].Timeout
			threshold, _ := s.resourceProps(a.id)["Threshold"].(float64)
			if timeout == nil || a.stat != "Maximum" || threshold >= float64(*timeout)*1000 || threshold < float64(*timeout)*500 {
				errs = append(errs, fmt.Errorf("%s: Duration alarm %s of %v ms, want the Maximum between half the timeout and the timeout", id, a.stat, threshold))
			}
		}
	}
	for _, m := range []string{"5xx", "4xx"} {
		found := false
		for _, qs := range mathMetrics {
			found = found || (slices.Contains(qs, "AWS/ApiGateway/"+m) && slices.Contains(qs, "AWS/ApiGateway/Count"))
		}
		if !found {
			errs = append(errs, fmt.Errorf("no alarm on the rate of the API's %s (AWS/ApiGateway %s over Count, dimension ApiId)", m, m))
		}
	}
	// Notifications, for each way of asking for them.
	for _, tc := range []struct {
		params map[string]string
		want   any
	}{
		{nil, nil},
		{map[string]string{"AlarmEmail": "ops@example.com"}, []any{"${AlarmTopic}"}},
		{map[string]string{"AlarmTopicArn": "arn:aws:sns:us-east-1:123456789012:ops"}, []any{"arn:aws:sns:us-east-1:123456789012:ops"}},
	} {
		e, err := newEvaluator(s.raw, tc.params)
		if err != nil {
			return err
		}
		for _, a := range alarms {
			got, err := e.eval(dig(s.rawResource(a.id), "Properties", "AlarmActions"))
			if err != nil || fmt.Sprint(got) != fmt.Sprint(tc.want) {
				errs = append(errs, fmt.Errorf("with %v, alarm %s notifies %v (%v), want %v", tc.params, a.id, got, err, tc.want))
			}
		}
	}
	topic := s.rawResource("AlarmTopic")
	if topic["Condition"] != "HasAlarmEmail" || fmt.Sprint(dig(topic, "Properties", "Subscription")) != fmt.Sprint([]any{map[string]any{"Protocol": "email", "Endpoint": map[string]any{"Ref": "AlarmEmail"}}}) {
		errs = append(errs, fmt.Errorf("AlarmTopic %v, want a topic under HasAlarmEmail with an e-mail subscription to AlarmEmail", topic))
	}
	return errors.Join(errs...)
}

// liveAlias is the alias every function publishes, which its routes (or
// its queue) invoke and CodeDeploy shifts.
const liveAlias = "live"

// checkDeployments: every function publishes a version on each deploy
// behind the live alias, and CodeDeploy shifts the alias gradually (the
// DeploymentType parameter, a canary or linear shift by default) with the
// function's own Errors alarm as the rollback trigger, using a role of this
// template that CodeDeploy may assume and that may move this function's
// aliases only (SAM's would be AWSCodeDeployRoleForLambda: sns:Publish on
// every topic, s3:GetObject on every bucket's tagged objects).
func checkDeployments(s *stack) error {
	var errs []error
	params, _ := s.raw["Parameters"].(map[string]any)
	if def := fmt.Sprint(dig(params, "DeploymentType", "Default")); !strings.HasPrefix(def, "Canary") && !strings.HasPrefix(def, "Linear") {
		errs = append(errs, fmt.Errorf("parameter DeploymentType defaults to %q, want a canary or linear shift", def))
	}
	for _, id := range s.rawResourcesOfType("AWS::Serverless::Function") {
		p, _ := s.rawResource(id)["Properties"].(map[string]any)
		if p["AutoPublishAlias"] != liveAlias {
			errs = append(errs, fmt.Errorf("%s: AutoPublishAlias %v, want %q", id, p["AutoPublishAlias"], liveAlias))
		}
		dp, _ := p["DeploymentPreference"].(map[string]any)
		if fmt.Sprint(dp["Type"]) != fmt.Sprint(map[string]any{"Ref": "DeploymentType"}) {
			errs = append(errs, fmt.Errorf("%s: DeploymentPreference.Type %v, want !Ref DeploymentType", id, dp["Type"]))
		}
		if enabled, ok := dp["Enabled"]; ok && enabled != true {
			errs = append(errs, fmt.Errorf("%s: DeploymentPreference.Enabled %v", id, enabled))
		}
		errorsAlarm := ""
		for _, a := range s.rawResourcesOfType("AWS::CloudWatch::Alarm") {
			ap, _ := s.rawResource(a)["Properties"].(map[string]any)
			dims, _ := ap["Dimensions"].([]any)
			if ap["Namespace"] == "AWS/Lambda" && ap["MetricName"] == "Errors" && len(dims) == 1 && fmt.Sprint(dig(dims[0], "Value")) == fmt.Sprint(map[string]any{"Ref": id}) {
				errorsAlarm = a
			}
		}
		alarms, _ := dp["Alarms"].([]any)
		if errorsAlarm == "" || !slices.ContainsFunc(alarms, func(a any) bool { return fmt.Sprint(a) == fmt.Sprint(map[string]any{"Ref": errorsAlarm}) }) {
			errs = append(errs, fmt.Errorf("%s: DeploymentPreference.Alarms %v, want its Errors alarm %q", id, alarms, errorsAlarm))
		}
		role, _ := dig(dp, "Role", "Fn::GetAtt").(string)
		if role == "" {
			if l, ok := dig(dp, "Role", "Fn::GetAtt").([]any); ok && len(l) == 2 {
				role = fmt.Sprint(l[0]) + "." + fmt.Sprint(l[1])
			}
		}
		roleID, _ := strings.CutSuffix(role, ".Arn")
		rp, _ := s.rawResource(roleID)["Properties"].(map[string]any)
		trust := fmt.Sprint(dig(rp, "AssumeRolePolicyDocument", "Statement"))
		mayShift := false
		for _, pol := range asList(rp["Policies"]) {
			for _, st := range asList(dig(pol, "PolicyDocument", "Statement")) {
				if slices.Contains(stringsOf(dig(st, "Action")), "lambda:UpdateAlias") {
					for _, r := range asList(dig(st, "Resource")) {
						mayShift = mayShift || fmt.Sprint(r) == fmt.Sprint(map[string]any{"Fn::Sub": "arn:${AWS::Partition}:lambda:${AWS::Region}:${AWS::AccountId}:function:${" + id + "}:*"})
					}
				}
			}
		}
		if s.resourceType(roleID) != "AWS::IAM::Role" || rp["ManagedPolicyArns"] != nil ||
			trust != fmt.Sprint([]any{map[string]any{"Effect": "Allow", "Principal": map[string]any{"Service": "codedeploy.amazonaws.com"}, "Action": "sts:AssumeRole"}}) || !mayShift {
			errs = append(errs, fmt.Errorf("%s: DeploymentPreference.Role %v, want a role of this template that only CodeDeploy assumes, with no managed policy, allowed to update %s's aliases", id, dp["Role"], id))
		}
	}
	return errors.Join(errs...)
}

// asList reads a value that may be one item or a list.
func asList(v any) []any {
	if l, ok := v.([]any); ok {
		return l
	}
	if v == nil {
		return nil
	}
	return []any{v}
}

// checkEventAlarms: an app that is down raises an alarm within half an
// hour and keeps it up: its events wait hidden for their retries, which SQS
// counts in ApproximateNumberOfMessagesNotVisible (while
// ApproximateAgeOfOldestMessage leaves out every message received 3 or more
// times), so the alarm watches that count's Minimum staying above 0. The
// backlog alarm, on the age of events not yet tried, fires well within the
// hour.
func checkEventAlarms(s *stack) error {
	var errs []error
	retrying, backlog := false, false
	for _, id := range s.rawResourcesOfType("AWS::CloudWatch::Alarm") {
		p := s.resourceProps(id)
		dims, _ := p["Dimensions"].([]any)
		if p["Namespace"] != "AWS/SQS" || len(dims) != 1 || dig(dims[0], "Value") != "GetAtt:EventsQueue.QueueName" {
			continue
		}
		period, _ := number(p["Period"])
		n, _ := number(p["EvaluationPeriods"])
		m, ok := number(p["DatapointsToAlarm"])
		if !ok {
			m = n
		}
		threshold, _ := number(p["Threshold"])
		switch p["MetricName"] {
		case "ApproximateNumberOfMessagesNotVisible":
			retrying = p["Statistic"] == "Minimum" && p["ComparisonOperator"] == "GreaterThanThreshold" && threshold == 0 &&
				m == n && period*n >= 600 && period*n <= 1800
			if !retrying {
				errs = append(errs, fmt.Errorf("%s: %v of %v over %v x %v s (%v to alarm), want the Minimum above 0 in every one of 10 to 30 minutes", id, p["Statistic"], p["MetricName"], n, period, m))
			}
		case "ApproximateAgeOfOldestMessage":
			backlog = threshold > 0 && threshold <= 900
			if !backlog {
				errs = append(errs, fmt.Errorf("%s: age threshold %v s, want at most 15 minutes (older events are left out of the metric once received 3 times)", id, threshold))
			}
		}
	}
	if !retrying {
		errs = append(errs, errors.New("no alarm on EventsQueue's ApproximateNumberOfMessagesNotVisible (events waiting for retries: an app is down)"))
	}
	if !backlog {
		errs = append(errs, errors.New("no alarm on EventsQueue's ApproximateAgeOfOldestMessage"))
	}
	return errors.Join(errs...)
}
