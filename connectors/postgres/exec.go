package postgres

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/jackc/pgx/v5/pgconn"

	"github.com/airlockhq/airlock/connectors"
)

// rowSet is one statement's result, capped.
type rowSet struct {
	Columns   []connectors.Column
	Rows      [][]any
	Command   string
	Truncated bool
	Duration  time.Duration
	oids      []uint32
}

// execStmt is one statement to run and how to report errors in it.
type execStmt struct {
	SQL    string
	Params []any
	// ReadOnly runs it inside BEGIN READ ONLY.
	ReadOnly bool
	// prefix is text we put before the caller's SQL (the row-cap wrapper);
	// offset is where the caller's statement started in their text. Both
	// map server error positions back to the caller's text.
	prefix string
	offset int
	orig   string
	// lineage resolves each result column's source for masking;
	// tablesRead are the relations the statement reads (from the
	// classifier), the possible inputs of computed columns.
	lineage    bool
	tablesRead []string
	targets    [][]string
}

const wrapPrefix = "SELECT * FROM (\n"

// capped wraps a read so the server stops after max+1 rows: the extra row
// tells us the result was truncated without streaming the rest. Column
// origins survive the wrapper, which masking relies on.
func capped(sql string, max int) (string, string) {
	return wrapPrefix + sql + "\n) AS airlock_result LIMIT " + strconv.Itoa(max+1), wrapPrefix
}

// run executes s in its own transaction, pipelined as one batch (BEGIN,
// statement timeout, statement, COMMIT): one network round trip.
func (c *Conn) run(ctx context.Context, s execStmt, lim connectors.Limits) (*rowSet, error) {
	start := time.Now()
	pc, err := c.pool.Acquire(ctx)
	if err != nil {
		return nil, c.connError(ctx, err)
	}
	defer pc.Release()
	pg := pc.Conn().PgConn()

	values, err := encodeParams(s.Params)
	if err != nil {
		return nil, err
	}
	b := &pgconn.Batch{}
	if s.ReadOnly {
		b.ExecParams("BEGIN READ ONLY", nil, nil, nil, nil)
	} else {
		b.ExecParams("BEGIN", nil, nil, nil, nil)
	}
	// The statement's result is the one after BEGIN (and the timeout).
	target := 1
	if lim.Timeout > 0 && lim.Timeout != c.sessionTimeout {
		ms := lim.Timeout.Milliseconds()
		if ms < 1 {
			ms = 1
		}
		b.ExecParams("SET LOCAL statement_timeout = "+strconv.FormatInt(ms, 10), nil, nil, nil, nil)
		target = 2
	}
	b.ExecParams(s.SQL, values, nil, nil, nil)
	b.ExecParams("COMMIT", nil, nil, nil, nil)
	if !s.ReadOnly {
		// An approved write may change session settings (SET without
		// LOCAL survives COMMIT); the pooled session must not carry them
		// into the next caller's call.
		b.ExecParams("RESET ALL", nil, nil, nil, nil)
	}

	rs := &rowSet{}
	mrr := pg.ExecBatch(ctx, b)
	var firstErr error
	for i := 0; mrr.NextResult(); i++ {
		rr := mrr.ResultReader()
		if i != target {
			if _, err := rr.Close(); err != nil && firstErr == nil {
				firstErr = err
			}
			continue
		}
		if err := c.readRows(ctx, rr, rs, lim); err != nil && firstErr == nil {
			firstErr = err
		}
	}
	if err := mrr.Close(); err != nil && firstErr == nil {
		firstErr = err
	}
	if firstErr != nil {
		if pg.TxStatus() != 'I' && !pg.IsClosed() {
			// An error leaves the explicit transaction aborted; end it here so
			// the connection goes back to the pool clean.
			_ = pg.Exec(context.WithoutCancel(ctx), "ROLLBACK").Close()
		}
		return nil, c.queryError(ctx, firstErr, s, lim)
	}
	for i := range rs.Columns {
		if rs.Columns[i].Type == "" {
			rs.Columns[i].Type = c.types.lookup(ctx, pc.Conn(), rs.oids[i])
		}
	}
	if s.lineage {
		if err := c.lineage.resolve(ctx, pc.Conn(), rs, s.tablesRead, s.targets); err != nil {
			// Without sources, masking rules cannot be applied: fail closed.
			return nil, &connectors.Error{Code: "lineage", Message: "the result's columns could not be traced to their tables for masking, so it is withheld", Err: err}
		}
	}
	rs.Duration = time.Since(start)
	return rs, nil
}

