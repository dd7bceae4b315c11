package mask

import (
	"crypto/hmac"
	"crypto/sha256"
	"errors"
	"fmt"
	"hash"
	"strings"
	"sync"
)

// Action is what a rule does to the values it selects.
type Action string

// Actions. An empty Action in a Rule means Redact, the safest choice that
// keeps the column.
const (
	// Redact replaces the value with "[REDACTED:kind]".
	Redact Action = "redact"
	// Partial keeps the last four letters or digits and replaces the others
	// with '*', keeping punctuation: "4111-1111-1111-1111" becomes
	// "****-****-****-1111". Values with fewer than eight letters or digits
	// are masked entirely, because their last four would be most of them.
	Partial Action = "partial"
	// Hash replaces the value with "hmac:" and the first 16 hex digits of
	// HMAC-SHA256(HashKey, value): equal values give equal tokens, so an
	// agent can still join and compare, but cannot read them. Equality
	// holds across columns and types (the integer 42 and the text "42" hash
	// alike), which is what makes joins on masked keys work.
	Hash Action = "hash"
	// Drop removes the column from a table, or the field from a JSON value.
	Drop Action = "drop"
)

// Rule selects columns or JSON fields and says how to mask them.
type Rule struct {
	// Name identifies the rule in reports; it defaults to Match.
	Name string
	// Match selects what the rule applies to; see the package documentation
	// for the syntax.
	Match  string
	Action Action
	// Kind is the label in "[REDACTED:kind]"; it defaults to the matched
	// column or key name. Letters, digits, '_', '-' and '.' only, so that a
	// marker can always be recognised as one.
	Kind string
	// FailClosed masks, as a whole, every computed column this column feeds
	// when the computed column has no source of its own ("upper(ssn)",
	// "ssn || ''"): Drop drops it, Hash hashes it, anything else redacts it.
	// Without it such columns only get the content detectors. SQL rules
	// only.
	FailClosed bool
}

// Config configures an Engine.
type Config struct {
	Rules []Rule
	// Detectors names the built-in detectors to run (see Builtins). Nil
	// means all of them; an empty, non-nil slice means none.
	Detectors []string
	// Custom adds operator detectors, made with RegexDetector.
	Custom []Detector
	// HashKey keys the Hash action; required (at least 16 bytes) when a
	// rule hashes. Whoever holds it can test guesses against tokens, so it
	// is a secret like any other.
	HashKey []byte
}

// SourceColumn is a table column a result column was read from.
type SourceColumn struct {
	Schema, Table, Column string
}

// Column is one SQL result column.
type Column struct {
	// Name is the column's name in the result, alias included.
	Name string
	// Source is the table column the values were read from, or nil for a
	// computed column (an expression, a cast, a function call).
	Source *SourceColumn
	// Inputs lists the table columns a computed column was derived from,
	// when known; it is what FailClosed rules look at.
	Inputs []SourceColumn
}

// Report says what was masked. It never holds a value.
type Report struct {
	Masked []Masked
}

// Masked counts the values masked in one column or JSON field by one rule
// or detector.
type Masked struct {
	// Column is the result column name, or the JSON path of the field with
	// array indexes written [*] (a table column's name stands for "$" when
	// the column holds JSON), or empty for text.
	Column string
	// Rule is the rule's Name, or "detector:NAME" for a detector.
	Rule   string
	Action Action
	// Count is the number of values masked: cells or fields for a rule (the
	// rows for a dropped column), findings for a detector.
	Count int
}

// RuleError reports a rule that New refused. Index is the rule's position
// in Config.Rules, from 0, so callers can point at masking.rules[Index].
type RuleError struct {
	Index int
	Name  string
	Err   error
}

func (e *RuleError) Error() string {
	return fmt.Sprintf("mask: rule %d (%q): %v", e.Index, e.Name, e.Err)
}

func (e *RuleError) Unwrap() error { return e.Err }

// Engine masks tables, JSON values and text. It is safe for concurrent use.
type Engine struct {
	sqlRules  []*rule
	jsonRules []*rule

	// on has bit d set when built-in detector d runs; trig maps each byte
	// to the candidate check that starts there (see scan.go).
	on   uint32
	trig [256]uint8

	custom []Detector
	// names, markers and labels are indexed by detector id: built-ins
	// first, then Custom.
	names   []string
	markers []string // "[REDACTED:name]"
	boxed   []any    // markers as interface values, so cells need no allocation
	labels  []string // "detector:name", for reports

	hashKey []byte
	hmacs   sync.Pool
}

// rule is a validated Rule with its Match parsed.
type rule struct {
	Rule
	conn   string   // connection glob, lower case
	sql    []string // schema, table and column globs, lower case; nil for JSON
	path   []pseg   // nil for SQL
	marker string   // "[REDACTED:Kind]" when Kind is set
}

