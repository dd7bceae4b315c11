package recorder

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/airlockhq/airlock/connectors"
)

// canonCases are payloads where a hand-written encoder could part from
// encoding/json's decoding: each must come out byte for byte as the
// reference does, or fail where it fails.
var canonCases = []string{
	"", " ", "\t\r\n ", "\v", "\u00a0", "\u0085", " \u00a0 {}", "\ufeff{}",
	`{}`, `[]`, `null`, `true`, `false`, `0`, `-0`, `-0.0`, `1e5`, `1E+5`, `1e-05`, `-1.5E-300`,
	`123456789012345678901234567890.123456789e+999`, `0.1`, `01`, `-`, `1.`, `.5`, `1e`, `1e+`, `+1`, `--1`, `0x10`,
	`  {"a":1}  `, "\n[1,2]\n", `{"a":1} x`, `{"a":1}}`, `{"a":1}]`, `{"a":1} ] junk`, `[1]]`, `"s"}`, `1}`, `1 ]`,
	`1x`, `1 2`, `true false`, `truex`, `tru`, `nul`, `nulll`, `{} {}`, `{},`, `[1,]`, `[,1]`, `{"a":1,}`, `{,}`,
	`{"a"}`, `{"a" 1}`, `{a:1}`, `{'a':1}`, `[1 2]`, `{"a":1 "b":2}`, `[`, `{`, `{"a":`, `"abc`, `"\`, `"\u12`, `"\u12G4"`,
	`"\x"`, `"\'"`, "\"a\x00b\"", "\"tab\there\"", "\"\x1f\"", "\"\x7f\"",
	`{"b":1,"a":2}`, `{"a":1,"a":2}`, `{"a":{"x":1},"a":[2]}`, `{"a":1,"\u0061":2}`, `{"b":1,"a":2,"b":3,"a":4,"c":5}`,
	`{"\u00e9":1,"e":2,"z":3,"É":4,"😀":5,"\uffff":6,"Z":7,"":8}`, `{"":1,"":2}`,
	`{"\n":1,"A":2,"\\":3,"\"":4,"\u0000":5,"/":6,"\/":7}`,
	`{"k\u0000ey":"v\u0000al","\u001f":"\u001F"}`,
	`"\/\\\"\b\f\n\r\t"`, `"\u0041\u00e9\u4e2d\uFFFD\ufffe"`, `"\u003c\u003e\u0026\u2028\u2029"`,
	`"\ud83d\ude00"`, `"\uD83D\uDE00"`, `"\ud83d"`, `"\ude00"`, `"\ude00\ud83d"`, `"\ud83d\u0041"`, `"\ud83d\ud83d\ude00"`,
	`"\ud83dx"`, `"\ud83d\n"`, `"\ud83d\"`, `"\ud83d\ude0"`, `"\udbff\udfff"`, `"\ud800\udc00"`, `"\ud800\ud800"`,
	"\"\xff\"", "\"a\xffb\xfe\"", "\"\xc3\"", "\"\xc3\xa9\"", "\"\xe2\x82\"", "\"\xed\xa0\x80\"", "\"\xf4\x90\x80\x80\"",
	"\"\xef\xbf\xbd\"", "{\"\xff\":\"\xfe\"}", "{\"\xff\":1,\"\xfe\":2}", "\xff", "{\"a\":1}\xff", "{\"a\":1} \xff",
	`"héllo wörld 中文 😀"`, `"ascii only"`, `"with \"quotes\" and \\ backslash"`,
	`[[[[[[[[[[1]]]]]]]]]]`, `{"a":{"b":{"c":{"d":[{"e":null}]}}}}`, `[{"b":1,"a":2},{"d":[3,{"z":1,"y":2}],"c":4}]`,
	`{"z":{"b":1,"a":2},"y":[{"d":1,"c":2}],"x":"s"}`,
	`{"tool":"sql_query","connection":"prod","decision":{"allow":true,"require_approval":false}}`,
	`{"decision":{"allow":true},"tool":1,"connection":null}`,
	`{"decision":{"allow":true},"decision":{"require_approval":true}}`,
	`{"decision":{"allow":true},"decision":null}`, `{"decision":[{"allow":true}]}`,
	`{"decision":{"allow":"true","require_approval":1}}`, `{"decision":{"allow":true,"allow":false}}`,
	`{"decision":{"require_approval":true,"x":{"allow":false}}}`, `{"decision":{}}`,
	`{"tool":"a","tool":"b","connection":"c","connection":{"x":1}}`, `{"t\u006fol":"esc\u00e9","connection":"\ud83d"}`,
	`{"x":{"tool":"inner","decision":{"allow":true}}}`, `[{"tool":"in array"}]`, `"tool"`,
	`{"tool":"0123456789abcdef0123456789","connection":"éééééééééé"}`,
	`{"long":"` + strings.Repeat("é", 20) + `","mix":"ab😀cd😀ef","esc":"\u00e9\u00e9\u00e9\n\n"}`,
	`{"n":[-0,0e0,1.0e-0,9007199254740993,-9223372036854775809,1E400]}`,
	strings.Repeat("[", 10000) + strings.Repeat("]", 10000),
	strings.Repeat("[", 10001) + strings.Repeat("]", 10001),
	strings.Repeat(`{"a":`, 10000) + "1" + strings.Repeat("}", 10000),
	strings.Repeat(`{"a":`, 10001) + "1" + strings.Repeat("}", 10001),
	strings.Repeat("[", 10001),
}

