package e2e

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/mark3labs/mcp-go/mcp"
)

var protocols = []string{mcp.ProtocolVersion20251125, mcp.ProtocolVersion20260728}

func TestReadsReturnRowsOnBothRevisions(t *testing.T) {
	e := newEnv(t, "30s", "")
	for _, v := range protocols {
		t.Run(v, func(t *testing.T) {
			c := e.client(v)
			res := call(t, c, "sql_query", map[string]any{"connection": "shop",
				"sql": "SELECT id, name, email FROM customers WHERE id <= $1 ORDER BY id", "params": []any{3}})
			if res.IsError {
				t.Fatalf("read refused: %s", textOf(res))
			}
			var out queryOut
			structured(t, res, &out)
			if out.RowCount != 3 || len(out.Rows) != 3 || out.Truncated {
				t.Fatalf("got %d rows (truncated %v), want 3: %+v", out.RowCount, out.Truncated, out)
			}
			if out.Columns[0].Name != "id" || out.Columns[0].Type != "int8" || out.Columns[2].Type != "text" {
				t.Fatalf("columns: %+v", out.Columns)
			}
			if id, _ := out.Rows[0][0].(float64); id != 1 {
				t.Fatalf("first id = %v, want 1 as a JSON number", out.Rows[0][0])
			}
			text := textOf(res)
			if !strings.Contains(text, "id (int8) | name (text) | email (text)") || !strings.Contains(text, "(3 rows;") {
				t.Fatalf("text rendering:\n%s", text)
			}
		})
	}
}

func TestCatalogTools(t *testing.T) {
	e := newEnv(t, "30s", "")
	c := e.client(mcp.ProtocolVersion20260728)

	res := call(t, c, "list_connections", map[string]any{})
	if res.IsError || !strings.Contains(textOf(res), "shop (postgres) [env=dev team=payments]: test shop database") {
		t.Fatalf("list_connections: %s", textOf(res))
	}

	res = call(t, c, "sql_list_schemas", map[string]any{"connection": "shop"})
	if res.IsError || !strings.Contains(textOf(res), "analytics") || !strings.Contains(textOf(res), "public") {
		t.Fatalf("sql_list_schemas: %s", textOf(res))
	}

	res = call(t, c, "sql_list_tables", map[string]any{"connection": "shop", "schema": "public"})
	var tables struct {
		Tables []struct{ Schema, Name, Kind string } `json:"tables"`
	}
	structured(t, res, &tables)
	kinds := map[string]string{}
	for _, tb := range tables.Tables {
		if tb.Schema != "public" {
			t.Fatalf("schema filter leaked %s.%s", tb.Schema, tb.Name)
		}
		kinds[tb.Name] = tb.Kind
	}
	if kinds["customers"] != "table" || kinds["customer_orders"] != "view" {
		t.Fatalf("tables: %+v", tables.Tables)
	}

	res = call(t, c, "sql_describe_table", map[string]any{"connection": "shop", "table": "public.orders"})
	var d struct {
		Columns []struct {
			Name     string
			Type     string
			Nullable bool
		} `json:"columns"`
		PrimaryKey  []string `json:"primary_key"`
		ForeignKeys []struct {
			References string `json:"references"`
		} `json:"foreign_keys"`
		Indexes []struct{ Name string } `json:"indexes"`
	}
	structured(t, res, &d)
	if len(d.PrimaryKey) != 1 || d.PrimaryKey[0] != "id" || len(d.ForeignKeys) != 1 ||
		!strings.Contains(d.ForeignKeys[0].References, "REFERENCES customers(id)") || len(d.Indexes) < 3 {
		t.Fatalf("describe orders: %+v\n%s", d, textOf(res))
	}
	if d.Columns[2].Name != "amount" || d.Columns[2].Type != "numeric(12,2)" || d.Columns[2].Nullable {
		t.Fatalf("amount column: %+v", d.Columns[2])
	}

	res = call(t, c, "sql_describe_table", map[string]any{"connection": "shop", "table": "no_such_table"})
	if !res.IsError || !strings.Contains(textOf(res), "not found") {
		t.Fatalf("describe of a missing table: %s", textOf(res))
	}

	res = call(t, c, "sql_explain", map[string]any{"connection": "shop", "sql": "SELECT * FROM orders WHERE id = $1", "params": []any{7}})
	if res.IsError || !strings.Contains(textOf(res), `"Node Type"`) {
		t.Fatalf("sql_explain: %s", textOf(res))
	}
	// Explaining a write plans it without running it.
	before := e.fingerprint()
	res = call(t, c, "sql_explain", map[string]any{"connection": "shop", "sql": "DELETE FROM orders"})
	if res.IsError || !strings.Contains(textOf(res), "Delete") {
		t.Fatalf("sql_explain of a delete: %s", textOf(res))
	}
	if e.fingerprint() != before {
		t.Fatal("sql_explain of a delete changed the database")
	}
}

