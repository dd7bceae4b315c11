package e2e

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/mark3labs/mcp-go/mcp"

	"github.com/airlockhq/airlock/internal/testenv"
)

// audit runs `airlock audit ARGS` against the store in dir.
func audit(t *testing.T, dir string, args ...string) (string, int) {
	t.Helper()
	full := append([]string{"audit"}, args...)
	full = append(full, "--store-dsn", filepath.Join(dir, "airlock.db"), "--signing-key", filepath.Join(dir, "airlock-audit.key"))
	cmd := exec.Command(binary, full...)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	err := cmd.Run()
	code := 0
	if ee, ok := err.(*exec.ExitError); ok {
		code = ee.ExitCode()
	} else if err != nil {
		t.Fatal(err)
	}
	return out.String(), code
}

// awaitTrail runs `airlock audit ARGS` against the store in dir until done
// accepts its output (events reach the store from the journal within
// milliseconds), and returns that output; after 10 s it fails, saying
// what was missing.
func awaitTrail(t *testing.T, dir, missing string, done func(out string) bool, args ...string) string {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		out, code := audit(t, dir, args...)
		if code != 0 {
			t.Fatalf("audit %v: %d %s", args, code, out)
		}
		if done(out) {
			return out
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s:\n%s", missing, out)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func clearValues(t *testing.T, adminDSN string) []string {
	t.Helper()
	conn, err := pgx.Connect(context.Background(), adminDSN)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(context.Background())
	rows, err := conn.Query(context.Background(), "SELECT ssn, card_number FROM customers")
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var a, b string
		if err := rows.Scan(&a, &b); err != nil {
			t.Fatal(err)
		}
		out = append(out, a, b)
	}
	return out
}

// TestEveryCallIsRecordedMaskedAndVerifiable runs the binary, makes an
// allowed, a denied and an approval-bound call, stops it, and checks the
// trail with `airlock audit`: everything is there, the chain verifies, and
// no clear personal value is anywhere in the store's files.
func TestEveryCallIsRecordedMaskedAndVerifiable(t *testing.T) {
	db := testenv.Postgres(t).NewDatabase(t)
	t.Setenv("AIRLOCK_TEST_MASK_KEY", "an-e2e-hash-key-of-enough-bytes")
	cfgPath := writeConfig(t, yamlConfig(db, "30s", "")+maskingYAML)
	dir := filepath.Dir(cfgPath)
	cmd, base, _ := startBinary(t, cfgPath, []string{"AIRLOCK_TEST_SHOP_DSN=" + db.AppDSN,
		"AIRLOCK_TEST_MASK_KEY=an-e2e-hash-key-of-enough-bytes"})
	c := (&env{t: t, url: base}).client(mcp.ProtocolVersion20251125)

	if res := call(t, c, "sql_query", map[string]any{"connection": "shop", "sql": "SELECT id, ssn, card_number, 'x' || ssn AS copy FROM customers"}); res.IsError {
		t.Fatal(textOf(res))
	}
	if res := call(t, c, "sql_query", map[string]any{"connection": "shop", "sql": "SELECT pg_read_file('/etc/passwd')"}); !res.IsError {
		t.Fatal("pg_read_file ran")
	}
	// A literal personal value in the SQL text itself is masked in the record.
	card := "4111111111111111"
	if res := call(t, c, "sql_query", map[string]any{"connection": "shop", "sql": "DELETE FROM customers WHERE card_number = '" + card + "'"}); !res.IsError {
		t.Fatal("a delete ran without approval")
	}
	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	if err := cmd.Wait(); err != nil {
		t.Fatalf("exit: %v", err)
	}

	out, code := audit(t, dir, "verify")
	if code != 0 || !strings.Contains(out, "ok") {
		t.Fatalf("audit verify: exit %d\n%s", code, out)
	}
	out, code = audit(t, dir, "search", "--json")
	if code != 0 {
		t.Fatalf("audit search: %d %s", code, out)
	}
	for _, want := range []string{`"session.start"`, `"call.intent"`, `"call.result"`, `"call.error"`, `"config.loaded"`, `"policy.loaded"`,
		`"approval.requested"`, `"privileged_function"`, `"require_approval":true`, `"alice@example.com"`, `[REDACTED:card]`} {
		if !strings.Contains(strings.ReplaceAll(out, " ", ""), want) {
			t.Errorf("the trail lacks %s:\n%.3000s", want, out)
		}
	}
	// No clear value in the files the store keeps (database, WAL, the
	// journal's directory).
	secrets := append(clearValues(t, db.AdminDSN), card)
	files, _ := filepath.Glob(filepath.Join(dir, "airlock.db*"))
	journaled, _ := filepath.Glob(filepath.Join(dir, "airlock.db.journal", "*"))
	if len(files) == 0 {
		t.Fatal("no store files")
	}
	for _, f := range append(files, journaled...) {
		if fi, err := os.Stat(f); err == nil && fi.IsDir() {
			continue
		}
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		for _, s := range secrets {
			if bytes.Contains(b, []byte(s)) {
				t.Fatalf("%s holds the clear value %q", f, s)
			}
		}
	}

	// An attacker edits one recorded decision: verify names the place.
	store := filepath.Join(dir, "airlock.db")
	sq := exec.Command("go", "run", "./testdata/sqlite-exec", store, `UPDATE audit_events SET data = replace(data, '"allow":false', '"allow":true') WHERE type = 'call.intent' AND decision = 'deny'`)
	if b, err := sq.CombinedOutput(); err != nil {
		t.Fatalf("tamper: %v %s", err, b)
	}
	out, code = audit(t, dir, "verify")
	if code != 1 || !strings.Contains(out, "hash mismatch") {
		t.Fatalf("a tampered trail: exit %d\n%s", code, out)
	}
}

