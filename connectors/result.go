package connectors

import "time"

// Result is what an execution returns. Structured is encoded as the MCP
// structuredContent and must match the tool's output schema; Text is the
// compact rendering an LLM reads.
type Result struct {
	Structured any
	Text       string
	// Rows is the number of rows (or items) returned, for recording.
	Rows int
	// Truncated is set when a row or byte cap cut the result.
	Truncated bool
	Duration  time.Duration
}

// Column describes one result column of a SQL result.
type Column struct {
	Name string `json:"name"`
	Type string `json:"type"`
	// TableOID and Attribute identify the source table column when
	// PostgreSQL could resolve it (zero for computed columns).
	TableOID  uint32 `json:"-"`
	Attribute int16  `json:"-"`
}
