package recorder

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"strconv"
	"time"
	"unicode/utf16"
	"unicode/utf8"
)

// Masker is a last line of defence over everything recorded: the recorder
// passes every string value of every payload through Text before hashing
// and storing it. Callers mask before recording; this catches what they
// missed (a detector-based masker is the usual choice).
type Masker interface {
	Text(s string) string
}

// MaskerFunc adapts a function to Masker.
type MaskerFunc func(string) string

// Text implements Masker.
func (f MaskerFunc) Text(s string) string { return f(s) }

// GenesisHash is the prev_hash of seq 1.
const GenesisHash = "0000000000000000000000000000000000000000000000000000000000000000"

// TimeFormat is the canonical time: UTC, always six fraction digits.
const TimeFormat = "2006-01-02T15:04:05.000000Z"

// truncMark ends a string the recorder cut to its bound.
const truncMark = "…[truncated]"

// canonicalizer writes payloads in canonical JSON (see README.md): object
// keys sorted by their UTF-8 bytes, no insignificant whitespace, strings
// escaped minimally, numbers as written by the producer.
type canonicalizer struct {
	mask      Masker
	maxString int
	// keep names top-level members whose strings mask leaves as they are
	// (see actorKeys).
	keep []string
}

// canonical re-encodes raw canonically. When cols is not nil it also
// fills it from the top level, for an intent's search columns.
func (c canonicalizer) canonical(raw []byte, cols *searchCols) ([]byte, error) {
	if len(bytes.TrimSpace(raw)) == 0 {
		raw = []byte("{}")
	}
	s := scannerPool.Get().(*canonScanner)
	defer s.release()
	s.in, s.pos, s.depth, s.mask, s.maxString, s.cols, s.keep = raw, 0, 0, c.mask, c.maxString, searchCols{}, c.keep
	s.out = make([]byte, 0, len(raw))
	ctx := ctxNone
	if cols != nil {
		ctx = ctxTop
	}
	if _, _, err := s.value(ctx); err != nil {
		return nil, err
	}
	// encoding/json's Decoder.More, which decided this before, reports
	// no more data at a closing bracket or brace too.
	s.skipSpace()
	if s.pos < len(s.in) && s.in[s.pos] != ']' && s.in[s.pos] != '}' {
		return nil, errTrailing
	}
	if cols != nil {
		*cols = s.cols
	}
	return s.out, nil
}

// appendString appends s quoted, escaping only what JSON requires: '"',
// '\\' and control characters below U+0020 (\b \f \n \r \t, else \u00xx
// with lower-case hex). Everything else, including non-ASCII, is written
// as UTF-8; invalid UTF-8 (a masker may return it) as U+FFFD.
func appendString(b []byte, s string) []byte {
	b = append(b, '"')
	for i := 0; i < len(s); {
		c := s[i]
		if c >= 0x20 && c != '"' && c != '\\' {
			if c < utf8.RuneSelf {
				b = append(b, c)
				i++
				continue
			}
			r, n := utf8.DecodeRuneInString(s[i:])
			if r == utf8.RuneError && n == 1 {
				b = append(b, "\ufffd"...) // invalid UTF-8 never reaches the hash
			} else {
				b = append(b, s[i:i+n]...)
			}
			i += n
			continue
		}
		b = appendEscape(b, c)
		i++
	}
	return append(b, '"')
}

func isHex(c byte) bool {
	return '0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F'
}

func hexVal(b []byte) rune {
	var r rune
	for _, c := range b[:4] {
		switch {
		case c <= '9':
			c -= '0'
		case c >= 'a':
			c -= 'a' - 10
		default:
			c -= 'A' - 10
		}
		r = r<<4 | rune(c)
	}
	return r
}

// u4 is encoding/json's getu4: the \uXXXX at s[0], or -1.
func u4(s []byte) rune {
	if len(s) < 6 || s[0] != '\\' || s[1] != 'u' {
		return -1
	}
	for _, c := range s[2:6] {
		if !isHex(c) {
			return -1
		}
	}
	return hexVal(s[2:6])
}

// unquoteTo appends the decoded content of a string scanString accepted,
// as encoding/json decodes it: invalid UTF-8 bytes and unpaired
// surrogates become U+FFFD, one per byte or escape.
func unquoteTo(dst, s []byte) []byte {
	for r := 0; r < len(s); {
		c := s[r]
		switch {
		case c == '\\':
			switch s[r+1] {
			case 'b':
				dst = append(dst, '\b')
			case 'f':
				dst = append(dst, '\f')
			case 'n':
				dst = append(dst, '\n')
			case 'r':
				dst = append(dst, '\r')
			case 't':
				dst = append(dst, '\t')
			case 'u':
				rr := hexVal(s[r+2:])
				r += 6
				if utf16.IsSurrogate(rr) {
					if dec := utf16.DecodeRune(rr, u4(s[r:])); dec != utf8.RuneError {
						dst = utf8.AppendRune(dst, dec)
						r += 6
						continue
					}
					rr = utf8.RuneError
				}
				dst = utf8.AppendRune(dst, rr)
				continue
			default: // '"', '\\', '/'
				dst = append(dst, s[r+1])
			}
			r += 2
		case c < utf8.RuneSelf:
			dst = append(dst, c)
			r++
		default:
			rr, size := utf8.DecodeRune(s[r:])
			if rr == utf8.RuneError && size == 1 {
				dst = append(dst, "\ufffd"...)
			} else {
				dst = append(dst, s[r:r+size]...)
			}
			r += size
		}
	}
	return dst
}

