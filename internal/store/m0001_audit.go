package store

// The audit trail. data is text, not jsonb: the hash covers its exact
// bytes, which jsonb would reorder. Times are microseconds: PostgreSQL's
// precision, used by SQLite too so both stores hash the same text. The
// head starts at seq 0 with the genesis hash (64 zeros) that seq 1 links to.
// Every index costs each append a page write; these serve replay (session),
// call lookups and tool filters (partial: intents only) and time ranges.
func init() {
	register(Migration{Version: 1, Name: "audit trail", SQLite: `
CREATE TABLE audit_events (
  seq INTEGER PRIMARY KEY,
  time_us INTEGER NOT NULL,
  type TEXT NOT NULL,
  version INTEGER NOT NULL,
  call_id TEXT NOT NULL,
  session_id TEXT NOT NULL,
  subject TEXT NOT NULL,
  verified INTEGER NOT NULL,
  data TEXT NOT NULL,
  tool TEXT NOT NULL,
  connection TEXT NOT NULL,
  decision TEXT NOT NULL,
  prev_hash TEXT NOT NULL,
  hash TEXT NOT NULL
);
CREATE INDEX audit_events_time ON audit_events (time_us);
CREATE INDEX audit_events_session ON audit_events (session_id, seq);
CREATE INDEX audit_events_call ON audit_events (call_id) WHERE call_id <> '';
CREATE INDEX audit_events_tool ON audit_events (tool, connection) WHERE tool <> '';
CREATE TABLE audit_checkpoints (
  seq INTEGER PRIMARY KEY,
  hash TEXT NOT NULL,
  time_us INTEGER NOT NULL,
  key_id TEXT NOT NULL,
  signature BLOB NOT NULL
);
CREATE TABLE audit_head (
  id INTEGER PRIMARY KEY CHECK (id = 1),
  seq INTEGER NOT NULL,
  hash TEXT NOT NULL,
  signed_seq INTEGER,
  signed_hash TEXT,
  signed_time_us INTEGER,
  signed_key_id TEXT,
  signed_signature BLOB
);
INSERT INTO audit_head (id, seq, hash) VALUES (1, 0, '0000000000000000000000000000000000000000000000000000000000000000');
CREATE TABLE audit_sink_cursors (
  sink TEXT PRIMARY KEY,
  seq INTEGER NOT NULL,
  updated_us INTEGER NOT NULL
);
CREATE TABLE audit_settings (
  name TEXT PRIMARY KEY,
  value TEXT NOT NULL
)`, Postgres: `
CREATE TABLE audit_events (
  seq bigint PRIMARY KEY,
  time timestamptz NOT NULL,
  type text NOT NULL,
  version integer NOT NULL,
  call_id text NOT NULL,
  session_id text NOT NULL,
  subject text NOT NULL,
  verified boolean NOT NULL,
  data text NOT NULL,
  tool text NOT NULL,
  connection text NOT NULL,
  decision text NOT NULL,
  prev_hash text NOT NULL,
  hash text NOT NULL
);
CREATE INDEX audit_events_time ON audit_events (time);
CREATE INDEX audit_events_session ON audit_events (session_id, seq);
CREATE INDEX audit_events_call ON audit_events (call_id) WHERE call_id <> '';
CREATE INDEX audit_events_tool ON audit_events (tool, connection) WHERE tool <> '';
CREATE TABLE audit_checkpoints (
  seq bigint PRIMARY KEY,
  hash text NOT NULL,
  time timestamptz NOT NULL,
  key_id text NOT NULL,
  signature bytea NOT NULL
);
CREATE TABLE audit_head (
  id integer PRIMARY KEY CHECK (id = 1),
  seq bigint NOT NULL,
  hash text NOT NULL,
  signed_seq bigint,
  signed_hash text,
  signed_time timestamptz,
  signed_key_id text,
  signed_signature bytea
);
INSERT INTO audit_head (id, seq, hash) VALUES (1, 0, '0000000000000000000000000000000000000000000000000000000000000000');
CREATE TABLE audit_sink_cursors (
  sink text PRIMARY KEY,
  seq bigint NOT NULL,
  updated timestamptz NOT NULL
);
CREATE TABLE audit_settings (
  name text PRIMARY KEY,
  value text NOT NULL
)`})
}
