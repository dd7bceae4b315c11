package store

import (
	"context"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
)

// pgxRunner adapts a pgx pool or transaction to apRunner; queries arrive
// with ? placeholders and are rebound to $n here.
type pgxRunner struct {
	db interface {
		Exec(ctx context.Context, sql string, args ...any) (pgconn.CommandTag, error)
		QueryRow(ctx context.Context, sql string, args ...any) pgx.Row
		Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error)
	}
	d dialect
}

func (r pgxRunner) exec(ctx context.Context, q string, args ...any) (int64, error) {
	tag, err := r.db.Exec(ctx, r.d.rebind(q), args...)
	return tag.RowsAffected(), err
}

func (r pgxRunner) row(ctx context.Context, q string, args ...any) scanner {
	return r.db.QueryRow(ctx, r.d.rebind(q), args...)
}

func (r pgxRunner) rows(ctx context.Context, q string, args ...any) (apRows, error) {
	rows, err := r.db.Query(ctx, r.d.rebind(q), args...)
	if err != nil {
		return nil, err
	}
	return rows, nil
}

// ap returns the approval storage on the pool. Transactions are READ
// COMMITTED: the compare-and-set conditions are re-checked under the row
// lock, which is all the state machine needs.
func (p *Postgres) ap() apBackend {
	return apBackend{d: p.d, read: pgxRunner{p.pool, p.d}, tx: func(ctx context.Context, fn func(apRunner) error) error {
		tx, err := p.pool.Begin(ctx)
		if err != nil {
			return err
		}
		defer tx.Rollback(context.Background())
		if err := fn(pgxRunner{tx, p.d}); err != nil {
			return err
		}
		return tx.Commit(ctx)
	}}
}
