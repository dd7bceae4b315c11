package mask

import (
	"encoding/json"
	"fmt"
	"reflect"
	"slices"
	"strings"
	"testing"
)

func decode(t testing.TB, s string) any {
	t.Helper()
	var v any
	if err := json.Unmarshal([]byte(s), &v); err != nil {
		t.Fatal(err)
	}
	return v
}

func encode(t testing.TB, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func TestJSONPathRules(t *testing.T) {
	doc := `{
	  "kind": "SecretList",
	  "items": [
	    {"metadata": {"name": "db", "annotations": {"kubectl.kubernetes.io/last-applied-configuration": "{}"}},
	     "data": {"password": "aHVudGVyMg==", "user": "YWRtaW4="}},
	    {"metadata": {"name": "api"}, "data": {"token": "dG9r"}}
	  ],
	  "spec": {"containers": [{"env": [{"name": "A", "value": "1"}, {"name": "B", "value": "2"}]}]},
	  "deep": {"a": {"b": {"Password": "p1", "c": [{"password": "p2"}]}}},
	  "secretToken": "t1", "secretTakan": "t2",
	  "list": [10, 20, 30]
	}`
	cases := []struct {
		name  string
		rules []Rule
		want  string // a fragment the output must contain
		gone  string // a fragment it must not
	}{
		{"nested keys", []Rule{{Match: "$.items[*].data.password"}}, `"password":"[REDACTED:password]","user":"YWRtaW4="`, "aHVudGVyMg=="},
		{"any member", []Rule{{Match: "k8s:$.items[*].data.*"}}, `"data":{"token":"[REDACTED:token]"}`, "YWRtaW4="},
		{"whole subtree", []Rule{{Match: "$.items[*].data", Kind: "secret"}}, `"data":"[REDACTED:secret]"`, "dG9r"},
		{"index", []Rule{{Match: "$.items[1].data.token"}}, `"token":"[REDACTED:token]"`, "dG9r"},
		{"any depth", []Rule{{Match: "$..password"}}, `{"password":"[REDACTED:password]"}`, "p2"},
		{"any depth, case-insensitive", []Rule{{Match: "$..password"}}, `"Password":"[REDACTED:password]"`, "p1"},
		{"double star", []Rule{{Match: "$.deep.**.c"}}, `"c":"[REDACTED:c]"`, "p2"},
		{"quoted key", []Rule{{Match: `$..["kubectl.kubernetes.io/last-applied-configuration"]`, Action: Drop}}, `"annotations":{}`, "last-applied"},
		{"glob key", []Rule{{Match: "$.secret*"}}, `"secretTakan":"[REDACTED:secrettakan]"`, "t1"},
		{"question mark", []Rule{{Match: "$.secretT?ken"}}, `"secretToken":"[REDACTED:secrettoken]"`, `"t1"`},
		{"array elements", []Rule{{Match: "$.spec.containers[*].env[*].value", Action: Drop}}, `"env":[{"name":"A"},{"name":"B"}]`, `"value"`},
		{"drop array element", []Rule{{Match: "$.list[1]", Action: Drop}}, `"list":[10,30]`, "20"},
		{"first rule wins", []Rule{{Name: "a", Match: "$..token", Kind: "first"}, {Name: "b", Match: "$..token", Action: Drop}}, `"token":"[REDACTED:first]"`, "dG9r"},
		{"other connection", []Rule{{Match: "other:$..password"}}, `"aHVudGVyMg=="`, "[REDACTED"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			e := mustEngine(t, Config{Rules: c.rules, Detectors: []string{}})
			in := decode(t, doc)
			before := encode(t, in)
			out, _ := e.JSON("k8s", in)
			got := encode(t, out)
			if !strings.Contains(got, c.want) || strings.Contains(got, c.gone) {
				t.Errorf("got %s\nwant it to contain %s and not %s", got, c.want, c.gone)
			}
			if encode(t, in) != before {
				t.Error("input modified")
			}
		})
	}
}

