package recorder

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"strconv"
	"unicode/utf8"
)

// refCanonical is the decoder-based canonical encoder the single-pass one
// replaced, kept verbatim as the reference the differential tests hold
// the new one to: stored payloads and hashes must not change.
func refCanonical(c canonicalizer, raw []byte) ([]byte, map[string]any, error) {
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
	if err := refWrite(c, &buf, v); err != nil {
		return nil, nil, err
	}
	top, _ := v.(map[string]any)
	return buf.Bytes(), top, nil
}

func refWrite(c canonicalizer, b *bytes.Buffer, v any) error {
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
		refWriteString(b, x)
	case []any:
		b.WriteByte('[')
		for i, e := range x {
			if i > 0 {
				b.WriteByte(',')
			}
			if err := refWrite(c, b, e); err != nil {
				return err
			}
		}
		b.WriteByte(']')
	case map[string]any:
		keys := make([]string, 0, len(x))
		for k := range x {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		b.WriteByte('{')
		for i, k := range keys {
			if i > 0 {
				b.WriteByte(',')
			}
			refWriteString(b, k)
			b.WriteByte(':')
			if err := refWrite(c, b, x[k]); err != nil {
				return err
			}
		}
		b.WriteByte('}')
	default:
		return fmt.Errorf("recorder: canonical: unexpected %T", v)
	}
	return nil
}

func refWriteString(b *bytes.Buffer, s string) {
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
				b.WriteString("\ufffd")
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
