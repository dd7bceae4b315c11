package mask

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"unicode/utf8"
)

var fuzzSeeds = []string{
	"",
	"card 4111 1111 1111 1111 exp 12/25",
	"x4111111111111111 then 4111111111111111",
	"iban DE89 3704 0044 0532 0130 00 and GB82WEST12345698765432",
	"ssn 123-45-6789, phone +44 (0)20 7946 0958, (202) 555-0123",
	"jane.doe@example.com wrote to a+b@mail.example.co.uk",
	"Bearer " + testJWT,
	testPEM,
	testPEM[:50],
	"AKIA" + "IOSFODNN7EXAMPLE aws_secret_access_key=" + testAWSSec,
	testGH + " " + testGHPat + " " + testSlack + " " + testStripe,
	"2024-03-04T10:15:30Z 192.168.1.1 ORD-2024-000123 v1.2.3 $1,234.56",
	"-----BEGIN PRIVATE KEY-----4111111111111111-----END PRIVATE KEY-----",
	"+1 202 555 0123 4 5 6 7 8 9 0 1 2",
}

// leaked returns a value that find reports in s and that out still holds.
func leaked(e *Engine, s, out string) (string, bool) {
	for _, sp := range e.find(s, nil) {
		if v := s[sp.start:sp.end]; strings.Contains(out, v) {
			return v, true
		}
	}
	return "", false
}

func FuzzText(f *testing.F) {
	for _, s := range fuzzSeeds {
		f.Add(s)
	}
	e := mustEngine(f, Config{})
	f.Fuzz(func(t *testing.T, s string) {
		out, rep := e.Text(s)
		if v, ok := leaked(e, s, out); ok {
			t.Fatalf("Text(%q) = %q still holds %q", s, out, v)
		}
		for _, sp := range e.find(s, nil) {
			if v := s[sp.start:sp.end]; strings.Contains(fmt.Sprintf("%+v", rep), v) {
				t.Fatalf("report %+v holds %q", rep, v)
			}
		}
		if len(e.find(s, nil)) == 0 && out != s {
			t.Fatalf("Text(%q) = %q without findings", s, out)
		}
	})
}

// strs collects the strings of a decoded JSON value: keys, string values
// and the text of numbers.
func strs(v any, out []string) []string {
	switch x := v.(type) {
	case string:
		return append(out, x)
	case json.Number:
		return append(out, string(x))
	case map[string]any:
		for k, c := range x {
			out = strs(c, append(out, k))
		}
	case []any:
		for _, c := range x {
			out = strs(c, out)
		}
	}
	return out
}

func decodeNumbers(b []byte) (any, error) {
	d := json.NewDecoder(bytes.NewReader(b))
	d.UseNumber()
	var v any
	if err := d.Decode(&v); err != nil {
		return nil, err
	}
	if d.More() {
		return nil, fmt.Errorf("trailing data")
	}
	return v, nil
}

func FuzzJSON(f *testing.F) {
	for _, s := range fuzzSeeds {
		b, _ := json.Marshal(map[string]any{"a": s, "list": []any{s, map[string]any{s: 1}}})
		f.Add(b)
	}
	f.Add([]byte(`{"n": 4111111111111111, "password": "x", "deep": [{"password": {"a": 1}}]}`))
	f.Add([]byte(`[1, "jane@example.com", null, true, {"token": "` + testJWT + `"}]`))
	e := mustEngine(f, Config{HashKey: testKey, Rules: []Rule{
		{Match: "$..password"},
		{Match: "$..token", Action: Hash},
		{Match: "$.deep[*].x", Action: Drop},
		{Match: "$.list[1]", Action: Partial},
	}})
	f.Fuzz(func(t *testing.T, b []byte) {
		in, err := decodeNumbers(b)
		out, rep := e.JSON("c", json.RawMessage(b))
		if err != nil || !utf8.Valid(b) {
			return // not a JSON document: masked as text, covered by FuzzText
		}
		raw, ok := out.(json.RawMessage)
		if !ok {
			t.Fatalf("JSON(raw) returned %T", out)
		}
		got, err := decodeNumbers(raw)
		if err != nil {
			t.Fatalf("output is not JSON: %v\n%s", err, raw)
		}
		// A value is only promised to be masked in the strings where a
		// detector finds it; check the values that no input string holds
		// without it being found.
		ins := strs(in, nil)
		found := map[string]bool{}
		foundIn := make([]map[string]bool, len(ins))
		for i, s := range ins {
			foundIn[i] = map[string]bool{}
			for _, sp := range e.find(s, nil) {
				found[s[sp.start:sp.end]] = true
				foundIn[i][s[sp.start:sp.end]] = true
			}
		}
		for i, s := range ins {
			for v := range found {
				if strings.Contains(s, v) && !foundIn[i][v] {
					delete(found, v)
				}
			}
		}
		outs := strs(got, nil)
		r := fmt.Sprintf("%+v", rep)
		for v := range found {
			for _, s := range outs {
				if strings.Contains(s, v) {
					t.Fatalf("output string %q holds %q\nin:  %s\nout: %s", s, v, b, raw)
				}
			}
			if strings.Contains(r, v) {
				t.Fatalf("report %s holds %q", r, v)
			}
		}
	})
}
