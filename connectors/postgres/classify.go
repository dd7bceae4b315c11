package postgres

import (
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"

	pg_query "github.com/pganalyze/pg_query_go/v6"
	"github.com/pganalyze/pg_query_go/v6/parser"
	"google.golang.org/protobuf/reflect/protoreflect"

	"github.com/airlockhq/airlock/connectors"
)

// ParseError is returned for SQL the parser rejects; such SQL is never
// executed. It is returned unwrapped so callers can show Message and
// Position to the agent as they are.
type ParseError struct {
	Message string
	// Position is the 1-based character offset the parser reported; 0 when
	// unknown.
	Position int
}

func (e *ParseError) Error() string {
	if e.Position > 0 {
		return fmt.Sprintf("%s (position %d)", e.Message, e.Position)
	}
	return e.Message
}

// Classify parses sql with the real PostgreSQL parser and says what it
// would do. SQL the parser rejects, or that holds no statement, yields a
// *ParseError.
//
// Statement kinds (connectors.Statement.Kind):
//
//	queries      select, values, select_into, insert, update, delete, merge
//	DDL          create_table, create_table_as, create_index, create_view,
//	             create_function, create_extension, create_other,
//	             alter_table, alter_system, alter_other, drop, truncate,
//	             comment, security_label, refresh_matview
//	privileges   grant, revoke, create_role, alter_role, drop_role,
//	             alter_default_privileges, reassign_owned, drop_owned
//	COPY         copy_to, copy_from, copy_program
//	code         do, call
//	prepared     prepare, execute, deallocate
//	session      set, reset, show, discard, set_constraints, transaction,
//	             declare_cursor, fetch, close_cursor
//	locks, async lock, listen, notify, unlisten
//	maintenance  vacuum, analyze, cluster, reindex, checkpoint
//	other        explain, load, other (a statement type this classifier does
//	             not know; never read-only)
//
// Flags (connectors.Action.Flags), with the least risk each implies:
//
//	multi_statement        low       more than one statement in the call
//	sleep                  low       pg_sleep and friends
//	row_locks              medium    FOR UPDATE / SHARE / NO KEY UPDATE / KEY SHARE
//	data_modifying_cte     medium    WITH x AS (INSERT/UPDATE/DELETE/MERGE ...)
//	side_effect_function   medium    nextval, setval, advisory locks, pg_notify, txid_current, ...
//	explain_analyze_write  medium    EXPLAIN ANALYZE runs the write it explains
//	session_state          medium    SET, RESET, DISCARD, PREPARE, cursors
//	transaction_control    medium    BEGIN, COMMIT, ROLLBACK, SAVEPOINT, ...
//	delete_without_where   high
//	update_without_where   high
//	select_into            high      SELECT ... INTO creates a table
//	maintenance            high      VACUUM, ANALYZE, CLUSTER, REINDEX, CHECKPOINT
//	guarded_setting        high      a setting the gateway relies on (see functions.go)
//	security_definer       high      CREATE FUNCTION ... SECURITY DEFINER
//	unknown_statement      high      statement kind "other"
//	opaque                 critical  DO, CALL, EXECUTE of a statement not prepared in the call
//	privileged_function    critical  see functions.go
//	server_file_access     critical  COPY to/from a server file, file functions, CREATE TABLESPACE
//	server_program         critical  COPY ... PROGRAM
//	dynamic_sql            critical  query_to_xml and other functions that run SQL text
//	privilege_change       critical  GRANT, REVOKE, role statements
//	role_change            critical  SET ROLE, SET SESSION AUTHORIZATION
//	untrusted_language     critical  functions or DO blocks in languages other than sql/plpgsql
//	extension              critical  CREATE / ALTER EXTENSION
//	load_library           critical  LOAD
//	server_config          critical  ALTER SYSTEM
//
// A statement that is not read-only is at least medium risk; DDL is at
// least high.
func Classify(sql string) (*connectors.Action, error) {
	return classify(sql, false)
}

