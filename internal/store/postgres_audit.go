package store

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
)

// The head row is locked (FOR UPDATE OF h) for the rest of the
// transaction: this is the one point where replicas queue for the chain.
const pgHeadSQL = `SELECT h.seq, h.hash, h.signed_seq, h.signed_hash, h.signed_time, h.signed_key_id, h.signed_signature,
  c.seq, c.hash, c.time, c.key_id, c.signature
FROM audit_head h LEFT JOIN LATERAL (SELECT * FROM audit_checkpoints ORDER BY seq DESC LIMIT 1) c ON true
WHERE h.id = 1`

var pgEventCols = []string{"seq", "time", "type", "version", "call_id", "session_id", "subject", "verified",
	"data", "tool", "connection", "decision", "prev_hash", "hash"}

// copyMin is the batch size from which COPY beats a multi-row INSERT.
const copyMin = 16

// Append implements AuditLog.
func (p *Postgres) Append(ctx context.Context, build func(Head) (Batch, error)) (Head, error) {
	tx, err := p.pool.Begin(ctx)
	if err != nil {
		return Head{}, fmt.Errorf("store: append: begin: %w", err)
	}
	defer tx.Rollback(context.Background())
	h, err := scanHead(tx.QueryRow(ctx, pgHeadSQL+" FOR UPDATE OF h"))
	if err != nil {
		return Head{}, fmt.Errorf("store: append: read head: %w", err)
	}
	b, err := build(h)
	if err != nil {
		return Head{}, err
	}
	if len(b.Records) == 0 && b.Checkpoint == nil && b.Cursor == nil {
		return h, nil
	}
	if err := checkBatch(h, b); err != nil {
		return Head{}, err
	}
	if err := pgInsert(ctx, tx, b.Records); err != nil {
		return Head{}, fmt.Errorf("store: append: insert: %w", err)
	}
	nh := headAfter(h, b)
	if c := b.Checkpoint; c != nil {
		if _, err := tx.Exec(ctx, "INSERT INTO audit_checkpoints (seq, hash, time, key_id, signature) VALUES ($1, $2, $3, $4, $5)",
			c.Seq, c.Hash, c.Time.UTC(), c.KeyID, c.Signature); err != nil {
			return Head{}, fmt.Errorf("store: append: checkpoint: %w", err)
		}
	}
	if c := b.Cursor; c != nil {
		if _, err := tx.Exec(ctx, pgSetCursorSQL, c.Name, c.Value, time.Now().UTC()); err != nil {
			return Head{}, fmt.Errorf("store: append: cursor: %w", err)
		}
	}
	if sh := b.Signed; sh != nil {
		_, err = tx.Exec(ctx, `UPDATE audit_head SET seq = $1, hash = $2, signed_seq = $3, signed_hash = $4,
  signed_time = $5, signed_key_id = $6, signed_signature = $7 WHERE id = 1`,
			nh.Seq, nh.Hash, sh.Seq, sh.Hash, sh.Time.UTC(), sh.KeyID, sh.Signature)
	} else {
		_, err = tx.Exec(ctx, "UPDATE audit_head SET seq = $1, hash = $2 WHERE id = 1", nh.Seq, nh.Hash)
	}
	if err != nil {
		return Head{}, fmt.Errorf("store: append: head: %w", err)
	}
	if err := tx.Commit(ctx); err != nil {
		return Head{}, fmt.Errorf("store: append: commit: %w", err)
	}
	return nh, nil
}

func pgRow(r Record) []any {
	return []any{r.Seq, r.Time.UTC(), r.Type, r.Version, r.CallID, r.SessionID, r.Subject,
		r.Verified, string(r.Data), r.Tool, r.Connection, r.Decision, r.PrevHash, r.Hash}
}