// TestKillDuringACallLeavesTheIntent kills the gateway with SIGKILL while a
// call runs: after a restart the intent is in the trail, its outcome is
// unknown, and the chain still verifies.
func TestKillDuringACallLeavesTheIntent(t *testing.T) {
	db := testenv.Postgres(t).NewDatabase(t)
	cfgPath := writeConfig(t, yamlConfig(db, "30s", ""))
	dir := filepath.Dir(cfgPath)
	cmd, base, _ := startBinary(t, cfgPath, []string{"AIRLOCK_TEST_SHOP_DSN=" + db.AppDSN})
	c := (&env{t: t, url: base}).client(mcp.ProtocolVersion20260728)
	go func() {
		req := mcp.CallToolRequest{}
		req.Params.Name = "sql_query"
		req.Params.Arguments = map[string]any{"connection": "shop", "sql": "SELECT pg_sleep(5), 'interrupted' AS marker"}
		_, _ = c.CallTool(context.Background(), req)
	}()
	time.Sleep(1 * time.Second)
	if err := cmd.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	_ = cmd.Wait()

	// A restart continues the same chain.
	cmd2, base2, _ := startBinary(t, cfgPath, []string{"AIRLOCK_TEST_SHOP_DSN=" + db.AppDSN})
	c2 := (&env{t: t, url: base2}).client(mcp.ProtocolVersion20260728)
	if res := call(t, c2, "sql_query", map[string]any{"connection": "shop", "sql": "SELECT 1 AS after_restart"}); res.IsError {
		t.Fatal(textOf(res))
	}
	_ = cmd2.Process.Signal(syscall.SIGTERM)
	_ = cmd2.Wait()

	out, code := audit(t, dir, "verify")
	if code != 0 {
		t.Fatalf("verify after kill -9: exit %d\n%s", code, out)
	}
	if !strings.Contains(out, "outcome unknown") {
		t.Fatalf("verify does not report the interrupted call:\n%s", out)
	}
	out, _ = audit(t, dir, "search", "--type", "call.intent", "--json")
	if !strings.Contains(out, "interrupted") {
		t.Fatalf("the interrupted call's intent is missing:\n%s", out)
	}
}

