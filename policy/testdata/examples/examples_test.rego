package airlock.examples_test

import data.airlock.authz

base := {
	"principal": {"subject": "carol", "email": "", "groups": ["contractors"], "issuer": "https://idp/", "client": {"name": "", "version": ""}, "verified": true},
	"tool": {"name": "sql_query", "family": "sql"},
	"connection": {"name": "prod-db", "kind": "postgres", "labels": {"env": "prod"}},
	"arguments": {},
	"action": {"read_only": true, "risk": "low", "flags": [], "statements": [{"kind": "select", "read_only": true, "tables_read": ["public.orders"], "tables_written": [], "functions": [], "has_where": true}]},
	"grants": [],
	"now": "2026-11-26T10:00:00Z",
}

payments_write := object.union(base, {"action": {"read_only": false, "risk": "medium", "flags": [], "statements": [{"kind": "update", "read_only": false, "tables_read": [], "tables_written": ["public.payments"], "functions": [], "has_where": true}]}})

test_contractor_row_cap if {
	d := authz.decision with input as base
	d.allow
	d.max_rows == 50
}

test_payments_write_needs_dba if {
	d := authz.decision with input as payments_write
	d.require_approval
	d.approvers == ["group:approvers", "group:dba"]
}

test_friday_write_denied if {
	d := authz.decision with input as object.union(payments_write, {"now": "2026-11-27T10:00:00Z"})
	not d.allow
	not d.require_approval
	d.reasons == ["no production writes on Fridays"]
}
