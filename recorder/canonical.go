package recorder

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"strconv"
	"time"
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
}

// canonical decodes raw and re-encodes it canonically. It also returns the
// decoded top level when it is an object, for the search columns.
func (c canonicalizer) canonical(raw []byte) ([]byte, map[string]any, error) {
	if len(bytes.TrimSpace(raw)) == 0 {
		raw = []byte("{}")
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return nil, nil, fmt.Errorf("recorder: payload is not JSON: %w", err)
	}
	if dec.More() {
		return nil, nil, errors.New("recorder: payload has data after the JSON value")
	}
	var buf bytes.Buffer
	buf.Grow(len(raw))
	if err := c.write(&buf, v); err != nil {
		return nil, nil, err
	}
	top, _ := v.(map[string]any)
	return buf.Bytes(), top, nil
}

func (c canonicalizer) write(b *bytes.Buffer, v any) error {
	switch x := v.(type) {
	case nil:
		b.WriteString("null")
	case bool:
		b.WriteString(strconv.FormatBool(x))
	case json.Number:
		b.WriteString(x.String())
	case string:
		if c.mask != nil {
			x = c.mask.Text(x)
		}
		if c.maxString > 0 && len(x) > c.maxString {
			x = cutUTF8(x, c.maxString) + truncMark
		}
		writeString(b, x)
	case []any:
		b.WriteByte('[')
		for i, e := range x {
			if i > 0 {
				b.WriteByte(',')
			}
			if err := c.write(b, e); err != nil {
				return err
			}
		}
		b.WriteByte(']')
	case map[string]any:
		keys := make([]string, 0, len(x))
		for k := range x {
			keys = append(keys, k)
		}
		sort.Strings(keys) // Go compares strings bytewise: UTF-8 order
		b.WriteByte('{')
		for i, k := range keys {
			if i > 0 {
				b.WriteByte(',')
			}
			writeString(b, k)
			b.WriteByte(':')
			if err := c.write(b, x[k]); err != nil {
				return err
			}
		}
		b.WriteByte('}')
	default:
		return fmt.Errorf("recorder: canonical: unexpected %T", v)
	}
	return nil
}

// writeString escapes only what JSON requires: '"', '\\' and control
// characters below U+0020 (\b \f \n \r \t, else \u00xx with lower-case
// hex). Everything else, including non-ASCII, is written as UTF-8.
func writeString(b *bytes.Buffer, s string) {
	const hexd = "0123456789abcdef"
	b.WriteByte('"')
	for i := 0; i < len(s); {
		c := s[i]
		if c >= 0x20 && c != '"' && c != '\\' {
			if c < utf8.RuneSelf {
				b.WriteByte(c)
				i++
				continue
			}
			r, n := utf8.DecodeRuneInString(s[i:])
			if r == utf8.RuneError && n == 1 {
				b.WriteString("\ufffd") // invalid UTF-8 never reaches the hash
			} else {
				b.WriteString(s[i : i+n])
			}
			i += n
			continue
		}
		switch c {
		case '"':
			b.WriteString(`\"`)
		case '\\':
			b.WriteString(`\\`)
		case '\b':
			b.WriteString(`\b`)
		case '\f':
			b.WriteString(`\f`)
		case '\n':
			b.WriteString(`\n`)
		case '\r':
			b.WriteString(`\r`)
		case '\t':
			b.WriteString(`\t`)
		default:
			b.WriteString(`\u00`)
			b.WriteByte(hexd[c>>4])
			b.WriteByte(hexd[c&0xf])
		}
		i++
	}
	b.WriteByte('"')
}

// cutUTF8 returns at most max bytes of s without splitting a character.
func cutUTF8(s string, max int) string {
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
func envelope(b []byte, name, value string) []byte {
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
	b := make([]byte, 0, 160+len(r.data))
	b = envelope(b, "time", r.time.UTC().Format(TimeFormat))
	b = envelope(b, "type", r.typ)
	b = envelope(b, "version", strconv.Itoa(r.version))
	b = envelope(b, "call_id", r.callID)
	b = envelope(b, "session_id", r.sessionID)
	b = envelope(b, "subject", r.subject)
	b = envelope(b, "verified", strconv.FormatBool(r.verified))
	b = envelope(b, "data", string(r.data))
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
