# SQL family rules (sql_query and friends). The action comes from the
# PostgreSQL parser: statements with their kinds, and flags for anything
# notable (see connectors/postgres).
package airlock.authz

# Flags that mean the call reaches outside the database's data, or changes
# who may do what: no approval makes these safe to run through an agent.
sql_denied_flags := {
	"privileged_function": "calls a privileged function",
	"server_file_access": "reads or writes files on the database server",
	"server_program": "runs a program on the database server",
	"dynamic_sql": "builds and runs SQL dynamically, which cannot be analysed",
	"untrusted_language": "runs code in an untrusted procedural language",
	"role_change": "changes the session role",
	"privilege_change": "changes roles or privileges",
	"load_library": "loads a shared library into the server",
}

deny contains msg if {
	input.tool.family == "sql"
	some f in input.action.flags
	what := sql_denied_flags[f]
	msg := sprintf("the call %s (%s); this is never allowed through airlock", [what, f])
}

# Flags that need a person to look, whatever grants the caller holds.
sql_approval_flags := {
	"delete_without_where": "DELETE without WHERE affects every row",
	"update_without_where": "UPDATE without WHERE affects every row",
	"opaque": "DO, CALL and EXECUTE run code whose effects are not analysed",
	"unknown_statement": "the statement is of a kind the classifier does not know",
}

approval contains {"reason": msg, "approvers": approvers} if {
	input.tool.family == "sql"
	some f in input.action.flags
	what := sql_approval_flags[f]
	msg := sprintf("%s (%s); it needs approval from %s", [what, f, approvers_text])
}

ddl_kind(k) if startswith(k, "create_")

ddl_kind(k) if startswith(k, "alter_")

ddl_kind(k) if k in {"drop", "truncate", "comment"}

# DDL never reads only, so reads skip this rule without looking at their
# statements.
approval contains {"reason": msg, "approvers": approvers} if {
	input.tool.family == "sql"
	input.action.read_only == false
	some s in input.action.statements
	ddl_kind(s.kind)
	msg := sprintf("DDL (%s) changes the schema; it needs approval from %s", [s.kind, approvers_text])
}

describe_write("sql") := msg if {
	kinds := {s.kind | some s in input.action.statements; s.read_only != true}
	count(kinds) > 0
	msg := sprintf("%s on %s writes, so it needs approval", [concat(", ", sort(kinds)), input.connection.name])
}
