package store

import (
	"fmt"
	"strings"
	"time"
)

// dialect is what differs between the two SQL backends in the shared
// query builders: placeholders and how time is stored.
type dialect struct {
	timeCol string              // events.time column
	timeSfx string              // suffix of every time column's name
	ph      func(n int) string  // n-th placeholder, from 1
	timeArg func(time.Time) any // a time as the driver wants it
}

var sqliteDialect = dialect{
	timeCol: "time_us",
	timeSfx: "_us",
	ph:      func(int) string { return "?" },
	timeArg: func(t time.Time) any { return t.UnixMicro() },
}

var postgresDialect = dialect{
	timeCol: "time",
	ph:      func(n int) string { return fmt.Sprintf("$%d", n) },
	timeArg: func(t time.Time) any { return t.UTC() },
}

// col is the name of time column name in dialect d: SQLite stores
// microseconds in columns named name_us.
func (d dialect) col(name string) string { return name + d.timeSfx }

// eventCols lists the columns scanRecord reads, for dialect d.
func (d dialect) eventCols() string {
	return "seq, " + d.timeCol + ", type, version, call_id, session_id, subject, verified, data, tool, connection, decision, prev_hash, hash"
}

// where builds the WHERE clause of q; the returned args follow the
// placeholders in order.
func (d dialect) where(q Query) (string, []any) {
	var conds []string
	var args []any
	add := func(cond string, vals ...any) {
		for _, v := range vals {
			args = append(args, v)
			cond = strings.Replace(cond, "?", d.ph(len(args)), 1)
		}
		conds = append(conds, cond)
	}
	if q.Subject != "" {
		add("subject = ?", q.Subject)
	}
	if q.SessionID != "" {
		add("session_id = ?", q.SessionID)
	}
	if q.CallID != "" {
		add("call_id = ?", q.CallID)
	}
	if len(q.Types) > 0 {
		marks := make([]string, len(q.Types))
		vals := make([]any, len(q.Types))
		for i, t := range q.Types {
			marks[i], vals[i] = "?", t
		}
		add("type IN ("+strings.Join(marks, ", ")+")", vals...)
	}
	if !q.Since.IsZero() {
		add(d.timeCol+" >= ?", d.timeArg(q.Since))
	}
	if !q.Until.IsZero() {
		add(d.timeCol+" < ?", d.timeArg(q.Until))
	}
	if q.AfterSeq > 0 {
		add("seq > ?", q.AfterSeq)
	}
	// Tool, connection and decision live on the intent; a filter on them
	// selects whole calls so results and errors come along.
	var sub []string
	var subArgs []any
	for _, f := range []struct{ col, val string }{{"tool", q.Tool}, {"connection", q.Connection}, {"decision", q.Decision}} {
		if f.val != "" {
			sub = append(sub, f.col+" = ?")
			subArgs = append(subArgs, f.val)
		}
	}
	if len(sub) > 0 {
		add("call_id IN (SELECT call_id FROM audit_events WHERE type = 'call.intent' AND "+strings.Join(sub, " AND ")+")", subArgs...)
	}
	if len(conds) == 0 {
		return "", args
	}
	return " WHERE " + strings.Join(conds, " AND "), args
}

func (d dialect) searchSQL(q Query) (string, []any) {
	w, args := d.where(q)
	s := "SELECT " + d.eventCols() + " FROM audit_events" + w + " ORDER BY seq"
	if q.Limit > 0 {
		s += fmt.Sprintf(" LIMIT %d", q.Limit)
	}
	return s, args
}

