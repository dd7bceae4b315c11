package postgres

import (
	"encoding/json"
	"errors"
	"reflect"
	"slices"
	"strings"
	"testing"

	pg_query "github.com/pganalyze/pg_query_go/v6"

	"github.com/airlockhq/airlock/connectors"
)

func TestClassifyCases(t *testing.T) {
	if len(classifyCases) < 60 {
		t.Fatalf("only %d cases", len(classifyCases))
	}
	for _, tc := range classifyCases {
		t.Run(tc.name, func(t *testing.T) {
			a, err := Classify(tc.sql)
			if err != nil {
				t.Fatalf("Classify(%q): %v", tc.sql, err)
			}
			checkAction(t, tc, a)
		})
	}
}

func checkAction(t *testing.T, tc classifyCase, a *connectors.Action) {
	t.Helper()
	var kinds []string
	for _, s := range a.Statements {
		kinds = append(kinds, s.Kind)
	}
	if !slices.Equal(kinds, tc.kinds) {
		t.Errorf("kinds = %v, want %v", kinds, tc.kinds)
	}
	if a.ReadOnly != tc.ro {
		t.Errorf("read_only = %v, want %v (reasons %q)", a.ReadOnly, tc.ro, a.Reasons)
	}
	if a.Risk != tc.risk {
		t.Errorf("risk = %s, want %s (flags %v)", a.Risk, tc.risk, a.Flags)
	}
	if tc.flags != nil {
		got, want := slices.Sorted(slices.Values(a.Flags)), slices.Sorted(slices.Values(tc.flags))
		if !slices.Equal(got, want) {
			t.Errorf("flags = %v, want %v", a.Flags, tc.flags)
		}
	}
	if tc.at >= len(a.Statements) {
		t.Fatalf("no statement %d", tc.at)
	}
	st := a.Statements[tc.at]
	for _, c := range []struct {
		what      string
		got, want []string
	}{
		{"tables_read", st.TablesRead, tc.read},
		{"tables_written", st.TablesWritten, tc.written},
		{"functions", st.Functions, tc.funcs},
	} {
		if c.want != nil && !slices.Equal(c.got, c.want) {
			t.Errorf("%s = %q, want %q", c.what, c.got, c.want)
		}
	}
	if tc.where != nil && st.HasWhere != *tc.where {
		t.Errorf("has_where = %v, want %v", st.HasWhere, *tc.where)
	}
	if tc.reason != "" && !slices.ContainsFunc(a.Reasons, func(r string) bool { return strings.Contains(r, tc.reason) }) {
		t.Errorf("no reason containing %q in %q", tc.reason, a.Reasons)
	}
	// Every flag and every statement that is not read-only is explained.
	if len(a.Flags) > 0 && len(a.Reasons) == 0 {
		t.Errorf("flags %v without reasons", a.Flags)
	}
	for i, s := range a.Statements {
		if s.ReadOnly {
			continue
		}
		prefix := "statement " + string(rune('1'+i)) + " "
		if !slices.ContainsFunc(a.Reasons, func(r string) bool { return strings.HasPrefix(r, prefix) }) {
			t.Errorf("statement %d is not read-only but has no reason: %q", i+1, a.Reasons)
		}
	}
}

// TestClassifyGenericWalkAgrees checks that the shortcuts for common nodes
// find exactly what the reflective walk over every field finds.
func TestClassifyGenericWalkAgrees(t *testing.T) {
	for _, tc := range classifyCases {
		fast, err1 := classify(tc.sql, false)
		slow, err2 := classify(tc.sql, true)
		if err1 != nil || err2 != nil {
			t.Fatalf("%s: %v / %v", tc.name, err1, err2)
		}
		if !reflect.DeepEqual(fast, slow) {
			t.Errorf("%s: fast %+v\ngeneric %+v", tc.name, fast, slow)
		}
	}
}

func TestClassifyParseError(t *testing.T) {
	for _, tc := range []struct {
		sql     string
		message string
		minPos  int
	}{
		{"SELECT * FORM orders", `syntax error at or near "FORM"`, 10},
		{"select * from", "syntax error at end of input", 14},
		{"DELETE orders WHERE id = 1", `syntax error at or near "orders"`, 8},
		{"select 1; selec 2", `syntax error at or near "selec"`, 11},
		{"SELECT 'unterminated", "unterminated quoted string", 8},
		{"", "no SQL statement", 0},
		{"   \n\t ", "no SQL statement", 0},
		{"-- just a comment", "no SQL statement", 0},
		{"/* only */ ;", "no SQL statement", 0},
		{"SELECT 1\x00; DROP TABLE t", "SQL contains a NUL byte", 9},
	} {
		a, err := Classify(tc.sql)
		var pe *ParseError
		if !errors.As(err, &pe) {
			t.Errorf("Classify(%q) = %v, %v; want *ParseError", tc.sql, a, err)
			continue
		}
		if !strings.HasPrefix(pe.Message, tc.message) {
			t.Errorf("Classify(%q) message %q, want %q", tc.sql, pe.Message, tc.message)
		}
		if pe.Position < tc.minPos || (tc.minPos == 0 && pe.Position != 0) {
			t.Errorf("Classify(%q) position %d, want >= %d", tc.sql, pe.Position, tc.minPos)
		}
	}
	_, err := Classify("SELECT * FORM orders")
	if got := err.Error(); got != `syntax error at or near "FORM" (position 10)` {
		t.Errorf("Error() = %q", got)
	}
}

