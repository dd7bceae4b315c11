package recorder

import (
	"bytes"
	"errors"
	"fmt"
	"slices"
	"sync"
	"unicode/utf8"
)

// The canonical encoder is a single pass over the payload: decoding it
// into map[string]any first (as encoding/json does) cost most of the
// recorder's CPU per call. Every rule below reproduces what
// encoding/json's decoder accepts and decodes to, so the stored bytes (and
// hashes) are the same as they were with the decoder; the differential
// tests in canonical_fast_test.go hold it to that.

// maxDepth is encoding/json's nesting limit: deeper payloads were errors.
const maxDepth = 10000

// searchCols are the values searchColumns reads from an intent, taken from
// the top-level object as decoded, before masking and cutting (as the
// decoded map was). The last of duplicate keys wins, as in a map.
type searchCols struct {
	tool, conn      string
	decision        bool // the last "decision" is an object
	allow, approval bool
}

// columns returns what searchColumns returns for the decoded payload.
func (s *searchCols) columns() (tool, conn, decision string) {
	if s.decision {
		decision = (&DecisionData{Allow: s.allow, RequireApproval: s.approval}).Outcome()
	}
	return s.tool, s.conn, decision
}

// Capture contexts: where a value sits, for the search columns.
const (
	ctxNone     = iota
	ctxTop      // the payload's top level
	ctxDecision // the top-level object's "decision" member
)

// Kinds of value, as far as the search columns care.
const (
	kindOther = iota
	kindString
	kindTrue
	kindObject
)

type member struct {
	kStart, kEnd int // the decoded key in canonScanner.keys
	start, end   int // `"key":value` in canonScanner.out
}

type canonScanner struct {
	in        []byte
	pos       int
	out       []byte
	keys      []byte   // decoded keys of the open objects, innermost last
	mems      []member // members of the open objects, innermost last
	tmp       []byte   // an object's members while they are reordered
	str       []byte   // the string value being decoded
	mask      Masker
	maxString int
	cols      searchCols // filled when the caller wants them
	depth     int
	keep      []string // top-level members not masked
}

var scannerPool = sync.Pool{New: func() any { return new(canonScanner) }}

// maxPooled bounds the scratch a pooled scanner keeps: one huge payload
// should not pin its buffers for the life of the process.
const maxPooled = 1 << 20

func (s *canonScanner) release() {
	s.in, s.out, s.mask, s.cols, s.keep = nil, nil, nil, searchCols{}, nil
	if cap(s.tmp) > maxPooled || cap(s.str) > maxPooled || cap(s.keys) > maxPooled || cap(s.mems) > maxPooled/32 {
		return
	}
	s.keys, s.mems, s.tmp, s.str = s.keys[:0], s.mems[:0], s.tmp[:0], s.str[:0]
	scannerPool.Put(s)
}

func (s *canonScanner) fail(what string) error {
	if s.pos >= len(s.in) {
		return fmt.Errorf("recorder: payload is not JSON: unexpected end of JSON input (%s)", what)
	}
	return fmt.Errorf("recorder: payload is not JSON: invalid character %q at offset %d (%s)", s.in[s.pos], s.pos, what)
}

func (s *canonScanner) skipSpace() {
	for s.pos < len(s.in) {
		switch s.in[s.pos] {
		case ' ', '\t', '\n', '\r':
			s.pos++
		default:
			return
		}
	}
}

// value encodes the value at s.pos. For a string it also returns the
// decoded (unmasked, uncut) bytes, valid until the next string.
func (s *canonScanner) value(ctx int) (kind int, str []byte, err error) {
	s.skipSpace()
	if s.pos >= len(s.in) {
		return 0, nil, s.fail("looking for beginning of value")
	}
	switch c := s.in[s.pos]; c {
	case '{':
		return kindObject, nil, s.object(ctx)
	case '[':
		return kindOther, nil, s.array()
	case '"':
		str, err = s.stringValue()
		return kindString, str, err
	case 't':
		return kindTrue, nil, s.literal("true")
	case 'f':
		return kindOther, nil, s.literal("false")
	case 'n':
		return kindOther, nil, s.literal("null")
	default:
		if c == '-' || c >= '0' && c <= '9' {
			return kindOther, nil, s.number()
		}
		return 0, nil, s.fail("looking for beginning of value")
	}
}

func (s *canonScanner) literal(lit string) error {
	if !bytes.HasPrefix(s.in[s.pos:], []byte(lit)) {
		for i := 0; i < len(lit) && s.pos < len(s.in) && s.in[s.pos] == lit[i]; i++ {
			s.pos++
		}
		return s.fail("in literal " + lit)
	}
	s.out = append(s.out, lit...)
	s.pos += len(lit)
	return nil
}

