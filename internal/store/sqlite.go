package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"

	_ "modernc.org/sqlite" // registers the "sqlite" database/sql driver
)

// SQLite is the embedded store: one file in WAL mode. Writes go through a
// single connection that begins IMMEDIATE transactions, so the write lock
// is taken before the head is read (no upgrade deadlocks), and a second
// process on the same file waits on busy_timeout instead of forking the
// chain. Reads use their own pool and never block the writer.
type SQLite struct {
	auditSQL             // reads, cursors, settings and retention of the audit log
	approvalsSQL         // approvals, grants and revocations; two reads are cached
	w            *sql.DB // one connection, BEGIN IMMEDIATE
	r            *sql.DB // readers
	ck           *sql.DB // the WAL checkpointer's connection
	d            dialect
	stmts        sqliteStmts
	// reads caches the prepared reader statements of the per-call checks
	// (revocations, grants): parsing the SQL cost as much as running it.
	reads *stmtCache
	// cache serves those checks between changes; nil without an epoch.
	cache *sqliteCache
	stop  chan struct{}
	done  chan struct{}
}

// sqliteStmts are the append path's statements, prepared once on the
// writer connection: parsing SQL would cost more than the insert.
type sqliteStmts struct {
	head, cp, upd, updSigned, cursor *sql.Stmt
	ins                              map[int]*sql.Stmt // by rows per statement: insertSizes
}

// walCheckpointEvery is how often the WAL is copied into the database
// file. It runs beside the writer, not in it: SQLite's automatic
// checkpoint would put its fsyncs on some unlucky caller's commit.
const walCheckpointEvery = time.Second

// busyTimeout is how long a writer waits for another process's write
// transaction; it bounds the latency a second writer adds.
const busyTimeout = 10 * time.Second

type connRole int

const (
	roleWriter connRole = iota
	roleReader
	roleCheckpointer
)

func sqliteDSN(dsn string, o options, role connRole) string {
	sync := "NORMAL"
	if o.durability == DurabilityFsync {
		sync = "FULL"
	}
	sep := "?"
	if strings.Contains(dsn, "?") {
		sep = "&"
	}
	p := []string{
		fmt.Sprintf("_pragma=busy_timeout(%d)", busyTimeout.Milliseconds()),
		"_pragma=journal_mode(WAL)",
		"_pragma=synchronous(" + sync + ")",
		"_pragma=foreign_keys(1)",
	}
	switch role {
	case roleReader:
		p = append(p, "_pragma=query_only(1)")
	case roleWriter:
		p = append(p, "_txlock=immediate", "_pragma=wal_autocheckpoint(0)")
	}
	return dsn + sep + strings.Join(p, "&")
}

func openSQLite(ctx context.Context, dsn string, o options) (*SQLite, error) {
	w, err := sql.Open("sqlite", sqliteDSN(dsn, o, roleWriter))
	if err != nil {
		return nil, fmt.Errorf("store: open sqlite: %w", err)
	}
	// One writer connection: the group commit upstream batches, and SQLite
	// serialises writers anyway.
	w.SetMaxOpenConns(1)
	w.SetConnMaxIdleTime(0)
	s := &SQLite{w: w, d: sqliteDialect, reads: &stmtCache{m: map[string]*sql.Stmt{}}}
	if err := s.migrate(ctx); err != nil {
		w.Close()
		return nil, err
	}
	if err := s.prepare(ctx); err != nil {
		w.Close()
		return nil, err
	}
	s.cache = openCache(ctx, w)
	// The other pools open after migration so WAL mode is already set.
	if s.r, err = sql.Open("sqlite", sqliteDSN(dsn, o, roleReader)); err == nil {
		s.ck, err = sql.Open("sqlite", sqliteDSN(dsn, o, roleCheckpointer))
	}
	if err != nil {
		s.Close()
		return nil, fmt.Errorf("store: open sqlite: %w", err)
	}
	// Readers stay open: database/sql keeps two idle by default, and
	// reopening one costs a connection and its prepared statements.
	s.r.SetMaxOpenConns(4)
	s.r.SetMaxIdleConns(4)
	s.ck.SetMaxOpenConns(1)
	s.auditSQL = s.audit()
	s.approvalsSQL = approvalsSQL{b: s.ap(), rev: s.wap()}
	s.stop, s.done = make(chan struct{}), make(chan struct{})
	go s.checkpointWAL()
	return s, nil
}

