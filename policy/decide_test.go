package policy

import (
	"context"
	"encoding/json"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/airlockhq/airlock/connectors"
	"github.com/airlockhq/airlock/internal/identity"
)

// TestRegoUnitTests runs the default bundle's own tests: every rule ships
// with one, and a failure here is a broken rule or a broken test.
func TestRegoUnitTests(t *testing.T) {
	var out strings.Builder
	passed, failed, err := RunTests(context.Background(), "", false, &out, false)
	if err != nil {
		t.Fatal(err)
	}
	if failed > 0 || passed == 0 {
		t.Fatalf("rego tests: %d passed, %d failed\n%s", passed, failed, out.String())
	}
	t.Logf("rego tests: %d passed", passed)
}

func TestDecideVerifiedReadAllowedWithObligations(t *testing.T) {
	e := newEngine(t, Options{})
	d := decide(t, e, selectInput())
	if !d.Allow || d.RequireApproval {
		t.Fatalf("decision = %+v, want allow", d)
	}
	if d.MaxRows != 1000 || d.TimeoutMS != 30000 || !d.Mask.Response {
		t.Errorf("obligations = rows %d, timeout %d, mask %v; want 1000, 30000, true", d.MaxRows, d.TimeoutMS, d.Mask.Response)
	}
	if !slices.Equal(d.Reasons, []string{"read-only call by a verified principal"}) {
		t.Errorf("reasons = %q", d.Reasons)
	}
	if !strings.HasPrefix(d.Policy, "sha256:") || len(d.Policy) != len("sha256:")+16 || d.Policy != e.Hash() {
		t.Errorf("policy = %q, engine hash %q", d.Policy, e.Hash())
	}
}

func TestDecideDeleteWithoutWhereNeedsApproval(t *testing.T) {
	e := newEngine(t, Options{})
	d := decide(t, e, deleteAllInput())
	if d.Allow || !d.RequireApproval {
		t.Fatalf("decision = %+v, want approval", d)
	}
	if !slices.Equal(d.Approvers, []string{"group:approvers"}) {
		t.Errorf("approvers = %q", d.Approvers)
	}
	if !slices.ContainsFunc(d.Reasons, func(r string) bool { return strings.Contains(r, "delete_without_where") }) {
		t.Errorf("reasons %q do not name the flag", d.Reasons)
	}
	if d.MaxRows != 1000 {
		t.Errorf("approval carries max_rows %d, want 1000 for when it runs", d.MaxRows)
	}
}

func TestDecidePrivilegedFunctionDenied(t *testing.T) {
	e := newEngine(t, Options{})
	s := stmt("select", false)
	s.Functions = []string{"pg_read_file"}
	d := decide(t, e, sqlInput(alice, prodDB, &connectors.Action{ReadOnly: false, Risk: connectors.RiskCritical,
		Flags: []string{"privileged_function", "server_file_access"}, Statements: []connectors.Statement{s}}))
	if !d.Denied() {
		t.Fatalf("decision = %+v, want deny", d)
	}
	if len(d.Reasons) != 2 || !strings.Contains(d.Reasons[0], "privileged_function") {
		t.Errorf("reasons = %q", d.Reasons)
	}
}

func TestDecideDevIdentityOnProdDenied(t *testing.T) {
	e := newEngine(t, Options{})
	d := decide(t, e, sqlInput(devUser, prodDB, selectInput().Action))
	if !d.Denied() {
		t.Fatalf("decision = %+v, want deny", d)
	}
	want := "unverified identity dev@example.com may only use connections labelled env: dev; prod-db is labelled env: prod"
	if !slices.Equal(d.Reasons, []string{want}) {
		t.Errorf("reasons = %q", d.Reasons)
	}
	if d := decide(t, e, sqlInput(devUser, devDB, selectInput().Action)); !d.Allow {
		t.Errorf("dev identity reading dev-db: %+v, want allow", d)
	}
}