// number checks the JSON number grammar and writes the number as written.
func (s *canonScanner) number() error {
	start, in := s.pos, s.in
	p := s.pos
	if in[p] == '-' {
		p++
	}
	digits := func() bool {
		q := p
		for p < len(in) && in[p] >= '0' && in[p] <= '9' {
			p++
		}
		return p > q
	}
	switch {
	case p < len(in) && in[p] == '0':
		p++
	case !digits():
		s.pos = p
		return s.fail("in numeric literal")
	}
	if p < len(in) && in[p] == '.' {
		p++
		if !digits() {
			s.pos = p
			return s.fail("after decimal point in numeric literal")
		}
	}
	if p < len(in) && (in[p] == 'e' || in[p] == 'E') {
		p++
		if p < len(in) && (in[p] == '+' || in[p] == '-') {
			p++
		}
		if !digits() {
			s.pos = p
			return s.fail("in exponent of numeric literal")
		}
	}
	s.out = append(s.out, in[start:p]...)
	s.pos = p
	return nil
}

func (s *canonScanner) array() error {
	if s.depth++; s.depth > maxDepth {
		return s.fail("exceeded max depth")
	}
	s.pos++
	s.out = append(s.out, '[')
	s.skipSpace()
	if s.pos < len(s.in) && s.in[s.pos] == ']' {
		s.pos++
	} else {
		for {
			if _, _, err := s.value(ctxNone); err != nil {
				return err
			}
			s.skipSpace()
			if s.pos < len(s.in) && s.in[s.pos] == ',' {
				s.pos++
				s.out = append(s.out, ',')
				continue
			}
			if s.pos < len(s.in) && s.in[s.pos] == ']' {
				s.pos++
				break
			}
			return s.fail("after array element")
		}
	}
	s.out = append(s.out, ']')
	s.depth--
	return nil
}

func (s *canonScanner) object(ctx int) error {
	if s.depth++; s.depth > maxDepth {
		return s.fail("exceeded max depth")
	}
	s.pos++
	s.out = append(s.out, '{')
	body, memBase, keyBase := len(s.out), len(s.mems), len(s.keys)
	if ctx == ctxDecision {
		s.cols.allow, s.cols.approval = false, false // a later "decision" replaces an earlier one
	}
	s.skipSpace()
	if s.pos < len(s.in) && s.in[s.pos] == '}' {
		s.pos++
	} else {
		for {
			s.skipSpace()
			if s.pos >= len(s.in) || s.in[s.pos] != '"' {
				return s.fail("looking for beginning of object key string")
			}
			kStart := len(s.keys)
			var err error
			if s.keys, err = s.decodeString(s.keys); err != nil {
				return err
			}
			kEnd := len(s.keys)
			s.skipSpace()
			if s.pos >= len(s.in) || s.in[s.pos] != ':' {
				return s.fail("after object key")
			}
			s.pos++
			if len(s.mems) > memBase {
				s.out = append(s.out, ',')
			}
			start := len(s.out)
			s.out = appendQuoted(s.out, s.keys[kStart:kEnd], false)
			s.out = append(s.out, ':')
			child := ctxNone
			if ctx == ctxTop && string(s.keys[kStart:kEnd]) == "decision" {
				child = ctxDecision
			}
			mask := s.mask
			if s.depth == 1 && mask != nil && len(s.keep) > 0 && slices.Contains(s.keep, string(s.keys[kStart:kEnd])) {
				s.mask = nil
			}
			kind, str, err := s.value(child)
			s.mask = mask
			if err != nil {
				return err
			}
			s.mems = append(s.mems, member{kStart: kStart, kEnd: kEnd, start: start, end: len(s.out)})
			if ctx != ctxNone {
				s.capture(ctx, s.keys[kStart:kEnd], kind, str)
			}
			s.skipSpace()
			if s.pos < len(s.in) && s.in[s.pos] == ',' {
				s.pos++
				continue
			}
			if s.pos < len(s.in) && s.in[s.pos] == '}' {
				s.pos++
				break
			}
			return s.fail("after object key:value pair")
		}
		s.sortMembers(body, memBase)
	}
	s.out = append(s.out, '}')
	s.mems, s.keys = s.mems[:memBase], s.keys[:keyBase]
	s.depth--
	return nil
}

