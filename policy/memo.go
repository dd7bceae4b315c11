package policy

import (
	"slices"
	"strings"
	"sync"

	"github.com/open-policy-agent/opa/v1/ast"
)

// A decision is a function of the parts of the input its rules read, and
// agents repeat calls that agree on those parts: the same principal, tool
// and connection, and statements of the same shape, with other parameter
// values, SQL text or times. A load works out which input paths the
// decision can read and, when the answer is exact, the snapshot keeps the
// decisions it made keyed by the values at those paths; a call that
// agrees on all of them gets the decision already made, for the same
// policy version, without evaluating.
//
// "Exact" is conservative, as for constant documents: every rule and
// function the decision reaches is walked; any `with`, any builtin that
// reads the clock, the network, randomness or the runtime, or any read of
// input.now (or of the whole input) leaves the snapshot without a memo,
// and decisions are evaluated per call as before. Reads below a variable
// (input.action.statements[i]) count as reading the whole member above
// it, so a key can only be coarser than what the rules read, never finer.

// memoMax bounds a snapshot's memo; past it the memo starts over rather
// than grow with every distinct call shape. An entry holds the values it
// is keyed by (the action is most of it) and the decision: about 2.5 KB,
// so a full memo adds under 3 MB to the gateway.
const memoMax = 1024

// Input members in the order inputTerms converts them.
const (
	mPrincipal = iota
	mTool
	mConnection
	mArguments
	mAction
	mGrants
	mNow
	nMembers
)

var memberIndex = map[string]int{
	"principal": mPrincipal, "tool": mTool, "connection": mConnection, "arguments": mArguments,
	"action": mAction, "grants": mGrants, "now": mNow,
}

// memoPath is one input path the decision reads: a member and the ground
// path below it (empty: the whole member).
type memoPath struct {
	member int
	rest   ast.Ref
}

type memoEntry struct {
	vals []ast.Value // at the plan's paths; nil where undefined
	d    Decision
}

// memo holds one snapshot's decisions by the values of the input at plan.
type memo struct {
	plan []memoPath
	mu   sync.RWMutex
	m    map[int][]memoEntry
	n    int
}

// newMemo plans the memo for the decision document of c, or returns nil
// when its decisions cannot be keyed exactly.
func newMemo(c *ast.Compiler, decision ast.Ref) *memo {
	w := depWalk{c: c, seen: map[*ast.Rule]bool{}, ok: true, builtin: memoSafeBuiltin}
	w.rules(c.GetRulesDynamicWithOpts(decision, ast.RulesOptions{IncludeHiddenModules: true}))
	if !w.ok || len(w.paths) == 0 {
		return nil
	}
	plan, ok := planPaths(w.paths)
	if !ok {
		return nil
	}
	return &memo{plan: plan, m: map[int][]memoEntry{}}
}

// planPaths turns input refs into member paths, dropping any path below
// another; false when a path covers the clock or the whole input.
func planPaths(refs []ast.Ref) ([]memoPath, bool) {
	slices.SortFunc(refs, func(a, b ast.Ref) int { return a.Compare(b) })
	var plan []memoPath
	var kept []ast.Ref
	for _, r := range refs {
		if len(r) < 2 {
			return nil, false // the whole input
		}
		if slices.ContainsFunc(kept, func(k ast.Ref) bool { return r.HasPrefix(k) }) {
			continue
		}
		name, ok := r[1].Value.(ast.String)
		if !ok {
			return nil, false
		}
		idx, known := memberIndex[string(name)]
		if !known {
			// A member the engine never supplies is undefined for every
			// call; it cannot tell calls apart.
			continue
		}
		if idx == mNow {
			return nil, false
		}
		kept = append(kept, r)
		plan = append(plan, memoPath{member: idx, rest: r[2:].Copy()})
	}
	return plan, len(plan) > 0
}

// key reads the plan's paths from it and hashes them.
func (m *memo) key(it *inputTerms) (int, []ast.Value) {
	vals := make([]ast.Value, len(m.plan))
	h := 17
	for i, p := range m.plan {
		v := it.get(p.member).Value
		if len(p.rest) > 0 {
			var err error
			if v, err = v.Find(p.rest); err != nil {
				v = nil
			}
		}
		vals[i] = v
		h = h*31 + p.member
		if v != nil {
			h = h*31 + v.Hash()
		}
	}
	return h, vals
}

func (m *memo) get(h int, vals []ast.Value) (Decision, bool) {
	m.mu.RLock()
	defer m.mu.RUnlock()
	for _, e := range m.m[h] {
		if sameValues(e.vals, vals) {
			return e.d.clone(), true
		}
	}
	return Decision{}, false
}

func (m *memo) put(h int, vals []ast.Value, d Decision) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.n >= memoMax {
		m.m, m.n = map[int][]memoEntry{}, 0
	}
	for _, e := range m.m[h] {
		if sameValues(e.vals, vals) {
			return // a concurrent call got here first
		}
	}
	m.m[h] = append(m.m[h], memoEntry{vals: vals, d: d.clone()})
	m.n++
}

func sameValues(a, b []ast.Value) bool {
	for i := range a {
		switch {
		case a[i] == nil || b[i] == nil:
			if a[i] != b[i] {
				return false
			}
		case ast.Compare(a[i], b[i]) != 0:
			return false
		}
	}
	return true
}

// clone copies the slices a caller could change.
func (d Decision) clone() Decision {
	d.Approvers = slices.Clone(d.Approvers)
	d.Reasons = slices.Clone(d.Reasons)
	d.Fired = slices.Clone(d.Fired)
	return d
}

// memoSafeBuiltin reports whether a builtin's result follows from its
// arguments alone. Builtins OPA marks nondeterministic (the clock,
// randomness, HTTP, DNS, the runtime) and those that read the clock
// without saying so (certificate and token validity, request signing) are
// left out, as are tracing and printing.
func memoSafeBuiltin(name string) bool {
	bi := ast.BuiltinMap[name]
	if bi == nil || bi.Nondeterministic || clockBuiltins[name] {
		return false
	}
	if pureBuiltin(name) || memoSafeNames[name] {
		return true
	}
	for _, p := range memoSafePrefixes {
		if strings.HasPrefix(name, p) {
			return true
		}
	}
	return false
}

var clockBuiltins = map[string]bool{
	"time.now_ns": true, "io.jwt.decode_verify": true, "providers.aws.sign_req": true,
	"crypto.x509.parse_and_verify_certificates":              true,
	"crypto.x509.parse_and_verify_certificates_with_options": true,
}

var memoSafeNames = map[string]bool{
	"any": true, "all": true, "re_match": true, "set_diff": true, "walk": true,
	"internal.template_string": true, "uuid.parse": true,
	"crypto.md5": true, "crypto.sha1": true, "crypto.sha256": true,
	"io.jwt.decode": true,
}

var memoSafePrefixes = []string{
	"array.", "bits.", "cast_", "glob.", "graph.", "net.cidr_", "numbers.", "object.",
	"regex.", "semver.", "strings.", "units.", "uri.", "crypto.hmac.", "time.",
	"base64", "hex.", "json.", "yaml.", "urlquery.",
}
