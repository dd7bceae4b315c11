package tools

// Small builders for JSON Schema (draft 2020-12 subset) so the catalog reads
// as a list of tools rather than nested maps.

type props = map[string]any

func object(required []string, properties props) map[string]any {
	s := map[string]any{"type": "object", "properties": properties, "additionalProperties": false}
	if len(required) > 0 {
		s["required"] = required
	}
	return s
}

func str(desc string) map[string]any { return map[string]any{"type": "string", "description": desc} }

func integer(desc string, min, max int) map[string]any {
	s := map[string]any{"type": "integer", "description": desc, "minimum": min}
	if max > 0 {
		s["maximum"] = max
	}
	return s
}

func boolean(desc string) map[string]any {
	return map[string]any{"type": "boolean", "description": desc}
}

func array(desc string, items any) map[string]any {
	s := map[string]any{"type": "array", "items": items}
	if desc != "" {
		s["description"] = desc
	}
	return s
}

func connectionProp(conns []string) map[string]any {
	s := str("Name of the connection to use; list_connections describes each.")
	if len(conns) > 0 {
		s["enum"] = conns
	}
	return s
}

// withConnection adds the required connection argument to an input schema.
func withConnection(required []string, properties props) func([]string) map[string]any {
	return func(conns []string) map[string]any {
		p := props{"connection": connectionProp(conns)}
		for k, v := range properties {
			p[k] = v
		}
		return object(append([]string{"connection"}, required...), p)
	}
}
