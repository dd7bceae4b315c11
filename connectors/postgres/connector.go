package postgres

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/airlockhq/airlock/connectors"
	"github.com/airlockhq/airlock/internal/config"
	"github.com/airlockhq/airlock/tools"
)

// Kind is the connection kind this package registers.
const Kind = "postgres"

func init() { connectors.Register(Kind, Open) }

// Conn is one configured PostgreSQL connection.
type Conn struct {
	name    string
	labels  map[string]string
	pool    *pgxpool.Pool
	types   typeNames
	cache   *classCache
	lineage *lineage
	// sessionTimeout is the statement_timeout every pooled session starts with.
	sessionTimeout time.Duration
}

// Open creates the pool for c. It does not wait for the database: a database
// that is down makes calls fail with a clear error while the gateway keeps
// serving other connections.
func Open(ctx context.Context, c config.Connection) (connectors.Connection, error) {
	dsn := c.DSN.Value()
	if dsn == "" {
		return nil, fmt.Errorf("postgres: open: connection %q has no dsn", c.Name)
	}
	pc, err := pgxpool.ParseConfig(dsn)
	if err != nil {
		// pgx's message can quote the DSN, password included: never pass it on.
		return nil, fmt.Errorf("postgres: open: connection %q: the dsn (%s) is not a valid PostgreSQL connection string", c.Name, c.DSN.Ref)
	}
	if c.Pool.MaxConns > 0 {
		pc.MaxConns = c.Pool.MaxConns
	}
	if c.Pool.MinConns >= 0 && c.Pool.MinConns <= pc.MaxConns {
		pc.MinConns = c.Pool.MinConns
	}
	if pc.ConnConfig.RuntimeParams == nil {
		pc.ConnConfig.RuntimeParams = map[string]string{}
	}
	if _, ok := pc.ConnConfig.RuntimeParams["application_name"]; !ok {
		pc.ConnConfig.RuntimeParams["application_name"] = "airlock"
	}
	// Sessions start with the connection's statement timeout, so a call
	// with the default limit needs no SET LOCAL of its own.
	sessionTimeout := c.Limits.StatementTimeout.D()
	if sessionTimeout > 0 {
		pc.ConnConfig.RuntimeParams["statement_timeout"] = strconv.FormatInt(sessionTimeout.Milliseconds(), 10)
	}
	pool, err := pgxpool.NewWithConfig(ctx, pc)
	if err != nil {
		return nil, fmt.Errorf("postgres: open: connection %q: %w", c.Name, err)
	}
	return &Conn{name: c.Name, labels: c.Labels, pool: pool, cache: newClassCache(4096), lineage: newLineage(),
		sessionTimeout: sessionTimeout}, nil
}

// Name implements connectors.Connection.
func (c *Conn) Name() string { return c.name }

// Kind implements connectors.Connection.
func (c *Conn) Kind() string { return Kind }

// Labels implements connectors.Connection.
func (c *Conn) Labels() map[string]string { return c.labels }

// Ping implements connectors.Connection.
func (c *Conn) Ping(ctx context.Context) error {
	if err := c.pool.Ping(ctx); err != nil {
		return fmt.Errorf("postgres: ping %s: %w", c.name, err)
	}
	return nil
}

// Close implements connectors.Connection.
func (c *Conn) Close() error { c.pool.Close(); return nil }

// catalogAction is what the metadata tools do: read the system catalogs.
var catalogAction = &connectors.Action{
	ReadOnly: true, Risk: connectors.RiskLow, Flags: []string{"catalog"},
	Statements: []connectors.Statement{{Kind: "catalog", ReadOnly: true,
		TablesRead: []string{"pg_catalog"}, TablesWritten: []string{}, Functions: []string{}}},
}

// explainUnsafe are the flags that keep EXPLAIN from being harmless: the
// planner can evaluate functions, so a call that names these is judged as if
// it ran.
var explainUnsafe = []string{"privileged_function", "side_effect_function", "dynamic_sql",
	"server_file_access", "server_program", "opaque", "untrusted_language", "role_change", "privilege_change"}