// canonMaskers are nil and maskers whose output needs the escaping and
// the UTF-8 repair the encoder applies after masking.
var canonMaskers = []Masker{
	nil,
	MaskerFunc(func(s string) string { return s }),
	MaskerFunc(func(s string) string { return strings.ReplaceAll(s, "a", "[masked]") }),
	MaskerFunc(func(s string) string { return s + "\xff\"\n\x01é" }),
	MaskerFunc(func(s string) string { return strings.Repeat(s, 3) }),
	MaskerFunc(func(string) string { return "" }),
}

var canonMax = []int{0, 1, 2, 3, 4, 5, 8, 13, 64}

// checkCanonical runs both encoders on raw and reports any difference in
// output, error, or search columns.
func checkCanonical(t *testing.T, raw []byte, c canonicalizer) {
	t.Helper()
	want, top, werr := refCanonical(c, raw)
	var cols searchCols
	got, gerr := c.canonical(raw, &cols)
	if (werr == nil) != (gerr == nil) {
		t.Fatalf("input %q (max %d, mask %v): error %v, reference error %v", raw, c.maxString, c.mask != nil, gerr, werr)
	}
	if gerr != nil {
		if !strings.HasPrefix(gerr.Error(), "recorder: payload is not JSON") && gerr.Error() != errTrailing.Error() {
			t.Fatalf("input %q: error %q lacks the package prefix", raw, gerr)
		}
		return
	}
	if !bytes.Equal(got, want) {
		t.Fatalf("input %q (max %d, mask %v):\n got %q\nwant %q", raw, c.maxString, c.mask != nil, got, want)
	}
	gt, gc, gd := cols.columns()
	wt, wc, wd := searchColumns(top)
	if gt != wt || gc != wc || gd != wd {
		t.Fatalf("input %q: search columns %q %q %q, reference %q %q %q", raw, gt, gc, gd, wt, wc, wd)
	}
	again, err := c.canonical(raw, nil)
	if err != nil || !bytes.Equal(again, got) {
		t.Fatalf("input %q: without search columns: %q, %v", raw, again, err)
	}
}

func TestCanonicalMatchesDecoder(t *testing.T) {
	inputs := append([]string{}, canonCases...)
	for _, p := range benchPayloads(t) {
		inputs = append(inputs, string(p))
	}
	for _, in := range inputs {
		for _, m := range canonMaskers {
			for _, max := range canonMax {
				checkCanonical(t, []byte(in), canonicalizer{mask: m, maxString: max})
			}
		}
	}
}

