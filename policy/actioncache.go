package policy

import (
	"hash/maphash"
	"slices"

	"github.com/open-policy-agent/opa/v1/ast"

	"github.com/airlockhq/airlock/connectors"
)

// actionCacheMax bounds the converted actions kept. Agents repeat a few
// statement shapes, so a small cache covers them; a stream of distinct
// statements only ever holds this many.
const actionCacheMax = 256

// actionEntry is a converted action with its own copy of what it was
// converted from: callers may reuse or change their Action afterwards.
type actionEntry struct {
	a connectors.Action
	t *ast.Term
}

var actionSeed = maphash.MakeSeed()

// action converts a (with no family-specific detail) once per distinct
// content. Converting the action was most of a memoised decision's cost:
// the memo key reads it on every call.
func (c *valueCache) action(a *connectors.Action, detail map[string]any) *ast.Term {
	if c == nil || a == nil || len(detail) > 0 {
		return ast.NewTerm(actionValue(a, detail))
	}
	h := actionHash(a)
	c.mu.RLock()
	for _, e := range c.actions[h] {
		if sameAction(&e.a, a) {
			c.mu.RUnlock()
			return e.t
		}
	}
	c.mu.RUnlock()
	e := actionEntry{a: cloneAction(a), t: ast.NewTerm(actionValue(a, nil))}
	c.mu.Lock()
	if c.actions == nil || c.nActions >= actionCacheMax {
		c.actions, c.nActions = make(map[uint64][]actionEntry), 0
	}
	c.actions[h] = append(c.actions[h], e)
	c.nActions++
	c.mu.Unlock()
	return e.t
}

// actionHash covers every member actionValue converts.
func actionHash(a *connectors.Action) uint64 {
	var h maphash.Hash
	h.SetSeed(actionSeed)
	writeBool(&h, a.ReadOnly)
	h.WriteString(string(a.Risk))
	writeStrings(&h, a.Flags)
	writeStrings(&h, a.Reasons)
	for _, s := range a.Statements {
		h.WriteString(s.Kind)
		writeBool(&h, s.ReadOnly)
		writeBool(&h, s.HasWhere)
		writeStrings(&h, s.TablesRead)
		writeStrings(&h, s.TablesWritten)
		writeStrings(&h, s.Functions)
	}
	return h.Sum64()
}

func writeBool(h *maphash.Hash, b bool) {
	if b {
		_ = h.WriteByte(1)
	} else {
		_ = h.WriteByte(0)
	}
}

// writeStrings writes ss with its length and a separator after each, so
// ["ab"] and ["a","b"] differ.
func writeStrings(h *maphash.Hash, ss []string) {
	_ = h.WriteByte(byte(len(ss)))
	for _, s := range ss {
		h.WriteString(s)
		_ = h.WriteByte(0)
	}
}

// sameAction compares every member actionValue converts; nil and empty
// slices are alike, as they are once converted.
func sameAction(x, y *connectors.Action) bool {
	if x.ReadOnly != y.ReadOnly || x.Risk != y.Risk || !slices.Equal(x.Flags, y.Flags) ||
		!slices.Equal(x.Reasons, y.Reasons) || len(x.Statements) != len(y.Statements) {
		return false
	}
	for i := range x.Statements {
		s, t := &x.Statements[i], &y.Statements[i]
		if s.Kind != t.Kind || s.ReadOnly != t.ReadOnly || s.HasWhere != t.HasWhere ||
			!slices.Equal(s.TablesRead, t.TablesRead) || !slices.Equal(s.TablesWritten, t.TablesWritten) ||
			!slices.Equal(s.Functions, t.Functions) {
			return false
		}
	}
	return true
}

// cloneAction copies what sameAction compares, so the entry is not
// changed through the caller's slices.
func cloneAction(a *connectors.Action) connectors.Action {
	out := connectors.Action{ReadOnly: a.ReadOnly, Risk: a.Risk,
		Flags: slices.Clone(a.Flags), Reasons: slices.Clone(a.Reasons)}
	if a.Statements != nil {
		out.Statements = make([]connectors.Statement, len(a.Statements))
		for i, s := range a.Statements {
			out.Statements[i] = connectors.Statement{Kind: s.Kind, ReadOnly: s.ReadOnly, HasWhere: s.HasWhere,
				TablesRead: slices.Clone(s.TablesRead), TablesWritten: slices.Clone(s.TablesWritten),
				Functions: slices.Clone(s.Functions)}
		}
	}
	return out
}
