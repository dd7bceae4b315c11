package postgres

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"

	"github.com/airlockhq/airlock/connectors"
	"github.com/airlockhq/airlock/tools"
)

// wrappable kinds are plain row-returning reads the row-cap wrapper can
// enclose without changing their meaning.
var wrappable = map[string]bool{"select": true, "values": true}

// query runs sql_query. Reads run inside a read-only transaction whatever
// the decision says: a wrong classification still cannot write.
func (c *Conn) query(ctx context.Context, op connectors.Operation, a *connectors.Action, lim connectors.Limits) (*connectors.Result, error) {
	sql, _ := op.Args[tools.ArgSQL].(string)
	text, offset, err := statementText(sql, a)
	if err != nil {
		return nil, err
	}
	s := execStmt{SQL: text, Params: params(op), ReadOnly: a.ReadOnly, offset: offset, orig: sql,
		lineage: true, tablesRead: a.Statements[0].TablesRead, targets: a.Statements[0].Targets}
	if a.ReadOnly && wrappable[a.Statements[0].Kind] && lim.MaxRows > 0 {
		s.SQL, s.prefix = capped(text, lim.MaxRows)
	}
	rs, err := c.run(ctx, s, lim)
	if err != nil {
		return nil, err
	}
	return queryResult(rs), nil
}

func params(op connectors.Operation) []any {
	p, _ := op.Args[tools.ArgParams].([]any)
	return p
}

// explain runs sql_explain: the statement is planned, never executed, and
// the plan is fetched inside a read-only transaction all the same.
func (c *Conn) explain(ctx context.Context, op connectors.Operation, a *connectors.Action, lim connectors.Limits) (*connectors.Result, error) {
	sql, _ := op.Args[tools.ArgSQL].(string)
	text, offset, err := statementText(sql, a)
	if err != nil {
		return nil, err
	}
	const prefix = "EXPLAIN (FORMAT JSON) "
	s := execStmt{SQL: prefix + text, Params: params(op), ReadOnly: true, prefix: prefix, offset: offset, orig: sql}
	rs, err := c.run(ctx, s, connectors.Limits{MaxRows: 1, MaxBytes: lim.MaxBytes, Timeout: lim.Timeout})
	if err != nil {
		return nil, err
	}
	var plan any = json.RawMessage("null")
	if len(rs.Rows) == 1 && len(rs.Rows[0]) == 1 {
		plan = rs.Rows[0][0]
	}
	if s, ok := plan.(string); ok {
		plan = json.RawMessage(s)
	}
	raw, _ := plan.(json.RawMessage)
	text2 := string(raw)
	var pretty any
	if json.Unmarshal(raw, &pretty) == nil {
		if b, err := json.MarshalIndent(pretty, "", "  "); err == nil {
			text2 = string(b)
		}
	}
	return &connectors.Result{
		Structured: map[string]any{"plan": plan},
		Text:       text2,
		Rows:       1,
		Truncated:  rs.Truncated,
		Duration:   rs.Duration,
	}, nil
}

type columnOut struct {
	Name string `json:"name"`
	Type string `json:"type"`
}

func queryResult(rs *rowSet) *connectors.Result {
	structured, text := renderQuery(rs, nil)
	res := &connectors.Result{
		Structured: structured,
		Text:       text,
		Table:      &connectors.Table{Columns: rs.Columns, Rows: rs.Rows},
		Rows:       len(rs.Rows),
		Truncated:  rs.Truncated,
		Duration:   rs.Duration,
	}
	res.Render = func(t *connectors.Table, masked []connectors.MaskNote) (any, string) {
		m := *rs
		m.Columns, m.Rows = t.Columns, t.Rows
		return renderQuery(&m, masked)
	}
	return res
}

// renderQuery builds sql_query's structuredContent and text table.
func renderQuery(rs *rowSet, masked []connectors.MaskNote) (map[string]any, string) {
	cols := make([]columnOut, len(rs.Columns))
	for i, c := range rs.Columns {
		cols[i] = columnOut{Name: c.Name, Type: c.Type}
	}
	rows := rs.Rows
	if rows == nil {
		rows = [][]any{}
	}
	ms := float64(rs.Duration.Microseconds()) / 1000
	out := map[string]any{
		"command":     rs.Command,
		"columns":     cols,
		"rows":        rows,
		"row_count":   len(rows),
		"truncated":   rs.Truncated,
		"duration_ms": ms,
	}
	text := renderTable(rs)
	if len(masked) > 0 {
		out["masked"] = masked
		text += maskedFooter(masked)
	}
	return out, text
}

func maskedFooter(masked []connectors.MaskNote) string {
	var b strings.Builder
	b.WriteString("masked:")
	for i, m := range masked {
		if i > 0 {
			b.WriteString(",")
		}
		fmt.Fprintf(&b, " %s (%s by %s, %d)", m.Column, m.Action, m.Rule, m.Count)
	}
	b.WriteString("\n")
	return b.String()
}