func FuzzCanonical(f *testing.F) {
	for i, in := range canonCases {
		if len(in) < 1000 {
			f.Add([]byte(in), uint8(i), uint8(i))
		}
	}
	for _, p := range benchPayloads(f) {
		f.Add(p, uint8(0), uint8(0))
	}
	f.Fuzz(func(t *testing.T, raw []byte, mask, max uint8) {
		c := canonicalizer{mask: canonMaskers[int(mask)%len(canonMaskers)]}
		if max%2 == 1 {
			c.maxString = int(max / 2)
		}
		checkCanonical(t, raw, c)
	})
}

// benchPayloads are an intent and a result as internal/gateway records
// them for a SQL query returning 50 rows.
func benchPayloads(tb testing.TB) [][]byte {
	intent, err := json.Marshal(IntentData{
		Tool: "sql_query", Connection: "prod-db",
		Arguments: map[string]any{
			"sql":    "SELECT o.id, o.customer_email, o.total, o.status, o.created_at FROM orders o JOIN customers c ON c.id = o.customer_id WHERE o.created_at > $1 AND c.region = $2 ORDER BY o.created_at DESC LIMIT 50",
			"params": []any{"2026-01-01", "eu-west"}, "max_rows": 50, "connection": "prod-db",
		},
		Action: &connectors.Action{ReadOnly: true, Risk: connectors.RiskLow, Flags: []string{},
			Statements: []connectors.Statement{{Kind: "select", ReadOnly: true, TablesRead: []string{"orders", "customers"},
				TablesWritten: []string{}, Functions: []string{}}}},
		Decision: &DecisionData{Allow: true, Reasons: []string{"reads on prod-db are allowed for the analysts group"},
			MaxRows: 1000, TimeoutMS: 30000, Policy: "sha256:9f2c1e7b4d5a6c3e8f1a2b3c4d5e6f708192a3b4c5d6e7f8091a2b3c4d5e6f70"},
	})
	if err != nil {
		tb.Fatal(err)
	}
	rows := make([][]any, 50)
	for i := range rows {
		rows[i] = []any{1000 + i, "[masked:email]", fmt.Sprintf("%d.%02d", 10+i*7, i), []string{"paid", "shipped", "open"}[i%3],
			time.Date(2026, 3, 1, 12, i, 0, 0, time.UTC).Format(time.RFC3339)}
	}
	type column struct {
		Name string `json:"name"`
		Type string `json:"type"`
	}
	content, _, _, err := Excerpt(map[string]any{
		"command": "SELECT 50", "row_count": len(rows), "truncated": false, "duration_ms": 3.214, "rows": rows,
		"columns": []column{{"id", "int8"}, {"customer_email", "text"}, {"total", "numeric"}, {"status", "text"}, {"created_at", "timestamptz"}},
	}, 64<<10)
	if err != nil {
		tb.Fatal(err)
	}
	result, err := json.Marshal(ResultData{Status: "ok", Rows: 50, Bytes: int64(len(content)), DurationMS: 4.75, Content: content})
	if err != nil {
		tb.Fatal(err)
	}
	return [][]byte{intent, result}
}

func BenchmarkCanonical(b *testing.B) {
	payloads := benchPayloads(b)
	for i, name := range []string{"intent", "result"} {
		raw := payloads[i]
		for _, masked := range []bool{false, true} {
			c := canonicalizer{maxString: 64 << 10}
			suffix := ""
			if masked {
				c.mask, suffix = MaskerFunc(func(s string) string { return s }), "/identity-mask"
			}
			b.Run(name+suffix+"/reference", func(b *testing.B) {
				b.ReportAllocs()
				b.SetBytes(int64(len(raw)))
				for b.Loop() {
					if _, _, err := refCanonical(c, raw); err != nil {
						b.Fatal(err)
					}
				}
			})
			b.Run(name+suffix+"/single-pass", func(b *testing.B) {
				b.ReportAllocs()
				b.SetBytes(int64(len(raw)))
				var cols searchCols
				want := &cols
				if name != "intent" {
					want = nil
				}
				for b.Loop() {
					if _, err := c.canonical(raw, want); err != nil {
						b.Fatal(err)
					}
				}
			})
		}
	}
}