// Classify implements connectors.Connection.
func (c *Conn) Classify(_ context.Context, op connectors.Operation) (*connectors.Action, error) {
	switch op.Tool {
	case "sql_list_schemas", "sql_list_tables", "sql_describe_table":
		return catalogAction, nil
	case "sql_query":
		return c.classify(op)
	case "sql_explain":
		a, err := c.classify(op)
		if err != nil {
			return nil, err
		}
		return explainAction(a), nil
	}
	return nil, fmt.Errorf("postgres: classify: tool %s is not a SQL tool", op.Tool)
}

// explainAction is what sql_explain does with a statement: plan it. What
// the statement would write is irrelevant, but the planner may evaluate
// functions, so a statement that names dangerous ones keeps its full
// classification and is judged as if it ran.
func explainAction(a *connectors.Action) *connectors.Action {
	if len(a.Statements) != 1 {
		return a // refused at execution: one statement per call
	}
	for _, f := range explainUnsafe {
		if a.HasFlag(f) {
			x := *a
			x.ReadOnly = false
			x.Flags = append([]string{"explain_only"}, a.Flags...)
			return &x
		}
	}
	in := a.Statements[0]
	st := connectors.Statement{Kind: "explain", ReadOnly: true, TablesWritten: []string{},
		TablesRead: append(append([]string{}, in.TablesRead...), in.TablesWritten...),
		Functions:  in.Functions, Location: in.Location, Length: in.Length}
	return &connectors.Action{ReadOnly: true, Risk: connectors.RiskLow, Flags: []string{"explain_only"},
		Statements: []connectors.Statement{st}}

}

func (c *Conn) classify(op connectors.Operation) (*connectors.Action, error) {
	sql, _ := op.Args[tools.ArgSQL].(string)
	if a, ok := c.cache.get(sql); ok {
		return a, nil
	}
	a, err := Classify(sql)
	if err != nil {
		return nil, err
	}
	c.cache.put(sql, a)
	return a, nil
}

// classCache keeps recent classifications: agents repeat the same statement
// texts (with different params), and parsing is the largest fixed cost of a
// read. Cached actions are shared and must not be modified.
type classCache struct {
	mu  sync.RWMutex
	max int
	m   map[string]*connectors.Action
}

func newClassCache(max int) *classCache {
	return &classCache{max: max, m: make(map[string]*connectors.Action, 64)}
}

func (cc *classCache) get(sql string) (*connectors.Action, bool) {
	cc.mu.RLock()
	a, ok := cc.m[sql]
	cc.mu.RUnlock()
	return a, ok
}

func (cc *classCache) put(sql string, a *connectors.Action) {
	if len(sql) > 64<<10 {
		return
	}
	cc.mu.Lock()
	if len(cc.m) >= cc.max {
		// Dropping everything is crude but bounded and cheap; a working set
		// larger than the cache just parses again.
		cc.m = make(map[string]*connectors.Action, 64)
	}
	cc.m[sql] = a
	cc.mu.Unlock()
}

// Execute implements connectors.Connection.
func (c *Conn) Execute(ctx context.Context, op connectors.Operation, a *connectors.Action, lim connectors.Limits) (*connectors.Result, error) {
	switch op.Tool {
	case "sql_query":
		return c.query(ctx, op, a, lim)
	case "sql_explain":
		return c.explain(ctx, op, a, lim)
	case "sql_list_schemas":
		return c.listSchemas(ctx, lim)
	case "sql_list_tables":
		return c.listTables(ctx, op, lim)
	case "sql_describe_table":
		return c.describeTable(ctx, op, lim)
	}
	return nil, fmt.Errorf("postgres: execute: tool %s is not a SQL tool", op.Tool)
}

// statementText returns the single statement of sql, without its trailing
// semicolon. Calls carry one statement: stacking several in one string is
// how injected SQL rides along with an innocent one.
func statementText(sql string, a *connectors.Action) (string, int, error) {
	if len(a.Statements) != 1 {
		return "", 0, &connectors.Error{Code: "invalid",
			Message: fmt.Sprintf("the SQL holds %d statements; send one statement per call", len(a.Statements))}
	}
	st := a.Statements[0]
	start, end := st.Location, len(sql)
	if st.Length > 0 && start+st.Length <= len(sql) {
		end = start + st.Length
	}
	if start < 0 || start > end {
		return "", 0, errors.New("postgres: statement location out of range")
	}
	return strings.TrimRight(sql[start:end], "; \t\r\n"), start, nil
}
