package postgres

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"

	"github.com/airlockhq/airlock/connectors"
	"github.com/airlockhq/airlock/tools"
)

// The metadata tools read the system catalogs with fixed queries; the
// caller's names only ever travel as parameters.

const sysSchemas = `n.nspname NOT IN ('pg_catalog', 'information_schema', 'pg_toast') AND n.nspname NOT LIKE 'pg_temp_%' AND n.nspname NOT LIKE 'pg_toast_temp_%'`

func (c *Conn) catalogQuery(ctx context.Context, sql string, lim connectors.Limits, args ...any) (*rowSet, error) {
	l := lim
	if l.MaxRows <= 0 || l.MaxRows > 10000 {
		l.MaxRows = 10000
	}
	return c.run(ctx, execStmt{SQL: sql, Params: args, ReadOnly: true}, l)
}

func (c *Conn) listSchemas(ctx context.Context, lim connectors.Limits) (*connectors.Result, error) {
	rs, err := c.catalogQuery(ctx, `SELECT n.nspname, pg_get_userbyid(n.nspowner) FROM pg_namespace n WHERE `+sysSchemas+` ORDER BY 1`, lim)
	if err != nil {
		return nil, err
	}
	type schema struct {
		Name  string `json:"name"`
		Owner string `json:"owner"`
	}
	out := make([]schema, 0, len(rs.Rows))
	var b strings.Builder
	for _, r := range rs.Rows {
		s := schema{Name: str(r[0]), Owner: str(r[1])}
		out = append(out, s)
		fmt.Fprintf(&b, "%s (owner %s)\n", s.Name, s.Owner)
	}
	fmt.Fprintf(&b, "(%d schemas)\n", len(out))
	return &connectors.Result{Structured: map[string]any{"schemas": out}, Text: b.String(), Rows: len(out), Truncated: rs.Truncated, Duration: rs.Duration}, nil
}

func (c *Conn) listTables(ctx context.Context, op connectors.Operation, lim connectors.Limits) (*connectors.Result, error) {
	schema, _ := op.Args[tools.ArgSchema].(string)
	rs, err := c.catalogQuery(ctx, `SELECT n.nspname, c.relname,
  CASE c.relkind WHEN 'r' THEN 'table' WHEN 'v' THEN 'view' WHEN 'm' THEN 'materialized_view'
    WHEN 'f' THEN 'foreign_table' WHEN 'p' THEN 'partitioned_table' END,
  c.reltuples::bigint, coalesce(obj_description(c.oid, 'pg_class'), '')
FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
WHERE c.relkind IN ('r','v','m','f','p') AND `+sysSchemas+` AND ($1::text IS NULL OR n.nspname = $1)
  AND has_schema_privilege(n.oid, 'USAGE')
ORDER BY 1, 2`, lim, nullable(schema))
	if err != nil {
		return nil, err
	}
	type table struct {
		Schema        string `json:"schema"`
		Name          string `json:"name"`
		Kind          string `json:"kind"`
		EstimatedRows int64  `json:"estimated_rows"`
		Description   string `json:"description,omitempty"`
	}
	out := make([]table, 0, len(rs.Rows))
	var b strings.Builder
	for _, r := range rs.Rows {
		t := table{Schema: str(r[0]), Name: str(r[1]), Kind: str(r[2]), EstimatedRows: num(r[3]), Description: str(r[4])}
		out = append(out, t)
		fmt.Fprintf(&b, "%s.%s (%s, ~%d rows)", t.Schema, t.Name, t.Kind, t.EstimatedRows)
		if t.Description != "" {
			fmt.Fprintf(&b, ": %s", t.Description)
		}
		b.WriteByte('\n')
	}
	fmt.Fprintf(&b, "(%d tables)\n", len(out))
	return &connectors.Result{Structured: map[string]any{"tables": out}, Text: b.String(), Rows: len(out), Truncated: rs.Truncated, Duration: rs.Duration}, nil
}

func nullable(s string) any {
	if s == "" {
		return nil
	}
	return s
}

func str(v any) string {
	switch x := v.(type) {
	case nil:
		return ""
	case string:
		return x
	case json.RawMessage:
		return string(x)
	default:
		return fmt.Sprint(x)
	}
}

func num(v any) int64 {
	switch x := v.(type) {
	case int64:
		return x
	case float64:
		return int64(x)
	}
	return 0
}

