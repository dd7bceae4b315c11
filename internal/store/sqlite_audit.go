package store

import (
	"context"
	"database/sql"
	"fmt"
	"strings"
	"time"
)

const sqliteHeadSQL = `SELECT h.seq, h.hash, h.signed_seq, h.signed_hash, h.signed_time_us, h.signed_key_id, h.signed_signature,
  c.seq, c.hash, c.time_us, c.key_id, c.signature
FROM audit_head h LEFT JOIN (SELECT * FROM audit_checkpoints ORDER BY seq DESC LIMIT 1) c ON 1 = 1
WHERE h.id = 1`

// insertSizes are the row counts of the prepared INSERT statements,
// largest first: a batch is written in as few statements as fit, and the
// largest stays well under SQLite's limit of 32766 parameters.
var insertSizes = []int{64, 16, 4, 1}

const sqliteInsertCols = "INSERT INTO audit_events (seq, time_us, type, version, call_id, session_id, subject, verified, data, tool, connection, decision, prev_hash, hash) VALUES "

func sqliteValues(n int) string {
	row := "(?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
	return sqliteInsertCols + strings.TrimSuffix(strings.Repeat(row+", ", n), ", ")
}

// Append implements AuditLog.
func (s *SQLite) Append(ctx context.Context, build func(Head) (Batch, error)) (Head, error) {
	if err := ctx.Err(); err != nil {
		return Head{}, fmt.Errorf("store: append: %w", err)
	}
	// Past this point the transaction is not cancelled: busy_timeout bounds
	// the wait for the write lock, and a cancellable context would cost a
	// watching goroutine in database/sql and in the driver per statement.
	ctx = context.WithoutCancel(ctx)
	tx, err := s.w.BeginTx(ctx, nil) // BEGIN IMMEDIATE: the write lock first
	if err != nil {
		return Head{}, fmt.Errorf("store: append: begin: %w", err)
	}
	defer tx.Rollback()
	st := func(p *sql.Stmt) *sql.Stmt { return tx.StmtContext(ctx, p) }
	h, err := scanHead(st(s.stmts.head).QueryRowContext(ctx))
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
	if err := s.insert(ctx, tx, b.Records); err != nil {
		return Head{}, fmt.Errorf("store: append: insert: %w", err)
	}
	nh := headAfter(h, b)
	if c := b.Checkpoint; c != nil {
		if _, err := st(s.stmts.cp).ExecContext(ctx, c.Seq, c.Hash, c.Time.UnixMicro(), c.KeyID, c.Signature); err != nil {
			return Head{}, fmt.Errorf("store: append: checkpoint: %w", err)
		}
	}
	if c := b.Cursor; c != nil {
		if _, err := st(s.stmts.cursor).ExecContext(ctx, c.Name, c.Value, time.Now().UnixMicro()); err != nil {
			return Head{}, fmt.Errorf("store: append: cursor: %w", err)
		}
	}
	if sh := b.Signed; sh != nil {
		_, err = st(s.stmts.updSigned).ExecContext(ctx, nh.Seq, nh.Hash, sh.Seq, sh.Hash, sh.Time.UnixMicro(), sh.KeyID, sh.Signature)
	} else {
		_, err = st(s.stmts.upd).ExecContext(ctx, nh.Seq, nh.Hash)
	}
	if err != nil {
		return Head{}, fmt.Errorf("store: append: head: %w", err)
	}
	if err := tx.Commit(); err != nil {
		return Head{}, fmt.Errorf("store: append: commit: %w", err)
	}
	return nh, nil
}

// insert writes recs with the largest prepared statements that fit, so
// no SQL is parsed per batch.
func (s *SQLite) insert(ctx context.Context, tx *sql.Tx, recs []Record) error {
	args := make([]any, 0, min(len(recs), insertSizes[0])*14)
	for len(recs) > 0 {
		n := 1
		for _, size := range insertSizes {
			if len(recs) >= size {
				n = size
				break
			}
		}
		stmt := s.stmts.ins[n]
		args = args[:0]
		for _, r := range recs[:n] {
			args = append(args, r.Seq, r.Time.UnixMicro(), r.Type, r.Version, r.CallID, r.SessionID, r.Subject,
				r.Verified, string(r.Data), r.Tool, r.Connection, r.Decision, r.PrevHash, r.Hash)
		}
		if _, err := tx.StmtContext(ctx, stmt).ExecContext(ctx, args...); err != nil {
			return err
		}
		recs = recs[n:]
	}
	return nil
}

// scanHead reads the head row joined with the newest checkpoint; both
// backends select the same column order.
func scanHead(row scanner) (Head, error) {
	var h Head
	var sSeq, cSeq *int64
	var sHash, sKey, cHash, cKey *string
	var sSig, cSig []byte
	var sTime, cTime time.Time
	if err := row.Scan(&h.Seq, &h.Hash, &sSeq, &sHash, dbTime{&sTime}, &sKey, &sSig,
		&cSeq, &cHash, dbTime{&cTime}, &cKey, &cSig); err != nil {
		return Head{}, err
	}
	if sSeq != nil {
		h.Signed = &Checkpoint{Seq: *sSeq, Hash: deref(sHash), Time: sTime, KeyID: deref(sKey), Signature: sSig}
	}
	if cSeq != nil {
		h.Checkpoint = &Checkpoint{Seq: *cSeq, Hash: deref(cHash), Time: cTime, KeyID: deref(cKey), Signature: cSig}
	}
	return h, nil
}

func deref(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}

// audit is the shared audit SQL on the reader pool and the writer, whose
// BEGIN IMMEDIATE takes the database's write lock.
func (s *SQLite) audit() auditSQL {
	return auditSQL{d: s.d, read: sqliteRunner{db: s.r}, write: sqliteRunner{db: s.w}, tx: s.writeTx, headSQL: sqliteHeadSQL}
}
