package mask

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"
)

// Reports go to logs and recordings in clear, so no value may reach one,
// whatever masked it and wherever it sat.
func TestReportsHoldNoValues(t *testing.T) {
	secrets := []string{
		"4111111111111111", "DE89370400440532013000", "123-45-6789", "jane@example.com",
		"+4915112345678", testJWT, testGH, testSlack, testStripe, testAWSID, testAWSSec, "hunter2", "s3cr3t-value",
	}
	e := mustEngine(t, Config{HashKey: testKey, Rules: []Rule{
		{Name: "ssn", Match: "*:public.customers.ssn", FailClosed: true},
		{Name: "pw", Match: "*:public.customers.password", Action: Hash},
		{Name: "json-pw", Match: "$..password", Action: Partial},
		{Name: "notes", Match: "*:public.customers.notes", Action: Drop},
	}})
	text := strings.Join(secrets, " | ")
	var reps []Report
	_, rep := e.Text(text)
	reps = append(reps, rep)

	cols := []Column{
		{Name: "ssn", Source: src("public", "customers", "ssn")},
		{Name: "password", Source: src("public", "customers", "password")},
		{Name: "notes", Source: src("public", "customers", "notes")},
		{Name: "blob", Source: src("public", "customers", "blob")},
		{Name: "doc", Source: src("public", "customers", "doc")},
		{Name: "f", Inputs: []SourceColumn{{"public", "customers", "ssn"}}},
	}
	doc, _ := json.Marshal(map[string]any{"password": "hunter2", "list": secrets, "jane@example.com": "key"})
	rows := [][]any{{"123-45-6789", "hunter2", "s3cr3t-value", text, json.RawMessage(doc), "123-45-6789"}}
	_, out, rep := e.Table("db", cols, rows)
	reps = append(reps, rep)

	var v any
	_ = json.Unmarshal(doc, &v)
	jout, rep := e.JSON("db", v)
	reps = append(reps, rep)

	for i, rep := range reps {
		if len(rep.Masked) == 0 {
			t.Errorf("report %d is empty", i)
		}
		r := fmt.Sprintf("%+v %#v", rep, rep)
		for _, s := range secrets {
			if strings.Contains(r, s) {
				t.Errorf("report %d holds %q: %s", i, s, r)
			}
		}
	}
	// A bare AWS secret key and free-form passwords are not detectable
	// without a rule; everything else must be gone.
	all := fmt.Sprint(out) + fmt.Sprint(jout)
	for _, s := range secrets[:len(secrets)-3] {
		if strings.Contains(all, s) {
			t.Errorf("%q survived masking: %s", s, all)
		}
	}
}

func TestTableNoColumns(t *testing.T) {
	e := mustEngine(t, Config{})
	cols, out, rep := e.Table("db", nil, [][]any{{"a@b.io", 1}, {"x"}})
	if len(cols) != 0 || fmt.Sprint(out) != "[[[REDACTED:email] 1] [x]]" || len(rep.Masked) != 1 || rep.Masked[0].Column != "" {
		t.Errorf("got %v %v %+v", cols, out, rep)
	}
	if _, out, _ := e.Table("db", nil, nil); len(out) != 0 {
		t.Errorf("no rows: %v", out)
	}
}
