package store

import (
	"context"
	"time"
)

// approvalsSQL implements Approvals, Grants and Revocations for both
// stores, which embed it; the SQLite store puts its cache in front of the
// two per-call reads (ActiveGrants, Revocation) with methods of its own.
type approvalsSQL struct {
	b apBackend
	// rev runs revoke and unrevoke: their reads must see the writer's
	// state (SQLite's single writer connection).
	rev apBackend
}

// CreateApproval implements Approvals.
func (a approvalsSQL) CreateApproval(ctx context.Context, r ApprovalRequest, now time.Time) (ApprovalRequest, bool, error) {
	return a.b.createApproval(ctx, r, now)
}

// GetApproval implements Approvals.
func (a approvalsSQL) GetApproval(ctx context.Context, id int64) (ApprovalRequest, error) {
	return a.b.getApproval(ctx, a.b.read, id)
}

// LatestApproval implements Approvals.
func (a approvalsSQL) LatestApproval(ctx context.Context, k ApprovalKey) (ApprovalRequest, error) {
	return a.b.latestApproval(ctx, k)
}

// ListApprovals implements Approvals.
func (a approvalsSQL) ListApprovals(ctx context.Context, f ApprovalFilter) ([]ApprovalRequest, error) {
	return a.b.listApprovals(ctx, f)
}

// DecideApproval implements Approvals.
func (a approvalsSQL) DecideApproval(ctx context.Context, id int64, d ApprovalDecision) (ApprovalRequest, *Grant, error) {
	return a.b.decideApproval(ctx, id, d)
}

// ConsumeApproval implements Approvals.
func (a approvalsSQL) ConsumeApproval(ctx context.Context, k ApprovalKey, now time.Time, window time.Duration) (ApprovalRequest, error) {
	return a.b.consumeApproval(ctx, k, now, window)
}

// ExpireApprovals implements Approvals.
func (a approvalsSQL) ExpireApprovals(ctx context.Context, now time.Time) ([]ApprovalRequest, error) {
	return a.b.expireApprovals(ctx, now)
}

// CancelApprovals implements Approvals.
func (a approvalsSQL) CancelApprovals(ctx context.Context, subject, by, reason string, now time.Time) ([]ApprovalRequest, error) {
	return a.b.cancelApprovals(ctx, subject, by, reason, now)
}

// SetApprovalRef implements Approvals.
func (a approvalsSQL) SetApprovalRef(ctx context.Context, id int64, ref string) error {
	return a.b.setApprovalRef(ctx, id, ref)
}

// ActiveGrants implements Grants.
func (a approvalsSQL) ActiveGrants(ctx context.Context, subject string, now time.Time) ([]Grant, error) {
	return a.b.activeGrants(ctx, subject, now)
}

// GetGrant implements Grants.
func (a approvalsSQL) GetGrant(ctx context.Context, id int64) (Grant, error) {
	return a.b.getGrant(ctx, a.b.read, id)
}

// ListGrants implements Grants.
func (a approvalsSQL) ListGrants(ctx context.Context, f GrantFilter) ([]Grant, error) {
	return a.b.listGrants(ctx, f)
}

// RevokeGrant implements Grants.
func (a approvalsSQL) RevokeGrant(ctx context.Context, id int64, by, reason string, now time.Time) (Grant, error) {
	return a.b.revokeGrant(ctx, id, by, reason, now)
}

// Revoke implements Revocations.
func (a approvalsSQL) Revoke(ctx context.Context, subject, reason, by string, at time.Time) error {
	return a.rev.revoke(ctx, subject, reason, by, at)
}

// Unrevoke implements Revocations.
func (a approvalsSQL) Unrevoke(ctx context.Context, subject, by string, at time.Time) (bool, error) {
	return a.rev.unrevoke(ctx, subject, by, at)
}

// Revocation implements Revocations.
func (a approvalsSQL) Revocation(ctx context.Context, subject string) (Revocation, bool, error) {
	return a.b.revocation(ctx, subject)
}

// ListRevocations implements Revocations.
func (a approvalsSQL) ListRevocations(ctx context.Context) ([]Revocation, error) {
	return a.b.listRevocations(ctx)
}
