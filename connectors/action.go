package connectors

// Risk orders how much damage a call could do. Policy reads it; classifiers
// set the highest risk of anything the call contains.
type Risk string

// Risk levels, lowest first.
const (
	RiskLow      Risk = "low"      // reads
	RiskMedium   Risk = "medium"   // ordinary writes with a bounded target
	RiskHigh     Risk = "high"     // DDL, unbounded writes, privilege changes
	RiskCritical Risk = "critical" // opaque code, server-side files or programs, privileged functions
)

// Rank gives r's position in the order low < medium < high < critical.
func (r Risk) Rank() int {
	switch r {
	case RiskLow:
		return 0
	case RiskMedium:
		return 1
	case RiskHigh:
		return 2
	default:
		return 3
	}
}

// Max returns the higher of r and o.
func (r Risk) Max(o Risk) Risk {
	if o.Rank() > r.Rank() {
		return o
	}
	return r
}

// Action is what a call would do, as the classifier understood it. Its JSON
// form is the "action" member of the policy input (see DESIGN.md).
type Action struct {
	// ReadOnly is true only when every part of the call is known not to write.
	ReadOnly bool `json:"read_only"`
	// Risk is the highest risk of any part of the call.
	Risk Risk `json:"risk"`
	// Statements are the parsed SQL statements, in order (SQL family).
	Statements []Statement `json:"statements,omitempty"`
	// Flags name notable properties, e.g. "multi_statement",
	// "delete_without_where", "privileged_function", "opaque".
	Flags []string `json:"flags"`
	// Reasons explain, in words for a person or an agent, why the call is
	// not read-only or why its risk is what it is.
	Reasons []string `json:"reasons,omitempty"`
}

// Statement is one parsed SQL statement.
type Statement struct {
	// Kind is the statement kind in lower case: select, insert, update,
	// delete, merge, create_table, drop, truncate, copy_from, copy_to, do,
	// call, set, explain, ... (see connectors/postgres for the full list).
	Kind string `json:"kind"`
	// ReadOnly is true when the statement cannot change data, schema,
	// session state visible to others, or the server.
	ReadOnly bool `json:"read_only"`
	// TablesRead and TablesWritten are schema-qualified when the SQL
	// qualified them, otherwise bare names as written.
	TablesRead    []string `json:"tables_read"`
	TablesWritten []string `json:"tables_written"`
	// Functions are the functions called, lower case, qualified as written.
	Functions []string `json:"functions"`
	// HasWhere is meaningful for update and delete.
	HasWhere bool `json:"has_where"`
	// Location and Length locate the statement in the original text (bytes).
	Location int `json:"-"`
	Length   int `json:"-"`
	// Targets lists, for each output column of a plain SELECT, the column
	// names its expression references (nil when unknown); masking uses it
	// to trace computed columns to their inputs.
	Targets [][]string `json:"-"`
}

// HasFlag reports whether the action carries flag f.
func (a *Action) HasFlag(f string) bool {
	for _, x := range a.Flags {
		if x == f {
			return true
		}
	}
	return false
}

// AddFlag adds f once.
func (a *Action) AddFlag(f string) {
	if !a.HasFlag(f) {
		a.Flags = append(a.Flags, f)
	}
}