func TestJSONDetectorsAndReport(t *testing.T) {
	e := mustEngine(t, Config{HashKey: testKey, Rules: []Rule{
		{Name: "pw", Match: "$..password"},
		{Name: "uid", Match: "$.users[*].id", Action: Hash},
	}})
	in := decode(t, `{
	  "users": [
	    {"id": 7, "email": "jane@example.com", "password": "hunter2", "bio": "call +44 20 7946 0958"},
	    {"id": 8, "email": "john@example.com", "password": null, "bio": "card 4111111111111111"}
	  ],
	  "jane@example.com": {"note": "keyed by email"},
	  "n": 4111111111111111,
	  "ok": "nothing here"
	}`)
	out, rep := e.JSON("api", in)
	got := encode(t, out)
	secrets := []string{"jane@example.com", "john@example.com", "hunter2", "+44 20 7946 0958", "4111111111111111", "4.111111111111111e+15"}
	for _, s := range secrets {
		if strings.Contains(got, s) {
			t.Errorf("%q survived: %s", s, got)
		}
		if r := fmt.Sprintf("%+v", rep); strings.Contains(r, s) {
			t.Errorf("report holds %q: %s", s, r)
		}
	}
	m := out.(map[string]any)
	if m["ok"] != "nothing here" {
		t.Errorf("untouched field changed: %v", m["ok"])
	}
	u := m["users"].([]any)
	if u[1].(map[string]any)["password"] != nil {
		t.Error("null password became a value")
	}
	if id := u[0].(map[string]any)["id"]; id != e.hmacToken("7") {
		t.Errorf("hashed id %v", id)
	}
	if _, ok := m["[REDACTED:email]"]; !ok {
		t.Errorf("email key not masked: %v", m)
	}
	want := []Masked{
		{Column: "$.*", Rule: "detector:email", Action: Redact, Count: 1},
		{Column: "$.n", Rule: "detector:card", Action: Redact, Count: 1},
		{Column: "$.users[*].bio", Rule: "detector:card", Action: Redact, Count: 1},
		{Column: "$.users[*].bio", Rule: "detector:phone", Action: Redact, Count: 1},
		{Column: "$.users[*].email", Rule: "detector:email", Action: Redact, Count: 2},
		{Column: "$.users[*].id", Rule: "uid", Action: Hash, Count: 2},
		{Column: "$.users[*].password", Rule: "pw", Action: Redact, Count: 1},
	}
	if !slices.Equal(rep.Masked, want) {
		t.Errorf("report\n got %+v\nwant %+v", rep.Masked, want)
	}
}

func TestJSONInputForms(t *testing.T) {
	e := mustEngine(t, Config{Rules: []Rule{{Match: "$.token", Action: Drop}}})
	raw := json.RawMessage(`{"token":"x","email":"jane@example.com","n":1.50}`)
	out, _ := e.JSON("c", raw)
	if got := string(out.(json.RawMessage)); got != `{"email":"[REDACTED:email]","n":1.50}` {
		t.Errorf("raw: %s", got)
	}
	same := json.RawMessage(`{"a": 1}`)
	if out, _ := e.JSON("c", same); !reflect.DeepEqual(out, same) {
		t.Errorf("unchanged raw JSON rewritten: %s", out)
	}
	bad := json.RawMessage(`{"a": "jane@example.com"`)
	if out, _ := e.JSON("c", bad); string(out.(json.RawMessage)) != `{"a": "[REDACTED:email]"` {
		t.Errorf("invalid JSON: %s", out)
	}
	type user struct {
		Email string `json:"email"`
		Token string `json:"token"`
	}
	out, _ = e.JSON("c", user{"jane@example.com", "t"})
	if got := string(out.(json.RawMessage)); got != `{"email":"[REDACTED:email]"}` {
		t.Errorf("struct: %s", got)
	}
	if out, _ := e.JSON("c", "mail jane@example.com"); out != "mail [REDACTED:email]" {
		t.Errorf("string: %v", out)
	}
	if out, _ := e.JSON("c", nil); out != nil {
		t.Errorf("nil: %v", out)
	}
}

func TestJSONKeyCollisions(t *testing.T) {
	e := mustEngine(t, Config{})
	in := map[string]any{"a@example.com": 1, "b@example.com": 2}
	out, _ := e.JSON("c", in)
	want := map[string]any{"[REDACTED:email]": 1, "[REDACTED:email]#2": 2}
	if !reflect.DeepEqual(out, want) {
		t.Errorf("got %v, want %v", out, want)
	}
}

func TestJSONDropRoot(t *testing.T) {
	e := mustEngine(t, Config{Rules: []Rule{{Match: "$.**", Action: Drop}}})
	if out, rep := e.JSON("c", map[string]any{"a": 1}); out != nil || len(rep.Masked) != 1 {
		t.Errorf("got %v %+v", out, rep)
	}
}