func (s *SQLite) prepare(ctx context.Context) error {
	var err error
	prep := func(q string) *sql.Stmt {
		if err != nil {
			return nil
		}
		var st *sql.Stmt
		st, err = s.w.PrepareContext(ctx, q)
		return st
	}
	ins := map[int]*sql.Stmt{}
	for _, n := range insertSizes {
		ins[n] = prep(sqliteValues(n))
	}
	s.stmts = sqliteStmts{
		ins:       ins,
		head:      prep(sqliteHeadSQL),
		cursor:    prep(s.d.setCursorSQL()),
		cp:        prep("INSERT INTO audit_checkpoints (seq, hash, time_us, key_id, signature) VALUES (?, ?, ?, ?, ?)"),
		upd:       prep("UPDATE audit_head SET seq = ?, hash = ? WHERE id = 1"),
		updSigned: prep("UPDATE audit_head SET seq = ?, hash = ?, signed_seq = ?, signed_hash = ?, signed_time_us = ?, signed_key_id = ?, signed_signature = ? WHERE id = 1"),
	}
	if err != nil {
		return fmt.Errorf("store: open sqlite: prepare: %w", err)
	}
	return nil
}

func (s *SQLite) checkpointWAL() {
	defer close(s.done)
	t := time.NewTicker(walCheckpointEvery)
	defer t.Stop()
	for {
		select {
		case <-s.stop:
			return
		case <-t.C:
			// PASSIVE never waits for the writer or readers; what it
			// cannot copy now it copies next time.
			_, _ = s.ck.Exec("PRAGMA wal_checkpoint(PASSIVE)")
		}
	}
}

func (s *SQLite) migrate(ctx context.Context) error {
	tx, err := s.w.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("store: migrate: %w", err)
	}
	defer tx.Rollback()
	if _, err := tx.ExecContext(ctx, `CREATE TABLE IF NOT EXISTS schema_migrations (
  version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_us INTEGER NOT NULL)`); err != nil {
		return fmt.Errorf("store: migrate: %w", err)
	}
	var have int
	if err := tx.QueryRowContext(ctx, "SELECT COALESCE(MAX(version), 0) FROM schema_migrations").Scan(&have); err != nil {
		return fmt.Errorf("store: migrate: %w", err)
	}
	if have > LatestVersion() {
		return fmt.Errorf("store: migrate: the database is at schema version %d, newer than this build's %d: upgrade airlock", have, LatestVersion())
	}
	for _, m := range ordered() {
		if m.Version <= have {
			continue
		}
		for _, st := range statements(m.SQLite) {
			if _, err := tx.ExecContext(ctx, st); err != nil {
				return fmt.Errorf("store: migrate %d (%s): %w", m.Version, m.Name, err)
			}
		}
		if _, err := tx.ExecContext(ctx, "INSERT INTO schema_migrations (version, name, applied_us) VALUES (?, ?, ?)",
			m.Version, m.Name, time.Now().UnixMicro()); err != nil {
			return fmt.Errorf("store: migrate %d: %w", m.Version, err)
		}
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("store: migrate: %w", err)
	}
	return nil
}

// Driver implements Store.
func (s *SQLite) Driver() string { return "sqlite" }

// Close implements Store. It checkpoints the WAL into the main file.
func (s *SQLite) Close() error {
	var errs []error
	if s.stop != nil {
		close(s.stop)
		<-s.done
		s.stop = nil
	}
	s.reads.close()
	for _, db := range []*sql.DB{s.r, s.ck} {
		if db != nil {
			errs = append(errs, db.Close())
		}
	}
	_, _ = s.w.Exec("PRAGMA wal_checkpoint(TRUNCATE)")
	errs = append(errs, s.w.Close(), s.cache.close())
	return errors.Join(errs...)
}
