package airlock.authz_test

import data.airlock.authz

flagged(action, flag) := object.union(action, {"flags": [flag]})

test_privileged_functions_denied if {
	every f in ["privileged_function", "server_file_access", "server_program", "dynamic_sql", "untrusted_language", "role_change", "privilege_change", "load_library"] {
		d := authz.decision with input as sql(alice, prod_db, flagged(select_action, f))
		not d.allow
		not d.require_approval
		count(d.reasons) == 1
		contains(d.reasons[0], sprintf("(%s)", [f]))
	}
}

test_pg_read_file_denied if {
	a := {
		"read_only": false, "risk": "critical", "flags": ["privileged_function", "server_file_access"],
		"statements": [object.union(stmt("select", false), {"functions": ["pg_read_file"]})],
	}
	d := authz.decision with input as sql(alice, prod_db, a)
	not d.allow
	not d.require_approval
	d.reasons == [
		"the call calls a privileged function (privileged_function); this is never allowed through airlock",
		"the call reads or writes files on the database server (server_file_access); this is never allowed through airlock",
	]
}

test_denied_flag_not_lifted_by_grant if {
	inp := with_grant(sql(alice, prod_db, flagged(insert_action, "server_program")), "prod-db", in_an_hour)
	d := authz.decision with input as inp
	not d.allow
	not d.require_approval
}

delete_all := {
	"read_only": false, "risk": "high", "flags": ["delete_without_where"],
	"statements": [object.union(stmt("delete", false), {"has_where": false, "tables_written": ["public.orders"]})],
}

test_delete_without_where_needs_approval if {
	d := authz.decision with input as sql(alice, prod_db, delete_all)
	d.require_approval
	d.approvers == ["group:approvers"]
	"DELETE without WHERE affects every row (delete_without_where); it needs approval from group:approvers" in d.reasons
}

test_delete_without_where_not_lifted_by_grant if {
	d := authz.decision with input as with_grant(sql(alice, prod_db, delete_all), "prod-db", in_an_hour)
	d.require_approval
	count(d.reasons) == 1
}

test_update_without_where_needs_approval if {
	d := authz.decision with input as sql(alice, prod_db, flagged(insert_action, "update_without_where"))
	d.require_approval
	"UPDATE without WHERE affects every row (update_without_where); it needs approval from group:approvers" in d.reasons
}

test_opaque_needs_approval if {
	a := {"read_only": false, "risk": "critical", "flags": ["opaque"], "statements": [stmt("do", false)]}
	d := authz.decision with input as with_grant(sql(alice, prod_db, a), "prod-db", in_an_hour)
	d.require_approval
	"DO, CALL and EXECUTE run code whose effects are not analysed (opaque); it needs approval from group:approvers" in d.reasons
}

test_unknown_statement_needs_approval if {
	a := {"read_only": false, "risk": "high", "flags": ["unknown_statement"], "statements": [stmt("other", false)]}
	d := authz.decision with input as with_grant(sql(alice, prod_db, a), "prod-db", in_an_hour)
	d.require_approval
	"the statement is of a kind the classifier does not know (unknown_statement); it needs approval from group:approvers" in d.reasons
}

test_ddl_needs_approval if {
	every k in ["create_table", "alter_table", "drop", "truncate", "comment", "create_index"] {
		a := {"read_only": false, "risk": "high", "flags": [], "statements": [stmt(k, false)]}
		d := authz.decision with input as with_grant(sql(alice, prod_db, a), "prod-db", in_an_hour)
		d.require_approval
		sprintf("DDL (%s) changes the schema; it needs approval from group:approvers", [k]) in d.reasons
	}
}

test_ddl_kind if {
	authz.ddl_kind("create_view")
	authz.ddl_kind("alter_role")
	not authz.ddl_kind("insert")
	not authz.ddl_kind("select")
}

test_sql_rules_scoped_to_family if {
	d := authz.decision with input as call(alice, "http", prod_db, flagged(select_action, "server_program"))
	not "the call runs a program on the database server (server_program); this is never allowed through airlock" in d.reasons
}

test_sql_write_description_lists_kinds if {
	a := {"read_only": false, "risk": "medium", "flags": ["multi_statement"], "statements": [stmt("update", false), stmt("select", true), stmt("insert", false)]}
	d := authz.decision with input as sql(alice, prod_db, a)
	d.reasons == ["insert, update on prod-db writes, so it needs approval"]
}
