package template

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"
)

// anyDefault stands for a default the template cannot know (the AWS Region
// prompt offers the AWS CLI's region): any text between the brackets.
const anyDefault = "[…]"

// guidedPrompts lists what `sam deploy --guided` asks for this template and
// samconfig.toml, in order, each as SAM CLI prints it without the trailing
// colon, then the "Deploy this changeset?" question sam deploy asks when
// confirm_changeset is on. It models SAM CLI 1.164's GuidedContext
// (samcli/commands/deploy/guided_context.py: guided_prompts and
// prompt_authorization) and auth_per_resource (samcli/commands/deploy/
// auth_utils.py): for every function, in template order, one question per
// Api or HttpApi event, in the order of its Events, unless the event has
// Auth or the API it names has Auth (its own, or in Globals) or a
// DefinitionBody with security; a Function URL with AuthType NONE asks too.
// Enter answers a confirm with its default, so any "[y/N]" question that
// must be answered y stops a deploy left to defaults; the authentication
// ones stop it with "Security Constraints Not Satisfied!".
func guidedPrompts(templateYAML, samconfig string) ([]string, error) {
	var root yaml.Node
	if err := yaml.Unmarshal([]byte(templateYAML), &root); err != nil {
		return nil, err
	}
	if len(root.Content) != 1 {
		return nil, errors.New("template: not one YAML document")
	}
	doc := root.Content[0]
	cfg := samconfigValues(samconfig)
	yn := func(def bool) string {
		if def {
			return "[Y/n]"
		}
		return "[y/N]"
	}
	stack := cfg["stack_name"]
	if stack == "" {
		stack = "sam-app"
	}
	prompts := []string{"Stack Name [" + stack + "]", "AWS Region " + anyDefault}
	for _, p := range pairs(get(doc, "Parameters")) {
		def := scalar(get(p.value, "Default"))
		if scalar(get(p.value, "NoEcho")) == "true" {
			prompts = append(prompts, "Parameter "+p.key)
			continue
		}
		prompts = append(prompts, "Parameter "+p.key+" ["+def+"]")
	}
	confirmChangeset := cfg["confirm_changeset"] == "true"
	prompts = append(prompts,
		"Confirm changes before deploy "+yn(confirmChangeset),
		"Allow SAM CLI IAM role creation "+yn(true),
		"Disable rollback "+yn(cfg["disable_rollback"] == "true"))

	resources := get(doc, "Resources")
	apiAuth := func(id string) bool {
		api := get(resources, id)
		if api == nil {
			return false // an implicit API, or one of another stack: no auth seen
		}
		switch scalar(get(api, "Type")) {
		case "AWS::ApiGateway::RestApi", "AWS::ApiGatewayV2::Api":
			return true // SAM CLI does not look into these
		case "AWS::Serverless::HttpApi":
			if get(get(get(doc, "Globals"), "HttpApi"), "Auth") != nil {
				return true
			}
		case "AWS::Serverless::Api":
			if get(get(get(doc, "Globals"), "Api"), "Auth") != nil {
				return true
			}
		}
		props := get(api, "Properties")
		return get(props, "Auth") != nil || strings.Contains(nodeText(get(props, "DefinitionBody")), "security")
	}
	signing := false
	for _, r := range pairs(resources) {
		if t := scalar(get(r.value, "Type")); t != "AWS::Serverless::Function" && t != "AWS::Lambda::Function" {
			continue
		}
		props := get(r.value, "Properties")
		signing = signing || get(props, "CodeSigningConfigArn") != nil
		for _, ev := range pairs(get(props, "Events")) {
			typ := scalar(get(ev.value, "Type"))
			idKey := map[string]string{"Api": "RestApiId", "HttpApi": "ApiId"}[typ]
			if idKey == "" {
				continue
			}
			evProps := get(ev.value, "Properties")
			if get(evProps, "Auth") != nil || apiAuth(refName(get(evProps, idKey))) {
				continue
			}
			prompts = append(prompts, r.key+" has no authentication. Is this okay? [y/N]")
		}
		if url := get(props, "FunctionUrlConfig"); url != nil && scalar(get(url, "AuthType")) == "NONE" {
			prompts = append(prompts, r.key+" Function Url has no authentication. Is this okay? [y/N]")
		}
	}
	if signing {
		prompts = append(prompts, "Do you want to sign your code? [Y/n]")
	}
	prompts = append(prompts,
		"Save arguments to configuration file [Y/n]",
		"SAM configuration file [samconfig.toml]",
		"SAM configuration environment [default]")
	if confirmChangeset {
		prompts = append(prompts, "Deploy this changeset? [y/N]")
	}
	return prompts, nil
}

