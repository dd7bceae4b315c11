# Fixtures shared by the airlock.authz tests, and the tests of how the sets
# combine into the decision.
package airlock.authz_test

import data.airlock.authz

alice := {
	"subject": "alice@example.com", "email": "alice@example.com", "groups": ["eng"],
	"issuer": "https://idp.example.com/", "client_id": "claude-agents",
	"client": {"name": "claude-code", "version": "1.0"}, "verified": true,
}

dev_user := {
	"subject": "dev@example.com", "email": "dev@example.com", "groups": [],
	"issuer": "airlock:dev-identity", "client_id": "",
	"client": {"name": "", "version": ""}, "verified": false,
}

prod_db := {"name": "prod-db", "kind": "postgres", "labels": {"env": "prod"}}

dev_db := {"name": "dev-db", "kind": "postgres", "labels": {"env": "dev"}}

# A Thursday: operator rules about Fridays or weekends (see README)
# should not turn the default tests red.
now := "2026-11-26T10:00:00Z"

in_an_hour := "2026-11-26T11:00:00Z"

an_hour_ago := "2026-11-26T09:00:00Z"

select_action := {"read_only": true, "risk": "low", "flags": [], "statements": [stmt("select", true)]}

insert_action := {"read_only": false, "risk": "medium", "flags": [], "statements": [stmt("insert", false)]}

stmt(kind, ro) := {"kind": kind, "read_only": ro, "tables_read": [], "tables_written": [], "functions": [], "has_where": true}

call(principal, family, conn, action) := {
	"principal": principal,
	"tool": {"name": sprintf("%s_tool", [family]), "family": family},
	"connection": conn,
	"arguments": {},
	"action": action,
	"grants": [],
	"now": now,
}

sql(principal, conn, action) := call(principal, "sql", conn, action)

with_grant(inp, conn, expires) := object.union(inp, {"grants": [{"connection": conn, "access": "write", "expires_at": expires}]})

test_decision_allow_has_obligations if {
	d := authz.decision with input as sql(alice, prod_db, select_action)
	d.allow == true
	d.require_approval == false
	d.max_rows == 1000
	d.timeout_ms == 30000
	d.mask.response == true
	d.reasons == ["read-only call by a verified principal"]
}

test_decision_approval_unions_approvers if {
	d := authz.decision with input as sql(alice, prod_db, insert_action)
		with authz.approval as {
			{"reason": "b", "approvers": ["group:dba"]},
			{"reason": "a", "approvers": ["group:approvers"]},
		}
	d.allow == false
	d.require_approval == true
	d.approvers == ["group:approvers", "group:dba"]
	d.reasons == ["a", "b"]
	d.max_rows == 1000
}

test_decision_deny_beats_approval if {
	d := authz.decision with input as sql(alice, prod_db, insert_action)
		with authz.deny as {"no"}
	d.allow == false
	d.require_approval == false
	d.reasons == ["no"]
}

test_decision_deny_beats_allow if {
	d := authz.decision with input as sql(alice, prod_db, select_action)
		with authz.deny as {"z", "a"}
	d.allow == false
	d.reasons == ["a", "z"]
}

test_decision_default_deny if {
	d := authz.decision with input as sql(alice, prod_db, select_action)
		with authz.allowed_by as set()
	d.allow == false
	d.require_approval == false
	d.reasons == ["no rule allows this call"]
}

test_decision_allow_without_reason if {
	d := authz.decision with input as sql(alice, prod_db, select_action)
		with authz.allowed_by as set()
		with authz.allow as true
	d.allow == true
	d.reasons == ["allowed by policy"]
}

test_approval_string_entry_uses_default_approvers if {
	d := authz.decision with input as sql(alice, prod_db, select_action)
		with authz.approval as {"look at this"}
	d.require_approval == true
	d.reasons == ["look at this"]
	d.approvers == ["group:approvers"]
}

test_obligations_overridable if {
	d := authz.decision with input as sql(alice, prod_db, select_action)
		with authz.max_rows as 10
		with authz.timeout_ms as 500
		with authz.mask_response as false
	d.max_rows == 10
	d.timeout_ms == 500
	d.mask.response == false
}

test_approver_group_default if authz.approvers == ["group:approvers"]

test_approver_group_from_config if {
	authz.approvers == ["group:dba"] with data.airlock.config.approver_group as "dba"
}

test_approver_group_ignores_non_string if {
	authz.approvers == ["group:approvers"] with data.airlock.config.approver_group as 7
}