func TestDecideGrants(t *testing.T) {
	e := newEngine(t, Options{})
	insert := &connectors.Action{ReadOnly: false, Risk: connectors.RiskMedium, Flags: []string{},
		Statements: []connectors.Statement{stmt("insert", false, "public.orders")}}
	in := sqlInput(alice, prodDB, insert)
	if d := decide(t, e, in); !d.RequireApproval {
		t.Fatalf("write without grant: %+v, want approval", d)
	}
	in.Grants = []Grant{{Connection: "prod-db", Access: "write", ExpiresAt: testNow.Add(time.Hour)}}
	if d := decide(t, e, in); !d.Allow || d.RequireApproval {
		t.Errorf("write with grant: %+v, want allow", d)
	}
	in.Grants[0].ExpiresAt = testNow.Add(-time.Second)
	if d := decide(t, e, in); !d.RequireApproval {
		t.Errorf("write with expired grant: %+v, want approval", d)
	}
	// A grant never lifts a deny.
	in = sqlInput(alice, prodDB, &connectors.Action{ReadOnly: false, Risk: connectors.RiskCritical,
		Flags: []string{"server_program"}, Statements: []connectors.Statement{stmt("copy_to", false)}})
	in.Grants = []Grant{{Connection: "prod-db", Access: "write", ExpiresAt: testNow.Add(time.Hour)}}
	if d := decide(t, e, in); !d.Denied() {
		t.Errorf("COPY PROGRAM with grant: %+v, want deny", d)
	}
}

func TestDecideKubernetesSecretNeedsApproval(t *testing.T) {
	e := newEngine(t, Options{})
	in := Input{
		Principal:  alice,
		Tool:       ToolRef{Name: "k8s_get", Family: "k8s"},
		Connection: ConnRef{Name: "prod-k8s", Kind: "kubernetes", Labels: map[string]string{"env": "prod"}},
		Arguments:  map[string]any{"resource": "secrets", "namespace": "shop", "name": "db"},
		Action:     &connectors.Action{ReadOnly: true, Risk: connectors.RiskLow, Flags: []string{}},
		ActionDetail: map[string]any{"verb": "get", "group": "", "version": "v1", "resource": "secrets",
			"namespace": "shop", "name": "db"},
		Now: testNow,
	}
	if d := decide(t, e, in); !d.RequireApproval {
		t.Fatalf("get secret: %+v, want approval", d)
	}
	in.ActionDetail["resource"] = "pods"
	if d := decide(t, e, in); !d.Allow {
		t.Errorf("get pod: %+v, want allow", d)
	}
}

func TestDecideHTTPPostNeedsApproval(t *testing.T) {
	e := newEngine(t, Options{})
	in := Input{
		Principal:    alice,
		Tool:         ToolRef{Name: "http_request", Family: "http"},
		Connection:   ConnRef{Name: "billing", Kind: "http", Labels: map[string]string{"env": "prod"}},
		Action:       &connectors.Action{ReadOnly: false, Risk: connectors.RiskMedium, Flags: []string{}},
		ActionDetail: map[string]any{"method": "POST", "host": "billing.example.com", "path": "/v1/refunds"},
		Now:          testNow,
	}
	d := decide(t, e, in)
	if !d.RequireApproval {
		t.Fatalf("POST: %+v, want approval", d)
	}
	if !slices.Equal(d.Reasons, []string{"HTTP POST billing.example.com/v1/refunds may write, so it needs approval"}) {
		t.Errorf("reasons = %q", d.Reasons)
	}
	in.Action.ReadOnly, in.ActionDetail["method"] = true, "GET"
	if d := decide(t, e, in); !d.Allow {
		t.Errorf("GET: %+v, want allow", d)
	}
}

