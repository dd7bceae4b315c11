package tools

// The SQL family. Arguments are checked by Parse; the postgres connector reads
// them from Operation.Args under the same names.

// Argument names shared by the SQL tools.
const (
	ArgConnection = "connection"
	ArgSQL        = "sql"
	ArgParams     = "params"
	ArgMaxRows    = "max_rows"
	ArgSchema     = "schema"
	ArgTable      = "table"
)

var sqlParams = array("Positional parameters bound to $1, $2, ... in order. Values are sent as text and typed by the server.",
	map[string]any{"type": []string{"string", "number", "integer", "boolean", "null"}})

var columnsSchema = array("Result columns in order.", object([]string{"name", "type"}, props{
	"name": str("Column name as returned."),
	"type": str("PostgreSQL type name."),
}))

func sqlTools() []*Tool {
	pg := []string{"postgres"}
	return []*Tool{
		{
			Name:   "sql_query",
			Title:  "Run a SQL query",
			Family: FamilySQL,
			Kinds:  pg,
			Description: "Run one SQL statement on a PostgreSQL connection and return its rows. " +
				"Reads run at once inside a read-only transaction with a statement timeout and a row cap; " +
				"writes, DDL and privileged operations are governed by policy and may be refused or need approval. " +
				"Send one statement per call and use params ($1, $2, ...) for values.",
			Annotations: Annotations{ReadOnly: false, Destructive: true, Idempotent: false, OpenWorld: false},
			input: withConnection([]string{ArgSQL}, props{
				ArgSQL:     str("One SQL statement."),
				ArgParams:  sqlParams,
				ArgMaxRows: integer("Most rows to return (default 1000). The result says when it was truncated.", 1, 0),
			}),
			output: object([]string{"columns", "rows", "row_count", "truncated"}, props{
				"command":     str("Statement kind as reported by PostgreSQL, e.g. SELECT 3."),
				"columns":     columnsSchema,
				"rows":        array("Rows as arrays of values, in column order.", map[string]any{"type": "array"}),
				"row_count":   integer("Rows returned.", 0, 0),
				"truncated":   boolean("True when max_rows or the byte cap cut the result."),
				"duration_ms": map[string]any{"type": "number", "description": "Time spent in the database."},
			}),
		},
		{
			Name:        "sql_list_schemas",
			Title:       "List schemas",
			Family:      FamilySQL,
			Kinds:       pg,
			Description: "List the schemas of a PostgreSQL connection (system schemas excluded) with their owners.",
			Annotations: Annotations{ReadOnly: true, Idempotent: true},
			input:       withConnection(nil, props{}),
			output: object([]string{"schemas"}, props{
				"schemas": array("", object([]string{"name"}, props{"name": str("Schema name."), "owner": str("Owner role.")})),
			}),
		},
		{
			Name:        "sql_list_tables",
			Title:       "List tables",
			Family:      FamilySQL,
			Kinds:       pg,
			Description: "List tables, views and materialized views of a PostgreSQL connection, optionally in one schema, with estimated row counts.",
			Annotations: Annotations{ReadOnly: true, Idempotent: true},
			input: withConnection(nil, props{
				ArgSchema: str("Only this schema (default: all non-system schemas)."),
			}),
			output: object([]string{"tables"}, props{
				"tables": array("", object([]string{"schema", "name", "kind"}, props{
					"schema":         str("Schema name."),
					"name":           str("Table name."),
					"kind":           str("table, view, materialized_view, foreign_table or partitioned_table."),
					"estimated_rows": integer("Planner estimate (-1 when never analyzed).", -1, 0),
					"description":    str("Table comment."),
				})),
			}),
		},
		{
			Name:        "sql_describe_table",
			Title:       "Describe a table",
			Family:      FamilySQL,
			Kinds:       pg,
			Description: "Describe one table or view: columns with types, nullability and defaults, primary and foreign keys, indexes and estimated rows.",
			Annotations: Annotations{ReadOnly: true, Idempotent: true},
			input: withConnection([]string{ArgTable}, props{
				ArgTable:  str("Table name, optionally schema-qualified (schema.table)."),
				ArgSchema: str("Schema, when table is not qualified (default: search path)."),
			}),
			output: object([]string{"schema", "name", "columns"}, props{
				"schema": str("Schema name."),
				"name":   str("Table name."),
				"kind":   str("table, view, ..."),
				"columns": array("", object([]string{"name", "type", "nullable"}, props{
					"name":     str("Column name."),
					"type":     str("Type with modifiers."),
					"nullable": boolean("Whether NULL is allowed."),
					"default":  map[string]any{"type": []string{"string", "null"}, "description": "Default expression."},
				})),
				"primary_key": array("Primary key columns.", map[string]any{"type": "string"}),
				"foreign_keys": array("", object([]string{"name", "columns", "references"}, props{
					"name":       str("Constraint name."),
					"columns":    array("", map[string]any{"type": "string"}),
					"references": str("Referenced table and columns."),
				})),
				"indexes": array("", object([]string{"name", "definition"}, props{
					"name":       str("Index name."),
					"definition": str("CREATE INDEX statement."),
					"unique":     boolean("Unique index."),
					"primary":    boolean("Backs the primary key."),
				})),
				"estimated_rows": integer("Planner estimate (-1 when never analyzed).", -1, 0),
			}),
		},
		{
			Name:        "sql_explain",
			Title:       "Explain a query plan",
			Family:      FamilySQL,
			Kinds:       pg,
			Description: "Show PostgreSQL's plan for one statement as JSON (EXPLAIN without ANALYZE: the statement is planned, never run).",
			Annotations: Annotations{ReadOnly: true, Idempotent: true},
			input: withConnection([]string{ArgSQL}, props{
				ArgSQL:    str("One SQL statement to plan."),
				ArgParams: sqlParams,
			}),
			output: object([]string{"plan"}, props{
				"plan": map[string]any{"description": "EXPLAIN (FORMAT JSON) output."},
			}),
		},
	}
}

