package postgres

import (
	"context"
	"encoding/json"

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
	s := execStmt{SQL: text, Params: params(op), ReadOnly: a.ReadOnly, offset: offset, orig: sql}
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
	cols := make([]columnOut, len(rs.Columns))
	for i, c := range rs.Columns {
		cols[i] = columnOut{Name: c.Name, Type: c.Type}
	}
	rows := rs.Rows
	if rows == nil {
		rows = [][]any{}
	}
	ms := float64(rs.Duration.Microseconds()) / 1000
	return &connectors.Result{
		Structured: map[string]any{
			"command":     rs.Command,
			"columns":     cols,
			"rows":        rows,
			"row_count":   len(rows),
			"truncated":   rs.Truncated,
			"duration_ms": ms,
		},
		Text:      renderTable(rs),
		Rows:      len(rows),
		Truncated: rs.Truncated,
		Duration:  rs.Duration,
	}
}
