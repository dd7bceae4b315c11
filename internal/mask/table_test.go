package mask

import (
	"encoding/json"
	"fmt"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"
)

func src(schema, table, col string) *SourceColumn { return &SourceColumn{schema, table, col} }

func tableEngine(t testing.TB) *Engine {
	return mustEngine(t, Config{HashKey: testKey, Rules: []Rule{
		{Name: "customers-ssn", Match: "prod-db:public.customers.ssn", FailClosed: true},
		{Name: "cards", Match: "*:*.*.card_*", Action: Partial},
		{Name: "customer-id", Match: "*:public.customers.email", Action: Hash, FailClosed: true},
		{Name: "notes", Match: "*:public.customers.notes", Action: Drop},
		{Name: "secret", Match: "*:public.customers.secret", Action: Drop, FailClosed: true},
		{Name: "json-password", Match: "*:$..password"},
	}})
}

func TestTableAliasMaskedBySource(t *testing.T) {
	e := tableEngine(t)
	// SELECT ssn AS note, name FROM customers
	cols := []Column{{Name: "note", Source: src("public", "customers", "ssn")}, {Name: "name", Source: src("public", "customers", "name")}}
	rows := [][]any{{"123-45-6789", "Jane"}, {nil, "John"}, {"not even ssn-shaped", "Ann"}}
	outCols, out, rep := e.Table("prod-db", cols, rows)
	if !reflect.DeepEqual(outCols, cols) {
		t.Errorf("columns changed: %+v", outCols)
	}
	want := [][]any{{"[REDACTED:ssn]", "Jane"}, {nil, "John"}, {"[REDACTED:ssn]", "Ann"}}
	if !reflect.DeepEqual(out, want) {
		t.Errorf("rows %v, want %v", out, want)
	}
	wantRep := []Masked{{Column: "note", Rule: "customers-ssn", Action: Redact, Count: 2}}
	if !slices.Equal(rep.Masked, wantRep) {
		t.Errorf("report %+v, want %+v", rep.Masked, wantRep)
	}
	if rows[0][0] != "123-45-6789" {
		t.Error("input modified")
	}
	// The rule is for prod-db only: elsewhere the SSN detector still finds it.
	_, out, rep = e.Table("staging-db", cols, rows)
	if out[0][0] != "[REDACTED:ssn]" || rep.Masked[0].Rule != "detector:ssn" || out[2][0] != "not even ssn-shaped" {
		t.Errorf("staging: %v %+v", out, rep)
	}
}

func TestTableActions(t *testing.T) {
	e := tableEngine(t)
	cols := []Column{
		{Name: "id", Source: src("public", "customers", "id")},
		{Name: "card_number", Source: src("billing", "payments", "card_number")},
		{Name: "email", Source: src("public", "customers", "email")},
		{Name: "notes", Source: src("public", "customers", "notes")},
		{Name: "contact", Source: src("public", "customers", "contact")},
	}
	rows := [][]any{
		{int64(1), "4111 1111 1111 1111", "jane@example.com", "called 2x", "+44 20 7946 0958"},
		{int64(2), "5500000000000004", "JANE@example.com", "vip", nil},
		{int64(3), "4111 1111 1111 1111", "jane@example.com", "", "no phone"},
	}
	outCols, out, rep := e.Table("prod-db", cols, rows)
	var names []string
	for _, c := range outCols {
		names = append(names, c.Name)
	}
	if !slices.Equal(names, []string{"id", "card_number", "email", "contact"}) {
		t.Errorf("columns %q: notes should be dropped", names)
	}
	for i, r := range out {
		if len(r) != 4 {
			t.Fatalf("row %d has %d cells: %v", i, len(r), r)
		}
	}
	if out[0][1] != "**** **** **** 1111" || out[1][1] != "************0004" {
		t.Errorf("partial: %v %v", out[0][1], out[1][1])
	}
	h := out[0][2].(string)
	if !strings.HasPrefix(h, "hmac:") || out[2][2] != h || out[1][2] == h {
		t.Errorf("hash: equal values must hash alike, others not: %v", out)
	}
	if out[0][3] != "[REDACTED:phone]" || out[1][3] != nil || out[2][3] != "no phone" {
		t.Errorf("detectors on an unruled column: %v", out)
	}
	want := []Masked{
		{Column: "card_number", Rule: "cards", Action: Partial, Count: 3},
		{Column: "contact", Rule: "detector:phone", Action: Redact, Count: 1},
		{Column: "email", Rule: "customer-id", Action: Hash, Count: 3},
		{Column: "notes", Rule: "notes", Action: Drop, Count: 3},
	}
	if !slices.Equal(rep.Masked, want) {
		t.Errorf("report\n got %+v\nwant %+v", rep.Masked, want)
	}
}

