package airlock.lib_test

import data.airlock.lib

alice := {"subject": "alice", "groups": ["eng", "dba"], "verified": true}

prod := {"name": "prod-db", "kind": "postgres", "labels": {"env": "prod", "team": "payments"}}

# 2026-11-27 is a Friday.
friday_10utc := "2026-11-27T10:00:00Z"

test_in_group if lib.in_group(alice, "dba")

test_in_group_missing if not lib.in_group(alice, "admins")

test_in_group_no_groups if not lib.in_group({"subject": "bob"}, "dba")

test_label if lib.label(prod, "env", "prod")

test_label_other_value if not lib.label(prod, "env", "dev")

test_label_missing if not lib.label({"name": "x", "labels": {}}, "env", "prod")

test_labels_match if lib.labels_match(prod, {"env": "prod", "team": "payments"})

test_labels_match_partial if not lib.labels_match(prod, {"env": "prod", "team": "growth"})

test_labels_match_empty if lib.labels_match(prod, {})

test_now_ns_string if lib.now_ns("1970-01-01T00:00:01Z") == 1000000000

test_now_ns_number if lib.now_ns(42) == 42

test_weekday if lib.weekday(friday_10utc, "UTC") == "Friday"

test_weekday_tz if lib.weekday("2026-11-27T23:30:00Z", "Asia/Tokyo") == "Saturday"

test_within_hours_ints if lib.within_hours(friday_10utc, 9, 17, "UTC")

test_within_hours_strings if lib.within_hours(friday_10utc, "09:30", "10:01", "UTC")

test_within_hours_end_exclusive if not lib.within_hours(friday_10utc, 8, 10, "UTC")

test_within_hours_tz if not lib.within_hours(friday_10utc, 9, 17, "America/Los_Angeles")

test_within_hours_wraps_midnight if {
	lib.within_hours("2026-11-27T23:00:00Z", "22:00", "06:00", "UTC")
	lib.within_hours("2026-11-27T05:59:00Z", "22:00", "06:00", "UTC")
	not lib.within_hours(friday_10utc, "22:00", "06:00", "UTC")
}

test_business_hours if lib.business_hours(friday_10utc, "UTC")

test_business_hours_weekend if not lib.business_hours("2026-11-28T10:00:00Z", "UTC")

test_business_hours_evening if not lib.business_hours("2026-11-27T18:00:00Z", "UTC")

grant_input(expires) := {
	"connection": {"name": "prod-db"},
	"grants": [{"connection": "prod-db", "access": "write", "expires_at": expires}],
	"now": friday_10utc,
}

test_holds_grant if lib.holds_grant(grant_input("2026-11-27T11:00:00Z").grants, "prod-db", "write")

test_holds_grant_other_access if not lib.holds_grant(grant_input("2026-11-27T11:00:00Z").grants, "prod-db", "read")

test_holds_grant_other_connection if not lib.holds_grant(grant_input("2026-11-27T11:00:00Z").grants, "dev-db", "write")

test_holds_grant_none if not lib.holds_grant([], "prod-db", "write")

test_has_grant if lib.has_grant(grant_input("2026-11-27T11:00:00Z"), "write")

test_has_grant_expired if not lib.has_grant(grant_input("2026-11-27T09:59:59Z"), "write")

test_has_grant_other_access if not lib.has_grant(grant_input("2026-11-27T11:00:00Z"), "read")

test_has_grant_other_connection if {
	inp := object.union(grant_input("2026-11-27T11:00:00Z"), {"connection": {"name": "dev-db"}})
	not lib.has_grant(inp, "write")
}

test_has_grant_none if not lib.has_grant({"connection": {"name": "prod-db"}, "grants": [], "now": friday_10utc}, "write")
