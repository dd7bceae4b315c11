# SSH family rules. The action lists every command the shell would run
# (pipes, lists, substitutions, bash -c strings), parsed, never matched by
# keyword.
package airlock.authz

ssh_denied_flags := {
	"privilege_escalation": "escalates privileges (sudo, su)",
	"destructive": "destroys data or devices (rm -rf /, mkfs, dd to a device)",
}

deny contains msg if {
	input.tool.family == "ssh"
	some f in input.action.flags
	what := ssh_denied_flags[f]
	msg := sprintf("the command %s (%s); this is never allowed through airlock", [what, f])
}

# A script the parser cannot read could do anything.
approval contains {"reason": msg, "approvers": approvers} if {
	input.tool.family == "ssh"
	"unparseable" in input.action.flags
	msg := sprintf("the command could not be parsed (unparseable); it needs approval from %s", [approvers_text])
}

describe_write("ssh") := msg if {
	cmds := [sprintf("%v", [c]) | some c in input.action.commands]
	count(cmds) > 0
	msg := sprintf("commands that may write (%s) on %s need approval", [concat("; ", cmds), input.connection.name])
}
