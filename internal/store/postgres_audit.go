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
		if _, err := tx.Exec(ctx, p.d.rebind(p.d.setCursorSQL()), c.Name, c.Value, time.Now().UTC()); err != nil {
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

// audit is the shared audit SQL on the pool; a purge locks the head row
// first, as appends do.
func (p *Postgres) audit() auditSQL {
	r := pgxRunner{p.pool, p.d}
	return auditSQL{d: p.d, read: r, write: r, tx: p.ap().tx, headSQL: pgHeadSQL,
		lockHead: "SELECT 1 FROM audit_head WHERE id = 1 FOR UPDATE"}
}
