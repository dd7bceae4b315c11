package airlock.authz

# Any write to public.payments needs a DBA, on top of the usual approvers.
approval contains {"reason": "writes to public.payments need a DBA", "approvers": ["group:dba"]} if {
	input.tool.family == "sql"
	some s in input.action.statements
	"public.payments" in s.tables_written
}
