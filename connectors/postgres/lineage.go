package postgres

import (
	"context"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/airlockhq/airlock/connectors"
)

// lineage resolves result columns to the table columns they come from, so
// masking rules follow the data rather than the column's alias. PostgreSQL
// reports a source (table OID, attribute number) for every plain column
// reference, through aliases, joins and subqueries; computed columns have
// none and get, as possible inputs, every column of what the statement
// reads. A view column resolves to the base column of the same name when
// the view depends on exactly one such column; otherwise it is treated as
// computed from everything the view depends on.
type lineage struct {
	mu     sync.RWMutex
	cols   map[colKey]colEntry
	tables map[string]tableEntry
}

type colKey struct {
	oid uint32
	att uint16
}

type colEntry struct {
	source *connectors.ColumnRef // nil: computed (a view column that is not a pass-through)
	inputs []connectors.ColumnRef
	at     time.Time
}

type tableEntry struct {
	cols []connectors.ColumnRef
	at   time.Time
}

// lineageTTL bounds how long a rename or a redefined view can go unseen.
const lineageTTL = time.Minute

func newLineage() *lineage {
	return &lineage{cols: map[colKey]colEntry{}, tables: map[string]tableEntry{}}
}

// resolve fills Source and Inputs of rs's columns, querying on conn (which
// must be idle) only for what the cache does not hold.
func (l *lineage) resolve(ctx context.Context, conn *pgx.Conn, rs *rowSet, tablesRead []string, targets [][]string) error {
	now := time.Now()
	var missOID []uint32
	var missAtt []int16
	needTables := false
	l.mu.RLock()
	for i := range rs.Columns {
		c := &rs.Columns[i]
		if c.TableOID == 0 {
			needTables = true
			continue
		}
		if e, ok := l.cols[colKey{c.TableOID, c.Attribute}]; ok && now.Sub(e.at) < lineageTTL {
			c.Source, c.Inputs = e.source, e.inputs
			continue
		}
		missOID = append(missOID, c.TableOID)
		missAtt = append(missAtt, int16(c.Attribute))
	}
	var missTables []string
	if needTables {
		for _, t := range tablesRead {
			if e, ok := l.tables[t]; !ok || now.Sub(e.at) >= lineageTTL {
				missTables = append(missTables, t)
			}
		}
	}
	l.mu.RUnlock()

	if len(missOID) > 0 {
		if err := l.loadColumns(ctx, conn, missOID, missAtt, now); err != nil {
			return err
		}
	}
	if len(missTables) > 0 {
		if err := l.loadTables(ctx, conn, missTables, now); err != nil {
			return err
		}
	}
	l.mu.RLock()
	defer l.mu.RUnlock()
	var inputs []connectors.ColumnRef
	if needTables {
		for _, t := range tablesRead {
			inputs = append(inputs, l.tables[t].cols...)
		}
	}
	for i := range rs.Columns {
		c := &rs.Columns[i]
		if c.TableOID == 0 {
			c.Inputs = inputs
			if len(targets) == len(rs.Columns) && targets[i] != nil {
				c.Inputs = only(inputs, targets[i])
			}
		} else if len(missOID) > 0 {
			e := l.cols[colKey{c.TableOID, c.Attribute}]
			c.Source, c.Inputs = e.source, e.inputs
		}
	}
	return nil
}

// columnSQL names each (relation, attribute) and, for views, the base
// columns the view depends on.
const columnSQL = `SELECT k.oid, k.att, n.nspname, c.relname, a.attname, c.relkind IN ('v', 'm'),
  coalesce((SELECT array_agg(rn.nspname || '.' || rc.relname || '.' || ra.attname)
    FROM pg_rewrite r
    JOIN pg_depend d ON d.classid = 'pg_rewrite'::regclass AND d.objid = r.oid
      AND d.refclassid = 'pg_class'::regclass AND d.refobjsubid > 0 AND d.refobjid <> c.oid
    JOIN pg_class rc ON rc.oid = d.refobjid
    JOIN pg_namespace rn ON rn.oid = rc.relnamespace
    JOIN pg_attribute ra ON ra.attrelid = d.refobjid AND ra.attnum = d.refobjsubid
    WHERE r.ev_class = c.oid), '{}')
FROM unnest($1::oid[], $2::int2[]) AS k(oid, att)
JOIN pg_class c ON c.oid = k.oid
JOIN pg_namespace n ON n.oid = c.relnamespace
JOIN pg_attribute a ON a.attrelid = k.oid AND a.attnum = k.att`