func classify(sql string, generic bool) (*connectors.Action, error) {
	// The parser receives a C string, so it would stop at a NUL byte and
	// classify only the text before it.
	if i := strings.IndexByte(sql, 0); i >= 0 {
		return nil, &ParseError{Message: "SQL contains a NUL byte", Position: len([]rune(sql[:i])) + 1}
	}
	tree, err := pg_query.Parse(sql)
	if err != nil {
		var pe *parser.Error
		if errors.As(err, &pe) {
			return nil, &ParseError{Message: pe.Message, Position: pe.Cursorpos}
		}
		return nil, fmt.Errorf("postgres: classify: %w", err)
	}
	if len(tree.Stmts) == 0 {
		return nil, &ParseError{Message: "no SQL statement"}
	}

	c := &classifier{generic: generic}
	a := &connectors.Action{
		ReadOnly:   true,
		Risk:       connectors.RiskLow,
		Statements: make([]connectors.Statement, 0, len(tree.Stmts)),
		Flags:      []string{},
	}
	if len(tree.Stmts) > 1 {
		a.AddFlag("multi_statement")
		a.Reasons = append(a.Reasons, fmt.Sprintf("the call has %d statements", len(tree.Stmts)))
	}
	for i, raw := range tree.Stmts {
		s := c.newStmt(i + 1)
		s.classify(raw.Stmt)
		st := s.finish()
		st.Location = int(raw.StmtLocation)
		st.Length = int(raw.StmtLen)
		if st.Length == 0 {
			st.Length = len(sql) - st.Location
		}
		st.Targets = targetInputs(raw.Stmt.GetSelectStmt())
		a.Statements = append(a.Statements, st)
		if !st.ReadOnly {
			a.ReadOnly = false
		}
		a.Risk = a.Risk.Max(s.finalRisk)
		for _, f := range s.flags {
			a.AddFlag(f)
		}
		a.Reasons = append(a.Reasons, s.reasons(st.ReadOnly)...)
	}
	return a, nil
}

// flagSpec is what a flag implies for the statement that carries it.
type flagSpec struct {
	risk connectors.Risk
	// write means the statement is not read-only when it carries the flag.
	write bool
}

var flagSpecs = map[string]flagSpec{
	"multi_statement":       {connectors.RiskLow, false},
	"sleep":                 {connectors.RiskLow, false},
	"row_locks":             {connectors.RiskMedium, true},
	"data_modifying_cte":    {connectors.RiskMedium, true},
	"side_effect_function":  {connectors.RiskMedium, true},
	"explain_analyze_write": {connectors.RiskMedium, true},
	"session_state":         {connectors.RiskMedium, true},
	"transaction_control":   {connectors.RiskMedium, true},
	"delete_without_where":  {connectors.RiskHigh, true},
	"update_without_where":  {connectors.RiskHigh, true},
	"select_into":           {connectors.RiskHigh, true},
	"maintenance":           {connectors.RiskHigh, true},
	"guarded_setting":       {connectors.RiskHigh, true},
	"security_definer":      {connectors.RiskHigh, true},
	"unknown_statement":     {connectors.RiskHigh, true},
	"opaque":                {connectors.RiskCritical, true},
	"privileged_function":   {connectors.RiskCritical, true},
	"server_file_access":    {connectors.RiskCritical, true},
	"server_program":        {connectors.RiskCritical, true},
	"dynamic_sql":           {connectors.RiskCritical, true},
	"privilege_change":      {connectors.RiskCritical, true},
	"role_change":           {connectors.RiskCritical, true},
	"untrusted_language":    {connectors.RiskCritical, true},
	"extension":             {connectors.RiskCritical, true},
	"load_library":          {connectors.RiskCritical, true},
	"server_config":         {connectors.RiskCritical, true},
}

// classifier holds what one call's statements share: statements prepared
// earlier in the call, so a later EXECUTE is not opaque.
type classifier struct {
	prepared map[string]*stmt
	// generic turns off the shortcuts for common nodes so tests can check
	// they find exactly what the reflective walk over every field finds.
	generic bool
}

// ref is a table or function name with where it appears, so the lists come
// out in text order whatever order the tree is walked in.
type ref struct {
	name string
	loc  int32
}

// note is a reason tied to the flag that produced it ("" for reasons that
// describe the statement kind).
type note struct {
	flag string
	text string
}

// stmt collects the classification of one top-level statement.
type stmt struct {
	c *classifier
	n int

	kind    string
	baseRO  bool // the kind itself does not write
	forceRO bool // plain EXPLAIN: nothing inside runs
	risk    connectors.Risk
	where   bool

	reads, writes, funcs []ref
	// claimed are RangeVars already recorded as write targets; the generic
	// walk must not count them as reads as well.
	claimed []*pg_query.RangeVar
	// ctes are the CTE names in scope; an unqualified name matching one is
	// not a table.
	ctes       []string
	inCTE      int
	selectInto bool

	flags []string
	notes []note

	visit      func(protoreflect.FieldDescriptor, protoreflect.Value) bool
	finalRisk  connectors.Risk
	writeNames []string
}