func TestDecideGovernanceWithoutConnection(t *testing.T) {
	e := newEngine(t, Options{})
	for _, p := range []identity.Principal{alice, devUser} {
		in := Input{Principal: p, Tool: ToolRef{Name: "list_connections", Family: "governance"},
			Action: &connectors.Action{ReadOnly: true, Risk: connectors.RiskLow}, Now: testNow}
		if d := decide(t, e, in); !d.Allow {
			t.Errorf("%s list_connections: %+v, want allow", in.Principal.Subject, d)
		}
	}
}

func TestDecideUnclassifiedDenied(t *testing.T) {
	e := newEngine(t, Options{})
	in := selectInput()
	in.Action = nil
	if d := decide(t, e, in); !d.Denied() {
		t.Errorf("nil action: %+v, want deny", d)
	}
	in = selectInput()
	in.Principal.Subject = ""
	if d := decide(t, e, in); !d.Denied() || !slices.Contains(d.Reasons, "the call carries no identity") {
		t.Errorf("no subject: %+v, want deny", d)
	}
}

func TestVisibleDiffersByPrincipal(t *testing.T) {
	e := newEngine(t, Options{})
	ctx := context.Background()
	for i := range 2 { // the second round answers from the cache
		if !e.Visible(ctx, alice, sqlQ, prodDB) {
			t.Errorf("round %d: verified principal cannot see prod-db", i)
		}
		if e.Visible(ctx, devUser, sqlQ, prodDB) {
			t.Errorf("round %d: dev identity sees prod-db", i)
		}
		if !e.Visible(ctx, devUser, sqlQ, devDB) {
			t.Errorf("round %d: dev identity cannot see dev-db", i)
		}
		if !e.Visible(ctx, devUser, ToolRef{Name: "list_connections", Family: "governance"}, ConnRef{}) {
			t.Errorf("round %d: dev identity cannot see governance tools", i)
		}
	}
	// Same subject, different verification: must not share a cache entry.
	fake := alice
	fake.Verified = false
	if e.Visible(ctx, fake, sqlQ, prodDB) {
		t.Error("unverified principal with a verified subject's name sees prod-db")
	}
}

func TestInputJSONRoundTrip(t *testing.T) {
	in := selectInput()
	in.ActionDetail = map[string]any{"verb": "get", "read_only": "ignored"}
	b, err := json.Marshal(in)
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatal(err)
	}
	act := m["action"].(map[string]any)
	if act["verb"] != "get" || act["read_only"] != true || m["now"] != "2026-11-27T10:00:00Z" {
		t.Errorf("action = %v, now = %v", act, m["now"])
	}
	var back Input
	if err := json.Unmarshal(b, &back); err != nil {
		t.Fatal(err)
	}
	if back.ActionDetail["verb"] != "get" || back.Action == nil || !back.Action.ReadOnly || len(back.ActionDetail) != 1 {
		t.Errorf("round trip: action %+v, detail %v", back.Action, back.ActionDetail)
	}
	// The typed conversion and the JSON form decide alike.
	e := newEngine(t, Options{})
	d1 := decide(t, e, in)
	d2, err := EvalFile(context.Background(), e, b)
	if err != nil {
		t.Fatal(err)
	}
	if d1.Allow != d2.Allow || !slices.Equal(d1.Reasons, d2.Reasons) {
		t.Errorf("typed %+v vs JSON %+v", d1, d2)
	}
}

func TestDecisionJSON(t *testing.T) {
	e := newEngine(t, Options{})
	b, err := json.Marshal(decide(t, e, selectInput()))
	if err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{`"allow":true`, `"require_approval":false`, `"reasons":[`, `"max_rows":1000`, `"timeout_ms":30000`, `"mask":{"response":true}`, `"policy":"sha256:`} {
		if !strings.Contains(string(b), k) {
			t.Errorf("decision JSON %s lacks %s", b, k)
		}
	}
	if strings.Contains(string(b), "fired") {
		t.Errorf("decision JSON %s has fired outside explain", b)
	}
}