func governanceTools() []*Tool {
	return []*Tool{
		{
			Name:   "request_access",
			Title:  "Request temporary access",
			Family: FamilyGovernance,
			Description: "Ask a human approver for temporary (just-in-time) access to a connection, e.g. write access " +
				"for 30 minutes to run an approved change. The request waits for a decision for a while; once granted, " +
				"calls within the grant run without asking again until it expires or is revoked.",
			Annotations: Annotations{ReadOnly: false, Idempotent: false},
			input: func([]string) map[string]any {
				return object([]string{"connection", "access", "duration", "reason"}, props{
					"connection": str("The connection to get access to."),
					"access":     map[string]any{"type": "string", "enum": []string{"read", "write"}, "description": "Access level."},
					"duration":   str("How long, e.g. 30m or 2h (capped by the operator)."),
					"reason":     str("Why the access is needed; shown to the approver."),
				})
			},
			output: object([]string{"request_id", "state"}, props{
				"request_id": str("The approval request, e.g. APR-12."),
				"state":      str("pending, approved, denied, expired or cancelled."),
				"grant_id":   str("The grant, once approved."),
				"expires_at": str("When the grant ends (RFC 3339)."),
			}),
		},
		{
			Name:        "approval_status",
			Title:       "Check an approval request",
			Family:      FamilyGovernance,
			Description: "Say where an approval request you made stands (pending, approved, denied, expired), and who decided and why.",
			Annotations: Annotations{ReadOnly: true, Idempotent: true},
			input: func([]string) map[string]any {
				return object([]string{"request_id"}, props{"request_id": str("The request id from an earlier answer, e.g. APR-12.")})
			},
			output: object([]string{"request_id", "state"}, props{
				"request_id": str("The request."),
				"state":      str("pending, approved, denied, expired, cancelled or used."),
				"tool":       str("The tool the request is for."),
				"connection": str("The connection."),
				"decided_by": str("Who decided."),
				"reason":     str("The approver's reason."),
				"expires_at": str("When the request expires."),
			}),
		},
		{
			Name:        "list_connections",
			Title:       "List connections",
			Family:      FamilyGovernance,
			Description: "List the connections you may use, with their kind, labels and description. Pass a connection's name as the connection argument of the other tools.",
			Annotations: Annotations{ReadOnly: true, Idempotent: true},
			input:       func([]string) map[string]any { return object(nil, props{}) },
			output: object([]string{"connections"}, props{
				"connections": array("", object([]string{"name", "kind"}, props{
					"name":        str("Connection name."),
					"kind":        str("Connection kind, e.g. postgres."),
					"labels":      map[string]any{"type": "object", "additionalProperties": map[string]any{"type": "string"}},
					"description": str("What the connection is."),
					"tools":       array("Tools that work on it.", map[string]any{"type": "string"}),
				})),
			}),
		},
	}
}