func (l *lineage) loadColumns(ctx context.Context, conn *pgx.Conn, oids []uint32, atts []int16, now time.Time) error {
	rows, err := conn.Query(ctx, columnSQL, oids, atts)
	if err != nil {
		return err
	}
	defer rows.Close()
	found := map[colKey]colEntry{}
	for rows.Next() {
		var oid uint32
		var att int16
		var schema, table, column string
		var isView bool
		var deps []string
		if err := rows.Scan(&oid, &att, &schema, &table, &column, &isView, &deps); err != nil {
			return err
		}
		ref := connectors.ColumnRef{Schema: schema, Table: table, Column: column}
		e := colEntry{source: &ref, at: now}
		if isView && len(deps) > 0 {
			e = viewColumn(column, deps, now)
		}
		found[colKey{oid, uint16(att)}] = e
	}
	if err := rows.Err(); err != nil {
		return err
	}
	l.mu.Lock()
	for k, v := range found {
		l.cols[k] = v
	}
	l.mu.Unlock()
	return nil
}

func viewColumn(name string, deps []string, now time.Time) colEntry {
	e := colEntry{at: now}
	var same []connectors.ColumnRef
	for _, d := range deps {
		ref := splitRef(d)
		e.inputs = append(e.inputs, ref)
		if ref.Column == name {
			same = append(same, ref)
		}
	}
	if len(same) == 1 {
		e.source, e.inputs = &same[0], nil
	}
	return e
}

func splitRef(s string) connectors.ColumnRef {
	// schema.table.column, built by columnSQL; names with dots are rare
	// enough that the last two dots are the separators.
	var parts [3]string
	i := len(s)
	for k := 2; k > 0; k-- {
		for i--; i >= 0 && s[i] != '.'; i-- {
		}
		if i < 0 {
			return connectors.ColumnRef{Column: s}
		}
		parts[k] = s[i+1:]
		s = s[:i]
		i = len(s)
	}
	parts[0] = s
	return connectors.ColumnRef{Schema: parts[0], Table: parts[1], Column: parts[2]}
}

// tableSQL lists the columns of each named relation, plus, for views, the
// base columns they depend on.
const tableSQL = `SELECT t.name, n.nspname, c.relname, a.attname
FROM unnest($1::text[]) AS t(name)
JOIN pg_class c ON c.oid = to_regclass(t.name)
JOIN pg_namespace n ON n.oid = c.relnamespace
JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped
UNION ALL
SELECT t.name, rn.nspname, rc.relname, ra.attname
FROM unnest($1::text[]) AS t(name)
JOIN pg_rewrite r ON r.ev_class = to_regclass(t.name)
JOIN pg_depend d ON d.classid = 'pg_rewrite'::regclass AND d.objid = r.oid
  AND d.refclassid = 'pg_class'::regclass AND d.refobjsubid > 0 AND d.refobjid <> r.ev_class
JOIN pg_class rc ON rc.oid = d.refobjid
JOIN pg_namespace rn ON rn.oid = rc.relnamespace
JOIN pg_attribute ra ON ra.attrelid = d.refobjid AND ra.attnum = d.refobjsubid`

func (l *lineage) loadTables(ctx context.Context, conn *pgx.Conn, names []string, now time.Time) error {
	rows, err := conn.Query(ctx, tableSQL, names)
	if err != nil {
		return err
	}
	defer rows.Close()
	found := map[string][]connectors.ColumnRef{}
	for rows.Next() {
		var name string
		var ref connectors.ColumnRef
		if err := rows.Scan(&name, &ref.Schema, &ref.Table, &ref.Column); err != nil {
			return err
		}
		found[name] = append(found[name], ref)
	}
	if err := rows.Err(); err != nil {
		return err
	}
	l.mu.Lock()
	for _, n := range names {
		// A name that resolves to nothing (a CTE, a function) is cached as
		// empty, so it is not asked again on every call.
		l.tables[n] = tableEntry{cols: found[n], at: now}
	}
	l.mu.Unlock()
	return nil
}

// only keeps the columns named in names (PostgreSQL folds unquoted names,
// and pg_query reports them folded, so names compare exactly).
func only(cols []connectors.ColumnRef, names []string) []connectors.ColumnRef {
	var out []connectors.ColumnRef
	for _, c := range cols {
		for _, n := range names {
			if c.Column == n {
				out = append(out, c)
				break
			}
		}
	}
	return out
}
