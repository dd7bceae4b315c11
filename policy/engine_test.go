package policy

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"testing"
	"time"
)

const denyOrders = `package airlock.authz

deny contains "orders are off limits" if {
	some s in input.action.statements
	"public.orders" in s.tables_read
}
`

func TestOperatorExtensionChangesOutcomeAndHash(t *testing.T) {
	def := newEngine(t, Options{})
	dir := t.TempDir()
	writeFile(t, dir, "orders.rego", denyOrders)
	e := newEngine(t, Options{Dir: dir})
	if e.Hash() == def.Hash() {
		t.Fatalf("operator policy did not change the hash %s", e.Hash())
	}
	d := decide(t, e, selectInput())
	if !d.Denied() || !slices.Equal(d.Reasons, []string{"orders are off limits"}) {
		t.Fatalf("decision = %+v, want the operator's deny", d)
	}
	if d.Policy != e.Hash() {
		t.Errorf("decision policy %s, engine %s", d.Policy, e.Hash())
	}
	// The defaults still apply to everything else.
	if d := decide(t, e, deleteAllInput()); !d.RequireApproval {
		t.Errorf("delete without where: %+v, want approval", d)
	}
}

func TestExamplesFromREADME(t *testing.T) {
	e := newEngine(t, Options{Dir: "testdata/examples"})
	in := selectInput()
	in.Principal.Groups = []string{"contractors"}
	if d := decide(t, e, in); !d.Allow || d.MaxRows != 50 {
		t.Errorf("contractor read: %+v, want allow with max_rows 50", d)
	}
	var out strings.Builder
	passed, failed, err := RunTests(context.Background(), "testdata/examples", false, &out, false)
	if err != nil || failed != 0 || passed < 100 {
		t.Fatalf("RunTests: %d passed, %d failed, %v\n%s", passed, failed, err, out.String())
	}
}

func TestReloadRejectsBrokenPolicy(t *testing.T) {
	dir := t.TempDir()
	writeFile(t, dir, "orders.rego", denyOrders)
	e := newEngine(t, Options{Dir: dir})
	hash, loaded, _ := e.Status()

	writeFile(t, dir, "broken.rego", "package airlock.authz\n\ndeny contains \"x\" if {\n")
	err := e.Reload(context.Background())
	if err == nil {
		t.Fatal("Reload accepted a syntax error")
	}
	if !strings.HasPrefix(err.Error(), "policy: load: ") || !strings.Contains(err.Error(), "broken.rego") {
		t.Errorf("error %q does not name the file", err)
	}
	h2, l2, lastErr := e.Status()
	if h2 != hash || !l2.Equal(loaded) || !errors.Is(lastErr, err) && lastErr.Error() != err.Error() {
		t.Errorf("status after rejection = %s %v %v; want %s %v and the error", h2, l2, lastErr, hash, loaded)
	}
	if d := decide(t, e, selectInput()); !d.Denied() || d.Policy != hash {
		t.Errorf("old policy not in force: %+v", d)
	}

	// Fixing the file clears the error.
	if err := os.Remove(filepath.Join(dir, "broken.rego")); err != nil {
		t.Fatal(err)
	}
	if err := e.Reload(context.Background()); err != nil {
		t.Fatal(err)
	}
	if e.LastError() != nil {
		t.Errorf("LastError after a good reload = %v", e.LastError())
	}
}

func TestReloadRejectsPolicyWhoseTestsFail(t *testing.T) {
	dir := t.TempDir()
	e := newEngine(t, Options{Dir: dir})
	hash := e.Hash()
	writeFile(t, dir, "orders.rego", denyOrders)
	writeFile(t, dir, "orders_test.rego", `package airlock.orders_test

import data.airlock.authz

test_orders_allowed if {
	authz.decision.allow with input as {"principal": {"subject": "a", "verified": true}, "tool": {"family": "sql"},
		"connection": {"name": "db", "labels": {}}, "action": {"read_only": true, "risk": "low", "flags": [],
		"statements": [{"kind": "select", "read_only": true, "tables_read": ["public.orders"]}]}, "grants": []}
}
`)
	err := e.Reload(context.Background())
	if err == nil || !strings.Contains(err.Error(), "test_orders_allowed") {
		t.Fatalf("Reload = %v, want the failing test named", err)
	}
	if e.Hash() != hash {
		t.Errorf("hash changed to %s after a rejected reload", e.Hash())
	}
	// A passing test lets it in.
	writeFile(t, dir, "orders_test.rego", `package airlock.orders_test

import data.airlock.authz

test_orders_denied if {
	not authz.decision.allow with input as {"principal": {"subject": "a", "verified": true}, "tool": {"family": "sql"},
		"connection": {"name": "db", "labels": {}}, "action": {"read_only": true, "risk": "low", "flags": [],
		"statements": [{"kind": "select", "read_only": true, "tables_read": ["public.orders"]}]}, "grants": []}
}
`)
	if err := e.Reload(context.Background()); err != nil {
		t.Fatal(err)
	}
	if e.Hash() == hash {
		t.Error("hash unchanged after an accepted reload")
	}
}

