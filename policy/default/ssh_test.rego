package airlock.authz_test

import data.airlock.authz

host := {"name": "web-1", "kind": "ssh", "labels": {"env": "prod"}}

sh(commands, ro, flags) := call(alice, "ssh", host, {"commands": commands, "read_only": ro, "risk": "low", "flags": flags})

test_ssh_read_only_allowed if {
	d := authz.decision with input as sh(["uptime", "df -h"], true, [])
	d.allow
}

test_ssh_privilege_escalation_denied if {
	d := authz.decision with input as sh(["sudo systemctl restart web"], false, ["privilege_escalation"])
	not d.allow
	not d.require_approval
	d.reasons == ["the command escalates privileges (sudo, su) (privilege_escalation); this is never allowed through airlock"]
}

test_ssh_destructive_denied_even_with_grant if {
	d := authz.decision with input as with_grant(sh(["rm -rf /"], false, ["destructive"]), "web-1", in_an_hour)
	not d.allow
	not d.require_approval
}

test_ssh_unparseable_needs_approval if {
	d := authz.decision with input as with_grant(sh([], false, ["unparseable"]), "web-1", in_an_hour)
	d.require_approval
	d.reasons == ["the command could not be parsed (unparseable); it needs approval from group:approvers"]
}

test_ssh_write_needs_approval if {
	d := authz.decision with input as sh(["touch /tmp/x", "systemctl restart web"], false, [])
	d.require_approval
	d.reasons == ["commands that may write (touch /tmp/x; systemctl restart web) on web-1 need approval"]
}

test_ssh_write_with_grant_allowed if {
	d := authz.decision with input as with_grant(sh(["touch /tmp/x"], false, []), "web-1", in_an_hour)
	d.allow
}
