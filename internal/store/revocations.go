package store

import (
	"context"
	"fmt"
	"time"
)

// Revocations is the storage role of revoked subjects: a revocation stops
// a subject's calls on every replica at the next call; lifting it lets new
// tokens through while tokens issued before it stay refused.
type Revocations interface {
	// Revoke revokes subject from at on (again, if it was lifted).
	Revoke(ctx context.Context, subject, reason, by string, at time.Time) error
	// Unrevoke lifts an active revocation; false when there was none.
	Unrevoke(ctx context.Context, subject, by string, at time.Time) (bool, error)
	// Revocation returns subject's revocation, if any.
	Revocation(ctx context.Context, subject string) (Revocation, bool, error)
	// ListRevocations returns every revocation, newest first.
	ListRevocations(ctx context.Context) ([]Revocation, error)
}

// Revocation is one subject's revocation.
type Revocation struct {
	Subject   string
	RevokedAt time.Time
	Active    bool
	Reason    string
	By        string
	LiftedAt  time.Time // zero while active
	LiftedBy  string
}

const revCols = "subject, revoked_at_us, active, reason, revoked_by, lifted_at_us, lifted_by"

func scanRevocation(s scanner) (Revocation, error) {
	var r Revocation
	var at int64
	var lifted *int64
	var active any
	if err := s.Scan(&r.Subject, &at, &active, &r.Reason, &r.By, &lifted, &r.LiftedBy); err != nil {
		return Revocation{}, err
	}
	r.RevokedAt = time.UnixMicro(at).UTC()
	switch v := active.(type) {
	case bool:
		r.Active = v
	case int64:
		r.Active = v != 0
	}
	if lifted != nil {
		r.LiftedAt = time.UnixMicro(*lifted).UTC()
	}
	return r, nil
}

func (b apBackend) revoke(ctx context.Context, subject, reason, by string, at time.Time) error {
	_, err := b.read.exec(ctx, b.d.rebind(`INSERT INTO revocations (`+revCols+`) VALUES (?, ?, ?, ?, ?, NULL, '')
ON CONFLICT (subject) DO UPDATE SET revoked_at_us = excluded.revoked_at_us, active = excluded.active,
  reason = excluded.reason, revoked_by = excluded.revoked_by, lifted_at_us = NULL, lifted_by = ''`),
		subject, at.UnixMicro(), b.d.boolArg(true), reason, by)
	if err != nil {
		return fmt.Errorf("store: revoke %s: %w", subject, err)
	}
	return nil
}

func (b apBackend) unrevoke(ctx context.Context, subject, by string, at time.Time) (bool, error) {
	n, err := b.read.exec(ctx, b.d.rebind(`UPDATE revocations SET active = ?, lifted_at_us = ?, lifted_by = ?
WHERE subject = ? AND active = ?`), b.d.boolArg(false), at.UnixMicro(), by, subject, b.d.boolArg(true))
	if err != nil {
		return false, fmt.Errorf("store: unrevoke %s: %w", subject, err)
	}
	return n > 0, nil
}

func (b apBackend) revocation(ctx context.Context, subject string) (Revocation, bool, error) {
	r, err := scanRevocation(b.read.row(ctx, b.d.rebind("SELECT "+revCols+" FROM revocations WHERE subject = ?"), subject))
	if apNoRows(err) {
		return Revocation{}, false, nil
	}
	if err != nil {
		return Revocation{}, false, fmt.Errorf("store: revocation %s: %w", subject, err)
	}
	return r, true, nil
}

func (b apBackend) listRevocations(ctx context.Context) ([]Revocation, error) {
	rows, err := b.read.rows(ctx, "SELECT "+revCols+" FROM revocations ORDER BY revoked_at_us DESC")
	if err != nil {
		return nil, fmt.Errorf("store: revocations: %w", err)
	}
	defer rows.Close()
	var out []Revocation
	for rows.Next() {
		r, err := scanRevocation(rows)
		if err != nil {
			return nil, fmt.Errorf("store: revocations: %w", err)
		}
		out = append(out, r)
	}
	return out, rows.Err()
}

// Revocation implements Revocations.
func (s *SQLite) Revocation(ctx context.Context, subject string) (Revocation, bool, error) {
	if s.cache.reads() {
		return s.cachedRevocation(ctx, subject)
	}
	return s.approvalsSQL.Revocation(ctx, subject)
}

// wap is the approval backend reading and writing on the writer
// connection (SQLite has one writer), each statement its own transaction
// and a change to the epoch.
func (s *SQLite) wap() apBackend {
	b := s.ap()
	b.read = bumpRunner{run: sqliteRunner{db: s.w}, c: s.cache}
	return b
}

// boolArg is a boolean as the dialect stores it (SQLite has integers).
func (d dialect) boolArg(v bool) any {
	if d.ph(1) != "?" {
		return v
	}
	if v {
		return 1
	}
	return 0
}
