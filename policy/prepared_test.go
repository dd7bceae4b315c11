package policy

import (
	"context"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/open-policy-agent/opa/v1/ast"
	"github.com/open-policy-agent/opa/v1/rego"

	"github.com/airlockhq/airlock/connectors"
)

// cacheHeavy exercises what the engine's own virtual cache must get right:
// `with` frames, functions cached per argument (including undefined
// results and object arguments), else chains and partial sets.
const cacheHeavy = `package airlock.authz

import data.airlock.lib

double(x) := x * 2

nothing(x) := y if {
	x == "never"
	y := 1
}

ro := input.action.read_only

ro_under_with := x if {
	x := ro with input.action.read_only as "w"
}

approval contains {"reason": sprintf("checks %v %v %v %v", [double(2), double(2), ro_under_with, ro]), "approvers": ["group:x"]} if {
	input.tool.family == "k8s"
	not nothing(input.tool.name)
	not lib.has_grant(input, "admin")
	not lib.has_grant(input, "admin")
	not nothing(input.tool.name)
}

approval contains {"reason": "with override", "approvers": a} if {
	input.tool.family == "k8s"
	a := approvers with data.airlock.config.approver_group as "other"
}

deny contains "object argument" if {
	lib.labels_match(input.connection, {"env": "qa"})
	lib.labels_match(input.connection, {"env": "qa"})
}
`

func differentialInputs() map[string]Input {
	ins := map[string]Input{
		"select": selectInput(),
		"delete": deleteAllInput(),
		"dev":    sqlInput(devUser, prodDB, selectInput().Action),
		"devdb":  sqlInput(devUser, devDB, selectInput().Action),
	}
	grant := sqlInput(alice, prodDB, &connectors.Action{Risk: connectors.RiskMedium,
		Statements: []connectors.Statement{stmt("insert", false, "public.orders")}})
	grant.Grants = []Grant{{Connection: "prod-db", Access: "write", ExpiresAt: testNow.Add(time.Hour)},
		{Connection: "prod-db", Access: "read", ExpiresAt: testNow.Add(time.Hour)}}
	ins["grant"] = grant
	unclassified := selectInput()
	unclassified.Action = nil
	ins["unclassified"] = unclassified
	norisk := selectInput()
	norisk.Action.Risk = ""
	ins["norisk"] = norisk
	ins["k8s"] = Input{Principal: alice, Tool: ToolRef{Name: "k8s_delete", Family: "k8s"},
		Connection:   ConnRef{Name: "prod-k8s", Kind: "kubernetes", Labels: map[string]string{"env": "prod"}},
		Action:       &connectors.Action{Risk: connectors.RiskHigh},
		ActionDetail: map[string]any{"verb": "delete", "resource": "pods", "namespace": "shop", "name": "x"},
		Grants:       grant.Grants, Now: testNow}
	ins["qa"] = sqlInput(alice, ConnRef{Name: "qa-db", Kind: "postgres", Labels: map[string]string{"env": "qa"}},
		selectInput().Action)
	ins["governance"] = Input{Principal: devUser, Tool: ToolRef{Name: "request_access", Family: "governance"},
		Action: &connectors.Action{Risk: connectors.RiskLow}, Now: testNow}
	return ins
}

