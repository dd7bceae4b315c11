package mask

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"
)

// apply masks one value with a rule's action (not Drop, which removes
// rather than replaces). NULL stays NULL: it says nothing about a value
// and keeps "IS NULL" answers right.
func (e *Engine) apply(a Action, marker any, v any) any {
	if v == nil {
		return nil
	}
	switch a {
	case Partial:
		if isContainer(v) {
			return marker
		}
		return partial(stringify(v))
	case Hash:
		return e.hmacToken(stringify(v))
	}
	return marker
}

func isContainer(v any) bool {
	switch v.(type) {
	case map[string]any, []any, json.RawMessage:
		return true
	}
	return false
}

// partial keeps the last four letters or digits of s when it has at least
// eight, and replaces the others by '*'. Punctuation stays, so the format
// is still recognisable.
func partial(s string) string {
	n := 0
	ascii := true
	for i := 0; i < len(s); i++ {
		if s[i] >= utf8.RuneSelf {
			ascii = false
			break
		}
		if isAlnum(s[i]) {
			n++
		}
	}
	if !ascii {
		return partialRunes(s)
	}
	hide := n
	if n >= 8 {
		hide = n - 4
	}
	var buf [64]byte
	b := buf[:0]
	if len(s) > len(buf) {
		b = make([]byte, 0, len(s))
	}
	b = append(b, s...)
	for i := 0; hide > 0; i++ {
		if isAlnum(b[i]) {
			b[i] = '*'
			hide--
		}
	}
	return string(b)
}

func partialRunes(s string) string {
	n := 0
	for _, r := range s {
		if unicode.IsLetter(r) || unicode.IsDigit(r) {
			n++
		}
	}
	hide := n
	if n >= 8 {
		hide = n - 4
	}
	var b strings.Builder
	b.Grow(len(s))
	for _, r := range s {
		if hide > 0 && (unicode.IsLetter(r) || unicode.IsDigit(r)) {
			b.WriteByte('*')
			hide--
			continue
		}
		b.WriteRune(r)
	}
	return b.String()
}

// stringify renders a value as the text that Hash and Partial work on.
// Numbers render as their digits so the integer 42 and the text "42" hash
// alike; JSON renders canonically (sorted keys), so equal documents do too.
func stringify(v any) string {
	switch x := v.(type) {
	case string:
		return x
	case []byte:
		return string(x)
	case json.RawMessage:
		var d any
		if json.Unmarshal(x, &d) == nil {
			return canonical(d)
		}
		return string(x)
	case map[string]any, []any:
		return canonical(x)
	case json.Number:
		return string(x)
	case int64:
		return strconv.FormatInt(x, 10)
	case int:
		return strconv.Itoa(x)
	case int32:
		return strconv.FormatInt(int64(x), 10)
	case float64:
		return strconv.FormatFloat(x, 'f', -1, 64)
	case time.Time:
		return x.Format(time.RFC3339Nano)
	case fmt.Stringer:
		return x.String()
	}
	return fmt.Sprint(v)
}

func canonical(v any) string {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	if enc.Encode(v) != nil {
		return fmt.Sprint(v)
	}
	return strings.TrimSuffix(b.String(), "\n")
}

// site is where a finding is reported: a column name, or the current path
// of a JSON walk, rendered only when something is found.
type site struct {
	t      *tally
	col    string
	walk   *walker // when set, col is rendered from its path on first use
	suffix string  // appended to the rendered path
	// counts, when set, counts findings per detector instead of t: Table
	// adds them up per column once, rather than once per finding.
	counts []int
}

func (at *site) name() string {
	if at.walk != nil {
		at.col, at.walk = at.walk.pathString()+at.suffix, nil
	}
	return at.col
}

// maskText masks the findings in s and reports them at at.
func (e *Engine) maskText(s string, at *site) (string, bool) {
	var buf [4]span
	spans := e.find(s, buf[:])
	if len(spans) == 0 {
		return s, false
	}
	e.tallySpans(spans, at)
	return e.redact(s, spans), true
}

func (e *Engine) tallySpans(spans []span, at *site) {
	if at.counts != nil {
		for _, sp := range spans {
			at.counts[sp.det]++
		}
		return
	}
	col := at.name()
	for _, sp := range spans {
		at.t.add(col, e.labels[sp.det], Redact, 1)
	}
}

// maskAny is maskText for a value headed into an interface: a value that is
// one finding from end to end, the common case in a table cell, becomes a
// marker without allocating.
func (e *Engine) maskAny(s string, at *site, v any) (any, bool) {
	var buf [4]span
	spans := e.find(s, buf[:])
	if len(spans) == 0 {
		return v, false
	}
	e.tallySpans(spans, at)
	if len(spans) == 1 && spans[0].start == 0 && spans[0].end == len(s) {
		return e.boxed[spans[0].det], true
	}
	return e.redact(s, spans), true
}

// detectValue runs the detectors over one value of a table cell or JSON
// document, returning the masked value and whether it changed. Numbers are
// checked too: a card number stored as a bigint is still a card number.
// JSON values go to w, whose rules apply with the value as "$".
func (e *Engine) detectValue(v any, at *site, w *walker) (any, bool) {
	switch x := v.(type) {
	case nil, bool, time.Time, [16]byte:
		return v, false
	case string:
		return e.maskAny(x, at, v)
	case []byte:
		// Binary data can hold text too; it is scanned as bytes either way.
		if s, ok := e.maskText(string(x), at); ok {
			return []byte(s), true
		}
		return v, false
	case json.RawMessage, map[string]any, []any:
		return w.start(x, at.name())
	case []string:
		var out []string
		for i, s := range x {
			if m, ok := e.maskText(s, at); ok {
				if out == nil {
					out = append([]string(nil), x...)
				}
				out[i] = m
			}
		}
		if out == nil {
			return v, false
		}
		return out, true
	case json.Number:
		return e.maskRendered(string(x), at, v)
	case int64:
		if smallInt(x) {
			return v, false
		}
		return e.maskRendered(strconv.FormatInt(x, 10), at, v)
	case int:
		if smallInt(int64(x)) {
			return v, false
		}
		return e.maskRendered(strconv.Itoa(x), at, v)
	case uint64:
		if x < 1e12 {
			return v, false
		}
		return e.maskRendered(strconv.FormatUint(x, 10), at, v)
	case int32, int16, int8, uint32, uint16, uint8, float32:
		return v, false // too small to hold anything a detector finds
	case float64:
		if x == float64(int64(x)) && !smallInt(int64(x)) {
			return e.maskRendered(strconv.FormatInt(int64(x), 10), at, v)
		}
		return v, false
	case fmt.Stringer:
		return e.maskRendered(x.String(), at, v)
	}
	return e.maskRendered(fmt.Sprint(v), at, v)
}

// maskRendered scans the text form s of a non-text value v; anything found
// turns the value into its masked text.
func (e *Engine) maskRendered(s string, at *site, v any) (any, bool) {
	return e.maskAny(s, at, v)
}

// smallInt reports whether an integer is too short to be anything a
// detector finds (the shortest, a card number, has 13 digits), which
// spares formatting most ids and counts.
func smallInt(x int64) bool { return x > -1e12 && x < 1e12 }
