package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
)

// The approval and grant queries are written once, with ? placeholders
// that apRunner implementations rebind; sqlite_approvals.go and
// postgres_approvals.go only adapt database/sql and pgx to apRunner.

// apRunner runs statements on a connection, pool or transaction.
type apRunner interface {
	exec(ctx context.Context, q string, args ...any) (int64, error)
	row(ctx context.Context, q string, args ...any) scanner
	rows(ctx context.Context, q string, args ...any) (apRows, error)
}

type apRows interface {
	scanner
	Next() bool
	Err() error
	Close()
}

// apBackend is one store's approval and grant storage.
type apBackend struct {
	d    dialect
	read apRunner
	// tx runs fn in one write transaction: committed when fn returns nil.
	tx func(ctx context.Context, fn func(apRunner) error) error
}

// rebind turns ? placeholders into the dialect's. No query here has a ?
// inside a literal.
func (d dialect) rebind(q string) string {
	if d.ph(1) == "?" {
		return q
	}
	var sb strings.Builder
	n := 0
	for _, r := range q {
		if r == '?' {
			n++
			sb.WriteString(d.ph(n))
			continue
		}
		sb.WriteRune(r)
	}
	return sb.String()
}

// nt is a nullable time argument.
func (d dialect) nt(t time.Time) any {
	if t.IsZero() {
		return nil
	}
	return d.timeArg(t)
}

func apNoRows(err error) bool { return errors.Is(err, sql.ErrNoRows) || errors.Is(err, pgx.ErrNoRows) }

const apCols = "id, kind, state, subject, email, requester_groups, client_name, tool, connection, connection_labels, " +
	"args_hash, args_text, action_json, reasons, approvers, grant_access, grant_duration_ms, grant_reason, created_at, expires_at, " +
	"decided_at, decided_by, decided_by_email, decided_via, decision_reason, valid_until, used_at, use_until, uses, notify_ref, grant_id"

const grantCols = "id, request_id, subject, email, connection, access, approvers, granted_by, reason, created_at, expires_at, " +
	"revoked_at, revoked_by, revoke_reason"

const apKeyCond = "subject = ? AND tool = ? AND connection = ? AND args_hash = ?"

func keyArgs(k ApprovalKey) []any { return []any{k.Subject, k.Tool, k.Connection, k.ArgsHash} }

// jsonList and jsonMap encode what the JSON text columns hold; empty is
// [] or {}, never null, so the columns decode to the same thing.
func jsonList(v []string) string {
	if len(v) == 0 {
		return "[]"
	}
	b, _ := json.Marshal(v) // strings always encode
	return string(b)
}

func jsonMap(v map[string]string) string {
	if len(v) == 0 {
		return "{}"
	}
	b, _ := json.Marshal(v)
	return string(b)
}

func scanApproval(s scanner) (ApprovalRequest, error) {
	var r ApprovalRequest
	var groups, labels, action, reasons, approvers string
	var durMS int64
	var grantID *int64
	err := s.Scan(&r.ID, &r.Kind, &r.State, &r.Subject, &r.Email, &groups, &r.ClientName, &r.Tool, &r.Connection, &labels,
		&r.ArgsHash, &r.ArgsText, &action, &reasons, &approvers, &r.GrantAccess, &durMS, &r.GrantReason,
		dbTime{&r.CreatedAt}, dbTime{&r.ExpiresAt}, dbTime{&r.DecidedAt}, &r.DecidedBy, &r.DecidedByEmail, &r.DecidedVia,
		&r.DecisionReason, dbTime{&r.ValidUntil}, dbTime{&r.UsedAt}, dbTime{&r.UseUntil}, &r.Uses, &r.NotifyRef, &grantID)
	if err != nil {
		return r, err
	}
	r.GrantDuration = time.Duration(durMS) * time.Millisecond
	if grantID != nil {
		r.GrantID = *grantID
	}
	if action != "null" && action != "" {
		r.Action = []byte(action)
	}
	for _, f := range []struct {
		src string
		dst any
	}{{groups, &r.Groups}, {labels, &r.ConnectionLabels}, {reasons, &r.Reasons}, {approvers, &r.Approvers}} {
		if err := json.Unmarshal([]byte(f.src), f.dst); err != nil {
			return r, fmt.Errorf("approval %d: %w", r.ID, err)
		}
	}
	return r, nil
}

func scanGrant(s scanner) (Grant, error) {
	var g Grant
	var approvers string
	err := s.Scan(&g.ID, &g.RequestID, &g.Subject, &g.Email, &g.Connection, &g.Access, &approvers, &g.GrantedBy, &g.Reason,
		dbTime{&g.CreatedAt}, dbTime{&g.ExpiresAt}, dbTime{&g.RevokedAt}, &g.RevokedBy, &g.RevokeReason)
	if err != nil {
		return g, err
	}
	if err := json.Unmarshal([]byte(approvers), &g.Approvers); err != nil {
		return g, fmt.Errorf("grant %d: %w", g.ID, err)
	}
	return g, nil
}