// TestKillRightAfterCallsLosesNoResult kills the gateway with SIGKILL the
// moment its last call has answered, before the journal's next batch
// reaches the store: audit verify reports the stranded events instead of
// passing over them, and after a restart every call's intent and result
// are in the trail.
func TestKillRightAfterCallsLosesNoResult(t *testing.T) {
	db := testenv.Postgres(t).NewDatabase(t)
	cfgPath := writeConfig(t, yamlConfig(db, "30s", ""))
	dir := filepath.Dir(cfgPath)
	vars := []string{"AIRLOCK_TEST_SHOP_DSN=" + db.AppDSN}
	cmd, base, _ := startBinary(t, cfgPath, vars)
	c := (&env{t: t, url: base}).client(mcp.ProtocolVersion20251125)
	const calls = 20
	for i := range calls {
		q := map[string]any{"connection": "shop", "sql": fmt.Sprintf("SELECT 'journaled_%02d' AS marker", i)}
		if res := call(t, c, "sql_query", q); res.IsError {
			t.Fatal(textOf(res))
		}
	}
	if err := cmd.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	_ = cmd.Wait()

	results := func() int {
		out, code := audit(t, dir, "search", "--type", "call.result", "--json")
		if code != 0 {
			t.Fatalf("audit search: exit %d\n%s", code, out)
		}
		n := 0
		for i := range calls {
			if strings.Contains(out, fmt.Sprintf("journaled_%02d", i)) {
				n++
			}
		}
		return n
	}
	stored := results()
	out, code := audit(t, dir, "verify")
	if code != 0 {
		t.Fatalf("verify after kill -9: exit %d\n%s", code, out)
	}
	if warned := strings.Contains(out, "not in the store yet"); warned != (stored < calls) {
		t.Fatalf("%d of %d results in the store; verify warned of stranded events: %v\n%s", stored, calls, warned, out)
	}
	t.Logf("%d of %d results were in the store before the restart", stored, calls)

	cmd2, _, _ := startBinary(t, cfgPath, vars)
	_ = cmd2.Process.Signal(syscall.SIGTERM)
	_ = cmd2.Wait()
	if n := results(); n != calls {
		t.Fatalf("%d of %d results in the trail after the restart", n, calls)
	}
	out, code = audit(t, dir, "verify")
	if code != 0 || strings.Contains(out, "not in the store yet") {
		t.Fatalf("verify after recovery: exit %d\n%s", code, out)
	}
}

// TestRevocationStopsTheNextCallOnAnOpenSession: `airlock revoke` writes to
// the shared store; the running gateway refuses the subject's next call on
// the session it already has, records it, and admits it again after
// `airlock unrevoke`.
func TestRevocationStopsTheNextCallOnAnOpenSession(t *testing.T) {
	db := testenv.Postgres(t).NewDatabase(t)
	cfgPath := writeConfig(t, yamlConfig(db, "30s", ""))
	cmd, base, _ := startBinary(t, cfgPath, []string{"AIRLOCK_TEST_SHOP_DSN=" + db.AppDSN})
	c := (&env{t: t, url: base}).client(mcp.ProtocolVersion20251125)
	q := map[string]any{"connection": "shop", "sql": "SELECT 1 AS one"}
	if res := call(t, c, "sql_query", q); res.IsError {
		t.Fatal(textOf(res))
	}
	run := func(args ...string) string {
		cmd := exec.Command(binary, append(args, "--config", cfgPath, "--by", "sec-oncall")...)
		cmd.Env = append(os.Environ(), "AIRLOCK_TEST_SHOP_DSN="+db.AppDSN)
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("%v: %v %s", args, err, out)
		}
		return string(out)
	}
	if out := run("revoke", "--subject", "alice@example.com", "--reason", "laptop stolen"); !strings.Contains(out, "is revoked") {
		t.Fatal(out)
	}
	res := call(t, c, "sql_query", q)
	if !res.IsError || !strings.Contains(textOf(res), "alice@example.com is revoked (laptop stolen)") {
		t.Fatalf("after revoke: %s", textOf(res))
	}
	run("unrevoke", "--subject", "alice@example.com")
	if res := call(t, c, "sql_query", q); res.IsError {
		t.Fatalf("after unrevoke: %s", textOf(res))
	}
	_ = cmd.Process.Signal(syscall.SIGTERM)
	_ = cmd.Wait()
	out, code := audit(t, filepath.Dir(cfgPath), "search", "--json")
	flat := strings.ReplaceAll(out, " ", "")
	if code != 0 || !strings.Contains(flat, `"identity.revoked"`) || !strings.Contains(flat, `"identity.unrevoked"`) ||
		!strings.Contains(flat, `"kind":"identity"`) {
		t.Fatalf("the revocation and the refused call are not in the trail:\n%.2000s", out)
	}
}
