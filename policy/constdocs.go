package policy

import (
	"context"
	"maps"
	"slices"
	"time"

	"github.com/open-policy-agent/opa/v1/ast"
)

// Documents such as max_rows, timeout_ms, mask_response and the approver
// group are usually defined by constants alone, yet OPA evaluates their
// rules again in every decision, and each such evaluation allocates about
// as much as a rule that reads the input. A load finds the rule documents
// whose value cannot depend on the input or the moment of evaluation,
// evaluates them once, and hands the values to every evaluation through
// its virtual cache, where OPA looks before evaluating a rule.
//
// The test for "cannot depend" is conservative: every rule defining the
// document, and every rule or function those reach, must not mention
// input, must not use `with`, and must call only builtins known to be
// pure. A document that fails the test, is undefined, or fails to
// evaluate is left to be evaluated per call as before, so an operator's
// `max_rows := 50 if lib.in_group(input.principal, "contractors")`
// simply keeps max_rows out.

// pureBuiltinCategories are the builtin categories whose members compute
// from their arguments alone. Time, tokens, crypto, HTTP, network, opa,
// rand, uuid and tracing are left out: they read the clock, the world or
// the evaluation.
var pureBuiltinCategories = map[string]bool{
	"aggregates": true, "comparison": true, "conversions": true, "numbers": true,
	"sets": true, "strings": true, "types": true,
}

// pureBuiltins are the uncategorised builtins constant documents use.
var pureBuiltins = map[string]bool{
	"eq": true, "assign": true, "equal": true, "internal.member_2": true, "internal.member_3": true,
	"array.concat": true, "array.slice": true, "object.get": true, "object.union": true,
	"object.keys": true,
}

func pureBuiltin(name string) bool {
	bi, ok := ast.BuiltinMap[name]
	if !ok || bi.Nondeterministic {
		return false
	}
	if pureBuiltins[name] {
		return true
	}
	for _, c := range bi.Categories {
		if pureBuiltinCategories[c] {
			return true
		}
	}
	return false
}

// constDocs evaluates, once, every single-value rule document of the
// snapshot that is pure, and returns them as a cache to consult for every evaluation of
// this snapshot, or nil when there are none.
func (s *snapshot) constDocs(ctx context.Context) *virtualCache {
	pure := func(rs []*ast.Rule) bool {
		w := depWalk{c: s.compiler, seen: map[*ast.Rule]bool{}, ok: true, builtin: pureBuiltin, noInput: true}
		w.rules(rs)
		return w.ok
	}
	consts := &virtualCache{}
	consts.Push()
	seen := map[string]bool{}
	n := 0
	// No new evaluation starts once one evaluation timeout has passed, so
	// costly constants cannot hold a load up for long; those left out are
	// evaluated per call, as before.
	budget := time.Now().Add(s.timeout)
modules:
	for _, name := range slices.Sorted(maps.Keys(s.compiler.Modules)) {
		for _, r := range s.compiler.Modules[name].Rules {
			if time.Now().After(budget) {
				break modules
			}
			if r.Head.RuleKind() != ast.SingleValue || len(r.Head.Args) > 0 {
				continue
			}
			path := r.Ref()
			key := path.String()
			if !path.IsGround() || seen[key] {
				continue
			}
			seen[key] = true
			rules := s.compiler.GetRules(path)
			if !pure(rules) || !singleValues(rules) {
				continue
			}
			q, err := prepareQuery(s.compiler, s.store, s.txn, path)
			if err != nil {
				continue
			}
			v, err := s.eval(ctx, q, ast.NewObject())
			if err != nil {
				continue // undefined or failing: evaluated per call, as before
			}
			consts.Put(path, v)
			n++
		}
	}
	if n == 0 {
		return nil
	}
	return consts
}

func singleValues(rs []*ast.Rule) bool {
	for _, r := range rs {
		if r.Head.RuleKind() != ast.SingleValue || len(r.Head.Args) > 0 {
			return false
		}
	}
	return len(rs) > 0
}
