# Family-independent rules: identity, reads, writes, grants, governance tools.
#
# The engine always supplies every input member with its type (booleans
# are true or false, a missing action is null), so rules open with an
# equality on an input member: OPA indexes those and skips rules that
# cannot match without evaluating them, which keeps decisions in the
# microseconds.
package airlock.authz

import data.airlock.lib

identified if input.principal.subject != ""

governance if input.tool.family == "governance"

dev_connection if lib.label(input.connection, "env", "dev")

# A JIT write grant (request_access, approved) lets ordinary writes on its
# connection run without approval. It never lifts a deny, and not the
# approvals for destructive or opaque calls, which carry their own rules.
# The engine passes only grants in force, so no clock is read here.
write_granted if lib.holds_grant(input.grants, input.connection.name, "write")

deny contains "the call carries no identity" if input.principal.subject == ""

deny contains "the call was not classified, so what it would do is unknown" if input.action == null

# Development identities are unverified: they may not touch anything but
# connections the operator labelled as development.
deny contains msg if {
	input.principal.verified == false
	input.connection.name != ""
	not dev_connection
	msg := sprintf(
		"unverified identity %s may only use connections labelled env: dev; %s is %s",
		[input.principal.subject, input.connection.name, env_text],
	)
}

env_text := sprintf("labelled env: %v", [input.connection.labels.env]) if {
	input.connection.labels.env
} else := "not labelled env: dev"

allowed_by contains "read-only call by a verified principal" if {
	input.principal.verified == true
	input.action.read_only == true
}

allowed_by contains "read-only call on a development connection" if {
	input.principal.verified == false
	input.action.read_only == true
	dev_connection
}

# Grants and approvals below need no identity check of their own: a call
# without identity is denied, and deny beats both.
allowed_by contains msg if {
	input.action.read_only == false
	not governance
	write_granted
	msg := sprintf("write on %s allowed by a grant", [input.connection.name])
}

allowed_by contains "governance tools are available to every identified principal" if {
	input.tool.family == "governance"
}

approval contains {"reason": describe_write(input.tool.family), "approvers": approvers} if {
	input.action.read_only == false
	not governance
	not write_granted
}

# describe_write says, per family, what the write is; family files add
# definitions for their family name.
default describe_write(_) := "the call is not read-only, so it needs approval"

# A helper, not `not input.action.risk in known_risks`: OPA does not run a
# negated expression over an undefined member, and a missing risk must
# count as unknown.
known_risk if input.action.risk in {"low", "medium", "high", "critical"}

# A classifier that cannot name the risk has not understood the call.
approval contains {"reason": msg, "approvers": approvers} if {
	input.action != null
	not known_risk
	msg := sprintf("the risk of the call is unknown (%v), so it needs approval", [object.get(input.action, "risk", "missing")])
}