// describeSQL builds the whole description in one query (one round trip) as
// JSON. $1 is the relation name as to_regclass parses it.
const describeSQL = `WITH r AS (
  SELECT c.oid, n.nspname, c.relname, c.relkind, c.reltuples::bigint AS est
  FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
  WHERE c.oid = to_regclass($1))
SELECT json_build_object(
  'schema', r.nspname, 'name', r.relname,
  'kind', CASE r.relkind WHEN 'r' THEN 'table' WHEN 'v' THEN 'view' WHEN 'm' THEN 'materialized_view'
    WHEN 'f' THEN 'foreign_table' WHEN 'p' THEN 'partitioned_table' ELSE r.relkind::text END,
  'estimated_rows', r.est,
  'columns', coalesce((SELECT json_agg(json_build_object('name', a.attname,
      'type', format_type(a.atttypid, a.atttypmod), 'nullable', NOT a.attnotnull,
      'default', pg_get_expr(d.adbin, d.adrelid)) ORDER BY a.attnum)
    FROM pg_attribute a LEFT JOIN pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum
    WHERE a.attrelid = r.oid AND a.attnum > 0 AND NOT a.attisdropped), '[]'),
  'primary_key', coalesce((SELECT json_agg(a.attname ORDER BY k.ord)
    FROM pg_constraint con CROSS JOIN LATERAL unnest(con.conkey) WITH ORDINALITY k(attnum, ord)
    JOIN pg_attribute a ON a.attrelid = con.conrelid AND a.attnum = k.attnum
    WHERE con.conrelid = r.oid AND con.contype = 'p'), '[]'),
  'foreign_keys', coalesce((SELECT json_agg(json_build_object('name', con.conname,
      'columns', (SELECT json_agg(a.attname ORDER BY k.ord)
        FROM unnest(con.conkey) WITH ORDINALITY k(attnum, ord)
        JOIN pg_attribute a ON a.attrelid = con.conrelid AND a.attnum = k.attnum),
      'references', pg_get_constraintdef(con.oid)) ORDER BY con.conname)
    FROM pg_constraint con WHERE con.conrelid = r.oid AND con.contype = 'f'), '[]'),
  'indexes', coalesce((SELECT json_agg(json_build_object('name', ic.relname,
      'definition', pg_get_indexdef(i.indexrelid), 'unique', i.indisunique, 'primary', i.indisprimary)
      ORDER BY ic.relname)
    FROM pg_index i JOIN pg_class ic ON ic.oid = i.indexrelid WHERE i.indrelid = r.oid), '[]'))
FROM r`

type tableDesc struct {
	Schema  string `json:"schema"`
	Name    string `json:"name"`
	Kind    string `json:"kind"`
	Columns []struct {
		Name     string  `json:"name"`
		Type     string  `json:"type"`
		Nullable bool    `json:"nullable"`
		Default  *string `json:"default"`
	} `json:"columns"`
	PrimaryKey  []string `json:"primary_key"`
	ForeignKeys []struct {
		Name       string   `json:"name"`
		Columns    []string `json:"columns"`
		References string   `json:"references"`
	} `json:"foreign_keys"`
	Indexes []struct {
		Name       string `json:"name"`
		Definition string `json:"definition"`
		Unique     bool   `json:"unique"`
		Primary    bool   `json:"primary"`
	} `json:"indexes"`
	EstimatedRows int64 `json:"estimated_rows"`
}

func (c *Conn) describeTable(ctx context.Context, op connectors.Operation, lim connectors.Limits) (*connectors.Result, error) {
	table, _ := op.Args[tools.ArgTable].(string)
	schema, _ := op.Args[tools.ArgSchema].(string)
	name := table
	if schema != "" {
		name = quoteIdent(schema) + "." + quoteIdent(table)
	}
	rs, err := c.catalogQuery(ctx, describeSQL, lim, name)
	if err != nil {
		return nil, err
	}
	if len(rs.Rows) == 0 {
		return nil, &connectors.Error{Code: "42P01", Message: fmt.Sprintf("table %q was not found on %s", name, c.name),
			Hint: "sql_list_tables lists the tables you can see; qualify the name as schema.table"}
	}
	raw, _ := rs.Rows[0][0].(json.RawMessage)
	var d tableDesc
	if err := json.Unmarshal(raw, &d); err != nil {
		return nil, fmt.Errorf("postgres: describe %s: %w", name, err)
	}
	var b strings.Builder
	fmt.Fprintf(&b, "%s.%s (%s, ~%d rows)\n", d.Schema, d.Name, d.Kind, d.EstimatedRows)
	for _, col := range d.Columns {
		fmt.Fprintf(&b, "  %s %s", col.Name, col.Type)
		if !col.Nullable {
			b.WriteString(" NOT NULL")
		}
		if col.Default != nil {
			fmt.Fprintf(&b, " DEFAULT %s", *col.Default)
		}
		b.WriteByte('\n')
	}
	if len(d.PrimaryKey) > 0 {
		fmt.Fprintf(&b, "primary key: (%s)\n", strings.Join(d.PrimaryKey, ", "))
	}
	for _, fk := range d.ForeignKeys {
		fmt.Fprintf(&b, "foreign key %s: %s\n", fk.Name, fk.References)
	}
	for _, ix := range d.Indexes {
		fmt.Fprintf(&b, "index %s\n", ix.Definition)
	}
	var structured map[string]any
	if err := json.Unmarshal(raw, &structured); err != nil {
		return nil, fmt.Errorf("postgres: describe %s: %w", name, err)
	}
	return &connectors.Result{Structured: structured, Text: b.String(), Rows: len(d.Columns), Duration: rs.Duration}, nil
}

// quoteIdent quotes a name as PostgreSQL's quote_ident does for a name that
// needs it; the result only ever travels as a parameter.
func quoteIdent(s string) string {
	return `"` + strings.ReplaceAll(s, `"`, `""`) + `"`
}
