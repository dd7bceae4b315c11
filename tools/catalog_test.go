package tools

import (
	"bytes"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

var update = flag.Bool("update", false, "rewrite testdata/catalog.golden.json")

// TestCatalogGolden pins what clients see: any change to a tool's name,
// description, schema or annotations shows up as a diff to review.
func TestCatalogGolden(t *testing.T) {
	type entry struct {
		*Tool
		InputSchema  json.RawMessage `json:"inputSchema"`
		OutputSchema json.RawMessage `json:"outputSchema"`
	}
	var all []entry
	for _, tl := range Default().All() {
		all = append(all, entry{tl, tl.InputSchema([]string{"CONNECTIONS"}), tl.OutputSchema()})
	}
	got, err := json.MarshalIndent(all, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	got = append(got, '\n')
	path := filepath.Join("testdata", "catalog.golden.json")
	if *update {
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test ./tools -update)", err)
	}
	if !bytes.Equal(got, want) {
		t.Fatalf("the advertised catalog changed; review and run `go test ./tools -update`:\n%s", got)
	}
}

func TestSchemasAreObjectsWithConnectionEnum(t *testing.T) {
	for _, tl := range Default().All() {
		var s map[string]any
		if err := json.Unmarshal(tl.InputSchema([]string{"a", "b"}), &s); err != nil {
			t.Fatalf("%s: %v", tl.Name, err)
		}
		if s["type"] != "object" {
			t.Errorf("%s: input schema type %v", tl.Name, s["type"])
		}
		props := s["properties"].(map[string]any)
		conn, has := props["connection"].(map[string]any)
		// Governance tools may name a connection as data (request_access)
		// without running on it.
		if has != tl.NeedsConnection() && tl.Family != FamilyGovernance {
			t.Errorf("%s: connection argument present=%v, needs=%v", tl.Name, has, tl.NeedsConnection())
		}
		if tl.NeedsConnection() && len(conn["enum"].([]any)) != 2 {
			t.Errorf("%s: connection enum %v", tl.Name, conn["enum"])
		}
		if err := json.Unmarshal(tl.OutputSchema(), &s); err != nil || s["type"] != "object" {
			t.Errorf("%s: output schema must be an object: %v", tl.Name, err)
		}
	}
}

func TestParseChecksArguments(t *testing.T) {
	q, _ := Default().Get("sql_query")
	for _, tc := range []struct {
		args map[string]any
		want string // "" = ok
	}{
		{map[string]any{"connection": "db", "sql": "SELECT 1"}, ""},
		{map[string]any{"connection": "db", "sql": "SELECT $1", "params": []any{"x", 1.0, true, nil}, "max_rows": 5.0}, ""},
		{map[string]any{"sql": "SELECT 1"}, `argument "connection": is required`},
		{map[string]any{"connection": "db"}, `argument "sql": is required`},
		{map[string]any{"connection": "db", "sql": "  "}, `argument "sql": must not be empty`},
		{map[string]any{"connection": "db", "sql": 1.0}, `argument "sql": must be a string, got integer`},
		{map[string]any{"connection": "db", "sql": "x", "max_rows": 0.0}, `argument "max_rows": must be at least 1`},
		{map[string]any{"connection": "db", "sql": "x", "max_rows": 1.5}, `argument "max_rows": must be an integer`},
		{map[string]any{"connection": "db", "sql": "x", "params": "1"}, `argument "params": must be an array`},
		{map[string]any{"connection": "db", "sql": "x", "params": []any{map[string]any{}}}, `argument "params[0]": must be one of`},
		{map[string]any{"connection": "db", "sql": "x", "db": "y"}, `argument "db": is not an argument of this tool`},
	} {
		conn, args, err := q.Parse(tc.args)
		switch {
		case tc.want == "" && err != nil:
			t.Errorf("%v: %v", tc.args, err)
		case tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want)):
			t.Errorf("%v: got %v, want %q", tc.args, err, tc.want)
		case tc.want == "" && (conn != "db" || args["connection"] != nil || args["sql"] == nil):
			t.Errorf("%v: split into %q %v", tc.args, conn, args)
		}
	}
}
