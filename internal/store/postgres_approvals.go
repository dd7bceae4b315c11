package store

import (
	"context"
	"time"

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

// CreateApproval implements Approvals.
func (p *Postgres) CreateApproval(ctx context.Context, r ApprovalRequest, now time.Time) (ApprovalRequest, bool, error) {
	return p.ap().createApproval(ctx, r, now)
}

// GetApproval implements Approvals.
func (p *Postgres) GetApproval(ctx context.Context, id int64) (ApprovalRequest, error) {
	return p.ap().getApproval(ctx, pgxRunner{p.pool, p.d}, id)
}

// LatestApproval implements Approvals.
func (p *Postgres) LatestApproval(ctx context.Context, k ApprovalKey) (ApprovalRequest, error) {
	return p.ap().latestApproval(ctx, k)
}

// ListApprovals implements Approvals.
func (p *Postgres) ListApprovals(ctx context.Context, f ApprovalFilter) ([]ApprovalRequest, error) {
	return p.ap().listApprovals(ctx, f)
}

// DecideApproval implements Approvals.
func (p *Postgres) DecideApproval(ctx context.Context, id int64, d ApprovalDecision) (ApprovalRequest, *Grant, error) {
	return p.ap().decideApproval(ctx, id, d)
}

// ConsumeApproval implements Approvals.
func (p *Postgres) ConsumeApproval(ctx context.Context, k ApprovalKey, now time.Time, window time.Duration) (ApprovalRequest, error) {
	return p.ap().consumeApproval(ctx, k, now, window)
}

// ExpireApprovals implements Approvals.
func (p *Postgres) ExpireApprovals(ctx context.Context, now time.Time) ([]ApprovalRequest, error) {
	return p.ap().expireApprovals(ctx, now)
}

// CancelApprovals implements Approvals.
func (p *Postgres) CancelApprovals(ctx context.Context, subject, by, reason string, now time.Time) ([]ApprovalRequest, error) {
	return p.ap().cancelApprovals(ctx, subject, by, reason, now)
}

// SetApprovalRef implements Approvals.
func (p *Postgres) SetApprovalRef(ctx context.Context, id int64, ref string) error {
	return p.ap().setApprovalRef(ctx, id, ref)
}

// ActiveGrants implements Grants.
func (p *Postgres) ActiveGrants(ctx context.Context, subject string, now time.Time) ([]Grant, error) {
	return p.ap().activeGrants(ctx, subject, now)
}

// GetGrant implements Grants.
func (p *Postgres) GetGrant(ctx context.Context, id int64) (Grant, error) {
	return p.ap().getGrant(ctx, pgxRunner{p.pool, p.d}, id)
}

// ListGrants implements Grants.
func (p *Postgres) ListGrants(ctx context.Context, f GrantFilter) ([]Grant, error) {
	return p.ap().listGrants(ctx, f)
}

// RevokeGrant implements Grants.
func (p *Postgres) RevokeGrant(ctx context.Context, id int64, by, reason string, now time.Time) (Grant, error) {
	return p.ap().revokeGrant(ctx, id, by, reason, now)
}