func TestNewFailsOnBrokenPolicy(t *testing.T) {
	dir := t.TempDir()
	writeFile(t, dir, "bad.rego", "package airlock.authz\n\ndeny contains x if { x := y }\n")
	if _, err := New(context.Background(), Options{Dir: dir}); err == nil || !strings.HasPrefix(err.Error(), "policy: load: ") {
		t.Errorf("New = %v, want a load error", err)
	}
	if _, err := New(context.Background(), Options{Dir: filepath.Join(dir, "missing")}); err == nil {
		t.Error("New accepted a missing policy directory")
	}
}

// replacement is the README's replace_default example.
const replacement = `package airlock.authz

import data.airlock.lib

decision := {"allow": true, "reasons": ["DBA"], "max_rows": 100} if {
	lib.in_group(input.principal, "dba")
	input.principal.verified == true
} else := {"allow": false, "reasons": ["only DBAs use airlock here"]}

visible if lib.in_group(input.principal, "dba")
`

func TestReplaceDefault(t *testing.T) {
	dir := t.TempDir()
	writeFile(t, dir, "mine.rego", replacement)
	e := newEngine(t, Options{Dir: dir, ReplaceDefault: true})
	ctx := context.Background()
	d := decide(t, e, selectInput())
	if !d.Denied() || !slices.Equal(d.Reasons, []string{"only DBAs use airlock here"}) {
		t.Fatalf("alice: %+v, want the replacement's deny", d)
	}
	// The default rules are gone: a DBA may even delete without WHERE.
	in := deleteAllInput()
	in.Principal.Groups = []string{"dba"}
	d = decide(t, e, in)
	if !d.Allow || d.MaxRows != 100 || !d.Mask.Response || d.TimeoutMS != 0 {
		t.Errorf("dba: %+v, want allow, max_rows 100, masking on by default", d)
	}
	if e.Visible(ctx, alice, sqlQ, prodDB) || !e.Visible(ctx, in.Principal, sqlQ, prodDB) {
		t.Error("visibility does not follow the replacement")
	}
	// Without a visible rule, everything is hidden: fail closed.
	writeFile(t, dir, "mine.rego", strings.Split(replacement, "\nvisible")[0])
	if err := e.Reload(ctx); err != nil {
		t.Fatal(err)
	}
	if e.Visible(ctx, in.Principal, sqlQ, prodDB) {
		t.Error("visible without a visible rule")
	}
}

func TestUndefinedDecisionDenies(t *testing.T) {
	dir := t.TempDir()
	writeFile(t, dir, "empty.rego", "package airlock.authz\n")
	e := newEngine(t, Options{Dir: dir, ReplaceDefault: true})
	if _, err := e.Decide(context.Background(), selectInput()); !errors.Is(err, ErrUndefined) {
		t.Fatalf("Decide err = %v, want ErrUndefined", err)
	}
	d := e.DecideOrDeny(context.Background(), selectInput())
	if !d.Denied() || len(d.Reasons) != 1 || !strings.HasPrefix(d.Reasons[0], "policy evaluation failed: ") || d.Policy != e.Hash() {
		t.Errorf("DecideOrDeny = %+v", d)
	}
}

func TestConflictDenies(t *testing.T) {
	dir := t.TempDir()
	writeFile(t, dir, "rows.rego", `package airlock.authz

max_rows := 5 if input.tool.family == "sql"

max_rows := 7 if input.principal.verified
`)
	e := newEngine(t, Options{Dir: dir})
	_, err := e.Decide(context.Background(), selectInput())
	if err == nil || !strings.Contains(err.Error(), "conflict") {
		t.Fatalf("Decide err = %v, want a conflict", err)
	}
	d := e.DecideOrDeny(context.Background(), selectInput())
	if !d.Denied() || !strings.Contains(d.Reasons[0], "policy evaluation failed") {
		t.Errorf("DecideOrDeny = %+v", d)
	}
}

