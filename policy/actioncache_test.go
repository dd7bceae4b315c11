package policy

import (
	"reflect"
	"slices"
	"testing"

	"github.com/open-policy-agent/opa/v1/ast"

	"github.com/airlockhq/airlock/connectors"
)

// TestActionCacheSeesChangedActions is the attacker's side of converting
// an action once: a caller that keeps its Action and changes it between
// calls, member by member, must get the changed action decided, never the
// read it first presented.
func TestActionCacheSeesChangedActions(t *testing.T) {
	e := newEngine(t, Options{})
	in := selectInput()
	if d := decide(t, e, in); !d.Allow {
		t.Fatalf("read: %+v", d)
	}
	a := in.Action
	for name, change := range map[string]func(){
		"statement kind": func() { a.Statements[0].Kind = "delete"; a.Statements[0].TablesWritten = a.Statements[0].TablesRead },
		"read-only flag": func() { a.ReadOnly = false; a.Statements[0].ReadOnly = false },
		"flags":          func() { a.Flags = append(a.Flags, "privileged_function") },
		"risk":           func() { a.Risk = connectors.RiskCritical },
		"tables written": func() { a.Statements[0].TablesWritten = []string{"public.orders"} },
		"functions":      func() { a.Statements[0].Functions = []string{"pg_terminate_backend"} },
		"another statement": func() {
			a.Statements = append(a.Statements, stmt("drop", false, "public.orders"))
		},
	} {
		t.Run(name, func(t *testing.T) {
			in := selectInput()
			a = in.Action
			if d := decide(t, e, in); !d.Allow {
				t.Fatalf("read: %+v", d)
			}
			change()
			got := decide(t, e, in)
			want, err := evalDecision(t.Context(), e.snap.Load(), in)
			if err != nil {
				t.Fatal(err)
			}
			if !equalDecisions(got, want) {
				t.Errorf("changed action decided as\n %+v\nevaluated afresh\n %+v", got, want)
			}
			if got.Allow && !got.RequireApproval && !a.ReadOnly {
				t.Errorf("a changed write passed as the read it was: %+v", got)
			}
		})
	}
}

// TestActionCacheShares: equal actions in distinct values convert once,
// an entry keeps its own copy, and the cache stays bounded.
func TestActionCacheShares(t *testing.T) {
	var c valueCache
	a := selectInput().Action
	b := selectInput().Action
	ta := c.action(a, nil)
	if tb := c.action(b, nil); tb != ta {
		t.Error("equal actions converted twice")
	}
	a.Statements[0].TablesRead[0] = "public.secrets" // the caller's slice, changed in place
	if tc := c.action(a, nil); tc == ta || ast.Compare(tc.Value, ta.Value) == 0 {
		t.Error("an action changed through its own slices got the old term")
	}
	if tb := c.action(b, nil); tb != ta {
		t.Error("the entry changed with the caller's slices")
	}
	// Family detail is converted every time.
	if td := c.action(b, map[string]any{"verb": "get"}); td == ta {
		t.Error("an action with detail shared a term without it")
	}
	for i := range 3 * actionCacheMax {
		x := *b
		x.Reasons = []string{string(rune('a' + i%26)), string(rune(i))}
		c.action(&x, nil)
		if len(c.actions) > actionCacheMax {
			t.Fatalf("%d actions cached, bound %d", len(c.actions), actionCacheMax)
		}
	}
}

// TestActionKeyCoversConversion: every member actionValue converts is in
// the key. Adding a member to connectors.Action or Statement fails here
// until appendActionKey knows it.
func TestActionKeyCoversConversion(t *testing.T) {
	known := map[string][]string{
		"Action":    {"ReadOnly", "Risk", "Statements", "Flags", "Reasons"},
		"Statement": {"Kind", "ReadOnly", "TablesRead", "TablesWritten", "Functions", "HasWhere", "Location", "Length", "Targets"},
	}
	for name, typ := range map[string]reflect.Type{"Action": reflect.TypeFor[connectors.Action](), "Statement": reflect.TypeFor[connectors.Statement]()} {
		var fields []string
		for f := range typ.Fields() {
			fields = append(fields, f.Name)
		}
		if !slices.Equal(fields, known[name]) {
			t.Errorf("connectors.%s has fields %v; appendActionKey knows %v", name, fields, known[name])
		}
	}
	base := func() *connectors.Action { return selectInput().Action }
	for name, change := range map[string]func(a *connectors.Action){
		"read_only":      func(a *connectors.Action) { a.ReadOnly = !a.ReadOnly },
		"risk":           func(a *connectors.Action) { a.Risk = connectors.RiskHigh },
		"flags":          func(a *connectors.Action) { a.Flags = []string{"opaque"} },
		"reasons":        func(a *connectors.Action) { a.Reasons = []string{"why"} },
		"statements":     func(a *connectors.Action) { a.Statements = nil },
		"kind":           func(a *connectors.Action) { a.Statements[0].Kind = "update" },
		"stmt read_only": func(a *connectors.Action) { a.Statements[0].ReadOnly = !a.Statements[0].ReadOnly },
		"has_where":      func(a *connectors.Action) { a.Statements[0].HasWhere = !a.Statements[0].HasWhere },
		"tables_read":    func(a *connectors.Action) { a.Statements[0].TablesRead = nil },
		"tables_written": func(a *connectors.Action) { a.Statements[0].TablesWritten = []string{"t"} },
		"functions":      func(a *connectors.Action) { a.Statements[0].Functions = []string{"f"} },
		"split strings":  func(a *connectors.Action) { a.Flags = []string{"multi", "_statement"} },
	} {
		x, y := base(), base()
		change(y)
		if string(appendActionKey(nil, x)) == string(appendActionKey(nil, y)) {
			t.Errorf("%s: changed action has the same key", name)
		}
	}
}
