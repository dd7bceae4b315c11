package policy

import (
	"context"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/airlockhq/airlock/connectors"
	"github.com/airlockhq/airlock/internal/identity"
)

func planMembers(m *memo) []string {
	names := map[int]string{}
	for n, i := range memberIndex {
		names[i] = n
	}
	var out []string
	for _, p := range m.plan {
		s := names[p.member]
		for _, t := range p.rest {
			s += "." + strings.Trim(t.String(), `"`)
		}
		out = append(out, s)
	}
	slices.Sort(out)
	return out
}

// TestMemoPlanDefault pins what the default bundle's decision reads: the
// call's identity, tool, connection, classification and grants, but not
// its arguments (parameter values, SQL text) or the time, so calls that
// differ only there share a decision.
func TestMemoPlanDefault(t *testing.T) {
	e := newEngine(t, Options{})
	m := e.snap.Load().memo
	if m == nil {
		t.Fatal("the default bundle has no memo")
	}
	got := planMembers(m)
	for _, want := range []string{"principal.subject", "principal.verified", "tool.family", "connection", "action", "grants"} {
		if !slices.Contains(got, want) {
			t.Errorf("plan %v lacks %s", got, want)
		}
	}
	for _, p := range m.plan {
		if p.member == mArguments || p.member == mNow {
			t.Errorf("plan %v reads %d, which differs from call to call", got, p.member)
		}
	}
}

// TestMemoPlanOff lists operator policies whose decisions cannot be keyed
// by input paths: each must leave the snapshot without a memo.
func TestMemoPlanOff(t *testing.T) {
	for name, src := range map[string]string{
		"input.now": `package airlock.authz
import data.airlock.lib
deny contains "night" if lib.within_hours(input.now, "22:00", "06:00", "UTC")`,
		"clock": `package airlock.authz
deny contains "late" if time.now_ns() > 0`,
		"clock in a helper package": `package airlock.authz
import data.ops
deny contains "late" if ops.late(1)
`,
		"whole input": `package airlock.authz
import data.airlock.lib
deny contains "admin" if lib.has_grant(input, "admin")`,
		"with": `package airlock.authz
deny contains "x" if {
	n := input.tool.name with input.tool.name as "other"
	n == "never"
}`,
		"random": `package airlock.authz
deny contains "dice" if rand.intn("x", 6) == 7`,
		"network": `package airlock.authz
deny contains "x" if http.send({"method": "GET", "url": "http://127.0.0.1:9"}).status_code == 999`,
		"certificate validity": `package airlock.authz
deny contains "x" if {
	input.tool.name == "never"
	crypto.x509.parse_and_verify_certificates("x")[0]
}`,
	} {
		t.Run(name, func(t *testing.T) {
			dir := t.TempDir()
			writeFile(t, dir, "op.rego", src)
			writeFile(t, dir, "ops.rego", "package ops\n\nlate(x) if time.now_ns() > x\n")
			e := newEngine(t, Options{Dir: dir})
			if m := e.snap.Load().memo; m != nil {
				t.Errorf("memo kept, plan %v", planMembers(m))
			}
		})
	}
}

// TestMemoPlanOperatorRules: rules that read more of the input widen the
// key; helpers that read the clock but are never reached do not turn the
// memo off.
func TestMemoPlanOperatorRules(t *testing.T) {
	dir := t.TempDir()
	writeFile(t, dir, "op.rego", `package airlock.authz
import data.airlock.lib
deny contains "contractors may not read orders" if {
	lib.in_group(input.principal, "contractors")
	"public.orders" in input.action.statements[_].tables_read
}
deny contains "no sleeping" if contains(input.arguments.sql, "pg_sleep")
`)
	writeFile(t, dir, "unused.rego", "package unused\n\nlate if time.now_ns() > 0\n")
	e := newEngine(t, Options{Dir: dir})
	m := e.snap.Load().memo
	if m == nil {
		t.Fatal("no memo")
	}
	if got := planMembers(m); !slices.Contains(got, "arguments.sql") {
		t.Errorf("plan %v does not read the SQL text the operator's rule reads", got)
	}
}

