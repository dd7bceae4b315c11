package airlock.authz_test

import data.airlock.authz

vis(principal, family, conn) := {"principal": principal, "tool": {"name": "t", "family": family}, "connection": conn}

no_conn := {"name": "", "kind": "", "labels": {}}

test_visible_verified_any_connection if {
	authz.visible with input as vis(alice, "sql", prod_db)
	authz.visible with input as vis(alice, "sql", dev_db)
}

test_visible_unverified_only_dev if {
	authz.visible with input as vis(dev_user, "sql", dev_db)
	not authz.visible with input as vis(dev_user, "sql", prod_db)
}

test_visible_governance_for_everyone_identified if {
	authz.visible with input as vis(alice, "governance", no_conn)
	authz.visible with input as vis(dev_user, "governance", no_conn)
}

test_visible_verified_needs_connection if {
	not authz.visible with input as vis(alice, "sql", no_conn)
}

test_hidden_without_identity if {
	not authz.visible with input as vis(object.union(alice, {"subject": ""}), "governance", no_conn)
}

test_hide_wins if {
	not authz.visible with input as vis(alice, "sql", prod_db) with authz.hide as {"operator says no"}
}