func (b apBackend) approvals(ctx context.Context, run apRunner, q string, args ...any) ([]ApprovalRequest, error) {
	rows, err := run.rows(ctx, q, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []ApprovalRequest
	for rows.Next() {
		r, err := scanApproval(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, r)
	}
	return out, rows.Err()
}

func (b apBackend) grants(ctx context.Context, run apRunner, q string, args ...any) ([]Grant, error) {
	rows, err := run.rows(ctx, q, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []Grant
	for rows.Next() {
		g, err := scanGrant(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, g)
	}
	return out, rows.Err()
}

func (b apBackend) createApproval(ctx context.Context, r ApprovalRequest, now time.Time) (ApprovalRequest, bool, error) {
	if r.Kind != ApprovalKindCall && r.Kind != ApprovalKindGrant {
		return ApprovalRequest{}, false, fmt.Errorf("store: create approval: unknown kind %q", r.Kind)
	}
	action := "null"
	if len(r.Action) > 0 {
		action = string(r.Action)
	}
	var out ApprovalRequest
	var created bool
	err := b.tx(ctx, func(run apRunner) error {
		if _, err := run.exec(ctx, "UPDATE approval_requests SET state = 'expired' WHERE "+apKeyCond+
			" AND state = 'pending' AND expires_at <= ?", append(keyArgs(r.Key()), b.d.timeArg(now))...); err != nil {
			return err
		}
		// ON CONFLICT DO NOTHING meets the one-pending-per-key index: a
		// concurrent creator's row wins and is read back below.
		var err error
		out, err = scanApproval(run.row(ctx, `INSERT INTO approval_requests (kind, state, subject, email, requester_groups,
  client_name, tool, connection, connection_labels, args_hash, args_text, action_json, reasons, approvers, grant_access,
  grant_duration_ms, grant_reason, created_at, expires_at)
VALUES (?, 'pending', ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING RETURNING `+apCols,
			r.Kind, r.Subject, r.Email, jsonList(r.Groups), r.ClientName, r.Tool, r.Connection,
			jsonMap(r.ConnectionLabels), r.ArgsHash, r.ArgsText, action,
			jsonList(r.Reasons), jsonList(r.Approvers), r.GrantAccess,
			r.GrantDuration.Milliseconds(), r.GrantReason, b.d.timeArg(micro(now)), b.d.timeArg(micro(r.ExpiresAt))))
		if err == nil {
			created = true
			return nil
		}
		if !apNoRows(err) {
			return err
		}
		out, err = scanApproval(run.row(ctx, "SELECT "+apCols+" FROM approval_requests WHERE "+apKeyCond+" AND state = 'pending'",
			keyArgs(r.Key())...))
		return err
	})
	if err != nil {
		return ApprovalRequest{}, false, fmt.Errorf("store: create approval: %w", err)
	}
	return out, created, nil
}

func (b apBackend) getApproval(ctx context.Context, run apRunner, id int64) (ApprovalRequest, error) {
	r, err := scanApproval(run.row(ctx, "SELECT "+apCols+" FROM approval_requests WHERE id = ?", id))
	if apNoRows(err) {
		return r, fmt.Errorf("%w: %d", ErrApprovalNotFound, id)
	}
	if err != nil {
		return r, fmt.Errorf("store: approval %d: %w", id, err)
	}
	return r, nil
}

func (b apBackend) latestApproval(ctx context.Context, k ApprovalKey) (ApprovalRequest, error) {
	r, err := scanApproval(b.read.row(ctx, "SELECT "+apCols+" FROM approval_requests WHERE "+apKeyCond+" ORDER BY id DESC LIMIT 1",
		keyArgs(k)...))
	if apNoRows(err) {
		return r, ErrApprovalNotFound
	}
	if err != nil {
		return r, fmt.Errorf("store: latest approval: %w", err)
	}
	return r, nil
}

func (b apBackend) listApprovals(ctx context.Context, f ApprovalFilter) ([]ApprovalRequest, error) {
	var conds []string
	var args []any
	if len(f.States) > 0 {
		conds = append(conds, "state IN (?"+strings.Repeat(", ?", len(f.States)-1)+")")
		for _, s := range f.States {
			args = append(args, s)
		}
	}
	if f.Subject != "" {
		conds = append(conds, "subject = ?")
		args = append(args, f.Subject)
	}
	q := "SELECT " + apCols + " FROM approval_requests"
	if len(conds) > 0 {
		q += " WHERE " + strings.Join(conds, " AND ")
	}
	q += " ORDER BY id DESC"
	if f.Limit > 0 {
		q += fmt.Sprintf(" LIMIT %d", f.Limit)
	}
	out, err := b.approvals(ctx, b.read, q, args...)
	if err != nil {
		return nil, fmt.Errorf("store: list approvals: %w", err)
	}
	return out, nil
}

func (b apBackend) decideApproval(ctx context.Context, id int64, d ApprovalDecision) (ApprovalRequest, *Grant, error) {
	if d.State != ApprovalApproved && d.State != ApprovalDenied {
		return ApprovalRequest{}, nil, fmt.Errorf("store: decide approval %d: state %q is not a decision", id, d.State)
	}
	at := micro(d.At)
	var out ApprovalRequest
	var grant *Grant
	changed := false
	err := b.tx(ctx, func(run apRunner) error {
		r, err := scanApproval(run.row(ctx, `UPDATE approval_requests SET state = ?, decided_at = ?, decided_by = ?,
  decided_by_email = ?, decided_via = ?, decision_reason = ?, valid_until = ?
WHERE id = ? AND state = 'pending' AND expires_at > ? RETURNING `+apCols,
			d.State, b.d.timeArg(at), d.By, d.ByEmail, d.Via, d.Reason, b.d.nt(micro(d.ValidUntil)), id, b.d.timeArg(at)))
		if apNoRows(err) {
			// Not pending, or pending too late: record the expiry so every
			// reader agrees, and report the state as it now is.
			if _, err := run.exec(ctx, "UPDATE approval_requests SET state = 'expired' WHERE id = ? AND state = 'pending' AND expires_at <= ?",
				id, b.d.timeArg(at)); err != nil {
				return err
			}
			changed = true
			out, err = b.getApproval(ctx, run, id)
			return err
		}
		if err != nil {
			return err
		}
		out = r
		if d.State != ApprovalApproved || d.Grant == nil {
			return nil
		}
		g := *d.Grant
		ng, err := scanGrant(run.row(ctx, `INSERT INTO grants (request_id, subject, email, connection, access, approvers,
  granted_by, reason, created_at, expires_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING `+grantCols,
			id, g.Subject, g.Email, g.Connection, g.Access, jsonList(g.Approvers), g.GrantedBy, g.Reason,
			b.d.timeArg(at), b.d.timeArg(micro(g.ExpiresAt))))
		if err != nil {
			return err
		}
		grant = &ng
		out.GrantID = ng.ID
		_, err = run.exec(ctx, "UPDATE approval_requests SET grant_id = ? WHERE id = ?", ng.ID, id)
		return err
	})
	switch {
	case errors.Is(err, ErrApprovalNotFound):
		return ApprovalRequest{}, nil, err
	case err != nil:
		return ApprovalRequest{}, nil, fmt.Errorf("store: decide approval %d: %w", id, err)
	case changed:
		return out, nil, fmt.Errorf("store: decide approval %d (%s): %w", id, out.State, ErrStateChanged)
	}
	return out, grant, nil
}

func (b apBackend) consumeApproval(ctx context.Context, k ApprovalKey, now time.Time, window time.Duration) (ApprovalRequest, error) {
	now = micro(now)
	t := b.d.timeArg(now)
	var q string
	var args []any
	// One statement: the subquery picks a candidate and the outer WHERE
	// re-checks it under the row lock, so of two concurrent consumers of
	// a once-only approval exactly one gets a row.
	if window <= 0 {
		q = `UPDATE approval_requests SET state = 'used', used_at = ?, uses = uses + 1
WHERE id = (SELECT id FROM approval_requests WHERE ` + apKeyCond + ` AND state = 'approved' AND valid_until > ? ORDER BY id LIMIT 1)
  AND state = 'approved' AND valid_until > ? RETURNING ` + apCols
		args = append(append([]any{t}, keyArgs(k)...), t, t)
	} else {
		q = `UPDATE approval_requests SET state = 'used', used_at = COALESCE(used_at, ?), use_until = COALESCE(use_until, ?), uses = uses + 1
WHERE id = (SELECT id FROM approval_requests WHERE ` + apKeyCond + `
    AND ((state = 'approved' AND valid_until > ?) OR (state = 'used' AND use_until > ?)) ORDER BY id LIMIT 1)
  AND ((state = 'approved' AND valid_until > ?) OR (state = 'used' AND use_until > ?)) RETURNING ` + apCols
		args = append(append([]any{t, b.d.timeArg(now.Add(window))}, keyArgs(k)...), t, t, t, t)
	}
	var out ApprovalRequest
	err := b.tx(ctx, func(run apRunner) error {
		var err error
		out, err = scanApproval(run.row(ctx, q, args...))
		return err
	})
	if apNoRows(err) {
		return ApprovalRequest{}, ErrApprovalNotFound
	}
	if err != nil {
		return ApprovalRequest{}, fmt.Errorf("store: consume approval: %w", err)
	}
	return out, nil
}

func (b apBackend) expireApprovals(ctx context.Context, now time.Time) ([]ApprovalRequest, error) {
	var out []ApprovalRequest
	err := b.tx(ctx, func(run apRunner) error {
		var err error
		out, err = b.approvals(ctx, run, "UPDATE approval_requests SET state = 'expired' WHERE state = 'pending' AND expires_at <= ? RETURNING "+apCols,
			b.d.timeArg(micro(now)))
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("store: expire approvals: %w", err)
	}
	return out, nil
}

func (b apBackend) cancelApprovals(ctx context.Context, subject, by, reason string, now time.Time) ([]ApprovalRequest, error) {
	t := b.d.timeArg(micro(now))
	var out []ApprovalRequest
	err := b.tx(ctx, func(run apRunner) error {
		p, err := b.approvals(ctx, run, `UPDATE approval_requests SET state = 'cancelled', decided_at = ?, decided_by = ?,
  decided_via = 'system', decision_reason = ? WHERE subject = ? AND state = 'pending' RETURNING `+apCols, t, by, reason, subject)
		if err != nil {
			return err
		}
		a, err := b.approvals(ctx, run, "UPDATE approval_requests SET state = 'cancelled' WHERE subject = ? AND state = 'approved' RETURNING "+apCols,
			subject)
		out = append(p, a...)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("store: cancel approvals: %w", err)
	}
	return out, nil
}

func (b apBackend) setApprovalRef(ctx context.Context, id int64, ref string) error {
	err := b.tx(ctx, func(run apRunner) error {
		_, err := run.exec(ctx, "UPDATE approval_requests SET notify_ref = ? WHERE id = ?", ref, id)
		return err
	})
	if err != nil {
		return fmt.Errorf("store: set approval ref %d: %w", id, err)
	}
	return nil
}

func (b apBackend) activeGrants(ctx context.Context, subject string, now time.Time) ([]Grant, error) {
	out, err := b.grants(ctx, b.read, "SELECT "+grantCols+" FROM grants WHERE subject = ? AND revoked_at IS NULL AND expires_at > ? ORDER BY expires_at, id",
		subject, b.d.timeArg(micro(now)))
	if err != nil {
		return nil, fmt.Errorf("store: active grants: %w", err)
	}
	return out, nil
}

func (b apBackend) getGrant(ctx context.Context, run apRunner, id int64) (Grant, error) {
	g, err := scanGrant(run.row(ctx, "SELECT "+grantCols+" FROM grants WHERE id = ?", id))
	if apNoRows(err) {
		return g, fmt.Errorf("%w: %d", ErrGrantNotFound, id)
	}
	if err != nil {
		return g, fmt.Errorf("store: grant %d: %w", id, err)
	}
	return g, nil
}

func (b apBackend) listGrants(ctx context.Context, f GrantFilter) ([]Grant, error) {
	var conds []string
	var args []any
	if f.Subject != "" {
		conds = append(conds, "subject = ?")
		args = append(args, f.Subject)
	}
	if !f.ActiveAt.IsZero() {
		conds = append(conds, "revoked_at IS NULL AND expires_at > ?")
		args = append(args, b.d.timeArg(micro(f.ActiveAt)))
	}
	q := "SELECT " + grantCols + " FROM grants"
	if len(conds) > 0 {
		q += " WHERE " + strings.Join(conds, " AND ")
	}
	q += " ORDER BY id DESC"
	if f.Limit > 0 {
		q += fmt.Sprintf(" LIMIT %d", f.Limit)
	}
	out, err := b.grants(ctx, b.read, q, args...)
	if err != nil {
		return nil, fmt.Errorf("store: list grants: %w", err)
	}
	return out, nil
}

func (b apBackend) revokeGrant(ctx context.Context, id int64, by, reason string, now time.Time) (Grant, error) {
	t := b.d.timeArg(micro(now))
	var out Grant
	changed := false
	err := b.tx(ctx, func(run apRunner) error {
		g, err := scanGrant(run.row(ctx, `UPDATE grants SET revoked_at = ?, revoked_by = ?, revoke_reason = ?
WHERE id = ? AND revoked_at IS NULL AND expires_at > ? RETURNING `+grantCols, t, by, reason, id, t))
		if apNoRows(err) {
			changed = true
			out, err = b.getGrant(ctx, run, id)
			return err
		}
		out = g
		return err
	})
	switch {
	case errors.Is(err, ErrGrantNotFound):
		return Grant{}, err
	case err != nil:
		return Grant{}, fmt.Errorf("store: revoke grant %d: %w", id, err)
	case changed:
		return out, fmt.Errorf("store: revoke grant %d: %w", id, ErrStateChanged)
	}
	return out, nil
}