func (d dialect) sessionsSQL(q Query) (string, []any) {
	sq := q
	sq.Tool, sq.Connection, sq.Decision = "", "", ""
	w, args := d.where(sq)
	if w == "" {
		w = " WHERE session_id <> ''"
	} else {
		w += " AND session_id <> ''"
	}
	var sub []string
	for _, f := range []struct{ col, val string }{{"tool", q.Tool}, {"connection", q.Connection}, {"decision", q.Decision}} {
		if f.val != "" {
			args = append(args, f.val)
			sub = append(sub, f.col+" = "+d.ph(len(args)))
		}
	}
	if len(sub) > 0 {
		w += " AND session_id IN (SELECT session_id FROM audit_events WHERE type = 'call.intent' AND " + strings.Join(sub, " AND ") + ")"
	}
	s := "SELECT session_id, MIN(subject), MAX(CASE WHEN verified THEN 1 ELSE 0 END), MIN(" + d.timeCol + "), MAX(" + d.timeCol + "), " +
		"COUNT(*), SUM(CASE WHEN type = 'call.intent' THEN 1 ELSE 0 END), SUM(CASE WHEN decision = 'deny' THEN 1 ELSE 0 END) " +
		"FROM audit_events" + w + " GROUP BY session_id ORDER BY MAX(" + d.timeCol + ") DESC, session_id"
	if q.Limit > 0 {
		s += fmt.Sprintf(" LIMIT %d", q.Limit)
	}
	return s, args
}

// scanner is what database/sql rows and pgx rows have in common.
type scanner interface{ Scan(dest ...any) error }

// dbTime scans either backend's time column: SQLite's integer
// microseconds or PostgreSQL's timestamptz.
type dbTime struct{ t *time.Time }

func (d dbTime) Scan(src any) error {
	switch v := src.(type) {
	case int64:
		*d.t = time.UnixMicro(v).UTC()
	case time.Time:
		*d.t = v.UTC()
	case nil:
		*d.t = time.Time{}
	default:
		return fmt.Errorf("store: time column: unexpected %T", src)
	}
	return nil
}

var _ interface{ Scan(any) error } = dbTime{}

func scanRecord(s scanner) (Record, error) {
	var r Record
	err := s.Scan(&r.Seq, dbTime{&r.Time}, &r.Type, &r.Version, &r.CallID, &r.SessionID, &r.Subject,
		&r.Verified, &r.Data, &r.Tool, &r.Connection, &r.Decision, &r.PrevHash, &r.Hash)
	return r, err
}

func scanSession(s scanner) (Session, error) {
	var x Session
	var verified int64
	err := s.Scan(&x.SessionID, &x.Subject, &verified, dbTime{&x.First}, dbTime{&x.Last}, &x.Events, &x.Calls, &x.Denied)
	x.Verified = verified != 0
	return x, err
}

// checkBatch enforces the chain's linearity whatever the caller built:
// a store never writes a fork or a gap.
func checkBatch(h Head, b Batch) error {
	next, prev := h.Seq+1, h.Hash
	for _, r := range b.Records {
		if r.Seq != next {
			return fmt.Errorf("store: append: record seq %d, want %d", r.Seq, next)
		}
		if r.PrevHash != prev {
			return fmt.Errorf("store: append: record %d does not link to the head", r.Seq)
		}
		next, prev = next+1, r.Hash
	}
	last := next - 1
	if b.Checkpoint != nil && (b.Checkpoint.Seq != last || b.Checkpoint.Hash != prev) {
		return fmt.Errorf("store: append: checkpoint at %d does not cover the last event %d", b.Checkpoint.Seq, last)
	}
	if b.Signed != nil && b.Checkpoint == nil {
		return fmt.Errorf("store: append: a signed head without a checkpoint")
	}
	return nil
}

// headAfter is the head once b is written on top of h.
func headAfter(h Head, b Batch) Head {
	if n := len(b.Records); n > 0 {
		h.Seq, h.Hash = b.Records[n-1].Seq, b.Records[n-1].Hash
	}
	if b.Checkpoint != nil {
		c := *b.Checkpoint
		h.Checkpoint = &c
	}
	if b.Signed != nil {
		s := *b.Signed
		h.Signed = &s
	}
	return h
}

// micro rounds t to what both stores keep.
func micro(t time.Time) time.Time { return t.UTC().Truncate(time.Microsecond) }
