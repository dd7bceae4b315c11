package e2e

import (
	"strings"
	"testing"

	"github.com/mark3labs/mcp-go/mcp"
)

// writeForms are writes and privileged operations an agent might send as
// "a query". Every one must be refused, and the database must be exactly as
// it was afterwards.
var writeForms = []string{
	"DELETE FROM customers",
	"DELETE FROM customers WHERE id = 1",
	"/* harmless */ dElEtE   FROM   Customers -- trailing comment",
	"UPDATE customers SET name = 'x'",
	"UPDATE orders SET status = 'refunded' WHERE id = 3",
	"INSERT INTO customers (name, email) VALUES ('x', 'x@example.com')",
	"INSERT INTO orders (customer_id, status) SELECT id, 'paid' FROM customers",
	"MERGE INTO customers c USING (SELECT 1 AS id) s ON c.id = s.id WHEN MATCHED THEN DELETE",
	"TRUNCATE orders CASCADE",
	"DROP TABLE order_items",
	"CREATE TABLE evil (id int)",
	"ALTER TABLE customers ADD COLUMN evil int",
	"CREATE INDEX evil_idx ON customers (name)",
	"WITH gone AS (DELETE FROM orders RETURNING *) SELECT count(*) FROM gone",
	"SELECT 1; DELETE FROM customers",
	"EXPLAIN ANALYZE DELETE FROM customers",
	"SELECT * INTO evil_copy FROM customers",
	"SELECT * FROM customers FOR UPDATE",
	"SELECT set_config('default_transaction_read_only', 'off', false)",
	"SELECT pg_terminate_backend(pg_backend_pid())",
	"SELECT pg_catalog.pg_read_file('/etc/passwd')",
	"SELECT lo_import('/etc/passwd')",
	"SELECT lo_from_bytea(0, 'x')",
	"COPY customers TO '/tmp/airlock-e2e-customers'",
	"COPY customers FROM PROGRAM 'id'",
	"COPY orders FROM STDIN",
	"DO $$ BEGIN DELETE FROM customers; END $$",
	"CALL cleanup()",
	"GRANT ALL ON customers TO PUBLIC",
	"REVOKE SELECT ON customers FROM PUBLIC",
	"SET ROLE postgres",
	"SET default_transaction_read_only = off",
	"BEGIN; DELETE FROM customers; COMMIT",
	"COMMIT",
	"SELECT nextval('customers_id_seq')",
	"SELECT setval('customers_id_seq', 1)",
	"LOCK TABLE customers IN ACCESS EXCLUSIVE MODE",
	"VACUUM customers",
	"PREPARE p AS DELETE FROM customers",
	"SELECT query_to_xml('DELETE FROM customers', true, true, '')",
	"CREATE EXTENSION dblink",
	"NOTIFY evil",
	"CREATE FUNCTION f() RETURNS int LANGUAGE sql AS 'SELECT 1'",
	"ALTER ROLE CURRENT_USER SUPERUSER",
	"SELECT id FROM customers WHERE id IN (SELECT pg_terminate_backend(pid) FROM pg_stat_activity)",
}

func TestWritesAreRefusedAndNothingChanges(t *testing.T) {
	if len(writeForms) < 25 {
		t.Fatalf("only %d write forms", len(writeForms))
	}
	e := newEnv(t, "30s", "")
	before := e.fingerprint()
	for _, v := range protocols {
		c := e.client(v)
		for _, sql := range writeForms {
			res := call(t, c, "sql_query", map[string]any{"connection": "shop", "sql": sql})
			text := textOf(res)
			if !res.IsError {
				t.Errorf("%s: %q was not refused: %s", v, sql, text)
				continue
			}
			// Either the policy denies it, or it needs an approval that
			// no one can give here; both say why.
			if !strings.Contains(text, "denied by policy: ") && !strings.Contains(text, "this call needs approval (") {
				t.Errorf("%s: %q refused without a policy reason: %s", v, sql, text)
			}
		}
	}
	if after := e.fingerprint(); after != before {
		t.Fatalf("the database changed:\nbefore %s\nafter  %s", before, after)
	}
}

func TestRefusalsExplainWhy(t *testing.T) {
	e := newEnv(t, "30s", "")
	c := e.client(mcp.ProtocolVersion20260728)
	for _, tc := range []struct {
		sql  string
		want []string
	}{
		{"SELECT pg_read_file('/etc/passwd')", []string{"denied by policy: ", "pg_read_file", "[call_"}},
		{"DELETE FROM orders", []string{"this call needs approval (", "delete_without_where", "group:approvers",
			"is pending with", "APR-", "call sql_query again with exactly the same arguments", "[call_"}},
	} {
		res := call(t, c, "sql_query", map[string]any{"connection": "shop", "sql": tc.sql})
		text := textOf(res)
		for _, want := range tc.want {
			if !res.IsError || !strings.Contains(text, want) {
				t.Errorf("%q: refusal %q lacks %q", tc.sql, text, want)
			}
		}
	}
}