// TestMemoMatchesEvaluation decides every differential input, and
// variants of each that agree on what the rules read but not on the rest,
// through the memo and by evaluating, for several bundles: the answers
// are equal, decision for decision.
func TestMemoMatchesEvaluation(t *testing.T) {
	examples, err := filepath.Abs("testdata/examples")
	if err != nil {
		t.Fatal(err)
	}
	op := t.TempDir()
	writeFile(t, op, "op.rego", `package airlock.authz
import data.airlock.lib
deny contains "no sleeping" if contains(input.arguments.sql, "pg_sleep")
max_rows := 10 if lib.in_group(input.principal, "contractors")
`)
	ctx := context.Background()
	for name, dir := range map[string]string{"default": "", "examples": examples, "operator": op} {
		e := newEngine(t, Options{Dir: dir})
		s := e.snap.Load()
		if name != "examples" && s.memo == nil {
			t.Fatalf("%s: no memo", name)
		}
		for iname, in := range differentialInputs() {
			variants := []Input{in, in, in, in}
			variants[1].Now = in.Now.Add(37 * time.Minute) // grants still in force
			variants[2].Arguments = map[string]any{"sql": "SELECT pg_sleep(1)", "params": []any{"7"}}
			variants[3].Arguments = map[string]any{"sql": "SELECT 2"}
			for i, v := range variants {
				got, gotErr := e.Decide(ctx, v)
				want, wantErr := evalDecision(ctx, s, v)
				if (gotErr != nil) != (wantErr != nil) {
					t.Fatalf("%s/%s/%d: error %v, evaluated %v", name, iname, i, gotErr, wantErr)
				}
				if !equalDecisions(got, want) {
					t.Errorf("%s/%s/%d:\n memo %+v\n eval %+v", name, iname, i, got, want)
				}
			}
		}
	}
}

// evalDecision decides without the memo.
func evalDecision(ctx context.Context, s *snapshot, in Input) (Decision, error) {
	t, err := s.eval(ctx, s.decision, in.toValue())
	if err != nil {
		return deny(s.hash), err
	}
	d, err := decodeDecision(t)
	d.Policy = s.hash
	return d, err
}

func equalDecisions(a, b Decision) bool {
	return a.Allow == b.Allow && a.RequireApproval == b.RequireApproval && slices.Equal(a.Approvers, b.Approvers) &&
		slices.Equal(a.Reasons, b.Reasons) && a.MaxRows == b.MaxRows && a.TimeoutMS == b.TimeoutMS &&
		a.Mask == b.Mask && a.Policy == b.Policy
}

// TestMemoTellsCallersApart is the attacker's side: a decision made for
// one caller or call must never be handed to a call that differs in
// anything the policy reads.
func TestMemoTellsCallersApart(t *testing.T) {
	e := newEngine(t, Options{})
	read := selectInput()
	if d := decide(t, e, read); !d.Allow {
		t.Fatalf("verified read: %+v", d)
	}
	// The same subject, unverified (a dev identity claiming alice's name).
	forged := read
	forged.Principal.Verified = false
	forged.Principal.Issuer = "airlock:dev-identity"
	if d := decide(t, e, forged); !d.Denied() {
		t.Errorf("unverified alice on prod got %+v from a verified alice's decision", d)
	}
	// The same call on a connection relabelled from dev to prod.
	dev := sqlInput(devUser, devDB, read.Action)
	if d := decide(t, e, dev); !d.Allow {
		t.Fatalf("dev identity on dev: %+v", d)
	}
	relabelled := dev
	relabelled.Connection.Labels = map[string]string{"env": "prod"}
	if d := decide(t, e, relabelled); !d.Denied() {
		t.Errorf("dev identity on a connection now labelled prod: %+v", d)
	}
	// A write allowed by a grant needs approval again once the grant has
	// expired, though nothing but the time changed.
	write := sqlInput(alice, prodDB, &connectors.Action{Risk: connectors.RiskMedium, Flags: []string{},
		Statements: []connectors.Statement{stmt("insert", false, "public.orders")}})
	write.Grants = []Grant{{Connection: "prod-db", Access: "write", ExpiresAt: testNow.Add(time.Minute)}}
	if d := decide(t, e, write); !d.Allow {
		t.Fatalf("write with grant: %+v", d)
	}
	write.Now = testNow.Add(2 * time.Minute)
	if d := decide(t, e, write); !d.RequireApproval {
		t.Errorf("write after the grant expired: %+v", d)
	}
	// A read turned into a write by its classification.
	del := deleteAllInput()
	if d := decide(t, e, del); d.Allow || !d.RequireApproval {
		t.Errorf("DELETE without WHERE after a read was allowed: %+v", d)
	}
}

