package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/mark3labs/mcp-go/client"
	"github.com/mark3labs/mcp-go/client/transport"
	"github.com/mark3labs/mcp-go/mcp"

	"github.com/airlockhq/airlock/internal/app"
	"github.com/airlockhq/airlock/internal/config"
	"github.com/airlockhq/airlock/internal/testenv"
	airmcp "github.com/airlockhq/airlock/mcp"
)

var binary string // the airlock binary, built once for the package

func TestMain(m *testing.M) {
	os.Exit(func() int {
		dir, err := os.MkdirTemp("", "airlock-e2e-bin")
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			return 1
		}
		defer os.RemoveAll(dir)
		binary = filepath.Join(dir, "airlock")
		_, file, _, _ := runtime.Caller(0)
		root := filepath.Join(filepath.Dir(file), "..", "..")
		cmd := exec.Command("go", "build", "-o", binary, "./cmd/airlock")
		cmd.Dir = root
		cmd.Stdout, cmd.Stderr = os.Stderr, os.Stderr
		if err := cmd.Run(); err != nil {
			fmt.Fprintln(os.Stderr, "e2e: building airlock:", err)
			return 1
		}
		return testenv.Main(m)
	}())
}

// env is one gateway in process over a fresh seeded database.
type env struct {
	t     *testing.T
	db    testenv.DB
	cfg   *config.Config
	url   string
	admin *pgx.Conn
	app   *app.App
}

// yamlConfig renders a configuration file for the database; extra is
// appended to the connection list.
func yamlConfig(db testenv.DB, statementTimeout string, extra string) string {
	return fmt.Sprintf(`listen: 127.0.0.1:0
identity:
  dev_identity: alice@example.com
log:
  level: warn
approvals:
  hold: 100ms # approval-bound calls answer with their request id at once
limits:
  statement_timeout: %s
connections:
  - name: shop
    kind: postgres
    description: test shop database
    labels: {env: dev, team: payments}
    dsn: env:AIRLOCK_TEST_SHOP_DSN
%s`, statementTimeout, extra)
}

func newEnv(t *testing.T, statementTimeout, extra string) *env {
	return newEnvWith(t, statementTimeout, extra, "")
}

// newEnvWith adds top-level YAML (policy:, masking:) to the configuration.
func newEnvWith(t *testing.T, statementTimeout, extra, topLevel string) *env {
	t.Helper()
	db := testenv.Postgres(t).NewDatabase(t)
	t.Setenv("AIRLOCK_TEST_SHOP_DSN", db.AppDSN)
	// The store and the audit key go next to the (virtual) config file.
	cfg, err := config.Parse(filepath.Join(t.TempDir(), "e2e.yaml"), []byte(yamlConfig(db, statementTimeout, extra)+topLevel))
	if err != nil {
		t.Fatalf("config: %v", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	a, err := app.New(ctx, cfg, app.Options{}, nil)
	if err != nil {
		t.Fatalf("app: %v", err)
	}
	a.Start(ctx)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	h := airmcp.NewHTTP(a.MCP, cfg.Server, a.Ready, a.Log)
	done := make(chan struct{})
	go func() { _ = h.Serve(ctx, ln); close(done) }()
	admin, err := pgx.Connect(context.Background(), db.AdminDSN)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		cancel()
		<-done
		a.Close()
		admin.Close(context.Background())
	})
	return &env{t: t, db: db, cfg: cfg, url: "http://" + ln.Addr().String(), admin: admin, app: a}
}

// client connects an MCP client speaking protocol version v.
func (e *env) client(v string) *client.Client {
	e.t.Helper()
	tr, err := transport.NewStreamableHTTP(e.url + "/mcp")
	if err != nil {
		e.t.Fatal(err)
	}
	c := client.NewClient(tr, client.WithProtocolVersion(v))
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := c.Start(ctx); err != nil {
		e.t.Fatalf("client start: %v", err)
	}
	init := mcp.InitializeRequest{}
	init.Params.ProtocolVersion = v
	init.Params.ClientInfo = mcp.Implementation{Name: "airlock-e2e", Version: "1.0"}
	if _, err := c.Initialize(ctx, init); err != nil {
		e.t.Fatalf("initialize (%s): %v", v, err)
	}
	if got := c.ProtocolVersion(); got != v {
		e.t.Fatalf("negotiated protocol %q, want %q", got, v)
	}
	e.t.Cleanup(func() { _ = c.Close() })
	return c
}

// call runs a tool and returns its result; a JSON-RPC error fails the test.
func call(t *testing.T, c *client.Client, tool string, args map[string]any) *mcp.CallToolResult {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	req := mcp.CallToolRequest{}
	req.Params.Name = tool
	req.Params.Arguments = args
	res, err := c.CallTool(ctx, req)
	if err != nil {
		t.Fatalf("%s %v: %v", tool, args, err)
	}
	return res
}

func textOf(r *mcp.CallToolResult) string {
	var b strings.Builder
	for _, c := range r.Content {
		if tc, ok := c.(mcp.TextContent); ok {
			b.WriteString(tc.Text)
		}
	}
	return b.String()
}

// structured decodes a result's structuredContent into v.
func structured(t *testing.T, r *mcp.CallToolResult, v any) {
	t.Helper()
	raw, err := json.Marshal(r.StructuredContent)
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(raw, v); err != nil {
		t.Fatalf("structuredContent %s: %v", raw, err)
	}
}

type queryOut struct {
	Command string `json:"command"`
	Columns []struct {
		Name string `json:"name"`
		Type string `json:"type"`
	} `json:"columns"`
	Rows      [][]any `json:"rows"`
	RowCount  int     `json:"row_count"`
	Truncated bool    `json:"truncated"`
}

// fingerprint is a digest of everything a write could change in the fixture:
// table contents, sequences, the set of relations and role attributes.
func (e *env) fingerprint() string {
	e.t.Helper()
	var parts []string
	for _, q := range []string{
		`SELECT md5(coalesce(string_agg(t::text, ',' ORDER BY id), '')) FROM customers t`,
		`SELECT md5(coalesce(string_agg(t::text, ',' ORDER BY id), '')) FROM orders t`,
		`SELECT count(*)::text FROM order_items`,
		`SELECT count(*)::text FROM big_events`,
		`SELECT last_value::text || is_called::text FROM customers_id_seq`,
		`SELECT string_agg(n.nspname || '.' || c.relname || ':' || c.relkind::text, ',' ORDER BY 1) FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname NOT IN ('pg_catalog','information_schema','pg_toast')`,
		`SELECT string_agg(rolname || rolsuper::text || rolcreaterole::text, ',' ORDER BY rolname) FROM pg_roles`,
		`SELECT coalesce(string_agg(relname || array_to_string(relacl, ';'), ',' ORDER BY relname), '') FROM pg_class WHERE relname IN ('customers','orders')`,
		`SELECT count(*)::text FROM pg_largeobject_metadata`,
		`SELECT count(*)::text FROM pg_extension`,
	} {
		var s *string
		if err := e.admin.QueryRow(context.Background(), q).Scan(&s); err != nil {
			e.t.Fatalf("fingerprint %q: %v", q, err)
		}
		if s != nil {
			parts = append(parts, *s)
		}
	}
	return strings.Join(parts, "|")
}
