package tools

import (
	"encoding/json"
	"sort"
)

// Family groups tools by the kind of system they reach.
type Family string

// Families.
const (
	FamilySQL        Family = "sql"
	FamilyGovernance Family = "governance"
)

// Annotations are the MCP tool hints, decided here.
type Annotations struct {
	ReadOnly    bool `json:"readOnlyHint"`
	Destructive bool `json:"destructiveHint"`
	Idempotent  bool `json:"idempotentHint"`
	OpenWorld   bool `json:"openWorldHint"`
}

// Tool is one catalog entry.
type Tool struct {
	Name        string      `json:"name"`
	Title       string      `json:"title"`
	Family      Family      `json:"family"`
	Description string      `json:"description"`
	Annotations Annotations `json:"annotations"`
	// Kinds are the connection kinds the tool works on (empty: none needed).
	Kinds []string `json:"kinds,omitempty"`
	// input builds the input schema for the given connection names.
	input  func(conns []string) map[string]any
	output map[string]any
}

// NeedsConnection reports whether the tool takes a connection argument.
func (t *Tool) NeedsConnection() bool { return len(t.Kinds) > 0 }

// InputSchema returns the JSON input schema, with the connection argument
// limited to conns.
func (t *Tool) InputSchema(conns []string) json.RawMessage {
	return mustJSON(t.input(conns))
}

// OutputSchema returns the JSON output schema of structuredContent. Every
// result may say what was masked in it (never the values).
func (t *Tool) OutputSchema() json.RawMessage {
	s := map[string]any{}
	for k, v := range t.output {
		s[k] = v
	}
	p := map[string]any{"masked": maskedSchema}
	for k, v := range t.output["properties"].(props) {
		p[k] = v
	}
	s["properties"] = p
	return mustJSON(s)
}

var maskedSchema = array("Columns or fields masked in this result, by which rule or detector; values are never shown.",
	object([]string{"column", "rule", "action", "count"}, props{
		"column": str("Column name or JSON field path."),
		"rule":   str("Masking rule name, or detector:NAME for content detectors."),
		"action": str("redact, partial, hash or drop."),
		"count":  integer("Values masked.", 0, 0),
	}))

func mustJSON(v any) json.RawMessage {
	b, err := json.Marshal(v)
	if err != nil {
		panic("tools: schema does not encode: " + err.Error())
	}
	return b
}

// Catalog is the set of tools, keyed by name.
type Catalog struct {
	byName map[string]*Tool
	order  []*Tool
}

// Default returns the catalog of every tool airlock serves.
func Default() *Catalog {
	c := &Catalog{byName: map[string]*Tool{}}
	for _, t := range append(governanceTools(), sqlTools()...) {
		c.add(t)
	}
	return c
}

func (c *Catalog) add(t *Tool) {
	if _, dup := c.byName[t.Name]; dup {
		panic("tools: duplicate tool " + t.Name)
	}
	c.byName[t.Name] = t
	c.order = append(c.order, t)
	sort.SliceStable(c.order, func(i, j int) bool { return c.order[i].Name < c.order[j].Name })
}

// Get returns the tool called name.
func (c *Catalog) Get(name string) (*Tool, bool) {
	t, ok := c.byName[name]
	return t, ok
}

// All returns every tool, sorted by name.
func (c *Catalog) All() []*Tool { return c.order }

// For returns the tools usable with at least one of the given connection
// kinds, plus the tools that need no connection.
func (c *Catalog) For(kinds map[string]bool) []*Tool {
	var out []*Tool
	for _, t := range c.order {
		if !t.NeedsConnection() {
			out = append(out, t)
			continue
		}
		for _, k := range t.Kinds {
			if kinds[k] {
				out = append(out, t)
				break
			}
		}
	}
	return out
}
