package store

// Revoked subjects. Times are microseconds since the epoch in both
// dialects: the check runs on every call and compares numbers only.
func init() {
	register(Migration{Version: 3, Name: "revocations", SQLite: `
CREATE TABLE revocations (
  subject TEXT PRIMARY KEY,
  revoked_at_us INTEGER NOT NULL,
  active INTEGER NOT NULL,
  reason TEXT NOT NULL,
  revoked_by TEXT NOT NULL,
  lifted_at_us INTEGER,
  lifted_by TEXT NOT NULL DEFAULT ''
)`, Postgres: `
CREATE TABLE revocations (
  subject TEXT PRIMARY KEY,
  revoked_at_us BIGINT NOT NULL,
  active BOOLEAN NOT NULL,
  reason TEXT NOT NULL,
  revoked_by TEXT NOT NULL,
  lifted_at_us BIGINT,
  lifted_by TEXT NOT NULL DEFAULT ''
)`})
}
