package connectors

import "time"

// Result is what an execution returns. Structured is encoded as the MCP
// structuredContent and must match the tool's output schema; Text is the
// compact rendering an LLM reads.
type Result struct {
	Structured any
	Text       string
	// Table is the tabular form of the result, when it has one: masking
	// works on it column by column, then Render rebuilds Structured and
	// Text from the masked table.
	Table  *Table
	Render func(t *Table, masked []MaskNote) (structured any, text string)
	// Rows is the number of rows (or items) returned, for recording.
	Rows int
	// Truncated is set when a row or byte cap cut the result.
	Truncated bool
	Duration  time.Duration
}

// Table is a tabular result.
type Table struct {
	Columns []Column
	Rows    [][]any
}

// Column describes one result column of a SQL result.
type Column struct {
	Name string `json:"name"`
	Type string `json:"type"`
	// TableOID and Attribute identify the source table column when
	// PostgreSQL could resolve it (zero for computed columns).
	TableOID  uint32 `json:"-"`
	Attribute uint16 `json:"-"`
	// Source is the table column the values come from; nil for computed
	// columns. A view column resolves to its base table column when the
	// view passes it through unchanged.
	Source *ColumnRef `json:"-"`
	// Inputs are the table columns a column without Source may derive
	// from, when known (conservatively: every column of what the
	// statement reads).
	Inputs []ColumnRef `json:"-"`
}

// ColumnRef names a table column.
type ColumnRef struct {
	Schema, Table, Column string
}

// MaskNote says that a column or field was masked, by which rule, and how
// often; it never carries a value.
type MaskNote struct {
	Column string `json:"column"`
	Rule   string `json:"rule"`
	Action string `json:"action"`
	Count  int    `json:"count"`
}

// Error is an execution failure explained in words the caller can act on.
// Connectors return it for everything the caller should see (a database
// error with its SQLSTATE, an unreachable backend); any other error is
// treated as internal and shown only as a reference to the logs.
type Error struct {
	// Code is a stable machine code: a SQLSTATE, or "unavailable", "timeout",
	// "too_large", "invalid".
	Code string
	// Message is the explanation shown to the caller.
	Message string
	// Hint says what to do next, when there is something to say.
	Hint string
	// Unavailable is set when the backend could not be reached at all.
	Unavailable bool
	// Err is the underlying error, for logs; it is not shown to callers.
	Err error
}

func (e *Error) Error() string {
	s := e.Message
	if e.Code != "" {
		s = e.Code + ": " + s
	}
	if e.Hint != "" {
		s += " (" + e.Hint + ")"
	}
	return s
}

func (e *Error) Unwrap() error { return e.Err }
