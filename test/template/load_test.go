package template

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/awslabs/goformation/v7"
	"github.com/awslabs/goformation/v7/cloudformation"
	"github.com/awslabs/goformation/v7/cloudformation/serverless"
	"github.com/awslabs/goformation/v7/intrinsics"
)

// root is the module root, relative to this package.
const root = "../.."

// stack is what the checks look at.
type stack struct {
	// tmpl is goformation's typed model of the template.
	tmpl *cloudformation.Template
	// doc is the same template as generic JSON, for the properties
	// goformation v7.14.9 does not model (see unmodelled).
	doc map[string]any
	// raw is the template as generic JSON with its intrinsics unresolved,
	// for checks that evaluate it for other parameter values (evaluator).
	raw map[string]any
	// makefile is the Makefile's text.
	makefile string
	// root is where functions/<name> packages are looked for.
	root string
}

// processor resolves the template's intrinsics for checking rather than
// for deploying: Fn::Sub keeps its text ("arn:${AWS::Partition}:...", so a
// check sees exactly which ARN a policy names), and a Ref to a resource
// becomes the resource's logical ID (goformation's default drops it).
// A Ref to a parameter becomes its default, as in goformation, and Fn::If
// takes the branch its condition selects with the defaults (goformation's
// own Fn::If depends on the order it happens to process the template in).
var processor = &intrinsics.ProcessorOptions{
	IntrinsicHandlerOverrides: map[string]intrinsics.IntrinsicHandler{
		"Fn::If": func(_ string, in, tmpl any) any {
			args, _ := in.([]any)
			doc, _ := tmpl.(map[string]any)
			if len(args) != 3 {
				return nil
			}
			e, err := newEvaluator(doc, nil)
			if err != nil {
				return nil
			}
			name, _ := args[0].(string)
			if c, err := e.condition(name); err != nil {
				return nil
			} else if c {
				return args[1]
			}
			return args[2]
		},
		"Fn::Sub": func(_ string, in, _ any) any {
			if args, ok := in.([]any); ok && len(args) > 0 {
				return args[0]
			}
			return in
		},
		// A GetAtt becomes "GetAtt:Resource.Attribute", so a check sees which
		// resource a policy or an event source names.
		"Fn::GetAtt": func(_ string, in, _ any) any {
			switch v := in.(type) {
			case []any:
				parts := make([]string, len(v))
				for i, p := range v {
					parts[i] = fmt.Sprint(p)
				}
				return "GetAtt:" + strings.Join(parts, ".")
			case string:
				return "GetAtt:" + v
			}
			return nil
		},
		"Ref": func(name string, in, tmpl any) any {
			if v := intrinsics.Ref(name, in, tmpl); v != nil {
				return v
			}
			if s, ok := in.(string); ok && s != "AWS::NoValue" {
				return s
			}
			return nil
		},
	},
}

// unmodelled are, by resource type, properties goformation v7.14.9 rejects
// as unknown fields. They are removed before the typed parse and checked on
// stack.doc instead (and in the SAM translator's output, sam_test.go).
var unmodelled = map[string][]string{
	"AWS::Serverless::Function": {"LoggingConfig"},
	"AWS::Serverless::HttpApi":  {"AccessLogSettings", "RouteSettings"},
	// Tags on event source mappings came after v7.14.9's models.
	"AWS::Lambda::EventSourceMapping": {"Tags"},
}

// loadStack parses a template and Makefile given as text.
//
// goformation.Open cannot read template.yaml directly: its models reject
// LoggingConfig, and a Ref to a Number parameter inside Environment.Variables
// (a map of strings) fails to decode. So this runs goformation's own
// intrinsic processor, stringifies environment values as CloudFormation
// does, drops the unmodelled properties, and hands the result to
// goformation's parser.
func loadStack(templateYAML, makefile string) (*stack, error) {
	processed, err := intrinsics.ProcessYAML([]byte(templateYAML), processor)
	if err != nil {
		return nil, fmt.Errorf("template: %w", err)
	}
	unprocessed, err := intrinsics.ProcessYAML([]byte(templateYAML), &intrinsics.ProcessorOptions{NoProcess: true})
	if err != nil {
		return nil, fmt.Errorf("template: %w", err)
	}
	var raw map[string]any
	if err := json.Unmarshal(unprocessed, &raw); err != nil {
		return nil, err
	}
	var doc map[string]any
	if err := json.Unmarshal(processed, &doc); err != nil {
		return nil, err
	}
	var typed map[string]any
	if err := json.Unmarshal(processed, &typed); err != nil {
		return nil, err
	}
	resources, _ := typed["Resources"].(map[string]any)
	for _, r := range resources {
		res, _ := r.(map[string]any)
		props, _ := res["Properties"].(map[string]any)
		typ, _ := res["Type"].(string)
		if props == nil {
			continue
		}
		for _, p := range unmodelled[typ] {
			delete(props, p)
		}
		if typ != "AWS::Serverless::Function" {
			continue
		}
		if env, ok := props["Environment"].(map[string]any); ok {
			if vars, ok := env["Variables"].(map[string]any); ok {
				for k, v := range vars {
					vars[k] = fmt.Sprint(v)
				}
			}
		}
	}
	data, err := json.Marshal(typed)
	if err != nil {
		return nil, err
	}
	tmpl, err := goformation.ParseJSONWithOptions(data, &intrinsics.ProcessorOptions{NoProcess: true})
	if err != nil {
		return nil, fmt.Errorf("template (goformation): %w", err)
	}
	return &stack{tmpl: tmpl, doc: doc, raw: raw, makefile: makefile, root: root}, nil
}

// readRepo returns the real template.yaml and Makefile.
func readRepo(t *testing.T) (templateYAML, makefile string) {
	t.Helper()
	tb, err := os.ReadFile(filepath.Join(root, "template.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	mb, err := os.ReadFile(filepath.Join(root, "Makefile"))
	if err != nil {
		t.Fatal(err)
	}
	return string(tb), string(mb)
}

// resourceProps returns a resource's Properties from the generic document.
func (s *stack) resourceProps(id string) map[string]any {
	resources, _ := s.doc["Resources"].(map[string]any)
	res, _ := resources[id].(map[string]any)
	props, _ := res["Properties"].(map[string]any)
	return props
}

// resourceType returns a resource's Type from the generic document.
func (s *stack) resourceType(id string) string {
	resources, _ := s.doc["Resources"].(map[string]any)
	res, _ := resources[id].(map[string]any)
	typ, _ := res["Type"].(string)
	return typ
}

// Short names for goformation's SAM types.
type (
	serverlessFunction = serverless.Function
)

// paramDefault returns a parameter's Default from the generic document.
func (s *stack) paramDefault(name string) any {
	params, _ := s.doc["Parameters"].(map[string]any)
	p, _ := params[name].(map[string]any)
	return p["Default"]
}