// samconfigValues reads the "key = value" lines of samconfig.toml's
// default sections, unquoted (enough for the keys guided deploy reads).
func samconfigValues(text string) map[string]string {
	out := map[string]string{}
	section := ""
	for _, line := range strings.Split(text, "\n") {
		line = strings.TrimSpace(line)
		if strings.HasPrefix(line, "[") {
			section = line
			continue
		}
		if !strings.HasPrefix(section, "[default.") {
			continue
		}
		if k, v, ok := strings.Cut(line, "="); ok && !strings.HasPrefix(line, "#") {
			out[strings.TrimSpace(k)] = strings.Trim(strings.TrimSpace(v), `"`)
		}
	}
	return out
}

// pair is one key of a YAML mapping, in document order.
type pair struct {
	key   string
	value *yaml.Node
}

// pairs returns a mapping's keys and values in document order.
func pairs(n *yaml.Node) []pair {
	if n == nil || n.Kind != yaml.MappingNode {
		return nil
	}
	out := make([]pair, 0, len(n.Content)/2)
	for i := 0; i+1 < len(n.Content); i += 2 {
		out = append(out, pair{n.Content[i].Value, n.Content[i+1]})
	}
	return out
}

// get returns a mapping's value for key, or nil.
func get(n *yaml.Node, key string) *yaml.Node {
	for _, p := range pairs(n) {
		if p.key == key {
			return p.value
		}
	}
	return nil
}

// scalar returns a scalar node's text ("" for nil or a collection).
func scalar(n *yaml.Node) string {
	if n == nil || n.Kind != yaml.ScalarNode {
		return ""
	}
	return n.Value
}

// refName reads "!Ref Name" or {Ref: Name}.
func refName(n *yaml.Node) string {
	if n == nil {
		return ""
	}
	if n.Tag == "!Ref" {
		return n.Value
	}
	return scalar(get(n, "Ref"))
}

// nodeText is a node's YAML, for a substring test.
func nodeText(n *yaml.Node) string {
	if n == nil {
		return ""
	}
	b, _ := yaml.Marshal(n)
	return string(b)
}

// promptTable reads the guided-deploy table of a Markdown document: the
// rows of the table whose header starts "| Prompt |", each row's first
// backquoted text (the prompt) and its second cell (the answer).
func promptTable(markdown string) (prompts, answers []string) {
	inTable := false
	for _, line := range strings.Split(markdown, "\n") {
		switch {
		case strings.HasPrefix(line, "| Prompt |"):
			inTable = true
		case !strings.HasPrefix(line, "|"):
			inTable = false
		case inTable && !strings.HasPrefix(line, "|---"):
			cells := strings.Split(strings.Trim(line, "|"), "|")
			m := regexp.MustCompile("`([^`]+)`").FindStringSubmatch(cells[0])
			if m == nil {
				prompts = append(prompts, strings.TrimSpace(cells[0]))
			} else {
				prompts = append(prompts, m[1])
			}
			answer := ""
			if len(cells) > 1 {
				answer = strings.TrimSpace(cells[1])
			}
			answers = append(answers, answer)
		}
	}
	return prompts, answers
}

// promptMatches compares a documented prompt with a derived one, whose
// anyDefault matches any bracketed default.
func promptMatches(documented, derived string) bool {
	if prefix, ok := strings.CutSuffix(derived, anyDefault); ok {
		return strings.HasPrefix(documented, prefix+"[") && strings.HasSuffix(documented, "]")
	}
	return documented == derived
}

