package airlock.authz

import data.airlock.lib

# No writes to production on Fridays (Berlin time), approval or not.
deny contains "no production writes on Fridays" if {
	input.action.read_only == false
	lib.label(input.connection, "env", "prod")
	lib.weekday(input.now, "Europe/Berlin") == "Friday"
}
