package e2e

import (
	"context"
	"encoding/json"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/mark3labs/mcp-go/mcp"

	"github.com/airlockhq/airlock/internal/testenv"
)

const noOrders = `package airlock.authz

import rego.v1

deny contains "the orders table is closed for audit" if {
	some st in input.action.statements
	"orders" in st.tables_read
}
`

const noOrdersTest = `package airlock.authz_test

import rego.v1

test_orders_denied if {
	"the orders table is closed for audit" in data.airlock.authz.deny with input as {
		"action": {"statements": [{"tables_read": ["orders"]}]}}
}
`

func readyDetail(t *testing.T, base string) map[string]string {
	t.Helper()
	resp, err := http.Get(base + "/readyz")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var body struct {
		Detail map[string]string `json:"detail"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&body); err != nil {
		t.Fatal(err)
	}
	return body.Detail
}

// TestOperatorPolicyChangesOutcomesAndSurvivesBadReloads runs the binary
// with an operator policy directory and changes the directory under it.
func TestOperatorPolicyChangesOutcomesAndSurvivesBadReloads(t *testing.T) {
	db := testenv.Postgres(t).NewDatabase(t)
	dir := t.TempDir()
	pol := filepath.Join(dir, "policies")
	if err := os.MkdirAll(pol, 0o755); err != nil {
		t.Fatal(err)
	}
	write := func(name, body string) {
		if err := os.WriteFile(filepath.Join(pol, name), []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write("orders.rego", noOrders)
	write("orders_test.rego", noOrdersTest)
	cfgBody := yamlConfig(db, "30s", "") + "policy:\n  dir: policies\n"
	cfgPath := filepath.Join(dir, "airlock.yaml")
	if err := os.WriteFile(cfgPath, []byte(cfgBody), 0o600); err != nil {
		t.Fatal(err)
	}
	_, base, _ := startBinary(t, cfgPath, []string{"AIRLOCK_TEST_SHOP_DSN=" + db.AppDSN})
	c := (&env{t: t, url: base}).client(mcp.ProtocolVersion20260728)
	orders := map[string]any{"connection": "shop", "sql": "SELECT count(*) FROM orders"}
	customers := map[string]any{"connection": "shop", "sql": "SELECT count(*) FROM customers"}

	if res := call(t, c, "sql_query", orders); !res.IsError || !strings.Contains(textOf(res), "the orders table is closed for audit") {
		t.Fatalf("operator deny did not apply: %s", textOf(res))
	}
	if res := call(t, c, "sql_query", customers); res.IsError {
		t.Fatalf("the default read rule no longer applies: %s", textOf(res))
	}
	first := readyDetail(t, base)["policy"]

	// A policy that does not compile is refused; the old one stays.
	write("broken.rego", "package airlock.authz\n\ndeny contains x if {\n")
	waitFor(t, func() bool { return readyDetail(t, base)["policy_reload_error"] != "" })
	if d := readyDetail(t, base); d["policy"] != first || !strings.Contains(d["policy_reload_error"], "broken.rego") {
		t.Fatalf("after a broken policy: %v", d)
	}
	if res := call(t, c, "sql_query", orders); !res.IsError || !strings.Contains(textOf(res), "closed for audit") {
		t.Fatalf("the previous policy is no longer in force: %s", textOf(res))
	}

	// A policy whose own test fails is refused too.
	if err := os.Remove(filepath.Join(pol, "broken.rego")); err != nil {
		t.Fatal(err)
	}
	write("orders.rego", strings.Replace(noOrders, "closed for audit", "closed", 1))
	waitFor(t, func() bool { return strings.Contains(readyDetail(t, base)["policy_reload_error"], "test") })
	if res := call(t, c, "sql_query", orders); !strings.Contains(textOf(res), "closed for audit") {
		t.Fatalf("a policy failing its tests took effect: %s", textOf(res))
	}

	// Removing the operator policy lets the default decide again, under a new hash.
	for _, f := range []string{"orders.rego", "orders_test.rego"} {
		if err := os.Remove(filepath.Join(pol, f)); err != nil {
			t.Fatal(err)
		}
	}
	waitFor(t, func() bool { d := readyDetail(t, base); return d["policy"] != first && d["policy_reload_error"] == "" })
	if res := call(t, c, "sql_query", orders); res.IsError {
		t.Fatalf("after removing the operator policy: %s", textOf(res))
	}
}

func waitFor(t *testing.T, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatal("condition not met within 15s")
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// TestUnverifiedCallersSeeOnlyDevConnections: the dev identity is
// unverified, so the default policy hides connections not labelled env: dev,
// in tools/list and in list_connections, and refuses them by name.
func TestUnverifiedCallersSeeOnlyDevConnections(t *testing.T) {
	extra := `  - name: prod
    kind: postgres
    labels: {env: prod}
    dsn: env:AIRLOCK_TEST_SHOP_DSN
`
	e := newEnv(t, "30s", extra)
	c := e.client(mcp.ProtocolVersion20251125)
	list, err := c.ListTools(context.Background(), mcp.ListToolsRequest{})
	if err != nil {
		t.Fatal(err)
	}
	if len(list.Tools) != 8 {
		t.Errorf("%d tools listed, want 8", len(list.Tools))
	}
	for _, tool := range list.Tools {
		raw, _ := json.Marshal(tool)
		if strings.Contains(string(raw), `"prod"`) {
			t.Errorf("%s advertises the prod connection to an unverified caller: %s", tool.Name, raw)
		}
		if tool.Name == "sql_query" && !strings.Contains(string(raw), `"enum":["shop"]`) {
			t.Errorf("sql_query's connection enum: %s", raw)
		}
	}
	if res := call(t, c, "list_connections", map[string]any{}); strings.Contains(textOf(res), "prod") {
		t.Errorf("list_connections shows prod: %s", textOf(res))
	}
	res := call(t, c, "sql_query", map[string]any{"connection": "prod", "sql": "SELECT 1"})
	if !res.IsError || !strings.Contains(textOf(res), `connection "prod" is not one you can use`) {
		t.Fatalf("a call on a hidden connection: %s", textOf(res))
	}
}
