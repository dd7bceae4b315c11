package mask

import (
	"fmt"
	"regexp"
	"slices"
	"strings"
)

// Built-in detector ids; the order is the order of Builtins.
const (
	detCard = iota
	detIBAN
	detSSN
	detEmail
	detPhone
	detJWT
	detPrivateKey
	detAWSKey
	detAWSSecret
	detGitHub
	detSlack
	detStripe
	numBuiltins
)

var builtinNames = [numBuiltins]string{
	detCard:       "card",
	detIBAN:       "iban",
	detSSN:        "ssn",
	detEmail:      "email",
	detPhone:      "phone",
	detJWT:        "jwt",
	detPrivateKey: "private_key",
	detAWSKey:     "aws_access_key",
	detAWSSecret:  "aws_secret_key",
	detGitHub:     "github_token",
	detSlack:      "slack_token",
	detStripe:     "stripe_key",
}

// Builtins returns the names of the built-in detectors, for Config.Detectors.
func Builtins() []string { return slices.Clone(builtinNames[:]) }

// Detector is an operator-defined content detector. Built-in detectors are
// enabled by name through Config.Detectors instead.
type Detector struct {
	Name string
	re   *regexp.Regexp
	// lit is the regexp's literal prefix, if any: text without it cannot
	// match, which spares running the regexp on most strings.
	lit string
}

// RegexDetector makes a detector that masks every non-empty match of the
// Go regexp pattern. Regexps cost far more than the built-in scanner, so
// prefer patterns that start with a literal: they are only run on text
// that contains it.
func RegexDetector(name, pattern string) (Detector, error) {
	if !validKind(name) || name == "" {
		return Detector{}, fmt.Errorf("mask: detector %q: name must be letters, digits, '_', '-' or '.'", name)
	}
	re, err := regexp.Compile(pattern)
	if err != nil {
		return Detector{}, fmt.Errorf("mask: detector %q: %v", name, err)
	}
	lit, _ := re.LiteralPrefix()
	return Detector{Name: name, re: re, lit: lit}, nil
}

func (e *Engine) setDetectors(enabled []string, custom []Detector) error {
	if enabled == nil {
		e.on = 1<<numBuiltins - 1
	}
	for _, n := range enabled {
		i := slices.Index(builtinNames[:], n)
		if i < 0 {
			return fmt.Errorf("mask: detector %q: unknown; built-ins are %s", n, strings.Join(builtinNames[:], ", "))
		}
		e.on |= 1 << i
	}
	e.names = append(e.names, builtinNames[:]...)
	for _, d := range custom {
		if d.re == nil {
			return fmt.Errorf("mask: detector %q: not made with RegexDetector", d.Name)
		}
		if slices.Contains(e.names, d.Name) {
			return fmt.Errorf("mask: detector %q: name already used", d.Name)
		}
		e.names = append(e.names, d.Name)
		e.custom = append(e.custom, d)
	}
	for _, n := range e.names {
		e.markers = append(e.markers, "[REDACTED:"+n+"]")
		e.boxed = append(e.boxed, e.markers[len(e.markers)-1])
		e.labels = append(e.labels, "detector:"+n)
	}
	e.buildTriggers()
	return nil
}

// span is a finding: s[start:end] is masked with detector det's marker.
type span struct {
	start, end int
	det        int
}

// addSpan appends sp, merging it with the spans it overlaps; spans stay
// sorted and disjoint as long as they arrive in order of their end.
func addSpan(spans []span, sp span) []span {
	for len(spans) > 0 {
		last := spans[len(spans)-1]
		if last.end <= sp.start {
			break
		}
		sp.start = min(sp.start, last.start)
		sp.end = max(sp.end, last.end)
		sp.det = last.det
		spans = spans[:len(spans)-1]
	}
	return append(spans, sp)
}

// normalize sorts spans and merges overlaps.
func normalize(spans []span) []span {
	slices.SortFunc(spans, func(a, b span) int { return a.start - b.start })
	out := spans[:0]
	for _, sp := range spans {
		if n := len(out); n > 0 && out[n-1].end > sp.start {
			out[n-1].end = max(out[n-1].end, sp.end)
			continue
		}
		out = append(out, sp)
	}
	return out
}

// recurBudget bounds the work of masking every recurrence of found values
// (findings times text length), so a text full of findings cannot make
// masking quadratic.
const recurBudget = 1 << 26

// find appends the findings in s to buf, which callers keep small and on
// their stack, and returns them sorted and disjoint. A value found once is
// also masked where it recurs in a context no detector recognises
// ("x4111111111111111"), so the text never gives it away.
func (e *Engine) find(s string, buf []span) []span {
	spans := e.scan(s, buf[:0])
	customs := false
	for i := range e.custom {
		d := &e.custom[i]
		if d.lit != "" && !strings.Contains(s, d.lit) {
			continue
		}
		for _, m := range d.re.FindAllStringIndex(s, -1) {
			if m[1] > m[0] {
				spans = append(spans, span{m[0], m[1], numBuiltins + i})
				customs = true
			}
		}
	}
	if customs {
		spans = normalize(spans)
	}
	n := len(spans)
	if n == 0 || n*len(s) > recurBudget {
		return spans
	}
	for i := 0; i < n; i++ {
		v := s[spans[i].start:spans[i].end]
		if len(v) == len(s) || slices.ContainsFunc(spans[:i], func(p span) bool { return s[p.start:p.end] == v }) {
			continue
		}
		for from := 0; ; from++ {
			j := strings.Index(s[from:], v)
			if j < 0 {
				break
			}
			from += j
			if !covered(spans[:n], from, from+len(v)) {
				spans = append(spans, span{from, from + len(v), spans[i].det})
			}
		}
	}
	if len(spans) > n {
		spans = normalize(spans)
	}
	return spans
}

// covered reports whether one of the sorted, disjoint spans holds [a, b).
func covered(spans []span, a, b int) bool {
	i, _ := slices.BinarySearchFunc(spans, a, func(p span, a int) int { return p.start - a })
	if i < len(spans) && spans[i].start == a {
		return spans[i].end >= b
	}
	return i > 0 && spans[i-1].end >= b
}

// redact returns s with the findings replaced by their markers.
func (e *Engine) redact(s string, spans []span) string {
	if len(spans) == 1 && spans[0].start == 0 && spans[0].end == len(s) {
		return e.markers[spans[0].det]
	}
	var b strings.Builder
	b.Grow(len(s) + 16*len(spans))
	prev := 0
	for _, sp := range spans {
		b.WriteString(s[prev:sp.start])
		b.WriteString(e.markers[sp.det])
		prev = sp.end
	}
	b.WriteString(s[prev:])
	return b.String()
}

// Text masks what the detectors find in free text: log lines, command
// output, error messages. Rules do not apply, having nothing to select.
func (e *Engine) Text(s string) (string, Report) {
	var buf [4]span
	spans := e.find(s, buf[:])
	if len(spans) == 0 {
		return s, Report{}
	}
	var t tally
	for _, sp := range spans {
		t.add("", e.labels[sp.det], Redact, 1)
	}
	return e.redact(s, spans), t.report()
}
