package gateway

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/airlockhq/airlock/connectors"
	"github.com/airlockhq/airlock/internal/config"
	"github.com/airlockhq/airlock/internal/identity"
	"github.com/airlockhq/airlock/policy"
	"github.com/airlockhq/airlock/tools"
)

type labelledConn struct {
	recordingConn
	name, env string
}

func (c *labelledConn) Name() string              { return c.name }
func (c *labelledConn) Labels() map[string]string { return map[string]string{"env": c.env} }

func policyGateway(t *testing.T, dir string) (*Gateway, map[string]*labelledConn) {
	t.Helper()
	engine, err := policy.New(context.Background(), policy.Options{Dir: dir})
	if err != nil {
		t.Fatal(err)
	}
	conns := map[string]*labelledConn{
		"dev-db":  {recordingConn: recordingConn{action: readAction}, name: "dev-db", env: "dev"},
		"prod-db": {recordingConn: recordingConn{action: readAction}, name: "prod-db", env: "prod"},
	}
	cfg := config.Defaults()
	all := map[string]connectors.Connection{}
	for n, c := range conns {
		cfg.Connections = append(cfg.Connections, config.Connection{Name: n, Kind: "postgres", Limits: cfg.Limits})
		all[n] = c
	}
	dev, _ := identity.Dev("dev@example.com")
	g, err := New(Options{Config: cfg, Catalog: tools.Default(), Connections: all, Identity: identity.Static{P: dev},
		Authorizer: PolicyAuthorizer{Engine: engine}, Visibility: engine})
	if err != nil {
		t.Fatal(err)
	}
	return g, conns
}

func TestVisibleToolsDifferByPrincipal(t *testing.T) {
	g, conns := policyGateway(t, "")
	dev, _ := identity.Dev("dev@example.com")
	verified := identity.Principal{Subject: "alice", Email: "alice@example.com", Groups: []string{}, Issuer: "https://idp", Verified: true}
	conn := func(p identity.Principal) string {
		for _, v := range g.VisibleTools(context.Background(), p) {
			if v.Tool.Name == "sql_query" {
				return strings.Join(v.Connections, ",")
			}
		}
		return ""
	}
	if got := conn(dev); got != "dev-db" {
		t.Errorf("unverified caller sees %q, want dev-db", got)
	}
	if got := conn(verified); got != "dev-db,prod-db" {
		t.Errorf("verified caller sees %q, want both", got)
	}
	// The unverified caller cannot reach prod-db by naming it; the verified one can.
	c := query("SELECT 1")
	c.Arguments["connection"] = "prod-db"
	if _, err := g.Handle(context.Background(), c); err == nil || !strings.Contains(err.Error(), "not one you can use") {
		t.Fatalf("unverified call on prod-db: %v", err)
	}
	c = query("SELECT 1")
	c.Arguments["connection"] = "prod-db"
	if _, err := g.Handle(identity.WithPrincipal(context.Background(), verified), c); err != nil {
		t.Fatalf("verified read on prod-db: %v", err)
	}
	if conns["prod-db"].executed.Load() != 1 {
		t.Fatal("the verified read did not run exactly once")
	}
}

func TestPolicyOutcomesReachTheNextStage(t *testing.T) {
	g, conns := policyGateway(t, "")
	db := conns["dev-db"]
	c := query("SELECT 1")
	c.Arguments["connection"] = "dev-db"
	if _, err := g.Handle(context.Background(), c); err != nil || c.Decision.Policy == "" || !c.Decision.Mask.Response {
		t.Fatalf("read: %v %+v", err, c.Decision)
	}
	db.action = &connectors.Action{Risk: connectors.RiskCritical, Flags: []string{"privileged_function"}}
	c = query("SELECT pg_terminate_backend(1)")
	c.Arguments["connection"] = "dev-db"
	_, err := g.Handle(context.Background(), c)
	var r *Refusal
	if !errors.As(err, &r) || r.Kind != RefusedDenied {
		t.Fatalf("privileged: %v", err)
	}
	db.action = writeAction
	c = query("DELETE FROM orders")
	c.Arguments["connection"] = "dev-db"
	_, err = g.Handle(context.Background(), c)
	if !errors.As(err, &r) || r.Kind != RefusedApproval || !c.Decision.RequireApproval || len(c.Decision.Approvers) == 0 {
		t.Fatalf("write: %v %+v", err, c.Decision)
	}
	if db.executed.Load() != 1 {
		t.Fatalf("%d executions, want only the read", db.executed.Load())
	}
}

func TestPolicyEvaluationErrorDenies(t *testing.T) {
	dir := t.TempDir()
	// Two different values for one complete rule: a conflict OPA reports
	// at evaluation time.
	conflict := "package airlock.authz\n\nimport rego.v1\n\nmax_rows := 5 if input.tool.name == \"sql_query\"\n\nmax_rows := 6 if input.tool.family == \"sql\"\n"
	if err := os.WriteFile(filepath.Join(dir, "conflict.rego"), []byte(conflict), 0o644); err != nil {
		t.Fatal(err)
	}
	g, conns := policyGateway(t, dir)
	c := query("SELECT 1")
	c.Arguments["connection"] = "dev-db"
	_, err := g.Handle(context.Background(), c)
	var r *Refusal
	if !errors.As(err, &r) || r.Kind != RefusedDenied || !strings.Contains(r.Message, "policy could not be evaluated") {
		t.Fatalf("got %v", err)
	}
	if conns["dev-db"].executed.Load() != 0 {
		t.Fatal("a call ran without a decision")
	}
}