func TestMaxRowsTruncates(t *testing.T) {
	e := newEnv(t, "30s", "")
	c := e.client(mcp.ProtocolVersion20260728)
	res := call(t, c, "sql_query", map[string]any{"connection": "shop", "sql": "SELECT * FROM big_events", "max_rows": 10})
	var out queryOut
	structured(t, res, &out)
	if res.IsError || out.RowCount != 10 || !out.Truncated || !strings.Contains(textOf(res), "truncated") {
		t.Fatalf("max_rows 10: rows %d truncated %v: %s", out.RowCount, out.Truncated, textOf(res))
	}
	// Without max_rows the configured default (1000) applies, and the
	// 200,000-row table is cut without being streamed whole.
	start := time.Now()
	res = call(t, c, "sql_query", map[string]any{"connection": "shop", "sql": "SELECT * FROM big_events ORDER BY id"})
	structured(t, res, &out)
	if out.RowCount != 1000 || !out.Truncated {
		t.Fatalf("default cap: rows %d truncated %v", out.RowCount, out.Truncated)
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Fatalf("capped read took %s", d)
	}
	// A result that fits is not marked truncated.
	res = call(t, c, "sql_query", map[string]any{"connection": "shop", "sql": "SELECT id FROM customers", "max_rows": 50})
	structured(t, res, &out)
	if out.RowCount != 50 || out.Truncated {
		t.Fatalf("exactly 50 rows: rows %d truncated %v", out.RowCount, out.Truncated)
	}
}

func TestStatementTimeoutCutsSleep(t *testing.T) {
	e := newEnv(t, "300ms", "")
	c := e.client(mcp.ProtocolVersion20251125)
	start := time.Now()
	res := call(t, c, "sql_query", map[string]any{"connection": "shop", "sql": "SELECT pg_sleep(10)"})
	if !res.IsError || !strings.Contains(textOf(res), "ran longer than its time limit") {
		t.Fatalf("pg_sleep(10) with a 300ms limit: %s", textOf(res))
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Fatalf("the timeout took %s to act", d)
	}
	// The connection is usable afterwards.
	res = call(t, c, "sql_query", map[string]any{"connection": "shop", "sql": "SELECT 1 AS one"})
	if res.IsError {
		t.Fatalf("after a timeout: %s", textOf(res))
	}
}

func TestBadInputIsExplained(t *testing.T) {
	e := newEnv(t, "30s", "")
	c := e.client(mcp.ProtocolVersion20260728)
	for _, tc := range []struct {
		name string
		args map[string]any
		want string
	}{
		{"syntax error", map[string]any{"connection": "shop", "sql": "SELEC id FROM customers"}, "syntax error"},
		{"unknown connection", map[string]any{"connection": "prod", "sql": "SELECT 1"}, `connection "prod" is not one you can use`},
		{"missing sql", map[string]any{"connection": "shop"}, `argument "sql": is required`},
		{"wrong type", map[string]any{"connection": "shop", "sql": 42}, `argument "sql": must be a string`},
		{"unknown argument", map[string]any{"connection": "shop", "sql": "SELECT 1", "database": "x"}, `"database": is not an argument`},
		{"two statements", map[string]any{"connection": "shop", "sql": "SELECT 1; SELECT 2"}, "one statement per call"},
		{"missing table", map[string]any{"connection": "shop", "sql": "SELECT * FROM nope"}, `42P01: relation "nope" does not exist (at character 15 of your SQL)`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			res := call(t, c, "sql_query", tc.args)
			if !res.IsError || !strings.Contains(textOf(res), tc.want) {
				t.Fatalf("got isError=%v %q, want it to contain %q", res.IsError, textOf(res), tc.want)
			}
		})
	}
	// An unknown tool is a protocol error, not a tool result.
	req := mcp.CallToolRequest{}
	req.Params.Name = "sql_drop_everything"
	if _, err := c.CallTool(t.Context(), req); err == nil {
		t.Fatal("unknown tool: want a JSON-RPC error")
	}
}

func TestOversizedRequestIsRefused(t *testing.T) {
	e := newEnv(t, "30s", "")
	body := `{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"sql_query","arguments":{"connection":"shop","sql":"SELECT '` +
		strings.Repeat("x", 2<<20) + `'"}}}`
	resp, err := http.Post(e.url+"/mcp", "application/json", strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusRequestEntityTooLarge {
		t.Fatalf("a 2 MiB request got %d, want 413", resp.StatusCode)
	}
	// The gateway still serves normal calls.
	c := e.client(mcp.ProtocolVersion20260728)
	if res := call(t, c, "sql_query", map[string]any{"connection": "shop", "sql": "SELECT 1"}); res.IsError {
		t.Fatal(textOf(res))
	}
}
