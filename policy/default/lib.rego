# Helpers for airlock policies. Import with `import data.airlock.lib` and
# call as lib.in_group(input.principal, "dba"). The package survives
# policy.replace_default, so operator replacements can rely on it.
package airlock.lib

# in_group(principal, g) is true when the principal's identity provider put
# it in group g (input.principal.groups, mapped from the groups claim).
in_group(principal, g) if g in principal.groups

# label(conn, k, v) is true when connection conn carries label k: v from the
# operator's configuration (input.connection.labels).
label(conn, k, v) if conn.labels[k] == v

# labels_match(conn, want) is true when conn carries every k: v of the
# object want, e.g. labels_match(input.connection, {"env": "prod", "team": "payments"}).
# An empty want matches every connection.
labels_match(conn, want) if {
	is_object(want)
	every k, v in want {
		conn.labels[k] == v
	}
}

# now_ns(t) turns a time given either as nanoseconds since the epoch or as an
# RFC 3339 string (input.now, grant expiries) into nanoseconds.
now_ns(t) := t if is_number(t)

now_ns(t) := time.parse_rfc3339_ns(t) if is_string(t)

# weekday(t, tz) is the English day name ("Monday" ... "Sunday") of time t
# (ns or RFC 3339) in IANA time zone tz, e.g. weekday(input.now, "Europe/Berlin").
weekday(t, tz) := time.weekday([now_ns(t), tz])

# within_hours(t, start, end, tz) is true when the wall-clock time of t in
# time zone tz lies in [start, end). start and end are hours (9, 17) or
# "HH:MM" strings ("08:30"). A window whose end is before its start wraps
# midnight: within_hours(input.now, "22:00", "06:00", "UTC") is the night shift.
within_hours(t, start, end, tz) if {
	m := minute_of_day(t, tz)
	minutes(start) <= minutes(end)
	m >= minutes(start)
	m < minutes(end)
}

within_hours(t, start, end, tz) if {
	m := minute_of_day(t, tz)
	minutes(start) > minutes(end)
	m >= minutes(start)
}

within_hours(t, start, end, tz) if {
	m := minute_of_day(t, tz)
	minutes(start) > minutes(end)
	m < minutes(end)
}

# business_hours(t, tz) is true Monday to Friday, 09:00 to 17:00, in tz.
business_hours(t, tz) if {
	weekday(t, tz) in {"Monday", "Tuesday", "Wednesday", "Thursday", "Friday"}
	within_hours(t, 9, 17, tz)
}

minute_of_day(t, tz) := (c[0] * 60) + c[1] if c := time.clock([now_ns(t), tz])

minutes(x) := x * 60 if is_number(x)

minutes(x) := (to_number(p[0]) * 60) + to_number(p[1]) if {
	is_string(x)
	p := split(x, ":")
	count(p) == 2
}

# holds_grant(grants, conn, access) is true when grants (input.grants) holds a
# grant of access ("read" or "write") on connection conn. The engine drops
# expired grants before evaluating, so this reads no clock, and decisions
# that read no clock are reused for calls of the same shape.
holds_grant(grants, conn, access) if {
	some g in grants
	g.connection == conn
	g.access == access
}

# has_grant(inp, access) is true when inp.grants holds an unexpired grant of
# access ("read" or "write") on the connection of the call: a JIT grant an
# approver gave through request_access. inp is the whole input document.
has_grant(inp, access) if {
	some g in inp.grants
	g.connection == inp.connection.name
	g.access == access
	time.parse_rfc3339_ns(g.expires_at) > now_ns(inp.now)
}
