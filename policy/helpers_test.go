package policy

import (
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/airlockhq/airlock/connectors"
	"github.com/airlockhq/airlock/internal/identity"
)

var (
	testNow = time.Date(2026, 11, 27, 10, 0, 0, 0, time.UTC)

	alice = identity.Principal{
		Subject: "alice@example.com", Email: "alice@example.com", Groups: []string{"eng", "payments"},
		Issuer: "https://idp.example.com/", Client: identity.Client{Name: "claude-code", Version: "2.1.0"},
		Verified: true,
	}
	devUser = identity.Principal{Subject: "dev@example.com", Email: "dev@example.com", Groups: []string{},
		Issuer: identity.DevIssuer, Verified: false}

	prodDB = ConnRef{Name: "prod-db", Kind: "postgres", Labels: map[string]string{"env": "prod", "team": "payments"}}
	devDB  = ConnRef{Name: "dev-db", Kind: "postgres", Labels: map[string]string{"env": "dev"}}
	sqlQ   = ToolRef{Name: "sql_query", Family: "sql"}
)

func stmt(kind string, ro bool, tables ...string) connectors.Statement {
	s := connectors.Statement{Kind: kind, ReadOnly: ro, TablesRead: []string{}, TablesWritten: []string{},
		Functions: []string{}, HasWhere: true}
	if ro {
		s.TablesRead = tables
	} else {
		s.TablesWritten = tables
	}
	return s
}

// selectInput is a realistic read: a verified engineer querying prod.
func selectInput() Input {
	return Input{
		Principal:  alice,
		Tool:       sqlQ,
		Connection: prodDB,
		Arguments:  map[string]any{"sql": "SELECT id, status, total FROM public.orders WHERE customer_id = $1 ORDER BY created_at DESC LIMIT 50", "params": []any{"42"}},
		Action: &connectors.Action{ReadOnly: true, Risk: connectors.RiskLow, Flags: []string{},
			Statements: []connectors.Statement{stmt("select", true, "public.orders")}},
		Grants: []Grant{},
		Now:    testNow,
	}
}

func sqlInput(p identity.Principal, conn ConnRef, a *connectors.Action) Input {
	in := selectInput()
	in.Principal, in.Connection, in.Action = p, conn, a
	return in
}

// newEngine loads a policy for a test. Tests that are not about the time
// budget get a generous one: on a shared two-core machine a fuzzer next
// door can stall a goroutine past the 100ms default, and a timeout denies.
func newEngine(t testing.TB, opts Options) *Engine {
	t.Helper()
	if opts.EvalTimeout == 0 {
		opts.EvalTimeout = 5 * time.Second
	}
	e, err := New(context.Background(), opts)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	return e
}

func writeFile(t testing.TB, dir, name, src string) {
	t.Helper()
	if err := os.WriteFile(filepath.Join(dir, name), []byte(src), 0o644); err != nil {
		t.Fatal(err)
	}
}

func decide(t testing.TB, e *Engine, in Input) Decision {
	t.Helper()
	d, err := e.Decide(context.Background(), in)
	if err != nil {
		t.Fatalf("Decide: %v", err)
	}
	return d
}

// deleteAllInput is DELETE FROM public.orders, without WHERE.
func deleteAllInput() Input {
	s := stmt("delete", false, "public.orders")
	s.HasWhere = false
	return sqlInput(alice, prodDB, &connectors.Action{ReadOnly: false, Risk: connectors.RiskHigh,
		Flags: []string{"delete_without_where"}, Statements: []connectors.Statement{s}})
}
