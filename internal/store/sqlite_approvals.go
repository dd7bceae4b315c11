package store

import (
	"context"
	"database/sql"
	"sync"
	"time"
)

// sqlRunner adapts database/sql to apRunner.
type sqlRunner interface {
	ExecContext(ctx context.Context, q string, args ...any) (sql.Result, error)
	QueryRowContext(ctx context.Context, q string, args ...any) *sql.Row
	QueryContext(ctx context.Context, q string, args ...any) (*sql.Rows, error)
}

type sqliteRunner struct {
	db sqlRunner
	// stmts, when set, prepares each query once on db (a *sql.DB).
	stmts *stmtCache
}

// stmtCache holds prepared statements by query text; database/sql keeps
// one per pooled connection underneath.
type stmtCache struct {
	mu sync.Mutex
	m  map[string]*sql.Stmt
}

func (c *stmtCache) close() {
	if c == nil {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	for q, st := range c.m {
		_ = st.Close()
		delete(c.m, q)
	}
}

func (c *stmtCache) get(ctx context.Context, db sqlRunner, q string) (*sql.Stmt, bool) {
	p, ok := db.(*sql.DB)
	if c == nil || !ok {
		return nil, false
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if st, ok := c.m[q]; ok {
		return st, true
	}
	st, err := p.PrepareContext(ctx, q)
	if err != nil {
		return nil, false
	}
	c.m[q] = st
	return st, true
}

func (r sqliteRunner) exec(ctx context.Context, q string, args ...any) (int64, error) {
	res, err := r.db.ExecContext(ctx, q, args...)
	if err != nil {
		return 0, err
	}
	return res.RowsAffected()
}

// pointRead detaches the per-call reads (indexed lookups of a few rows)
// from the caller's cancellation: with a cancellable context, database/sql
// and the driver each start a goroutine to watch it, costing more than the
// read. A WAL reader never waits for a writer, so nothing needs cancelling.
func pointRead(ctx context.Context) context.Context {
	if ctx.Done() == nil {
		return ctx
	}
	return context.WithoutCancel(ctx)
}

func (r sqliteRunner) row(ctx context.Context, q string, args ...any) scanner {
	if st, ok := r.stmts.get(ctx, r.db, q); ok {
		return st.QueryRowContext(pointRead(ctx), args...)
	}
	return r.db.QueryRowContext(ctx, q, args...)
}

func (r sqliteRunner) rows(ctx context.Context, q string, args ...any) (apRows, error) {
	if st, ok := r.stmts.get(ctx, r.db, q); ok {
		rows, err := st.QueryContext(pointRead(ctx), args...)
		if err != nil {
			return nil, err
		}
		return sqlRows{rows}, nil
	}
	rows, err := r.db.QueryContext(ctx, q, args...)
	if err != nil {
		return nil, err
	}
	return sqlRows{rows}, nil
}

type sqlRows struct{ *sql.Rows }

func (r sqlRows) Close() { _ = r.Rows.Close() }

// ap returns the approval storage on the writer (BEGIN IMMEDIATE, so a
// compare-and-set never races another process on the same file) and the
// reader pool. Each write transaction bumps the epoch before it begins,
// so that a read loaded while it runs is not kept, and after it ends, so
// that the next read loads what it committed.
func (s *SQLite) ap() apBackend {
	return apBackend{d: s.d, read: sqliteRunner{db: s.r, stmts: s.reads}, tx: func(ctx context.Context, fn func(apRunner) error) error {
		s.cache.bump()
		defer s.cache.bump()
		return s.writeTx(ctx, fn)
	}}
}

// writeTx runs fn in one transaction on the writer: committed when fn
// returns nil.
func (s *SQLite) writeTx(ctx context.Context, fn func(apRunner) error) error {
	tx, err := s.w.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	if err := fn(sqliteRunner{db: tx}); err != nil {
		return err
	}
	return tx.Commit()
}

// ActiveGrants implements Grants.
func (s *SQLite) ActiveGrants(ctx context.Context, subject string, now time.Time) ([]Grant, error) {
	if s.cache.reads() {
		return s.cachedActiveGrants(ctx, subject, now)
	}
	return s.approvalsSQL.ActiveGrants(ctx, subject, now)
}