func TestTableComputedColumns(t *testing.T) {
	e := tableEngine(t)
	cols := []Column{
		// upper(ssn): its input's rule is fail-closed.
		{Name: "upper", Inputs: []SourceColumn{{"public", "customers", "ssn"}}},
		// name || ' ' || phone: no rule on the inputs, so detectors only.
		{Name: "label", Inputs: []SourceColumn{{"public", "customers", "name"}}},
		// lower(email): fail-closed hash stays a hash, so equality survives.
		{Name: "lower", Inputs: []SourceColumn{{"public", "customers", "email"}}},
		// email || secret: the strongest fail-closed rule (drop) wins.
		{Name: "both", Inputs: []SourceColumn{{"public", "customers", "email"}, {"public", "customers", "secret"}}},
		// count(*): nothing known.
		{Name: "count"},
	}
	rows := [][]any{{"123-45-6789", "Jane +4915112345678", "jane@example.com", "x", int64(4111111111111111)}}
	outCols, out, rep := e.Table("prod-db", cols, rows)
	if len(outCols) != 4 || outCols[3].Name != "count" {
		t.Fatalf("columns %+v", outCols)
	}
	want := []any{"[REDACTED:ssn]", "Jane [REDACTED:phone]", e.hmacToken("jane@example.com"), "[REDACTED:card]"}
	if !reflect.DeepEqual(out[0], want) {
		t.Errorf("row %v, want %v", out[0], want)
	}
	for _, m := range rep.Masked {
		if m.Column == "upper" && m.Rule != "customers-ssn" || m.Column == "label" && m.Rule != "detector:phone" ||
			m.Column == "both" && (m.Rule != "secret" || m.Action != Drop) {
			t.Errorf("report entry %+v", m)
		}
	}
	// Without fail_closed the computed column only gets the detectors.
	soft := mustEngine(t, Config{Rules: []Rule{{Match: "*:public.customers.ssn"}}})
	_, out, _ = soft.Table("prod-db", cols[:1], [][]any{{"123-45-6789"}, {"ssn tail 6789"}})
	if out[0][0] != "[REDACTED:ssn]" || out[1][0] != "ssn tail 6789" {
		t.Errorf("soft: %v", out)
	}
}

func TestTableValueTypes(t *testing.T) {
	e := tableEngine(t)
	cols := []Column{{Name: "v", Source: src("public", "events", "v")}}
	now := time.Date(2024, 3, 4, 10, 0, 0, 0, time.UTC)
	rows := [][]any{
		{"jane@example.com"},
		{[]byte("card 4111111111111111")},
		{json.RawMessage(`{"user":{"email":"jane@example.com","password":"hunter2"},"n":4111111111111111}`)},
		{map[string]any{"list": []any{"ok", "+4915112345678"}, "password": "x"}},
		{[]string{"fine", "123-45-6789"}},
		{int64(4111111111111111)},
		{float64(4111111111111111)},
		{json.Number("5500000000000004")},
		{now},
		{true},
		{int64(42)},
		{fmt.Errorf("connect to jane@example.com failed")},
	}
	_, out, rep := e.Table("db", cols, rows)
	got := fmt.Sprint(out)
	for _, secret := range []string{"jane@example.com", "4111111111111111", "hunter2", "+4915112345678", "123-45-6789", "5500000000000004"} {
		if strings.Contains(got, secret) {
			t.Errorf("%q survived: %s", secret, got)
		}
	}
	if string(out[2][0].(json.RawMessage)) != `{"n":"[REDACTED:card]","user":{"email":"[REDACTED:email]","password":"[REDACTED:password]"}}` {
		t.Errorf("raw JSON: %s", out[2][0])
	}
	if out[8][0] != now || out[9][0] != true || out[10][0] != int64(42) {
		t.Errorf("untouched values changed: %v", out)
	}
	var paths []string
	for _, m := range rep.Masked {
		paths = append(paths, m.Column+" "+m.Rule)
	}
	for _, p := range []string{"v.user.password json-password", "v.password json-password", "v.list[*] detector:phone", "v detector:card"} {
		if !slices.Contains(paths, p) {
			t.Errorf("report lacks %q: %q", p, paths)
		}
	}
}

func TestTableRaggedRows(t *testing.T) {
	e := tableEngine(t)
	cols := []Column{{Name: "notes", Source: src("public", "customers", "notes")}, {Name: "a"}}
	_, out, _ := e.Table("db", cols, [][]any{{"x"}, {"x", "y", "a@b.io"}, nil})
	want := [][]any{{}, {"y", "[REDACTED:email]"}, {}}
	if !reflect.DeepEqual(out, want) {
		t.Errorf("got %#v", out)
	}
}
