package template

import (
	"fmt"
	"regexp"
	"strings"
)

// evaluator resolves the intrinsics this template uses (Ref, Fn::If,
// Fn::Join, Fn::Sub, Fn::Equals, Fn::Not, Fn::And, Fn::Or, Condition) for
// one set of parameter values, the way CloudFormation would at deploy time:
// with it a check can read what an output or an environment variable
// becomes for a given deployment. Refs to resources and pseudo parameters
// it cannot know become "${Name}", as in the template's own Fn::Sub text.
type evaluator struct {
	params     map[string]string // values, defaults filled in
	conditions map[string]any    // the template's Conditions section
	seen       map[string]bool   // conditions being evaluated, against cycles
}

// newEvaluator takes a template (generic JSON) and parameter values that
// override its defaults.
func newEvaluator(doc map[string]any, overrides map[string]string) (*evaluator, error) {
	e := &evaluator{params: map[string]string{}, seen: map[string]bool{}}
	e.conditions, _ = doc["Conditions"].(map[string]any)
	params, _ := doc["Parameters"].(map[string]any)
	for name, p := range params {
		def, _ := p.(map[string]any)["Default"]
		if def != nil {
			e.params[name] = fmt.Sprint(def)
		}
	}
	for k, v := range overrides {
		if _, ok := params[k]; !ok {
			return nil, fmt.Errorf("no parameter %s", k)
		}
		e.params[k] = v
	}
	return e, nil
}

// condition evaluates the named condition.
func (e *evaluator) condition(name string) (bool, error) {
	expr, ok := e.conditions[name]
	if !ok {
		return false, fmt.Errorf("no condition %s", name)
	}
	if e.seen[name] {
		return false, fmt.Errorf("condition %s refers to itself", name)
	}
	e.seen[name] = true
	defer delete(e.seen, name)
	v, err := e.eval(expr)
	if err != nil {
		return false, fmt.Errorf("condition %s: %w", name, err)
	}
	b, ok := v.(bool)
	if !ok {
		return false, fmt.Errorf("condition %s is %v, not a boolean", name, v)
	}
	return b, nil
}

var subVar = regexp.MustCompile(`\$\{([^}]+)\}`)

// eval resolves v. An If branch that is AWS::NoValue yields nil.
func (e *evaluator) eval(v any) (any, error) {
	switch v := v.(type) {
	case []any:
		out := make([]any, 0, len(v))
		for _, x := range v {
			r, err := e.eval(x)
			if err != nil {
				return nil, err
			}
			if r != nil {
				out = append(out, r)
			}
		}
		return out, nil
	case map[string]any:
		if !isIntrinsic(v) {
			out := map[string]any{}
			for k, x := range v {
				r, err := e.eval(x)
				if err != nil {
					return nil, err
				}
				if r != nil {
					out[k] = r
				}
			}
			return out, nil
		}
		for fn, arg := range v {
			return e.intrinsic(fn, arg)
		}
	}
	return v, nil
}

// isIntrinsic reports whether m is an intrinsic function call: one key,
// Ref, Condition or Fn::*.
func isIntrinsic(m map[string]any) bool {
	if len(m) != 1 {
		return false
	}
	for k := range m {
		return k == "Ref" || k == "Condition" || strings.HasPrefix(k, "Fn::")
	}
	return false
}

func (e *evaluator) intrinsic(fn string, arg any) (any, error) {
	args, _ := arg.([]any)
	switch fn {
	case "Ref":
		name, _ := arg.(string)
		if name == "AWS::NoValue" {
			return nil, nil
		}
		if p, ok := e.params[name]; ok {
			return p, nil
		}
		return "${" + name + "}", nil
	case "Condition":
		name, _ := arg.(string)
		return e.condition(name)
	case "Fn::If":
		if len(args) != 3 {
			return nil, fmt.Errorf("Fn::If %v", arg)
		}
		name, _ := args[0].(string)
		c, err := e.condition(name)
		if err != nil {
			return nil, err
		}
		if c {
			return e.eval(args[1])
		}
		return e.eval(args[2])
	case "Fn::Equals":
		if len(args) != 2 {
			return nil, fmt.Errorf("Fn::Equals %v", arg)
		}
		a, err := e.eval(args[0])
		if err != nil {
			return nil, err
		}
		b, err := e.eval(args[1])
		if err != nil {
			return nil, err
		}
		return fmt.Sprint(a) == fmt.Sprint(b), nil
	case "Fn::Not", "Fn::And", "Fn::Or":
		all, some := true, false
		for _, a := range args {
			var r any
			var err error
			if name, ok := a.(string); ok {
				// goformation reads YAML's "!Condition Name" as just "Name".
				r, err = e.condition(name)
			} else {
				r, err = e.eval(a)
			}
			if err != nil {
				return nil, err
			}
			b, ok := r.(bool)
			if !ok {
				return nil, fmt.Errorf("%s of %v", fn, r)
			}
			all, some = all && b, some || b
		}
		switch fn {
		case "Fn::Not":
			return !all, nil
		case "Fn::And":
			return all, nil
		}
		return some, nil
	case "Fn::Join":
		if len(args) != 2 {
			return nil, fmt.Errorf("Fn::Join %v", arg)
		}
		list, err := e.eval(args[1])
		if err != nil {
			return nil, err
		}
		parts := []string{}
		for _, p := range list.([]any) {
			parts = append(parts, fmt.Sprint(p))
		}
		return strings.Join(parts, fmt.Sprint(args[0])), nil
	case "Fn::Sub":
		text, ok := arg.(string)
		vars := map[string]any{}
		if !ok && len(args) == 2 {
			text, _ = args[0].(string)
			m, _ := args[1].(map[string]any)
			for k, x := range m {
				r, err := e.eval(x)
				if err != nil {
					return nil, err
				}
				vars[k] = r
			}
		}
		return subVar.ReplaceAllStringFunc(text, func(m string) string {
			name := m[2 : len(m)-1]
			if v, ok := vars[name]; ok {
				return fmt.Sprint(v)
			}
			if p, ok := e.params[name]; ok {
				return p
			}
			return m
		}), nil
	}
	// Fn::GetAtt and the rest: kept as they are, for the check to read.
	return map[string]any{fn: arg}, nil
}