func pgInsert(ctx context.Context, tx pgx.Tx, recs []Record) error {
	if len(recs) == 0 {
		return nil // a checkpoint alone
	}
	if len(recs) >= copyMin {
		_, err := tx.CopyFrom(ctx, pgx.Identifier{"audit_events"}, pgEventCols,
			pgx.CopyFromSlice(len(recs), func(i int) ([]any, error) { return pgRow(recs[i]), nil }))
		return err
	}
	var sb strings.Builder
	sb.WriteString("INSERT INTO audit_events (" + strings.Join(pgEventCols, ", ") + ") VALUES ")
	args := make([]any, 0, len(recs)*len(pgEventCols))
	for i, r := range recs {
		if i > 0 {
			sb.WriteString(", ")
		}
		sb.WriteByte('(')
		for j := range pgEventCols {
			if j > 0 {
				sb.WriteString(", ")
			}
			fmt.Fprintf(&sb, "$%d", len(args)+j+1)
		}
		sb.WriteByte(')')
		args = append(args, pgRow(r)...)
	}
	_, err := tx.Exec(ctx, sb.String(), args...)
	return err
}

// Head implements AuditLog.
func (p *Postgres) Head(ctx context.Context) (Head, error) {
	h, err := scanHead(p.pool.QueryRow(ctx, pgHeadSQL))
	if err != nil {
		return Head{}, fmt.Errorf("store: head: %w", err)
	}
	return h, nil
}

// Events implements AuditLog.
func (p *Postgres) Events(ctx context.Context, after int64, limit int) ([]Record, error) {
	return p.records(ctx, "store: events", "SELECT "+p.d.eventCols()+" FROM audit_events WHERE seq > $1 ORDER BY seq LIMIT $2", after, limit)
}

// Search implements AuditLog.
func (p *Postgres) Search(ctx context.Context, q Query) ([]Record, error) {
	query, args := p.d.searchSQL(q)
	return p.records(ctx, "store: search", query, args...)
}

func (p *Postgres) records(ctx context.Context, op, query string, args ...any) ([]Record, error) {
	rows, err := p.pool.Query(ctx, query, args...)
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
func (p *Postgres) Checkpoints(ctx context.Context) ([]Checkpoint, error) {
	rows, err := p.pool.Query(ctx, "SELECT seq, hash, time, key_id, signature FROM audit_checkpoints ORDER BY seq")
	if err != nil {
		return nil, fmt.Errorf("store: checkpoints: %w", err)
	}
	defer rows.Close()
	return scanCheckpoints(rows)
}

// Sessions implements AuditLog.
func (p *Postgres) Sessions(ctx context.Context, q Query) ([]Session, error) {
	query, args := p.d.sessionsSQL(q)
	rows, err := p.pool.Query(ctx, query, args...)
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

// Purge implements AuditLog.
func (p *Postgres) Purge(ctx context.Context, through int64) (PurgeStats, error) {
	tx, err := p.pool.Begin(ctx)
	if err != nil {
		return PurgeStats{}, fmt.Errorf("store: purge: %w", err)
	}
	defer tx.Rollback(context.Background())
	// Purges of two replicas queue on the head row like appends do, so
	// the second sees the first's result instead of racing it.
	if _, err := tx.Exec(ctx, "SELECT 1 FROM audit_head WHERE id = 1 FOR UPDATE"); err != nil {
		return PurgeStats{}, fmt.Errorf("store: purge: %w", err)
	}
	on, err := legalHold(ctx, tx.QueryRow(ctx, "SELECT value FROM audit_settings WHERE name = 'legal_hold'"))
	if err != nil {
		return PurgeStats{}, fmt.Errorf("store: purge: %w", err)
	}
	if on {
		return PurgeStats{}, ErrLegalHold
	}
	var n int
	if err := tx.QueryRow(ctx, "SELECT COUNT(*) FROM audit_checkpoints WHERE seq = $1", through).Scan(&n); err != nil {
		return PurgeStats{}, fmt.Errorf("store: purge: %w", err)
	}
	if n == 0 {
		return PurgeStats{}, fmt.Errorf("%w %d", ErrNoAnchor, through)
	}
	var st PurgeStats
	tag, err := tx.Exec(ctx, "DELETE FROM audit_events WHERE seq <= $1", through)
	if err != nil {
		return PurgeStats{}, fmt.Errorf("store: purge: %w", err)
	}
	st.Events = tag.RowsAffected()
	if tag, err = tx.Exec(ctx, "DELETE FROM audit_checkpoints WHERE seq < $1", through); err != nil {
		return PurgeStats{}, fmt.Errorf("store: purge: %w", err)
	}
	st.Checkpoints = tag.RowsAffected()
	if err := tx.Commit(ctx); err != nil {
		return PurgeStats{}, fmt.Errorf("store: purge: %w", err)
	}
	return st, nil
}