// TestMemoGroupsAndReload: an operator's group rule sees group changes,
// and a reload decides afresh under the new policy version.
func TestMemoGroupsAndReload(t *testing.T) {
	dir := t.TempDir()
	writeFile(t, dir, "op.rego", `package airlock.authz
import data.airlock.lib
deny contains "contractors may not read prod" if lib.in_group(input.principal, "contractors")
`)
	e := newEngine(t, Options{Dir: dir})
	in := selectInput()
	first := decide(t, e, in)
	if !first.Allow {
		t.Fatalf("alice: %+v", first)
	}
	contractor := in
	contractor.Principal.Groups = []string{"contractors"}
	if d := decide(t, e, contractor); !d.Denied() {
		t.Errorf("alice, now a contractor: %+v", d)
	}
	// A caller changing the returned decision changes nobody else's.
	first.Reasons[0] = "tampered"
	if d := decide(t, e, in); d.Reasons[0] == "tampered" {
		t.Error("a returned decision shares its reasons with the memo")
	}
	writeFile(t, dir, "op.rego", `package airlock.authz
deny contains "prod reads are closed today" if input.connection.labels.env == "prod"
`)
	if err := e.Reload(context.Background()); err != nil {
		t.Fatal(err)
	}
	d := decide(t, e, in)
	if !d.Denied() || d.Policy == first.Policy {
		t.Errorf("after reload: %+v (was %s)", d, first.Policy)
	}
}

// TestMemoBounded: distinct call shapes past the bound start the memo
// over instead of growing it.
func TestMemoBounded(t *testing.T) {
	e := newEngine(t, Options{})
	m := e.snap.Load().memo
	for i := range memoMax + 50 {
		in := selectInput()
		in.Principal.Subject = "user" + time.Duration(i).String()
		decide(t, e, in)
	}
	m.mu.RLock()
	n := m.n
	m.mu.RUnlock()
	if n > memoMax || n == 0 {
		t.Errorf("memo holds %d decisions, bound %d", n, memoMax)
	}
}

// TestClientIDTellsAgentsApart: a rule on the token's client tells two
// agents of the same subject apart, however alike the rest of their
// calls, and whatever name their MCP client claims; nothing cached for
// one client is handed to the other.
func TestClientIDTellsAgentsApart(t *testing.T) {
	dir := t.TempDir()
	writeFile(t, dir, "agents.rego", `package airlock.authz
deny contains "the reporting agent may not read prod" if {
	input.principal.client_id == "reporting-agent"
	input.connection.labels.env == "prod"
}
`)
	e := newEngine(t, Options{Dir: dir})
	if e.snap.Load().memo == nil {
		t.Fatal("a rule on client_id turned the memo off")
	}
	ide := selectInput()
	ide.Principal.ClientID = "ide-agent"
	reporting := selectInput()
	reporting.Principal.ClientID = "reporting-agent"
	impostor := selectInput() // claims the name, holds another client's token
	impostor.Principal.ClientID = "ide-agent"
	impostor.Principal.Client = identity.Client{Name: "reporting-agent"}
	for range 2 { // the second round is served from the caches
		if d := decide(t, e, ide); !d.Allow {
			t.Errorf("ide agent: %+v", d)
		}
		if d := decide(t, e, reporting); !d.Denied() {
			t.Errorf("reporting agent was handed another client's decision: %+v", d)
		}
		if d := decide(t, e, impostor); !d.Allow {
			t.Errorf("a claimed client name counted as the token's client: %+v", d)
		}
	}
	// What policy eval reads from a file says the same.
	b, err := reporting.MarshalJSON()
	if err != nil {
		t.Fatal(err)
	}
	if d, err := EvalFile(context.Background(), e, b); err != nil || !d.Denied() {
		t.Errorf("policy eval of the reporting agent's input: %+v, %v", d, err)
	}
}