func (c *classifier) newStmt(n int) *stmt {
	s := &stmt{c: c, n: n, risk: connectors.RiskLow}
	s.visit = s.visitField
	return s
}

// sub classifies a statement nested in another (EXPLAIN, PREPARE) without
// mixing its results into the outer one.
func (s *stmt) sub() *stmt {
	return s.c.newStmt(s.n)
}

func (s *stmt) setKind(kind string, readOnly bool, risk connectors.Risk) {
	s.kind = kind
	s.baseRO = readOnly
	s.risk = s.risk.Max(risk)
}

func (s *stmt) flag(f, text string) {
	if !slices.Contains(s.flags, f) {
		s.flags = append(s.flags, f)
	}
	s.note(f, text)
}

func (s *stmt) note(f, text string) {
	for _, n := range s.notes {
		if n.text == text {
			return
		}
	}
	s.notes = append(s.notes, note{f, text})
}

func (s *stmt) hasFlag(f string) bool { return slices.Contains(s.flags, f) }

func (s *stmt) readOnly() bool {
	if s.forceRO {
		return true
	}
	if !s.baseRO || len(s.writes) > 0 {
		return false
	}
	for _, f := range s.flags {
		if flagSpecs[f].write {
			return false
		}
	}
	return true
}

// absorb takes over everything another statement found, for statements that
// run or will run it (DECLARE, PREPARE, EXECUTE).
func (s *stmt) absorb(o *stmt) {
	s.reads = append(s.reads, o.reads...)
	s.writes = append(s.writes, o.writes...)
	s.funcs = append(s.funcs, o.funcs...)
	s.risk = s.risk.Max(o.risk)
	if !o.readOnly() {
		s.baseRO = false
	}
	for _, n := range o.notes {
		if n.flag == "" {
			s.note("", n.text)
		} else {
			s.flag(n.flag, n.text)
		}
	}
	for _, f := range o.flags {
		if !s.hasFlag(f) {
			s.flags = append(s.flags, f)
		}
	}
}

func (s *stmt) finish() connectors.Statement {
	st := connectors.Statement{
		Kind:          s.kind,
		TablesRead:    names(s.reads),
		TablesWritten: names(s.writes),
		Functions:     names(s.funcs),
		HasWhere:      s.where,
	}
	st.ReadOnly = s.readOnly()
	r := s.risk
	if !st.ReadOnly {
		r = r.Max(connectors.RiskMedium)
	}
	for _, f := range s.flags {
		r = r.Max(flagSpecs[f].risk)
	}
	s.finalRisk = r
	s.writeNames = st.TablesWritten
	return st
}

// reasons are the sentences shown to people and agents. They name the
// statement by position and kind so a multi-statement call stays readable.
func (s *stmt) reasons(readOnly bool) []string {
	prefix := "statement " + strconv.Itoa(s.n) + " (" + s.kind + ") "
	var out []string
	if !readOnly && len(s.writeNames) > 0 {
		verb := "writes "
		if s.kind == "prepare" {
			verb = "prepares a statement that writes "
		}
		out = append(out, prefix+verb+strings.Join(s.writeNames, ", "))
	}
	for _, n := range s.notes {
		out = append(out, prefix+n.text)
	}
	if !readOnly && len(out) == 0 {
		out = append(out, prefix+"is not read-only")
	}
	return out
}

// names orders refs by position in the text and drops repeats.
func names(refs []ref) []string {
	out := make([]string, 0, len(refs))
	if len(refs) > 1 {
		slices.SortStableFunc(refs, func(a, b ref) int { return int(a.loc) - int(b.loc) })
	}
	for _, r := range refs {
		if !slices.Contains(out, r.name) {
			out = append(out, r.name)
		}
	}
	return out
}

// qualified joins name parts the way they were written: schema.table or
// catalog.schema.table.
func qualified(catalog, schema, name string) string {
	switch {
	case catalog != "":
		return catalog + "." + schema + "." + name
	case schema != "":
		return schema + "." + name
	default:
		return name
	}
}

// stringList joins a list of String nodes (a qualified name) with dots.
func stringList(nodes []*pg_query.Node) string {
	if len(nodes) == 1 {
		return nodes[0].GetString_().GetSval()
	}
	parts := make([]string, 0, len(nodes))
	for _, n := range nodes {
		if sv := n.GetString_(); sv != nil {
			parts = append(parts, sv.Sval)
		}
	}
	return strings.Join(parts, ".")
}
