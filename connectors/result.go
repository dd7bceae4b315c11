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
	Attribute uint16 `json:"-"`
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