// New validates cfg and builds an Engine.
func New(cfg Config) (*Engine, error) {
	e := &Engine{}
	for i, r := range cfg.Rules {
		cr, err := compileRule(r, cfg.HashKey)
		if err != nil {
			name := r.Name
			if name == "" {
				name = r.Match
			}
			return nil, &RuleError{Index: i, Name: name, Err: err}
		}
		if cr.sql != nil {
			e.sqlRules = append(e.sqlRules, cr)
		} else {
			e.jsonRules = append(e.jsonRules, cr)
		}
	}
	if err := e.setDetectors(cfg.Detectors, cfg.Custom); err != nil {
		return nil, err
	}
	if len(cfg.HashKey) > 0 {
		e.hashKey = append([]byte(nil), cfg.HashKey...)
		e.hmacs.New = func() any { return hmac.New(sha256.New, e.hashKey) }
	}
	return e, nil
}

func compileRule(r Rule, key []byte) (*rule, error) {
	if strings.TrimSpace(r.Match) == "" {
		return nil, errors.New("match is empty: want CONNECTION:SCHEMA.TABLE.COLUMN or CONNECTION:$.json.path")
	}
	if r.Name == "" {
		r.Name = r.Match
	}
	switch r.Action {
	case "":
		r.Action = Redact
	case Redact, Partial, Hash, Drop:
	default:
		return nil, fmt.Errorf("unknown action %q: use redact, partial, hash or drop", r.Action)
	}
	if r.Action == Hash && len(key) < 16 {
		return nil, errors.New("action hash needs a hash key of at least 16 bytes")
	}
	if !validKind(r.Kind) {
		return nil, fmt.Errorf("kind %q: use letters, digits, '_', '-' and '.' only", r.Kind)
	}
	cr := &rule{Rule: r}
	if r.Kind != "" {
		cr.marker = "[REDACTED:" + r.Kind + "]"
	}
	conn, target := splitMatch(r.Match)
	if err := checkGlob(conn); err != nil {
		return nil, fmt.Errorf("match %q: connection: %v", r.Match, err)
	}
	cr.conn = strings.ToLower(conn)
	if strings.HasPrefix(target, "$") {
		if r.FailClosed {
			return nil, errors.New("fail_closed applies to SQL column rules only")
		}
		p, err := parsePath(target)
		if err != nil {
			return nil, fmt.Errorf("match %q: %v", r.Match, err)
		}
		cr.path = p
		return cr, nil
	}
	parts, err := splitSQL(target)
	if err != nil {
		return nil, fmt.Errorf("match %q: %v", r.Match, err)
	}
	cr.sql = parts
	return cr, nil
}

func validKind(k string) bool {
	for i := 0; i < len(k); i++ {
		c := k[i]
		if !isAlnum(c) && c != '_' && c != '-' && c != '.' {
			return false
		}
	}
	return len(k) <= 64
}

// sqlRule returns the first SQL rule for src on conn, or nil.
func (e *Engine) sqlRule(conn string, src SourceColumn) *rule {
	for _, r := range e.sqlRules {
		if globMatch(r.conn, conn) && globMatch(r.sql[0], src.Schema) &&
			globMatch(r.sql[1], src.Table) && globMatch(r.sql[2], src.Column) {
			return r
		}
	}
	return nil
}

// jsonRulesFor returns the JSON rules that apply on conn.
func (e *Engine) jsonRulesFor(conn string) []*rule {
	var out []*rule
	for _, r := range e.jsonRules {
		if globMatch(r.conn, conn) {
			out = append(out, r)
		}
	}
	return out
}

// tally accumulates a Report. Lookups are linear: a report has a handful of
// entries, and the last one hit is checked first because hits come in runs.
type tally struct {
	m    []Masked
	last int
}

func (t *tally) add(col, rule string, a Action, n int) {
	if t.last < len(t.m) {
		if x := &t.m[t.last]; x.Column == col && x.Rule == rule && x.Action == a {
			x.Count += n
			return
		}
	}
	for i := range t.m {
		if x := &t.m[i]; x.Column == col && x.Rule == rule && x.Action == a {
			x.Count += n
			t.last = i
			return
		}
	}
	t.last = len(t.m)
	t.m = append(t.m, Masked{Column: col, Rule: rule, Action: a, Count: n})
}

func (t *tally) report() Report { return Report{Masked: t.m} }

// hmacToken computes the Hash action's token.
func (e *Engine) hmacToken(v string) string {
	h := e.hmacs.Get().(hash.Hash)
	h.Reset()
	h.Write([]byte(v))
	var sum [sha256.Size]byte
	h.Sum(sum[:0])
	e.hmacs.Put(h)
	const hexd = "0123456789abcdef"
	var out [5 + 16]byte
	copy(out[:], "hmac:")
	for i := 0; i < 8; i++ {
		out[5+2*i] = hexd[sum[i]>>4]
		out[6+2*i] = hexd[sum[i]&15]
	}
	return string(out[:])
}
