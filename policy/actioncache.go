package policy

import (
	"encoding/binary"

	"github.com/open-policy-agent/opa/v1/ast"

	"github.com/airlockhq/airlock/connectors"
)

// actionCacheMax bounds the converted actions kept. Agents repeat a few
// statement shapes, so a small cache covers them; a stream of distinct
// statements only ever holds this many.
const actionCacheMax = 256

// action converts a (with no family-specific detail) once per distinct
// content. Converting the action was most of a memoised decision's cost:
// the memo key reads it on every call.
func (c *valueCache) action(a *connectors.Action, detail map[string]any) *ast.Term {
	if c == nil || a == nil || len(detail) > 0 {
		return ast.NewTerm(actionValue(a, detail))
	}
	var buf [256]byte
	key := appendActionKey(buf[:0], a)
	c.mu.RLock()
	t, ok := c.actions[string(key)]
	c.mu.RUnlock()
	if ok {
		return t
	}
	t = ast.NewTerm(actionValue(a, nil))
	c.mu.Lock()
	if c.actions == nil || len(c.actions) >= actionCacheMax {
		c.actions = make(map[string]*ast.Term)
	}
	c.actions[string(key)] = t
	c.mu.Unlock()
	return t
}

// appendActionKey appends every member actionValue converts, each string
// and list after its length, so two actions have the same key exactly when
// they convert alike (nil and empty lists are alike, as they are once
// converted). The key is a copy: callers may change their Action later.
func appendActionKey(b []byte, a *connectors.Action) []byte {
	b = appendBool(b, a.ReadOnly)
	b = appendString(b, string(a.Risk))
	b = appendStrings(b, a.Flags)
	b = appendStrings(b, a.Reasons)
	b = binary.AppendUvarint(b, uint64(len(a.Statements)))
	for _, s := range a.Statements {
		b = appendString(b, s.Kind)
		b = appendBool(b, s.ReadOnly)
		b = appendBool(b, s.HasWhere)
		b = appendStrings(b, s.TablesRead)
		b = appendStrings(b, s.TablesWritten)
		b = appendStrings(b, s.Functions)
	}
	return b
}

func appendBool(b []byte, v bool) []byte {
	if v {
		return append(b, 1)
	}
	return append(b, 0)
}

func appendString(b []byte, s string) []byte {
	return append(binary.AppendUvarint(b, uint64(len(s))), s...)
}

func appendStrings(b []byte, ss []string) []byte {
	b = binary.AppendUvarint(b, uint64(len(ss)))
	for _, s := range ss {
		b = appendString(b, s)
	}
	return b
}