// appendQuoted is appendString for valid UTF-8 (decoded strings always
// are), optionally ending in the truncation mark.
func appendQuoted(b, s []byte, cut bool) []byte {
	b = append(b, '"')
	last := 0
	for i, c := range s {
		if c >= 0x20 && c != '"' && c != '\\' {
			continue
		}
		b = append(b, s[last:i]...)
		b = appendEscape(b, c)
		last = i + 1
	}
	b = append(b, s[last:]...)
	if cut {
		b = append(b, truncMark...)
	}
	return append(b, '"')
}

func appendEscape(b []byte, c byte) []byte {
	const hexd = "0123456789abcdef"
	switch c {
	case '"':
		return append(b, '\\', '"')
	case '\\':
		return append(b, '\\', '\\')
	case '\b':
		return append(b, '\\', 'b')
	case '\f':
		return append(b, '\\', 'f')
	case '\n':
		return append(b, '\\', 'n')
	case '\r':
		return append(b, '\\', 'r')
	case '\t':
		return append(b, '\\', 't')
	}
	return append(b, '\\', 'u', '0', '0', hexd[c>>4], hexd[c&0xf])
}

// cutUTF8 returns at most max bytes of s without splitting a character.
func cutUTF8[T string | []byte](s T, max int) T {
	if len(s) <= max {
		return s
	}
	for max > 0 && !utf8.RuneStart(s[max]) {
		max--
	}
	return s[:max]
}

// envelope writes one field of the hashed encoding: name, ':', the value's
// length in bytes (decimal), ':', the value, '\n'. Length prefixes make
// the encoding unambiguous with no escaping at all.
func envelope[T string | []byte](b []byte, name string, value T) []byte {
	b = append(b, name...)
	b = append(b, ':')
	b = strconv.AppendInt(b, int64(len(value)), 10)
	b = append(b, ':')
	b = append(b, value...)
	return append(b, '\n')
}

// hashPrefix starts every event's hashed encoding.
const hashPrefix = "airlock-event-v1\n"

// body is the hashed encoding of the fields between seq and prev_hash,
// which do not depend on the event's place in the chain; callers compute
// it before taking the chain head.
func body(r recordFields) []byte {
	// Names, separators and length prefixes take under 160 bytes: one
	// allocation holds the whole encoding.
	b := make([]byte, 0, 160+len(TimeFormat)+len(r.typ)+len(r.callID)+len(r.sessionID)+len(r.subject)+len(r.data))
	var ts [len(TimeFormat)]byte
	b = envelope(b, "time", r.time.UTC().AppendFormat(ts[:0], TimeFormat))
	b = envelope(b, "type", r.typ)
	b = envelope(b, "version", strconv.Itoa(r.version))
	b = envelope(b, "call_id", r.callID)
	b = envelope(b, "session_id", r.sessionID)
	b = envelope(b, "subject", r.subject)
	b = envelope(b, "verified", strconv.FormatBool(r.verified))
	b = envelope(b, "data", r.data)
	return b
}

type recordFields struct {
	time                       time.Time
	typ                        string
	version                    int
	callID, sessionID, subject string
	verified                   bool
	data                       []byte
}

// chainHash is the event hash: lower-case hex SHA-256 of
// "airlock-event-v1\n" + seq + body + prev_hash.
func chainHash(seq int64, body []byte, prev string) string {
	h := sha256.New()
	var b [96]byte
	h.Write([]byte(hashPrefix))
	h.Write(envelope(b[:0], "seq", strconv.FormatInt(seq, 10)))
	h.Write(body)
	h.Write(envelope(b[:0], "prev_hash", prev))
	return hex.EncodeToString(h.Sum(nil))
}

// HashEvent recomputes an event's hash from its fields, as verify does.
func HashEvent(e Event) string {
	return chainHash(e.Seq, body(fieldsOf(e)), e.PrevHash)
}

func fieldsOf(e Event) recordFields {
	return recordFields{time: e.Time, typ: e.Type, version: e.Version, callID: e.CallID,
		sessionID: e.SessionID, subject: e.Subject, verified: e.Verified, data: e.Data}
}