// TestPreparedMatchesRego checks that evaluating through topdown with the
// engine's reused queries and caches gives what rego itself gives, value
// for value and error for error.
func TestPreparedMatchesRego(t *testing.T) {
	examples, err := filepath.Abs("testdata/examples")
	if err != nil {
		t.Fatal(err)
	}
	cache := t.TempDir()
	writeFile(t, cache, "cache.rego", cacheHeavy)
	writeFile(t, cache, "config.rego", "package airlock.config\n\napprover_group := \"dba\"\n")
	conflict := t.TempDir()
	writeFile(t, conflict, "rows.rego", "package airlock.authz\n\nmax_rows := 5 if input.tool.family == \"sql\"\n\nmax_rows := 7 if input.principal.verified\n")
	for name, dir := range map[string]string{"default": "", "examples": examples, "cache": cache, "conflict": conflict} {
		e := newEngine(t, Options{Dir: dir})
		s := e.snap.Load()
		for iname, in := range differentialInputs() {
			v := in.toValueCached(&e.values)
			for _, q := range []struct {
				query string
				p     *preparedQuery
			}{{DecisionQuery, s.decision}, {VisibleQuery, s.visible}} {
				// Twice: the second run reuses the pooled query and cache.
				for range 2 {
					got, gotErr := s.eval(context.Background(), q.p, v)
					want, wantErr := regoEval(t, s, q.query, v)
					if (gotErr != nil) != (wantErr != nil) {
						t.Fatalf("%s/%s %s: error %v, rego %v", name, iname, q.query, gotErr, wantErr)
					}
					if gotErr != nil {
						if !strings.Contains(gotErr.Error(), strings.TrimPrefix(wantErr.Error(), "1 error occurred: ")) {
							t.Errorf("%s/%s %s: error %q, rego %q", name, iname, q.query, gotErr, wantErr)
						}
						continue
					}
					if name == "cache" && iname == "k8s" && q.p == s.decision &&
						!strings.Contains(got.String(), `"group:other"`) {
						t.Errorf("with override not applied: %v", got)
					}
					if !got.Equal(want) {
						t.Errorf("%s/%s %s:\n got %v\nwant %v", name, iname, q.query, got, want)
					}
				}
			}
		}
	}
}

func regoEval(t *testing.T, s *snapshot, q string, in ast.Value) (*ast.Term, error) {
	t.Helper()
	rs, err := rego.New(rego.Query(q), rego.Compiler(s.compiler), rego.Store(s.store),
		rego.ParsedInput(in), rego.GenerateJSON(keepTerm)).Eval(context.Background())
	if err != nil {
		return nil, err
	}
	if len(rs) != 1 || len(rs[0].Expressions) != 1 {
		t.Fatalf("%s: %d results", q, len(rs))
	}
	return rs[0].Expressions[0].Value.(*ast.Term), nil
}

// TestVirtualCacheFrames pins the contract topdown relies on: frames hide
// each other, undefined is remembered apart from "not cached", and a
// pooled cache starts empty.
func TestVirtualCacheFrames(t *testing.T) {
	ref := ast.MustParseRef("data.a.b")
	one := ast.InternedTerm(1)
	c := getVirtualCache(nil)
	if v, undef := c.Get(ref); v != nil || undef {
		t.Fatalf("empty cache: %v %v", v, undef)
	}
	c.Put(ref, one)
	c.Put(ast.MustParseRef("data.a.c"), nil)
	if v, undef := c.Get(ref); v != one || undef {
		t.Fatalf("cached: %v %v", v, undef)
	}
	if v, undef := c.Get(ast.MustParseRef("data.a.c")); v != nil || !undef {
		t.Fatalf("undefined: %v %v", v, undef)
	}
	if v, undef := c.Get(ast.MustParseRef("data.a")); v != nil || undef {
		t.Fatalf("prefix: %v %v", v, undef)
	}
	c.Push()
	if v, _ := c.Get(ref); v != nil {
		t.Fatalf("new frame sees %v", v)
	}
	c.Put(ref, ast.InternedTerm(2))
	if keys := c.Keys(); len(keys) != 1 || !keys[0].Equal(ref) {
		t.Fatalf("keys = %v", keys)
	}
	c.Pop()
	if v, _ := c.Get(ref); v != one {
		t.Fatalf("after pop: %v", v)
	}
	putVirtualCache(c)

	consts := &virtualCache{}
	consts.Push()
	consts.Put(ref, one)
	c = getVirtualCache(consts)
	if v, _ := c.Get(ref); v != one {
		t.Fatalf("constant not seen: %v", v)
	}
	c.Push() // a with frame computes afresh
	if v, _ := c.Get(ref); v != nil {
		t.Fatalf("constant seen under with: %v", v)
	}
	c.Pop()
	putVirtualCache(c)
	c = getVirtualCache(nil)
	defer putVirtualCache(c)
	if v, undef := c.Get(ref); v != nil || undef {
		t.Fatalf("reused cache: %v %v", v, undef)
	}
}

func mustRef(s string) ast.Ref { return ast.MustParseRef(s) }
