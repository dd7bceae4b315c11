package mask

import (
	"bytes"
	"encoding/json"
	"maps"
	"slices"
	"strconv"
	"strings"
)

// JSON masks a decoded JSON value (map[string]any, []any, scalars, or
// json.RawMessage, which comes back re-encoded when something changed):
// JSON path rules for conn first, then the detectors on every string,
// number and key that no rule took. Other Go values are encoded to JSON
// first. v is not modified.
func (e *Engine) JSON(conn string, v any) (any, Report) {
	var t tally
	w := e.newWalker(conn, &t)
	switch v.(type) {
	case nil, map[string]any, []any, json.RawMessage, string, bool, float64, json.Number:
	default:
		if b, err := json.Marshal(v); err == nil {
			v = json.RawMessage(b)
		}
	}
	out, _ := w.start(v, "$")
	return out, t.sorted()
}

// walker walks one JSON value. Rules are matched as a small NFA: a state
// is a (rule, segment) pair packed in a uint32, and the states of every
// open level live in one arena that grows and shrinks with the depth.
type walker struct {
	e     *Engine
	t     *tally
	rules []*rule
	label string // what "$" is called in reported paths
	path  []pathElem
	arena []uint32
}

type pathElem struct {
	key   string
	index bool
}

func (e *Engine) newWalker(conn string, t *tally) *walker {
	return &walker{e: e, t: t, rules: e.jsonRulesFor(conn)}
}

// start masks v as a document of its own, labelled label in reports. It
// returns nil when a rule drops the whole document.
func (w *walker) start(v any, label string) (any, bool) {
	w.label, w.path, w.arena = label, w.path[:0], w.arena[:0]
	for r := range w.rules {
		w.push(0, r, 0)
	}
	out, changed, drop := w.node(v, w.arena)
	if drop {
		return nil, true
	}
	return out, changed
}

// push adds state (r, p) and, since a "**" may match zero levels, the
// states after every "**" that follows, unless the frame starting at base
// already has them.
func (w *walker) push(base, r, p int) {
	segs := w.rules[r].path
	for {
		x := uint32(r)<<16 | uint32(p)
		if !slices.Contains(w.arena[base:], x) {
			w.arena = append(w.arena, x)
		}
		if p < len(segs) && segs[p].kind == segDesc {
			p++
			continue
		}
		return
	}
}

// step returns the states for the child key (or index, when isIndex) of a
// node in states st.
func (w *walker) step(st []uint32, key string, index int, isIndex bool) []uint32 {
	base := len(w.arena)
	for _, x := range st {
		r, p := int(x>>16), int(x&0xffff)
		segs := w.rules[r].path
		if p >= len(segs) {
			continue
		}
		sg := &segs[p]
		switch {
		case sg.kind == segDesc:
			w.push(base, r, p)
		case isIndex && sg.matchIndex(index), !isIndex && sg.matchKey(key):
			w.push(base, r, p+1)
		}
	}
	return w.arena[base:]
}

// accepting returns the first rule, in configuration order, that selects
// the node in states st.
func (w *walker) accepting(st []uint32) *rule {
	best := -1
	for _, x := range st {
		r, p := int(x>>16), int(x&0xffff)
		if p == len(w.rules[r].path) && (best < 0 || r < best) {
			best = r
		}
	}
	if best < 0 {
		return nil
	}
	return w.rules[best]
}

// node masks v; drop asks the parent to remove it.
func (w *walker) node(v any, st []uint32) (out any, changed, drop bool) {
	if r := w.accepting(st); r != nil {
		if r.Action == Drop {
			w.t.add(w.pathString(), r.Name, Drop, 1)
			return nil, true, true
		}
		if v == nil {
			return nil, false, false
		}
		m := r.marker
		if m == "" {
			m = "[REDACTED:" + kindOf(w.lastKey()) + "]"
		}
		w.t.add(w.pathString(), r.Name, r.Action, 1)
		return w.e.apply(r.Action, m, v), true, false
	}
	switch x := v.(type) {
	case map[string]any:
		out, changed = w.object(x, st)
		return out, changed, false
	case []any:
		out, changed = w.array(x, st)
		return out, changed, false
	case json.RawMessage:
		dec := json.NewDecoder(bytes.NewReader(x))
		dec.UseNumber()
		var d any
		if dec.Decode(&d) != nil || dec.More() {
			s, ok := w.e.maskText(string(x), &site{t: w.t, walk: w})
			return json.RawMessage(s), ok, false
		}
		d, changed, drop = w.node(d, st)
		if !changed || drop {
			return x, changed, drop
		}
		return json.RawMessage(canonical(d)), true, false
	}
	out, changed = w.e.detectValue(v, &site{t: w.t, walk: w}, w)
	return out, changed, false
}

