package postgres

import (
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"unicode/utf8"
)

// maxCell bounds one value in the text rendering; structuredContent keeps
// the whole value.
const maxCell = 200

// renderTable writes a compact pipe table an LLM reads well: a header with
// column types, one line per row, and a footer with the row count, the
// truncation note and the time spent.
func renderTable(rs *rowSet) string {
	var b strings.Builder
	if len(rs.Columns) == 0 {
		fmt.Fprintf(&b, "%s (%.1f ms)\n", rs.Command, float64(rs.Duration.Microseconds())/1000)
		return b.String()
	}
	for i, c := range rs.Columns {
		if i > 0 {
			b.WriteString(" | ")
		}
		b.WriteString(c.Name)
		b.WriteString(" (")
		b.WriteString(c.Type)
		b.WriteString(")")
	}
	b.WriteByte('\n')
	for _, row := range rs.Rows {
		for i, v := range row {
			if i > 0 {
				b.WriteString(" | ")
			}
			b.WriteString(cell(v))
		}
		b.WriteByte('\n')
	}
	n := len(rs.Rows)
	word := "rows"
	if n == 1 {
		word = "row"
	}
	fmt.Fprintf(&b, "(%d %s", n, word)
	if rs.Truncated {
		b.WriteString("; truncated: more rows exist, raise max_rows or narrow the query")
	}
	fmt.Fprintf(&b, "; %.1f ms)\n", float64(rs.Duration.Microseconds())/1000)
	return b.String()
}

func cell(v any) string {
	var s string
	switch x := v.(type) {
	case nil:
		return "NULL"
	case string:
		s = x
	case int64:
		return strconv.FormatInt(x, 10)
	case float64:
		return strconv.FormatFloat(x, 'g', -1, 64)
	case bool:
		return strconv.FormatBool(x)
	case json.Number:
		return x.String()
	case json.RawMessage:
		s = string(x)
	default:
		s = fmt.Sprint(x)
	}
	s = cellEscaper.Replace(s)
	if utf8.RuneCountInString(s) > maxCell {
		r := []rune(s)
		s = string(r[:maxCell]) + "…"
	}
	return s
}

var cellEscaper = strings.NewReplacer("\n", "\\n", "\r", "\\r", "|", "\\|")
