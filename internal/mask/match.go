package mask

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
	"unicode/utf8"
)

// splitMatch separates "CONNECTION:TARGET". A colon inside a quoted SQL
// identifier or a JSON path is part of the target, so only a colon before
// any '"' or '$' starts one.
func splitMatch(m string) (conn, target string) {
	m = strings.TrimSpace(m)
	for i := 0; i < len(m); i++ {
		switch m[i] {
		case '"', '$':
			return "*", m
		case ':':
			return strings.TrimSpace(m[:i]), strings.TrimSpace(m[i+1:])
		}
	}
	return "*", m
}

// checkGlob refuses what looks like a glob feature we do not have, so an
// operator who writes card_[0-9] learns it at startup rather than by a leak.
func checkGlob(g string) error {
	if g == "" {
		return errors.New("empty name")
	}
	if strings.ContainsAny(g, "[]{}\\") {
		return fmt.Errorf("%q: only the globs * and ? are supported", g)
	}
	return nil
}

// splitSQL parses SCHEMA.TABLE.COLUMN, where a part may be double-quoted
// ("" inside quotes is one quote) to hold dots.
func splitSQL(t string) ([]string, error) {
	var parts []string
	i := 0
	for {
		var part string
		if i < len(t) && t[i] == '"' {
			var b strings.Builder
			j := i + 1
			for {
				if j >= len(t) {
					return nil, errors.New("unterminated quoted identifier")
				}
				if t[j] == '"' {
					if j+1 < len(t) && t[j+1] == '"' {
						b.WriteByte('"')
						j += 2
						continue
					}
					j++
					break
				}
				b.WriteByte(t[j])
				j++
			}
			part, i = b.String(), j
			if part == "" {
				return nil, errors.New("empty quoted identifier")
			}
		} else {
			j := i
			for j < len(t) && t[j] != '.' {
				j++
			}
			part, i = t[i:j], j
			if err := checkGlob(part); err != nil {
				return nil, fmt.Errorf("part %d of SCHEMA.TABLE.COLUMN: %v", len(parts)+1, err)
			}
		}
		parts = append(parts, strings.ToLower(part))
		if i == len(t) {
			break
		}
		if t[i] != '.' {
			return nil, fmt.Errorf("unexpected %q after a quoted identifier", t[i])
		}
		i++
	}
	if len(parts) != 3 {
		return nil, fmt.Errorf("want SCHEMA.TABLE.COLUMN (use * for any part), got %d part(s)", len(parts))
	}
	return parts, nil
}

// Path segment kinds.
const (
	segKey   = iota // an object key (glob, or literal when quoted)
	segIndex        // one array index
	segAny          // any object key or array element
	segDesc         // zero or more levels
)

type pseg struct {
	kind uint8
	lit  bool // key is literal, not a glob
	key  string
	idx  int
}

// parsePath compiles a JSON path; see the package documentation.
func parsePath(p string) ([]pseg, error) {
	if p == "$" {
		return nil, errors.New("the path selects the whole document; name a field, e.g. $.password or $..password")
	}
	var segs []pseg
	i := 1
	name := func() error {
		j := i
		for j < len(p) && p[j] != '.' && p[j] != '[' {
			j++
		}
		k := p[i:j]
		switch {
		case k == "":
			return fmt.Errorf("path %q: empty key at offset %d", p, i)
		case k == "**":
			segs = append(segs, pseg{kind: segDesc})
		case k == "*":
			segs = append(segs, pseg{kind: segAny})
		default:
			if err := checkGlob(k); err != nil {
				return fmt.Errorf("path %q: key %v (quote odd keys: [\"a.b\"])", p, err)
			}
			segs = append(segs, pseg{kind: segKey, key: strings.ToLower(k)})
		}
		i = j
		return nil
	}
	for i < len(p) {
		switch p[i] {
		case '.':
			if i+1 < len(p) && p[i+1] == '.' {
				segs = append(segs, pseg{kind: segDesc})
				i += 2
				if i == len(p) {
					return nil, fmt.Errorf("path %q: '..' must be followed by a key", p)
				}
				if p[i] == '[' {
					continue
				}
			} else {
				i++
			}
			if err := name(); err != nil {
				return nil, err
			}
		case '[':
			end := closingBracket(p, i)
			if end < 0 {
				return nil, fmt.Errorf("path %q: unterminated '[' at offset %d", p, i)
			}
			in := p[i+1 : end]
			switch {
			case in == "*":
				segs = append(segs, pseg{kind: segAny})
			case len(in) >= 2 && (in[0] == '"' || in[0] == '\'') && in[len(in)-1] == in[0]:
				segs = append(segs, pseg{kind: segKey, lit: true, key: strings.ToLower(in[1 : len(in)-1])})
			default:
				n, err := strconv.Atoi(in)
				if err != nil || n < 0 {
					return nil, fmt.Errorf("path %q: [%s] at offset %d: want [*], [N] or [\"key\"]", p, in, i)
				}
				segs = append(segs, pseg{kind: segIndex, idx: n})
			}
			i = end + 1
		default:
			return nil, fmt.Errorf("path %q: unexpected %q at offset %d", p, p[i], i)
		}
	}
	return segs, nil
}

// closingBracket finds the ']' closing the '[' at i, skipping a quoted key.
func closingBracket(p string, i int) int {
	j := i + 1
	if j < len(p) && (p[j] == '"' || p[j] == '\'') {
		q := strings.IndexByte(p[j+1:], p[j])
		if q < 0 {
			return -1
		}
		j += q + 2
		if j < len(p) && p[j] == ']' {
			return j
		}
		return -1
	}
	q := strings.IndexByte(p[j:], ']')
	if q < 0 {
		return -1
	}
	return j + q
}

// matchKey reports whether segment s selects object key k.
func (s *pseg) matchKey(k string) bool {
	switch s.kind {
	case segAny:
		return true
	case segKey:
		if s.lit {
			return strings.EqualFold(s.key, k)
		}
		return globMatch(s.key, k)
	}
	return false
}

// matchIndex reports whether segment s selects array element i.
func (s *pseg) matchIndex(i int) bool {
	return s.kind == segAny || (s.kind == segIndex && s.idx == i)
}

// globMatch matches s against a lower-case glob with * and ?, folding
// ASCII case in s. It backtracks only to the last '*', so it is linear in
// practice.
func globMatch(p, s string) bool {
	if p == "*" {
		return true
	}
	px, sx := 0, 0
	starP, starS := -1, -1
	for px < len(p) || sx < len(s) {
		if px < len(p) {
			switch c := p[px]; c {
			case '*':
				starP, starS = px, sx
				px++
				continue
			case '?':
				if sx < len(s) {
					_, n := utf8.DecodeRuneInString(s[sx:])
					px++
					sx += n
					continue
				}
			default:
				if sx < len(s) && lower(s[sx]) == c {
					px++
					sx++
					continue
				}
			}
		}
		if starP >= 0 && starS < len(s) {
			_, n := utf8.DecodeRuneInString(s[starS:])
			starS += n
			px, sx = starP+1, starS
			continue
		}
		return false
	}
	return true
}

func lower(c byte) byte {
	if 'A' <= c && c <= 'Z' {
		return c + 'a' - 'A'
	}
	return c
}
