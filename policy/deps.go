package policy

import "github.com/open-policy-agent/opa/v1/ast"

// depWalk walks rules and every rule or function they reach. It collects
// the input refs they read, and clears ok on anything that makes their
// value depend on more than those refs: `with`, or a builtin that builtin
// does not accept. Constant documents (constdocs.go) and the decision
// memo (memo.go) are both decided by it.
type depWalk struct {
	c       *ast.Compiler
	seen    map[*ast.Rule]bool
	paths   []ast.Ref
	ok      bool
	builtin func(name string) bool
	// noInput clears ok on any read of the input, for documents that must
	// not depend on it at all.
	noInput bool
}

func (w *depWalk) rules(rs []*ast.Rule) {
	for _, r := range rs {
		w.rule(r)
	}
}

// rule walks r with its else chain (the walk includes it).
func (w *depWalk) rule(r *ast.Rule) {
	if !w.ok || w.seen[r] {
		return
	}
	w.seen[r] = true
	ast.WalkExprs(r, func(e *ast.Expr) bool {
		if len(e.With) > 0 {
			w.ok = false
		}
		return !w.ok
	})
	ast.WalkTerms(r, w.term)
}

// term is the walk's visitor; true stops it descending into t.
func (w *depWalk) term(t *ast.Term) bool {
	if !w.ok {
		return true
	}
	switch v := t.Value.(type) {
	case ast.Var:
		if v.Equal(ast.InputRootDocument.Value) {
			w.input(ast.InputRootRef)
		}
	case ast.Ref:
		w.ref(v)
		// The head is done; terms inside the path (a nested ref used as
		// an index) are walked like any other.
		for _, e := range v[1:] {
			ast.WalkTerms(e, w.term)
		}
		return true
	}
	return false
}

func (w *depWalk) ref(r ast.Ref) {
	head, ok := r[0].Value.(ast.Var)
	switch {
	case !ok:
		// A ref on a composite value or a call result: its terms are
		// walked by the caller.
	case head.Equal(ast.InputRootDocument.Value):
		w.input(r.GroundPrefix())
	case head.Equal(ast.DefaultRootDocument.Value):
		// Base documents come from the snapshot's store, which is empty
		// and never written; the rules are what is read.
		w.rules(w.c.GetRulesDynamicWithOpts(r, ast.RulesOptions{IncludeHiddenModules: true}))
	case ast.BuiltinMap[r.String()] != nil:
		if !w.builtin(r.String()) {
			w.ok = false
		}
	}
}

func (w *depWalk) input(path ast.Ref) {
	if w.noInput {
		w.ok = false
	}
	w.paths = append(w.paths, path)
}