func TestMalformedDecisionDenies(t *testing.T) {
	for name, src := range map[string]string{
		"not an object":   `decision := "yes"`,
		"allow not bool":  `decision := {"allow": "true", "reasons": []}`,
		"no allow":        `decision := {"reasons": []}`,
		"reasons numbers": `decision := {"allow": true, "reasons": [1]}`,
		"rows fractional": `decision := {"allow": true, "reasons": [], "max_rows": 1.5}`,
		"rows negative":   `decision := {"allow": true, "reasons": [], "max_rows": -1}`,
		"mask not object": `decision := {"allow": true, "reasons": [], "mask": true}`,
	} {
		t.Run(name, func(t *testing.T) {
			dir := t.TempDir()
			writeFile(t, dir, "d.rego", "package airlock.authz\n\n"+src+"\n")
			e := newEngine(t, Options{Dir: dir, ReplaceDefault: true})
			if _, err := e.Decide(context.Background(), selectInput()); err == nil {
				t.Error("malformed decision accepted")
			}
			if d := e.DecideOrDeny(context.Background(), selectInput()); !d.Denied() {
				t.Errorf("DecideOrDeny = %+v", d)
			}
		})
	}
}

func TestTimeoutDenies(t *testing.T) {
	dir := t.TempDir()
	writeFile(t, dir, "slow.rego", `package airlock.authz

deny contains "never" if {
	some i in numbers.range(1, 5000)
	some j in numbers.range(1, 5000)
	i * j == -1
}
`)
	e := newEngine(t, Options{Dir: dir, EvalTimeout: 5 * time.Millisecond})
	start := time.Now()
	_, err := e.Decide(context.Background(), selectInput())
	if err == nil || !strings.Contains(err.Error(), "timed out") {
		t.Fatalf("Decide err = %v, want a timeout", err)
	}
	if el := time.Since(start); el > 2*time.Second {
		t.Errorf("evaluation ran %s past a 5ms timeout", el)
	}
	if d := e.DecideOrDeny(context.Background(), selectInput()); !d.Denied() {
		t.Errorf("DecideOrDeny = %+v", d)
	}
}

func TestDefaults(t *testing.T) {
	o := Options{}.withDefaults()
	if o.EvalTimeout != DefaultEvalTimeout || o.PollInterval != time.Second || o.Log == nil {
		t.Errorf("defaults = %+v", o)
	}
	var e Engine // never loaded: everything fails closed
	if d := e.DecideOrDeny(context.Background(), selectInput()); !d.Denied() {
		t.Errorf("unloaded engine: %+v", d)
	}
	if e.Visible(context.Background(), alice, sqlQ, prodDB) {
		t.Error("unloaded engine shows tools")
	}
	if err := e.Reload(context.Background()); err != nil {
		t.Errorf("reload of the default bundle: %v", err)
	}
	if e.Hash() == "" {
		t.Error("no hash after reload")
	}
}

func TestCancelledContextDenies(t *testing.T) {
	e := newEngine(t, Options{})
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if d := e.DecideOrDeny(ctx, selectInput()); !d.Denied() {
		t.Errorf("cancelled context: %+v", d)
	}
}

// TestReloadDoesNotLeak reloads 50 distinct versions: each swap must
// release the previous snapshot (compiler, prepared queries, caches).
func TestReloadDoesNotLeak(t *testing.T) {
	dir := t.TempDir()
	writeFile(t, dir, "orders.rego", denyOrders)
	e := newEngine(t, Options{Dir: dir})
	ctx := context.Background()
	reload := func(i int) {
		writeFile(t, dir, "orders.rego", fmt.Sprintf("%s\n# version %d\n", denyOrders, i))
		if err := e.Reload(ctx); err != nil {
			t.Fatal(err)
		}
		_ = e.DecideOrDeny(ctx, selectInput())
		_ = e.Visible(ctx, alice, sqlQ, prodDB)
	}
	for i := range 5 { // settle one-time allocations (interning, caches)
		reload(i)
	}
	heap := func() uint64 {
		var m runtime.MemStats
		runtime.GC()
		runtime.GC()
		runtime.ReadMemStats(&m)
		return m.HeapAlloc
	}
	before := heap()
	for i := range 50 {
		reload(100 + i)
	}
	after := heap()
	t.Logf("heap before %d KiB, after 50 reloads %d KiB", before>>10, after>>10)
	if after > before+8<<20 {
		t.Errorf("heap grew by %d KiB over 50 reloads", (after-before)>>10)
	}
}

func TestReloadUnchangedKeepsSnapshot(t *testing.T) {
	dir := t.TempDir()
	writeFile(t, dir, "orders.rego", denyOrders)
	e := newEngine(t, Options{Dir: dir})
	_, loaded, _ := e.Status()
	if err := e.Reload(context.Background()); err != nil {
		t.Fatal(err)
	}
	if _, l2, _ := e.Status(); !l2.Equal(loaded) {
		t.Error("an unchanged policy was swapped")
	}
}

