package tools

import (
	"fmt"
	"math"
	"sort"
	"strings"
)

// ArgError is a bad argument: the call is refused with this message, which
// names the argument and what is expected, before anything else happens.
type ArgError struct {
	Tool, Arg, Msg string
}

func (e *ArgError) Error() string {
	if e.Arg == "" {
		return fmt.Sprintf("tool %s: %s", e.Tool, e.Msg)
	}
	return fmt.Sprintf("tool %s: argument %q: %s", e.Tool, e.Arg, e.Msg)
}

// Parse checks raw arguments against the tool's input schema (without the
// connection enum, which the gateway checks against what the caller may use)
// and splits off the connection name.
func (t *Tool) Parse(raw map[string]any) (connection string, args map[string]any, err error) {
	schema := t.input(nil)
	if err := t.check(schema, raw); err != nil {
		return "", nil, err
	}
	args = make(map[string]any, len(raw))
	for k, v := range raw {
		if k == ArgConnection && t.NeedsConnection() {
			connection, _ = v.(string)
			continue
		}
		args[k] = v
	}
	return connection, args, nil
}

func (t *Tool) check(schema map[string]any, raw map[string]any) error {
	properties, _ := schema["properties"].(props)
	required, _ := schema["required"].([]string)
	for _, r := range required {
		v, ok := raw[r]
		if !ok || v == nil {
			return &ArgError{Tool: t.Name, Arg: r, Msg: "is required"}
		}
	}
	keys := make([]string, 0, len(raw))
	for k := range raw {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		ps, ok := properties[k].(map[string]any)
		if !ok {
			return &ArgError{Tool: t.Name, Arg: k, Msg: "is not an argument of this tool (arguments: " + strings.Join(sortedKeys(properties), ", ") + ")"}
		}
		if err := t.checkValue(k, ps, raw[k]); err != nil {
			return err
		}
	}
	return nil
}

func (t *Tool) checkValue(name string, ps map[string]any, v any) error {
	bad := func(msg string) error { return &ArgError{Tool: t.Name, Arg: name, Msg: msg} }
	switch typ := ps["type"].(type) {
	case string:
		switch typ {
		case "string":
			s, ok := v.(string)
			if !ok {
				return bad(fmt.Sprintf("must be a string, got %s", jsonType(v)))
			}
			if strings.TrimSpace(s) == "" {
				return bad("must not be empty")
			}
		case "integer":
			f, ok := v.(float64)
			if !ok || f != math.Trunc(f) || math.IsInf(f, 0) {
				return bad(fmt.Sprintf("must be an integer, got %s", jsonType(v)))
			}
			if min, ok := ps["minimum"].(int); ok && f < float64(min) {
				return bad(fmt.Sprintf("must be at least %d", min))
			}
			if max, ok := ps["maximum"].(int); ok && f > float64(max) {
				return bad(fmt.Sprintf("must be at most %d", max))
			}
		case "boolean":
			if _, ok := v.(bool); !ok {
				return bad(fmt.Sprintf("must be true or false, got %s", jsonType(v)))
			}
		case "array":
			items, ok := v.([]any)
			if !ok {
				return bad(fmt.Sprintf("must be an array, got %s", jsonType(v)))
			}
			if is, ok := ps["items"].(map[string]any); ok {
				for i, it := range items {
					if err := t.checkValue(fmt.Sprintf("%s[%d]", name, i), is, it); err != nil {
						return err
					}
				}
			}
		case "object":
			if _, ok := v.(map[string]any); !ok {
				return bad(fmt.Sprintf("must be an object, got %s", jsonType(v)))
			}
		}
	case []string:
		got := jsonType(v)
		for _, want := range typ {
			if want == got || (want == "number" && got == "integer") {
				return nil
			}
		}
		return bad(fmt.Sprintf("must be one of %s, got %s", strings.Join(typ, ", "), got))
	}
	return nil
}

func jsonType(v any) string {
	switch x := v.(type) {
	case nil:
		return "null"
	case string:
		return "string"
	case bool:
		return "boolean"
	case float64:
		if x == math.Trunc(x) {
			return "integer"
		}
		return "number"
	case []any:
		return "array"
	case map[string]any:
		return "object"
	default:
		return fmt.Sprintf("%T", v)
	}
}

func sortedKeys(m props) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}
