package store

import (
	"context"
	"errors"
	"fmt"
	"time"
)

// auditSQL implements the audit log's reads, cursors, settings and
// retention for both stores, which embed it, written once with ?
// placeholders like the approval queries; each store only says where the
// statements run. Appends stay per store: they are where the two differ
// (prepared multi-row inserts and BEGIN IMMEDIATE against a head row
// locked FOR UPDATE).
type auditSQL struct {
	d     dialect
	read  apRunner
	write apRunner
	// tx runs fn in one write transaction: committed when fn returns nil.
	tx      func(ctx context.Context, fn func(apRunner) error) error
	headSQL string
	// lockHead, when set, is run first in a purge so that purges of two
	// replicas queue on the head row as appends do; SQLite's write
	// transaction takes the database lock at BEGIN instead.
	lockHead string
}

// Head implements AuditLog.
func (a auditSQL) Head(ctx context.Context) (Head, error) {
	h, err := scanHead(a.read.row(ctx, a.headSQL))
	if err != nil {
		return Head{}, fmt.Errorf("store: head: %w", err)
	}
	return h, nil
}

// Events implements AuditLog.
func (a auditSQL) Events(ctx context.Context, after int64, limit int) ([]Record, error) {
	return a.records(ctx, "store: events", "SELECT "+a.d.eventCols()+" FROM audit_events WHERE seq > ? ORDER BY seq LIMIT ?", after, limit)
}

// Search implements AuditLog.
func (a auditSQL) Search(ctx context.Context, q Query) ([]Record, error) {
	query, args := a.d.searchSQL(q)
	return a.records(ctx, "store: search", query, args...)
}

func (a auditSQL) records(ctx context.Context, op, query string, args ...any) ([]Record, error) {
	rows, err := a.read.rows(ctx, query, args...)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", op, err)
	}
	defer rows.Close()
	var out []Record
	for rows.Next() {
		r, err := scanRecord(rows)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", op, err)
		}
		out = append(out, r)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("%s: %w", op, err)
	}
	return out, nil
}

// Checkpoints implements AuditLog.
func (a auditSQL) Checkpoints(ctx context.Context) ([]Checkpoint, error) {
	rows, err := a.read.rows(ctx, "SELECT seq, hash, "+a.d.timeCol+", key_id, signature FROM audit_checkpoints ORDER BY seq")
	if err != nil {
		return nil, fmt.Errorf("store: checkpoints: %w", err)
	}
	defer rows.Close()
	var out []Checkpoint
	for rows.Next() {
		var c Checkpoint
		if err := rows.Scan(&c.Seq, &c.Hash, dbTime{&c.Time}, &c.KeyID, &c.Signature); err != nil {
			return nil, fmt.Errorf("store: checkpoints: %w", err)
		}
		out = append(out, c)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("store: checkpoints: %w", err)
	}
	return out, nil
}

// Sessions implements AuditLog.
func (a auditSQL) Sessions(ctx context.Context, q Query) ([]Session, error) {
	query, args := a.d.sessionsSQL(q)
	rows, err := a.read.rows(ctx, query, args...)
	if err != nil {
		return nil, fmt.Errorf("store: sessions: %w", err)
	}
	defer rows.Close()
	var out []Session
	for rows.Next() {
		x, err := scanSession(rows)
		if err != nil {
			return nil, fmt.Errorf("store: sessions: %w", err)
		}
		out = append(out, x)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("store: sessions: %w", err)
	}
	return out, nil
}

// Cursor implements AuditLog.
func (a auditSQL) Cursor(ctx context.Context, sink string) (int64, error) {
	var seq int64
	err := a.read.row(ctx, "SELECT seq FROM audit_sink_cursors WHERE sink = ?", sink).Scan(&seq)
	if apNoRows(err) {
		return 0, nil
	}
	if err != nil {
		return 0, fmt.Errorf("store: cursor %s: %w", sink, err)
	}
	return seq, nil
}

// setCursorSQL upserts a sink cursor (sink, seq, time of the update);
// appends that carry a cursor run it too.
func (d dialect) setCursorSQL() string {
	upd := d.col("updated")
	return "INSERT INTO audit_sink_cursors (sink, seq, " + upd + ") VALUES (?, ?, ?) " +
		"ON CONFLICT (sink) DO UPDATE SET seq = excluded.seq, " + upd + " = excluded." + upd
}

// SetCursor implements AuditLog.
func (a auditSQL) SetCursor(ctx context.Context, sink string, seq int64) error {
	_, err := a.write.exec(ctx, a.d.setCursorSQL(), sink, seq, a.d.timeArg(time.Now()))
	if err != nil {
		return fmt.Errorf("store: set cursor %s: %w", sink, err)
	}
	return nil
}

// DeleteCursor implements AuditLog.
func (a auditSQL) DeleteCursor(ctx context.Context, name string) error {
	if _, err := a.write.exec(ctx, "DELETE FROM audit_sink_cursors WHERE sink = ?", name); err != nil {
		return fmt.Errorf("store: delete cursor %s: %w", name, err)
	}
	return nil
}

const legalHoldSQL = "SELECT value FROM audit_settings WHERE name = 'legal_hold'"

// LegalHold implements AuditLog.
func (a auditSQL) LegalHold(ctx context.Context) (bool, error) {
	on, err := legalHold(a.read.row(ctx, legalHoldSQL))
	if err != nil {
		return false, fmt.Errorf("store: legal hold: %w", err)
	}
	return on, nil
}

// SetLegalHold implements AuditLog.
func (a auditSQL) SetLegalHold(ctx context.Context, on bool) error {
	_, err := a.write.exec(ctx, `INSERT INTO audit_settings (name, value) VALUES ('legal_hold', ?)
ON CONFLICT (name) DO UPDATE SET value = excluded.value`, onOff(on))
	if err != nil {
		return fmt.Errorf("store: set legal hold: %w", err)
	}
	return nil
}

// Purge implements AuditLog: it deletes the events up to and including
// through, which must be sealed by a checkpoint, and the checkpoints
// before it; never under a legal hold.
func (a auditSQL) Purge(ctx context.Context, through int64) (PurgeStats, error) {
	var st PurgeStats
	err := a.tx(ctx, func(tx apRunner) error {
		if a.lockHead != "" {
			if _, err := tx.exec(ctx, a.lockHead); err != nil {
				return err
			}
		}
		on, err := legalHold(tx.row(ctx, legalHoldSQL))
		if err != nil {
			return err
		}
		if on {
			return ErrLegalHold
		}
		var n int
		if err := tx.row(ctx, "SELECT COUNT(*) FROM audit_checkpoints WHERE seq = ?", through).Scan(&n); err != nil {
			return err
		}
		if n == 0 {
			return fmt.Errorf("%w %d", ErrNoAnchor, through)
		}
		if st.Events, err = tx.exec(ctx, "DELETE FROM audit_events WHERE seq <= ?", through); err != nil {
			return err
		}
		st.Checkpoints, err = tx.exec(ctx, "DELETE FROM audit_checkpoints WHERE seq < ?", through)
		return err
	})
	switch {
	case err == nil:
		return st, nil
	case errors.Is(err, ErrLegalHold), errors.Is(err, ErrNoAnchor):
		return PurgeStats{}, err
	}
	return PurgeStats{}, fmt.Errorf("store: purge: %w", err)
}

func legalHold(row scanner) (bool, error) {
	var v string
	err := row.Scan(&v)
	if apNoRows(err) {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	return v == "on", nil
}

func onOff(on bool) string {
	if on {
		return "on"
	}
	return "off"
}
