package mask

import (
	"errors"
	"strings"
	"testing"
)

var testKey = []byte("0123456789abcdef0123456789abcdef")

func TestNewRefusesBadRules(t *testing.T) {
	cases := []struct {
		rule Rule
		want string
	}{
		{Rule{Match: ""}, "match is empty"},
		{Rule{Match: "  "}, "match is empty"},
		{Rule{Match: "db:public.t.c", Action: "blur"}, `unknown action "blur"`},
		{Rule{Match: "db:public.t.c", Action: Hash}, "hash key"},
		{Rule{Match: "db:t.c"}, "want SCHEMA.TABLE.COLUMN"},
		{Rule{Match: "db:a.b.c.d"}, "got 4 part(s)"},
		{Rule{Match: "db:public..ssn"}, "part 2"},
		{Rule{Match: "db:public.t.card_[0-9]"}, "only the globs * and ?"},
		{Rule{Match: ":public.t.c"}, "connection: empty name"},
		{Rule{Match: `db:"unterminated.t.c`}, "unterminated quoted identifier"},
		{Rule{Match: "db:$"}, "selects the whole document"},
		{Rule{Match: "$.a..", Action: Redact}, "must be followed by a key"},
		{Rule{Match: "$.a[x]"}, "want [*], [N]"},
		{Rule{Match: "$.a[1"}, "unterminated '['"},
		{Rule{Match: "$.a.[b]"}, "empty key"},
		{Rule{Match: "$a"}, "unexpected 'a'"},
		{Rule{Match: "$..password", FailClosed: true}, "fail_closed applies to SQL"},
		{Rule{Match: "db:public.t.c", Kind: "bad kind]"}, "kind"},
	}
	for i, c := range cases {
		_, err := New(Config{Rules: []Rule{{Match: "*:*.*.ok"}, c.rule}})
		var re *RuleError
		if !errors.As(err, &re) {
			t.Errorf("case %d %q: err = %v, want a RuleError", i, c.rule.Match, err)
			continue
		}
		if re.Index != 1 || !strings.Contains(err.Error(), c.want) || !strings.HasPrefix(err.Error(), "mask: rule 1 (") {
			t.Errorf("case %d %q: err = %q, want rule 1 and %q", i, c.rule.Match, err, c.want)
		}
	}
	// Errors name the rule.
	_, err := New(Config{Rules: []Rule{{Name: "customers-ssn", Match: "x", Action: "nope"}}})
	if err == nil || !strings.Contains(err.Error(), `mask: rule 0 ("customers-ssn"): unknown action`) {
		t.Errorf("err = %v", err)
	}
	if _, err := New(Config{Rules: []Rule{{Match: "db:public.t.c", Action: Hash}}, HashKey: []byte("short")}); err == nil {
		t.Error("short hash key accepted")
	}
}

func TestNewAcceptsGoodRules(t *testing.T) {
	for _, m := range []string{
		"prod-db:public.customers.ssn",
		"*:*.*.card_*",
		"public.customers.ssn",
		`db:"odd.schema".t."col""q"`,
		"db-?:public.*.e?ail",
		"$..password",
		"api:$.data.*",
		"k8s:$.items[*].data",
		"k8s:$.items[0].spec..env[*].value",
		`$["kubectl.kubernetes.io/last-applied-configuration"]`,
		"$.a.**.token",
		"$..[*]",
		"$.sec*.tok?n",
	} {
		if _, err := New(Config{Rules: []Rule{{Match: m, Action: Hash}}, HashKey: testKey}); err != nil {
			t.Errorf("%q: %v", m, err)
		}
	}
}

func TestGlobMatch(t *testing.T) {
	cases := []struct {
		p, s string
		want bool
	}{
		{"*", "", true},
		{"*", "anything", true},
		{"card_*", "card_number", true},
		{"card_*", "card_", true},
		{"card_*", "card", false},
		{"*_card", "debit_card", true},
		{"c?rd", "card", true},
		{"c?rd", "crd", false},
		{"c?rd", "cärd", true},
		{"*num*", "card_number_hash", true},
		{"a*b*c", "axxbyyc", true},
		{"a*b*c", "axxbyy", false},
		{"ssn", "SSN", true},
		{"ssn", "ssn2", false},
		{"prod-*", "prod-db", true},
		{"prod-*", "staging-db", false},
	}
	for _, c := range cases {
		if got := globMatch(c.p, c.s); got != c.want {
			t.Errorf("globMatch(%q, %q) = %v, want %v", c.p, c.s, got, c.want)
		}
	}
}

func TestSQLRuleMatching(t *testing.T) {
	e := mustEngine(t, Config{Rules: []Rule{
		{Name: "prod-ssn", Match: "prod-db:public.customers.ssn"},
		{Name: "any-card", Match: "*:*.*.card_*", Action: Partial},
		{Name: "quoted", Match: `*:"my.schema".t.c`},
		{Name: "everywhere-email", Match: "*.*.email"},
	}})
	cases := []struct {
		conn string
		src  SourceColumn
		want string
	}{
		{"prod-db", SourceColumn{"public", "customers", "ssn"}, "prod-ssn"},
		{"prod-db", SourceColumn{"Public", "Customers", "SSN"}, "prod-ssn"},
		{"staging-db", SourceColumn{"public", "customers", "ssn"}, ""},
		{"prod-db", SourceColumn{"public", "employees", "ssn"}, ""},
		{"x", SourceColumn{"billing", "payments", "card_number"}, "any-card"},
		{"x", SourceColumn{"billing", "payments", "card"}, ""},
		{"x", SourceColumn{"my.schema", "t", "c"}, "quoted"},
		{"x", SourceColumn{"a", "b", "email"}, "everywhere-email"},
	}
	for _, c := range cases {
		got := ""
		if r := e.sqlRule(c.conn, c.src); r != nil {
			got = r.Name
		}
		if got != c.want {
			t.Errorf("sqlRule(%q, %+v) = %q, want %q", c.conn, c.src, got, c.want)
		}
	}
}

func TestPartial(t *testing.T) {
	for in, want := range map[string]string{
		"4111111111111111":        "************1111",
		"4111-1111-1111-1111":     "****-****-****-1111",
		"123-45-6789":             "***-**-6789",
		"+1 (202) 555-0123":       "+* (***) ***-0123",
		"1234567":                 "*******",
		"abc":                     "***",
		"":                        "",
		"Zoë Müller-Lüdenscheidt": "*** ******-********eidt",
	} {
		if got := partial(in); got != want {
			t.Errorf("partial(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestHash(t *testing.T) {
	a := mustEngine(t, Config{HashKey: testKey})
	b := mustEngine(t, Config{HashKey: []byte("another key, also long enough")})
	h1, h2 := a.hmacToken("123-45-6789"), a.hmacToken("123-45-6789")
	if h1 != h2 {
		t.Errorf("not stable: %q %q", h1, h2)
	}
	if !strings.HasPrefix(h1, "hmac:") || len(h1) != len("hmac:")+16 {
		t.Errorf("format: %q", h1)
	}
	if h1 == a.hmacToken("123-45-6780") {
		t.Error("different values hash alike")
	}
	if h1 == b.hmacToken("123-45-6789") {
		t.Error("hash does not depend on the key")
	}
	// Numbers and their text hash alike, so joins across types still work.
	if a.apply(Hash, "", int64(42)) != a.apply(Hash, "", "42") {
		t.Error("42 and \"42\" hash differently")
	}
	if a.apply(Hash, "", nil) != nil {
		t.Error("NULL hashed")
	}
}