func (c *Conn) readRows(ctx context.Context, rr *pgconn.ResultReader, rs *rowSet, lim connectors.Limits) error {
	fds := rr.FieldDescriptions()
	rs.Columns = make([]connectors.Column, len(fds))
	rs.oids = make([]uint32, len(fds))
	for i, fd := range fds {
		rs.oids[i] = fd.DataTypeOID
		rs.Columns[i] = connectors.Column{Name: fd.Name, TableOID: fd.TableOID, Attribute: fd.TableAttributeNumber}
		rs.Columns[i].Type, _ = c.types.known(fd.DataTypeOID)
	}
	maxRows, maxBytes := lim.MaxRows, lim.MaxBytes
	if maxRows <= 0 {
		maxRows = math.MaxInt
	}
	if maxBytes <= 0 {
		maxBytes = math.MaxInt
	}
	size := 0
	for rr.NextRow() {
		if rs.Truncated {
			continue // drain: the wrapper bounds this to one row
		}
		vals := rr.Values()
		rowSize := 0
		for _, v := range vals {
			rowSize += len(v) + 4
		}
		if len(rs.Rows) >= maxRows || size+rowSize > maxBytes {
			rs.Truncated = true
			continue
		}
		size += rowSize
		row := make([]any, len(vals))
		for i, v := range vals {
			row[i] = decodeText(fds[i].DataTypeOID, v)
		}
		rs.Rows = append(rs.Rows, row)
	}
	tag, err := rr.Close()
	rs.Command = tag.String()
	return err
}

func encodeParams(params []any) ([][]byte, error) {
	if len(params) == 0 {
		return nil, nil
	}
	out := make([][]byte, len(params))
	for i, p := range params {
		switch v := p.(type) {
		case nil:
			out[i] = nil
		case string:
			out[i] = []byte(v)
		case bool:
			out[i] = []byte(strconv.FormatBool(v))
		case float64:
			out[i] = []byte(strconv.FormatFloat(v, 'f', -1, 64))
		case json.Number:
			out[i] = []byte(v.String())
		default:
			return nil, &connectors.Error{Code: "invalid", Message: fmt.Sprintf("params[%d]: unsupported value of type %T", i, p)}
		}
	}
	return out, nil
}

// PostgreSQL type OIDs decoded into JSON-native values; everything else is
// passed on as PostgreSQL's text form.
const (
	oidBool    = 16
	oidInt8    = 20
	oidInt2    = 21
	oidInt4    = 23
	oidJSON    = 114
	oidFloat4  = 700
	oidFloat8  = 701
	oidNumeric = 1700
	oidJSONB   = 3802
)

func decodeText(oid uint32, v []byte) any {
	if v == nil {
		return nil
	}
	switch oid {
	case oidBool:
		return len(v) == 1 && v[0] == 't'
	case oidInt2, oidInt4, oidInt8:
		if n, err := strconv.ParseInt(string(v), 10, 64); err == nil {
			return n
		}
	case oidFloat4, oidFloat8:
		if f, err := strconv.ParseFloat(string(v), 64); err == nil && !math.IsInf(f, 0) && !math.IsNaN(f) {
			return f
		}
	case oidNumeric:
		s := string(v)
		if s != "NaN" && !strings.Contains(s, "Infinity") {
			return json.Number(s)
		}
		return s
	case oidJSON, oidJSONB:
		if json.Valid(v) {
			return json.RawMessage(append([]byte(nil), v...))
		}
	}
	return string(v)
}

// connError explains a failure to reach the database.
func (c *Conn) connError(ctx context.Context, err error) error {
	if ctx.Err() != nil {
		return &connectors.Error{Code: "timeout", Message: "the call's time ran out while waiting for a database connection", Err: err}
	}
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) {
		// Authentication and similar refusals at connect time.
		return &connectors.Error{Code: pgErr.Code, Unavailable: true,
			Message: "the database refused the gateway's connection: " + pgErr.Message, Err: err}
	}
	return &connectors.Error{Code: "unavailable", Unavailable: true,
		Message: "the database cannot be reached right now; other connections are not affected",
		Hint:    "try again later or ask an operator to check connection " + c.name, Err: err}
}

// queryError turns a server error into a message that says what failed,
// where in the caller's text, and what to do next.
func (c *Conn) queryError(ctx context.Context, err error, s execStmt, lim connectors.Limits) error {
	var pgErr *pgconn.PgError
	if !errors.As(err, &pgErr) {
		if ctx.Err() != nil {
			return &connectors.Error{Code: "timeout", Message: "the call's time limit ran out and the query was cancelled", Err: err}
		}
		return c.connError(ctx, err)
	}
	msg := pgErr.Message
	if pgErr.Detail != "" {
		msg += "; detail: " + pgErr.Detail
	}
	if pgErr.Position > 0 && s.orig != "" {
		pos := int(pgErr.Position) - utf8.RuneCountInString(s.prefix)
		if pos > 0 {
			pos += utf8.RuneCountInString(s.orig[:s.offset])
			msg += fmt.Sprintf(" (at character %d of your SQL)", pos)
		}
	}
	hint := pgErr.Hint
	switch pgErr.Code {
	case "57014":
		msg = "the statement was cancelled because it ran longer than its time limit"
		if lim.Timeout > 0 {
			msg += fmt.Sprintf(" of %s", lim.Timeout)
		}
		hint = "narrow the query (a WHERE clause, an index, a LIMIT) and try again"
	case "25006":
		msg = "the database refused a write inside a read-only transaction: " + pgErr.Message
		hint = "this call was classified as a read; writes go through policy"
	case "42501":
		if hint == "" {
			hint = "the connection's database role lacks this privilege"
		}
	}
	return &connectors.Error{Code: pgErr.Code, Message: msg, Hint: hint, Err: err}
}