func TestClassifyLocations(t *testing.T) {
	sql := "SELECT 1;\n  DELETE FROM t WHERE id = 2 ;  UPDATE t SET a = 1 WHERE id = 3"
	a, err := Classify(sql)
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"SELECT 1", "DELETE FROM t WHERE id = 2 ", "UPDATE t SET a = 1 WHERE id = 3"}
	if len(a.Statements) != len(want) {
		t.Fatalf("%d statements", len(a.Statements))
	}
	for i, s := range a.Statements {
		got := strings.TrimSpace(sql[s.Location : s.Location+s.Length])
		if got != strings.TrimSpace(want[i]) {
			t.Errorf("statement %d text %q, want %q", i+1, got, want[i])
		}
	}
	last := a.Statements[2]
	if last.Location+last.Length != len(sql) {
		t.Errorf("last statement ends at %d, want %d", last.Location+last.Length, len(sql))
	}
}

// TestClassifyJSON pins the policy input shape: lists are [] rather than
// null, so Rego rules can iterate without guards.
func TestClassifyJSON(t *testing.T) {
	a, err := Classify("SELECT 1")
	if err != nil {
		t.Fatal(err)
	}
	b, err := json.Marshal(a)
	if err != nil {
		t.Fatal(err)
	}
	want := `{"read_only":true,"risk":"low","statements":[{"kind":"select","read_only":true,"tables_read":[],"tables_written":[],"functions":[],"has_where":false}],"flags":[]}`
	if string(b) != want {
		t.Errorf("json = %s\nwant   %s", b, want)
	}
}

func TestClassifyReasonsNameStatements(t *testing.T) {
	a, err := Classify("SELECT 1; DELETE FROM public.orders WHERE id = 1; SELECT pg_terminate_backend(7)")
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{
		"the call has 3 statements",
		"statement 2 (delete) writes public.orders",
		"statement 3 (select) calls pg_terminate_backend, a privileged function",
	} {
		if !slices.Contains(a.Reasons, want) {
			t.Errorf("reasons %q lack %q", a.Reasons, want)
		}
	}
	if slices.ContainsFunc(a.Reasons, func(r string) bool { return strings.HasPrefix(r, "statement 1 ") }) {
		t.Errorf("read-only statement 1 has a reason: %q", a.Reasons)
	}
}

// TestClassifyUnknownStatement covers node types the parser cannot produce
// at top level today, standing in for statement types added later.
func TestClassifyUnknownStatement(t *testing.T) {
	c := &classifier{}
	s := c.newStmt(1)
	s.classify(&pg_query.Node{Node: &pg_query.Node_ReturnStmt{ReturnStmt: &pg_query.ReturnStmt{}}})
	st := s.finish()
	if st.Kind != "other" || st.ReadOnly || s.finalRisk != connectors.RiskHigh || !s.hasFlag("unknown_statement") {
		t.Errorf("got kind %s read_only %v risk %s flags %v", st.Kind, st.ReadOnly, s.finalRisk, s.flags)
	}
	if r := s.reasons(st.ReadOnly); len(r) == 0 {
		t.Error("no reason for an unknown statement")
	}
}

func BenchmarkClassify(b *testing.B) {
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Classify("SELECT * FROM orders WHERE id = $1"); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkClassifyComplex measures a larger read with CTEs, joins,
// subqueries and function calls.
func BenchmarkClassifyComplex(b *testing.B) {
	const sql = `WITH recent AS (SELECT o.id, o.customer_id, o.total FROM public.orders o WHERE o.created_at > now() - interval '7 days'),
	top AS (SELECT customer_id, sum(total) AS spent FROM recent GROUP BY customer_id ORDER BY 2 DESC LIMIT 10)
	SELECT c.id, lower(c.email), t.spent, (SELECT count(*) FROM public.tickets k WHERE k.customer_id = c.id AND k.status = ANY($1))
	FROM top t JOIN public.customers c ON c.id = t.customer_id LEFT JOIN LATERAL (SELECT max(a.ts) FROM audit a WHERE a.cid = c.id) l ON true
	WHERE coalesce(c.deleted, false) = false AND c.region IN (SELECT r.code FROM regions r WHERE r.active)
	ORDER BY t.spent DESC, upper(c.name)`
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Classify(sql); err != nil {
			b.Fatal(err)
		}
	}
}