type rename struct {
	from, to string
	v        any
}

func (w *walker) object(m map[string]any, st []uint32) (any, bool) {
	var out map[string]any
	var renames []rename
	for k, v := range m {
		// A key can be a value too ({"jane@example.com": {...}}); findings
		// in keys are reported as the parent's ".*", never by the key.
		nk := k
		if s, ok := w.e.maskText(k, &site{t: w.t, walk: w, suffix: ".*"}); ok {
			nk = s
		}
		w.path = append(w.path, pathElem{key: nk})
		base := len(w.arena)
		var cst []uint32
		if len(st) > 0 {
			cst = w.step(st, k, 0, false)
		}
		nv, ch, drop := w.node(v, cst)
		w.arena = w.arena[:base]
		w.path = w.path[:len(w.path)-1]
		if !ch && nk == k {
			continue
		}
		if out == nil {
			out = maps.Clone(m)
		}
		switch {
		case drop:
			delete(out, k)
		case nk != k:
			delete(out, k)
			renames = append(renames, rename{k, nk, nv})
		default:
			out[k] = nv
		}
	}
	if out == nil {
		return m, false
	}
	// Masked keys can collide ("[REDACTED:email]" twice); numbering them in
	// the order of the original keys keeps the output deterministic.
	slices.SortFunc(renames, func(a, b rename) int { return strings.Compare(a.from, b.from) })
	for _, r := range renames {
		name := r.to
		for n := 2; ; n++ {
			if _, taken := out[name]; !taken {
				break
			}
			name = r.to + "#" + strconv.Itoa(n)
		}
		out[name] = r.v
	}
	return out, true
}

func (w *walker) array(a []any, st []uint32) (any, bool) {
	var out []any
	for i, v := range a {
		w.path = append(w.path, pathElem{index: true})
		base := len(w.arena)
		var cst []uint32
		if len(st) > 0 {
			cst = w.step(st, "", i, true)
		}
		nv, ch, drop := w.node(v, cst)
		w.arena = w.arena[:base]
		w.path = w.path[:len(w.path)-1]
		if out == nil && (ch || drop) {
			out = append(make([]any, 0, len(a)), a[:i]...)
		}
		if out != nil && !drop {
			out = append(out, nv)
		}
	}
	if out == nil {
		return a, false
	}
	return out, true
}

// pathString renders the current path for reports, every array index as
// [*] so that counts add up per field rather than per element.
func (w *walker) pathString() string {
	var b strings.Builder
	b.WriteString(w.label)
	for _, p := range w.path {
		switch {
		case p.index:
			b.WriteString("[*]")
		case plainKey(p.key):
			b.WriteByte('.')
			b.WriteString(p.key)
		default:
			b.WriteString("[")
			b.WriteString(strconv.Quote(p.key))
			b.WriteString("]")
		}
	}
	return b.String()
}

func plainKey(k string) bool {
	for i := 0; i < len(k); i++ {
		if c := k[i]; !isAlnum(c) && c != '_' && c != '-' {
			return false
		}
	}
	return k != ""
}

// lastKey is the nearest key above the current node, for a default kind.
func (w *walker) lastKey() string {
	for i := len(w.path) - 1; i >= 0; i-- {
		if !w.path[i].index {
			return w.path[i].key
		}
	}
	return "value"
}

// kindOf makes a name usable as a marker's kind.
func kindOf(name string) string {
	b := []byte(strings.ToLower(name))
	if len(b) > 64 {
		b = b[:64]
	}
	for i, c := range b {
		if !isAlnum(c) && c != '_' && c != '-' && c != '.' {
			b[i] = '_'
		}
	}
	if len(b) == 0 {
		return "value"
	}
	return string(b)
}

// sorted returns the report in a stable order: map iteration is random, and
// recordings are hashed.
func (t *tally) sorted() Report {
	slices.SortStableFunc(t.m, func(a, b Masked) int {
		if c := strings.Compare(a.Column, b.Column); c != 0 {
			return c
		}
		return strings.Compare(a.Rule, b.Rule)
	})
	return t.report()
}