// deployDoc is the page with the guided-deploy table.
const deployDoc = "docs/deploy.md"

// checkPromptTable: the table lists exactly the derived prompts, in order,
// and says to answer y to every authentication question.
func checkPromptTable(markdown string, derived []string) error {
	prompts, answers := promptTable(markdown)
	var errs []error
	for i := 0; i < max(len(prompts), len(derived)); i++ {
		switch {
		case i >= len(prompts):
			errs = append(errs, fmt.Errorf("row %d missing: SAM CLI asks %q", i+1, derived[i]))
		case i >= len(derived):
			errs = append(errs, fmt.Errorf("row %d, %q: SAM CLI asks no more", i+1, prompts[i]))
		case !promptMatches(prompts[i], derived[i]):
			errs = append(errs, fmt.Errorf("row %d is %q, but SAM CLI asks %q there", i+1, prompts[i], derived[i]))
		case strings.Contains(derived[i], "has no authentication") && !strings.Contains(answers[i], "**`y`**"):
			errs = append(errs, fmt.Errorf("row %d, %q: answer %q, want **`y`** (Enter stops the deploy)", i+1, prompts[i], answers[i]))
		}
	}
	return errors.Join(errs...)
}

// TestGuidedDeployPrompts derives what `sam deploy --guided` asks from
// template.yaml and samconfig.toml and checks docs/deploy.md's table lists
// each question, in order: one "has no authentication" question per HTTP
// API route, so the table cannot fall behind the template.
func TestGuidedDeployPrompts(t *testing.T) {
	tmpl, _ := readRepo(t)
	cfg, err := os.ReadFile(filepath.Join(root, "samconfig.toml"))
	if err != nil {
		t.Fatal(err)
	}
	derived, err := guidedPrompts(tmpl, string(cfg))
	if err != nil {
		t.Fatal(err)
	}
	auth := 0
	for _, p := range derived {
		if strings.Contains(p, "has no authentication") {
			auth++
		}
	}
	got, err := routes(mustStack(t, tmpl))
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, rs := range got {
		n += len(rs)
	}
	if auth != n {
		t.Errorf("%d authentication questions derived for %d HttpApi routes", auth, n)
	}
	md, err := os.ReadFile(filepath.Join(root, deployDoc))
	if err != nil {
		t.Fatal(err)
	}
	if err := checkPromptTable(string(md), derived); err != nil {
		t.Errorf("%s's guided-deploy table is not what SAM CLI asks:\n%v", deployDoc, err)
	}

	// The derivation and the table check can fail.
	for _, m := range []struct{ name, old, new string }{
		{"a route added", "        Preflight:\n", "        Head:\n          Type: HttpApi\n          Properties: {ApiId: !Ref HttpApi, Path: /token, Method: HEAD}\n        Preflight:\n"},
		{"a parameter added", "  SecretPrefix:\n    Type: String\n", "  Extra:\n    Type: String\n    Default: x\n  SecretPrefix:\n    Type: String\n"},
		{"an API authorizer (no authentication questions)", "    Type: AWS::Serverless::HttpApi\n    Properties:\n", "    Type: AWS::Serverless::HttpApi\n    Properties:\n      Auth: {EnableIamAuthorizer: true}\n"},
	} {
		if !strings.Contains(tmpl, m.old) {
			t.Fatalf("%s: mutation no longer applies", m.name)
		}
		d, err := guidedPrompts(strings.Replace(tmpl, m.old, m.new, 1), string(cfg))
		if err != nil {
			t.Fatal(err)
		}
		if checkPromptTable(string(md), d) == nil {
			t.Errorf("table check passed on a template with %s", m.name)
		}
	}
}

// mustStack loads a template with the real Makefile.
func mustStack(t *testing.T, tmpl string) *stack {
	t.Helper()
	_, mk := readRepo(t)
	s, err := loadStack(tmpl, mk)
	if err != nil {
		t.Fatal(err)
	}
	return s
}
