package e2e

import (
	"context"
	"encoding/json"
	"strings"
	"testing"

	"github.com/mark3labs/mcp-go/mcp"
)

const maskingYAML = `masking:
  rules:
    - {name: customers-ssn, match: "shop:public.customers.ssn", action: redact, kind: ssn, fail_closed: true}
    - {name: customers-email, match: "shop:public.customers.email", action: hash}
    - {name: customers-card, match: "shop:public.customers.card_number", action: partial}
  hash_key: env:AIRLOCK_TEST_MASK_KEY
`

func rawJSON(t *testing.T, r *mcp.CallToolResult) string {
	b, err := json.Marshal(r)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func TestMaskingFollowsTheDataNotTheName(t *testing.T) {
	t.Setenv("AIRLOCK_TEST_MASK_KEY", "an-e2e-hash-key-of-enough-bytes")
	e := newEnvWith(t, "30s", "", maskingYAML)
	c := e.client(mcp.ProtocolVersion20260728)

	// The clear values, read past the gateway, that must never come back.
	var secrets []string
	rows, err := e.admin.Query(context.Background(), "SELECT ssn, card_number, email FROM customers")
	if err != nil {
		t.Fatal(err)
	}
	for rows.Next() {
		var ssn, card, email string
		if err := rows.Scan(&ssn, &card, &email); err != nil {
			t.Fatal(err)
		}
		secrets = append(secrets, ssn, card, email)
	}
	rows.Close()

	for _, tc := range []struct {
		name, sql string
		col       int
		want      func(string) bool
		rule      string
	}{
		{"alias", "SELECT id, ssn AS note FROM customers ORDER BY id LIMIT 3", 1,
			func(v string) bool { return v == "[REDACTED:ssn]" }, "customers-ssn"},
		{"join", "SELECT o.id, c.card_number FROM orders o JOIN customers c ON c.id = o.customer_id ORDER BY o.id LIMIT 5", 1,
			func(v string) bool {
				return strings.HasPrefix(v, "*") && len(v) >= 13 && !strings.Contains(v[:len(v)-4], "1")
			}, "customers-card"},
		{"view", "SELECT email FROM customer_orders ORDER BY order_id LIMIT 3", 0,
			func(v string) bool { return strings.HasPrefix(v, "hmac:") }, "customers-email"},
		{"subquery", "SELECT x FROM (SELECT ssn AS x FROM customers) s LIMIT 2", 0,
			func(v string) bool { return v == "[REDACTED:ssn]" }, "customers-ssn"},
		{"computed upper", "SELECT upper(ssn) AS u FROM customers LIMIT 2", 0,
			func(v string) bool { return strings.HasPrefix(v, "[REDACTED") }, "customers-ssn"},
		{"computed concat", "SELECT ssn || '' AS v FROM customers LIMIT 2", 0,
			func(v string) bool { return strings.HasPrefix(v, "[REDACTED") }, "customers-ssn"},
		{"computed cast", "SELECT ssn::varchar(20) AS w FROM customers LIMIT 2", 0,
			func(v string) bool { return strings.HasPrefix(v, "[REDACTED") }, "customers-ssn"},
		{"detector on computed", "SELECT 'pay with ' || card_number AS txt FROM customers LIMIT 2", 0,
			func(v string) bool { return strings.Contains(v, "[REDACTED:card]") }, "detector:card"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			res := call(t, c, "sql_query", map[string]any{"connection": "shop", "sql": tc.sql})
			var out queryOut
			structured(t, res, &out)
			if res.IsError || len(out.Rows) == 0 {
				t.Fatalf("%s: %s", tc.sql, textOf(res))
			}
			for _, row := range out.Rows {
				v, _ := row[tc.col].(string)
				if !tc.want(v) {
					t.Errorf("%s: value %q not masked as expected", tc.sql, v)
				}
			}
			raw := rawJSON(t, res)
			for _, s := range secrets {
				if strings.Contains(raw, s) {
					t.Fatalf("%s: a clear value reached the agent: %s", tc.sql, raw)
				}
			}
			if !strings.Contains(raw, `"rule":"`+tc.rule+`"`) || !strings.Contains(textOf(res), "masked:") {
				t.Errorf("%s: the result does not say that %s masked it: %s", tc.sql, tc.rule, textOf(res))
			}
		})
	}

	// Hashing is stable, so equality survives: the same customer's email
	// hashes alike through the view and the table.
	a := call(t, c, "sql_query", map[string]any{"connection": "shop", "sql": "SELECT email FROM customers WHERE id = 7"})
	b := call(t, c, "sql_query", map[string]any{"connection": "shop", "sql": "SELECT email FROM customer_orders WHERE customer_id = 7 LIMIT 1"})
	var oa, ob queryOut
	structured(t, a, &oa)
	structured(t, b, &ob)
	if len(oa.Rows) != 1 || len(ob.Rows) != 1 || oa.Rows[0][0] != ob.Rows[0][0] {
		t.Fatalf("hash tokens differ: %v vs %v", oa.Rows, ob.Rows)
	}

	// An error message that echoes a value is masked too.
	res := call(t, c, "sql_query", map[string]any{"connection": "shop", "sql": "SELECT '4111111111111111'::int"})
	if !res.IsError || strings.Contains(textOf(res), "4111111111111111") || !strings.Contains(textOf(res), "[REDACTED:card]") {
		t.Fatalf("error message: %s", textOf(res))
	}
	// Columns without rules and without detectable content stay as they are.
	res = call(t, c, "sql_query", map[string]any{"connection": "shop", "sql": "SELECT name, status FROM customer_orders WHERE order_id = 1"})
	var plain queryOut
	structured(t, res, &plain)
	if n, _ := plain.Rows[0][0].(string); strings.Contains(n, "REDACTED") || n == "" {
		t.Fatalf("an unmasked column was touched: %v", plain.Rows)
	}
}