func TestWatchReloadsOnChange(t *testing.T) {
	dir := t.TempDir()
	e := newEngine(t, Options{Dir: dir, PollInterval: 10 * time.Millisecond})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { e.Watch(ctx); close(done) }()
	defer func() { cancel(); <-done }()

	first := e.Hash()
	time.Sleep(30 * time.Millisecond) // let Watch take its first fingerprint
	writeFile(t, dir, "orders.rego", denyOrders)
	// The watcher may see the file half written first (an intermediate
	// reload); it must settle on the complete one.
	waitFor(t, func() bool { return e.Hash() != first && decide(t, e, selectInput()).Denied() })
	second := e.Hash()
	writeFile(t, dir, "broken.rego", "package")
	waitFor(t, func() bool { return e.LastError() != nil })
	if e.Hash() != second {
		t.Error("a broken file replaced the policy")
	}
}

func waitFor(t *testing.T, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatal("condition not met within 10s")
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func TestExplain(t *testing.T) {
	dir := t.TempDir()
	writeFile(t, dir, "orders.rego", denyOrders)
	e := newEngine(t, Options{Dir: dir})
	b, err := deleteAllInput().MarshalJSON()
	if err != nil {
		t.Fatal(err)
	}
	var out strings.Builder
	if err := Explain(context.Background(), e, b, &out); err != nil {
		t.Fatal(err)
	}
	s := out.String()
	for _, want := range []string{
		"policy " + e.Hash(),
		"deny: (none)",
		"approval:\n  - DELETE without WHERE affects every row (delete_without_where); it needs approval from group:approvers (approvers: [\"group:approvers\"])",
		"rules fired:",
		"default/sql.rego:",
		"decision: require approval",
		`"require_approval": true`,
	} {
		if !strings.Contains(s, want) {
			t.Errorf("explain output lacks %q:\n%s", want, s)
		}
	}
	// An operator rule that fires is named by its file.
	b, _ = selectInput().MarshalJSON()
	out.Reset()
	if err := Explain(context.Background(), e, b, &out); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out.String(), filepath.Join(dir, "orders.rego")+":3 deny") {
		t.Errorf("explain does not name the operator rule:\n%s", out.String())
	}
}

func TestEvalFile(t *testing.T) {
	e := newEngine(t, Options{})
	d, err := EvalFile(context.Background(), e, []byte(`{
		"principal": {"subject": "alice", "groups": [], "verified": true},
		"tool": {"name": "sql_query", "family": "sql"},
		"connection": {"name": "prod-db", "kind": "postgres", "labels": {"env": "prod"}},
		"action": {"read_only": false, "risk": "high", "flags": ["delete_without_where"],
			"statements": [{"kind": "delete", "read_only": false, "has_where": false}]}
	}`))
	if err != nil {
		t.Fatal(err)
	}
	if !d.RequireApproval || d.Policy != e.Hash() {
		t.Errorf("decision = %+v", d)
	}
	if _, err := EvalFile(context.Background(), e, []byte(`[1]`)); err == nil {
		t.Error("EvalFile accepted an array")
	}
}

func TestRunTestsReportsOperatorFailures(t *testing.T) {
	dir := t.TempDir()
	writeFile(t, dir, "x_test.rego", "package x_test\n\ntest_ok if true\n\ntest_bad if false\n")
	var out strings.Builder
	passed, failed, err := RunTests(context.Background(), dir, false, &out, true)
	if err != nil {
		t.Fatal(err)
	}
	if failed != 1 || passed < 101 {
		t.Errorf("passed %d failed %d\n%s", passed, failed, out.String())
	}
	if !strings.Contains(out.String(), "test_bad") {
		t.Errorf("report does not name the failing test:\n%s", out.String())
	}
	// With replace_default only airlock.lib's tests remain.
	p2, _, err := RunTests(context.Background(), dir, true, nil, false)
	if err != nil || p2 >= passed {
		t.Errorf("replace_default: passed %d (default %d), err %v", p2, passed, err)
	}
}

func TestDecideConcurrentWithReload(t *testing.T) {
	dir := t.TempDir()
	e := newEngine(t, Options{Dir: dir})
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	errs := make(chan error, 4)
	for range 4 {
		go func() {
			for ctx.Err() == nil {
				d := e.DecideOrDeny(context.Background(), selectInput())
				if d.Policy == "" || (!d.Allow && !strings.Contains(strings.Join(d.Reasons, ""), "orders")) {
					errs <- fmt.Errorf("decision %+v", d)
					return
				}
			}
			errs <- nil
		}()
	}
	for i := range 10 {
		src := "package airlock.authz\n"
		if i%2 == 1 {
			src = denyOrders
		}
		writeFile(t, dir, "p.rego", src)
		if err := e.Reload(context.Background()); err != nil {
			t.Fatal(err)
		}
	}
	cancel()
	for range 4 {
		if err := <-errs; err != nil {
			t.Error(err)
		}
	}
}
