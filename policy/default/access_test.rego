package airlock.authz_test

import data.airlock.authz

test_verified_read_allowed if {
	d := authz.decision with input as sql(alice, prod_db, select_action)
	d.allow
}

test_no_identity_denied if {
	p := object.union(alice, {"subject": ""})
	d := authz.decision with input as sql(p, prod_db, select_action)
	not d.allow
	"the call carries no identity" in d.reasons
}

test_unclassified_denied if {
	d := authz.decision with input as sql(alice, prod_db, null)
	not d.allow
	not d.require_approval
	d.reasons == ["the call was not classified, so what it would do is unknown"]
}

# The engine never omits members, but a hand-written input might: nothing
# then allows the call.
test_missing_action_denied if {
	inp := object.remove(sql(alice, prod_db, select_action), ["action"])
	d := authz.decision with input as inp
	not d.allow
	not d.require_approval
}

test_unverified_denied_on_prod if {
	d := authz.decision with input as sql(dev_user, prod_db, select_action)
	not d.allow
	not d.require_approval
	d.reasons == ["unverified identity dev@example.com may only use connections labelled env: dev; prod-db is labelled env: prod"]
}

test_unverified_denied_on_unlabelled if {
	d := authz.decision with input as sql(dev_user, {"name": "x", "kind": "postgres", "labels": {}}, select_action)
	not d.allow
	d.reasons == ["unverified identity dev@example.com may only use connections labelled env: dev; x is not labelled env: dev"]
}

test_unverified_read_on_dev_allowed if {
	d := authz.decision with input as sql(dev_user, dev_db, select_action)
	d.allow
	d.reasons == ["read-only call on a development connection"]
}

test_unverified_write_on_dev_needs_approval if {
	d := authz.decision with input as sql(dev_user, dev_db, insert_action)
	d.require_approval
}

test_write_needs_approval if {
	d := authz.decision with input as sql(alice, prod_db, insert_action)
	not d.allow
	d.require_approval
	d.approvers == ["group:approvers"]
	d.reasons == ["insert on prod-db writes, so it needs approval"]
}

test_write_approval_uses_configured_group if {
	d := authz.decision with input as sql(alice, prod_db, insert_action)
		with data.airlock.config.approver_group as "dba"
	d.approvers == ["group:dba"]
}

test_write_fallback_description if {
	d := authz.decision with input as call(alice, "other", prod_db, {"read_only": false, "risk": "medium", "flags": []})
	d.reasons == ["the call is not read-only, so it needs approval"]
}

test_grant_lets_write_through if {
	d := authz.decision with input as with_grant(sql(alice, prod_db, insert_action), "prod-db", in_an_hour)
	d.allow
	not d.require_approval
	d.reasons == ["write on prod-db allowed by a grant"]
}

# Expired grants never reach the rules: the engine drops them before
# evaluating (Go test TestDecideGrants), so the rules read no clock.

test_grant_on_other_connection_does_not if {
	d := authz.decision with input as with_grant(sql(alice, prod_db, insert_action), "dev-db", in_an_hour)
	d.require_approval
}

test_grant_never_lifts_deny if {
	inp := with_grant(sql(dev_user, prod_db, insert_action), "prod-db", in_an_hour)
	d := authz.decision with input as inp
	not d.allow
	not d.require_approval
}

test_governance_allowed if {
	inp := call(alice, "governance", {"name": "", "kind": "", "labels": {}}, {"read_only": true, "risk": "low", "flags": []})
	d := authz.decision with input as inp
	d.allow
	"governance tools are available to every identified principal" in d.reasons
}

test_governance_allowed_for_unverified if {
	inp := call(dev_user, "governance", {"name": "", "kind": "", "labels": {}}, {"read_only": true, "risk": "low", "flags": []})
	d := authz.decision with input as inp
	d.allow
}

test_governance_write_needs_no_approval if {
	inp := call(alice, "governance", {"name": "", "kind": "", "labels": {}}, {"read_only": false, "risk": "low", "flags": []})
	d := authz.decision with input as inp
	d.allow
}

test_unknown_risk_needs_approval if {
	d := authz.decision with input as sql(alice, prod_db, object.union(select_action, {"risk": "galactic"}))
	d.require_approval
	d.reasons == ["the risk of the call is unknown (galactic), so it needs approval"]
}

test_missing_risk_needs_approval if {
	d := authz.decision with input as sql(alice, prod_db, object.remove(select_action, ["risk"]))
	d.require_approval
	d.reasons == ["the risk of the call is unknown (missing), so it needs approval"]
}
