// Package store holds airlock's shared state: SQLite (modernc.org/sqlite,
// pure Go, one file in WAL mode) as the embedded default and PostgreSQL
// (pgx) when several gateway replicas share it.
//
// Today it stores the audit trail (AuditLog): chained events, signed
// checkpoints, the chain head, sink cursors and the legal hold flag. Other
// features add their tables with further migrations: a migration is one
// file, mNNNN_name.go, holding the SQL of both dialects (see migrate.go).
//
// The store does not compute or check hashes; it keeps the chain linear.
// AuditLog.Append runs the caller's batch builder while holding the chain
// head exclusively (BEGIN IMMEDIATE in SQLite, SELECT ... FOR UPDATE on the
// head row in PostgreSQL), so two writers, in one process or in two
// gateways, interleave whole batches and never fork the chain.
//
// The SQLite store caches each subject's revocation and active grants, the
// reads of every gateway call. Every approval, grant or revocation write
// bumps a counter in a small file beside the database (<file>-airlock-epoch)
// that every process on the file maps, so a change is read at the next call
// of every gateway, whichever process made it.
package store
