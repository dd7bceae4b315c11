# Which tools and connections a principal is shown in tools/list. The input
# has only principal, tool and connection: visibility cannot depend on the
# arguments or the time (the engine caches it per principal, tool and
# connection for the life of a policy version).
package airlock.authz

import data.airlock.lib

default visible := false

# Operators hide more with `hide contains reason if {...}`; can_see says
# when some call of the tool on the connection could be allowed or approved.
visible if {
	can_see
	count(hide) == 0
}

can_see if {
	input.tool.family == "governance"
	identified
}

can_see if {
	input.principal.verified == true
	input.connection.name != ""
}

can_see if {
	input.principal.verified == false
	identified
	dev_connection
}

hide contains "the caller has no identity" if not identified