// capture keeps what searchColumns would read from the decoded map.
func (s *canonScanner) capture(ctx int, key []byte, kind int, str []byte) {
	c := &s.cols
	if ctx == ctxTop {
		switch string(key) {
		case "tool":
			c.tool = ""
			if kind == kindString {
				c.tool = string(str)
			}
		case "connection":
			c.conn = ""
			if kind == kindString {
				c.conn = string(str)
			}
		case "decision":
			c.decision = kind == kindObject
			if !c.decision {
				c.allow, c.approval = false, false
			}
		}
		return
	}
	switch string(key) {
	case "allow":
		c.allow = kind == kindTrue
	case "require_approval":
		c.approval = kind == kindTrue
	}
}

// sortMembers puts the members of the object whose body starts at
// out[body] in key order, keeping only the last of duplicate keys.
func (s *canonScanner) sortMembers(body, memBase int) {
	mems := s.mems[memBase:]
	key := func(m member) []byte { return s.keys[m.kStart:m.kEnd] }
	ordered := true
	for i := 1; i < len(mems); i++ {
		if bytes.Compare(key(mems[i-1]), key(mems[i])) >= 0 {
			ordered = false
			break
		}
	}
	if ordered {
		return
	}
	s.tmp = append(s.tmp[:0], s.out[body:]...)
	s.out = s.out[:body]
	slices.SortFunc(mems, func(a, b member) int {
		if c := bytes.Compare(key(a), key(b)); c != 0 {
			return c
		}
		return a.start - b.start // input order among duplicates
	})
	first := true
	for i, m := range mems {
		if i+1 < len(mems) && bytes.Equal(key(m), key(mems[i+1])) {
			continue // a later duplicate wins
		}
		if !first {
			s.out = append(s.out, ',')
		}
		first = false
		s.out = append(s.out, s.tmp[m.start-body:m.end-body]...)
	}
}

// stringValue encodes the string at s.pos: decoded, masked, cut to
// s.maxString and escaped, as the decoder and appendString did.
func (s *canonScanner) stringValue() ([]byte, error) {
	start := s.pos
	end, plain, err := s.scanString()
	if err != nil {
		return nil, err
	}
	dec := s.in[start+1 : end]
	if !plain {
		s.str = unquoteTo(s.str[:0], dec)
		dec = s.str
	}
	if s.mask != nil {
		v := s.mask.Text(string(dec))
		if s.maxString > 0 && len(v) > s.maxString {
			v = cutUTF8(v, s.maxString) + truncMark
		}
		s.out = appendString(s.out, v)
		return dec, nil
	}
	switch {
	case s.maxString > 0 && len(dec) > s.maxString:
		s.out = appendQuoted(s.out, cutUTF8(dec, s.maxString), true)
	case plain:
		s.out = append(s.out, s.in[start:end+1]...) // nothing to decode or escape
	default:
		s.out = appendQuoted(s.out, dec, false)
	}
	return dec, nil
}

// decodeString appends the decoded string at s.pos to dst.
func (s *canonScanner) decodeString(dst []byte) ([]byte, error) {
	start := s.pos
	end, plain, err := s.scanString()
	if err != nil {
		return dst, err
	}
	if plain {
		return append(dst, s.in[start+1:end]...), nil
	}
	return unquoteTo(dst, s.in[start+1:end]), nil
}

// scanString checks the string at s.pos (its opening quote), leaves s.pos
// after it and returns the index of the closing quote. plain means
// printable ASCII without escapes: the decoded string is the raw bytes.
func (s *canonScanner) scanString() (end int, plain bool, err error) {
	in := s.in
	p := s.pos + 1
	plain = true
	for p < len(in) {
		c := in[p]
		switch {
		case c == '"':
			s.pos = p + 1
			return p, plain, nil
		case c == '\\':
			plain = false
			if p+1 >= len(in) {
				s.pos = p + 1
				return 0, false, s.fail("in string escape code")
			}
			switch in[p+1] {
			case 'b', 'f', 'n', 'r', 't', '\\', '/', '"':
				p += 2
			case 'u':
				for i := 2; i < 6; i++ {
					if p+i >= len(in) || !isHex(in[p+i]) {
						s.pos = p + i
						return 0, false, s.fail(`in \u hexadecimal character escape`)
					}
				}
				p += 6
			default:
				s.pos = p + 1
				return 0, false, s.fail("in string escape code")
			}
		case c < 0x20:
			s.pos = p
			return 0, false, s.fail("in string literal")
		default:
			if c >= utf8.RuneSelf {
				plain = false
			}
			p++
		}
	}
	s.pos = p
	return 0, false, s.fail("in string literal")
}

var errTrailing = errors.New("recorder: payload has data after the JSON value")
