# The airlock default policy: how the rule sets combine into the decision
# the gateway enforces (query data.airlock.authz.decision).
#
# Operators extend this package by adding to its sets:
#   deny contains reason if {...}          any entry denies; nothing lifts it
#   approval contains {"reason": r, "approvers": ["group:dba"]} if {...}
#                                          any entry requires approval
#   allowed_by contains reason if {...}    the call may run without approval
#   allow if {...}                         the same, without a reason
# and by setting obligations: max_rows := 100 if {...}, timeout_ms, mask_response.
package airlock.authz

default allow := false

allow if count(allowed_by) > 0

# Obligations. Defaults apply when no rule sets a value; two rules setting
# different values for one call are a conflict, which fails the evaluation
# and therefore denies the call.
default max_rows := 1000

default timeout_ms := 30000

default mask_response := true

# The group that approves risky calls: data.airlock.config.approver_group
# (an operator file with `package airlock.config` and
# `approver_group := "dba"`), else "approvers".
approver_group := g if {
	g := data.airlock.config.approver_group
	is_string(g)
} else := "approvers"

approvers := [concat(":", ["group", approver_group])]

approvers_text := concat(", ", approvers)

# Deny beats approval beats allow; nothing allowed is denied. The order is
# the whole security argument of the bundle, so it is written once, here.
# allowed_by is consulted before allow so the common path evaluates one
# document less; an operator's bare `allow if` still allows.
decision := d if {
	deny != set()
	d := {
		"allow": false,
		"require_approval": false,
		"approvers": [],
		"reasons": sort(deny),
	}
} else := d if {
	approval != set()
	d := {
		"allow": false,
		"require_approval": true,
		"approvers": sort({a | some e in approval; some a in entry_approvers(e)}),
		"reasons": sort({entry_reason(e) | some e in approval}),
		"max_rows": max_rows,
		"timeout_ms": timeout_ms,
		"mask": {"response": mask_response},
	}
} else := d if {
	allowed_by != set()
	d := {
		"allow": true,
		"require_approval": false,
		"approvers": [],
		"reasons": sort(allowed_by),
		"max_rows": max_rows,
		"timeout_ms": timeout_ms,
		"mask": {"response": mask_response},
	}
} else := d if {
	allow
	d := {
		"allow": true,
		"require_approval": false,
		"approvers": [],
		"reasons": ["allowed by policy"],
		"max_rows": max_rows,
		"timeout_ms": timeout_ms,
		"mask": {"response": mask_response},
	}
} else := {
	"allow": false,
	"require_approval": false,
	"approvers": [],
	"reasons": ["no rule allows this call"],
}

# An operator who writes `approval contains "reason"` or forgets the
# approvers still gets an approval, by the default approver group.
entry_reason(e) := e.reason if {
	is_object(e)
} else := e if {
	is_string(e)
} else := "approval required by policy"

entry_approvers(e) := e.approvers if {
	is_object(e)
	is_array(e.approvers)
	count(e.approvers) > 0
} else := approvers
