package auditcli_test

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"database/sql"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/airlockhq/airlock/connectors"
	"github.com/airlockhq/airlock/internal/store"
	"github.com/airlockhq/airlock/internal/testenv"
	"github.com/airlockhq/airlock/recorder"
	"github.com/airlockhq/airlock/recorder/auditcli"
)

func TestMain(m *testing.M) { os.Exit(testenv.Main(m)) }

type env struct {
	driver, dsn     string
	keyFile, pubKey string
}

// seed records two sessions: alice reads (allowed) and bob writes
// (denied), plus an intent whose outcome never came.
func seed(t *testing.T, driver, dsn string) env {
	t.Helper()
	e, add, done := openTrail(t, driver, dsn)
	add(recorder.TypeSessionStart, "s-alice", "alice@example.com", "", recorder.SessionData{ClientName: "cursor", Transport: "http"})
	add(recorder.TypeCallIntent, "s-alice", "alice@example.com", "c1", recorder.IntentData{Tool: "sql_query", Connection: "prod-db",
		Arguments: map[string]any{"sql": "SELECT email FROM customers LIMIT 1"},
		Action:    &connectors.Action{ReadOnly: true, Risk: connectors.RiskLow},
		Decision:  &recorder.DecisionData{Allow: true, Reasons: []string{"reads are allowed"}, Policy: "sha256:p1"}})
	add(recorder.TypeCallResult, "s-alice", "alice@example.com", "c1", recorder.ResultData{Status: "ok", Rows: 1, Bytes: 30,
		DurationMS: 2, Content: json.RawMessage(`[{"email":"a***@example.com"}]`)})
	add(recorder.TypeSessionStart, "s-bob", "bob@example.com", "", recorder.SessionData{ClientName: "claude-code"})
	add(recorder.TypeCallIntent, "s-bob", "bob@example.com", "c2", recorder.IntentData{Tool: "sql_query", Connection: "prod-db",
		Arguments: map[string]any{"sql": "DELETE FROM orders"},
		Decision:  &recorder.DecisionData{Reasons: []string{"delete without where"}, Policy: "sha256:p1"}})
	add(recorder.TypeCallError, "s-bob", "bob@example.com", "c2", recorder.ErrorData{Kind: "denied", Message: "refused: delete without where"})
	add(recorder.TypeCallIntent, "s-bob", "bob@example.com", "c3", recorder.IntentData{Tool: "k8s_get", Connection: "prod-k8s",
		Decision: &recorder.DecisionData{Allow: true, Policy: "sha256:p1"}})
	done()
	return e
}

type addFunc func(typ, session, subject, call string, data any)

// openTrail makes a signing key and a recorder on the store; add appends
// an event, done closes the recorder.
func openTrail(t *testing.T, driver, dsn string) (env, addFunc, func()) {
	t.Helper()
	dir := t.TempDir()
	e := env{driver: driver, dsn: dsn, keyFile: filepath.Join(dir, "audit.key"), pubKey: filepath.Join(dir, "audit.pub")}
	key, created, err := recorder.LoadOrCreateKey(e.keyFile)
	if err != nil || !created {
		t.Fatal(err)
	}
	if err := os.WriteFile(e.pubKey, recorder.PublicKeyPEM(key.Public().(ed25519.PublicKey)), 0o644); err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	st, err := store.Open(ctx, driver, dsn)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	r, err := recorder.New(ctx, st, recorder.Options{SigningKey: key})
	if err != nil {
		t.Fatal(err)
	}
	add := func(typ, session, subject, call string, data any) {
		ev, err := recorder.NewEvent(typ, data)
		if err != nil {
			t.Fatal(err)
		}
		ev.SessionID, ev.Subject, ev.CallID, ev.Verified = session, subject, call, true
		if _, err := r.Append(ctx, ev); err != nil {
			t.Fatal(err)
		}
	}
	done := func() {
		if err := r.Close(); err != nil {
			t.Fatal(err)
		}
	}
	return e, add, done
}

func (e env) run(t *testing.T, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	args = append(args, "--store-driver", e.driver, "--store-dsn", e.dsn, "--public-key", e.pubKey)
	var out, errb bytes.Buffer
	code = auditcli.Run(context.Background(), args, &out, &errb)
	return code, out.String(), errb.String()
}

func sqliteEnv(t *testing.T) env {
	return seed(t, "sqlite", filepath.Join(t.TempDir(), "airlock.db"))
}

func TestVerify(t *testing.T) {
	for name, e := range map[string]func(*testing.T) env{
		"sqlite":   sqliteEnv,
		"postgres": func(t *testing.T) env { return seed(t, "postgres", testenv.Postgres(t).NewDatabase(t).AdminDSN) },
	} {
		t.Run(name, func(t *testing.T) {
			e := e(t)
			code, out, errs := e.run(t, "verify")
			if code != 0 || !strings.Contains(out, "7 events (seq 1..7)") || !strings.Contains(out, "audit verify: ok") ||
				!strings.Contains(out, "1 calls have an intent but no outcome") {
				t.Fatalf("verify = %d\n%s%s", code, out, errs)
			}
			code, out, _ = e.run(t, "verify", "--json", "--require-sealed")
			var rep recorder.Report
			if code != 0 || json.Unmarshal([]byte(out), &rep) != nil || rep.Events != 7 || len(rep.OutcomeUnknown) != 1 {
				t.Fatalf("verify --json = %d %s", code, out)
			}
		})
	}
}

func TestVerifyTampered(t *testing.T) {
	e := sqliteEnv(t)
	db, err := sql.Open("sqlite", e.dsn)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := db.Exec("UPDATE audit_events SET data = REPLACE(data, 'DELETE FROM orders', 'SELECT 1') WHERE seq = 5"); err != nil {
		t.Fatal(err)
	}
	db.Close()
	code, _, errs := e.run(t, "verify")
	if code != 1 || !strings.HasPrefix(errs, "audit verify: seq 5: hash mismatch (record was modified)\n") {
		t.Fatalf("verify of a tampered store = %d, stderr %q", code, errs)
	}
	// Without the right key, signatures fail.
	other := filepath.Join(t.TempDir(), "other.key")
	if _, _, err := recorder.LoadOrCreateKey(other); err != nil {
		t.Fatal(err)
	}
	var out, errb bytes.Buffer
	code = auditcli.Run(context.Background(), []string{"verify", "--store-dsn", e.dsn, "--signing-key", other}, &out, &errb)
	if code != 1 || !strings.Contains(errb.String(), "signed by unknown key") {
		t.Fatalf("verify with another key = %d, %s", code, errb.String())
	}
	if code, _, _ = (env{driver: "sqlite", dsn: e.dsn}).runNoKey(t, "verify"); code != 2 {
		t.Errorf("verify without a key = %d, want 2", code)
	}
	if code, _, errs = (env{driver: "sqlite", dsn: e.dsn + ".typo"}).runNoKey(t, "verify"); code != 1 || !strings.Contains(errs, "no audit store") {
		t.Errorf("verify of a missing file = %d %s", code, errs)
	}
}

func (e env) runNoKey(t *testing.T, args ...string) (int, string, string) {
	var out, errb bytes.Buffer
	code := auditcli.Run(context.Background(), append(args, "--store-dsn", e.dsn), &out, &errb)
	return code, out.String(), errb.String()
}

func TestReplaySessionsSearch(t *testing.T) {
	e := sqliteEnv(t)
	code, out, errs := e.run(t, "replay", "s-bob")
	if code != 0 {
		t.Fatalf("replay = %d %s", code, errs)
	}
	for _, want := range []string{"session s-bob started", "bob@example.com", "call c2: sql_query on prod-db",
		`{"sql":"DELETE FROM orders"}`, "decision:  deny (policy sha256:p1): delete without where",
		"denied c2: refused: delete without where", "call c3: k8s_get on prod-k8s", "outcome unknown"} {
		if !strings.Contains(out, want) {
			t.Errorf("replay lacks %q:\n%s", want, out)
		}
	}
	code, out, _ = e.run(t, "replay", "--json", "s-alice")
	var evs []map[string]any
	if code != 0 || json.Unmarshal([]byte(out), &evs) != nil || len(evs) != 3 || evs[2]["type"] != "call.result" {
		t.Fatalf("replay --json = %d %s", code, out)
	}
	if code, _, errs = e.run(t, "replay", "nope"); code != 1 || !strings.Contains(errs, "no events") {
		t.Errorf("replay of an unknown session = %d %s", code, errs)
	}

	code, out, _ = e.run(t, "sessions")
	if code != 0 || !strings.Contains(out, "SESSION") || !strings.Contains(out, "s-alice") || !strings.Contains(out, "s-bob") {
		t.Fatalf("sessions = %d\n%s", code, out)
	}
	code, out, _ = e.run(t, "sessions", "--decision", "deny", "--json")
	var ss []map[string]any
	if code != 0 || json.Unmarshal([]byte(out), &ss) != nil || len(ss) != 1 || ss[0]["session_id"] != "s-bob" || ss[0]["denied"] != 1.0 {
		t.Fatalf("sessions --decision deny = %d %s", code, out)
	}

	code, out, _ = e.run(t, "search", "--connection", "prod-db", "--subject", "alice@example.com")
	if code != 0 || strings.Count(out, "\n") != 2 || !strings.Contains(out, "c1 sql_query on prod-db: allow") {
		t.Fatalf("search = %d\n%s", code, out)
	}
	code, out, _ = e.run(t, "search", "--type", "call.error", "--since", "1h", "--json")
	if code != 0 || json.Unmarshal([]byte(out), &evs) != nil || len(evs) != 1 || evs[0]["seq"] != 6.0 {
		t.Fatalf("search --type call.error = %d %s", code, out)
	}
	if code, out, _ = e.run(t, "search", "--until", "2001-01-01"); code != 0 || out != "" {
		t.Errorf("search before everything = %d %q", code, out)
	}
	if code, _, _ = e.run(t, "search", "--decision", "maybe"); code != 2 {
		t.Errorf("bad --decision = %d, want 2", code)
	}
}

func TestExport(t *testing.T) {
	e := sqliteEnv(t)
	code, out, _ := e.run(t, "export", "--after-seq", "2")
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if code != 0 || len(lines) != 5 || !strings.HasPrefix(lines[0], `{"seq":3,`) {
		t.Fatalf("export jsonl = %d\n%s", code, out)
	}
	code, out, _ = e.run(t, "export", "--since", time.Now().Add(-time.Hour).Format(time.RFC3339), "--format", "cef")
	if code != 0 || strings.Count(out, "CEF:0|airlock|airlock|") != 7 || !strings.Contains(out, "act=deny") {
		t.Fatalf("export cef = %d\n%s", code, out)
	}
	if code, _, _ = e.run(t, "export", "--format", "xml"); code != 2 {
		t.Errorf("export --format xml = %d, want 2", code)
	}
}

func TestHoldAndPurge(t *testing.T) {
	e := sqliteEnv(t)
	sk := []string{"--signing-key", e.keyFile, "--by", "carol@example.com"}
	if code, _, errs := e.run(t, "hold", "on"); code != 1 || !strings.Contains(errs, "--signing-key is required") {
		t.Errorf("hold without a key = %d %s", code, errs)
	}
	if code, out, errs := e.run(t, append([]string{"hold", "on", "--reason", "case 42"}, sk...)...); code != 0 || out != "legal hold on\n" {
		t.Fatalf("hold on = %d %s %s", code, out, errs)
	}
	if code, _, errs := e.run(t, append([]string{"purge", "--before", time.Now().Add(time.Hour).Format(time.RFC3339)}, sk...)...); code != 1 || !strings.Contains(errs, "legal hold") {
		t.Fatalf("purge under hold = %d %s", code, errs)
	}
	if code, _, errs := e.run(t, append([]string{"hold", "off"}, sk...)...); code != 0 {
		t.Fatalf("hold off = %d %s", code, errs)
	}
	code, out, _ := e.run(t, "search", "--type", "legal_hold.set,legal_hold.cleared", "--json")
	var evs []map[string]any
	if code != 0 || json.Unmarshal([]byte(out), &evs) != nil || len(evs) != 2 || fmt.Sprint(evs[0]["subject"]) != "carol@example.com" {
		t.Fatalf("recorded hold events = %d %s", code, out)
	}
	code, out, errs := e.run(t, append([]string{"purge", "--before", time.Now().Add(time.Hour).Format(time.RFC3339Nano)}, sk...)...)
	if code != 0 || !strings.Contains(out, "purged 9 events through seq 9 (recorded as seq 10)") {
		t.Fatalf("purge = %d %s %s", code, out, errs)
	}
	code, out, errs = e.run(t, "verify")
	if code != 0 || !strings.Contains(out, "(seq 10..10)") {
		t.Fatalf("verify after purge = %d\n%s%s", code, out, errs)
	}
	code, out, _ = e.run(t, "search", "--json")
	if code != 0 || json.Unmarshal([]byte(out), &evs) != nil || len(evs) != 1 || evs[0]["type"] != "retention.purged" {
		t.Fatalf("after the purge = %d %s", code, out)
	}
	if code, _, _ = e.run(t, append([]string{"purge"}, sk...)...); code != 2 {
		t.Errorf("purge without a cut-off = %d, want 2", code)
	}
}

// TestReplayOneCall: a call made without a session (the stateless
// protocol revision) is replayed by its id, and its transcript names the
// caller the gateway recorded with the intent: the token's client and
// issuer, the groups policy saw, and the client software.
func TestReplayOneCall(t *testing.T) {
	e, add, done := openTrail(t, "sqlite", filepath.Join(t.TempDir(), "airlock.db"))
	add(recorder.TypeCallIntent, "", "svc-reporting", "call_0192a", recorder.IntentData{Tool: "sql_query", Connection: "prod-db",
		Arguments: map[string]any{"sql": "SELECT count(*) FROM orders"},
		Decision:  &recorder.DecisionData{Allow: true, Policy: "sha256:p1"},
		Caller: &recorder.CallerData{Issuer: "https://idp.example.com/", ClientID: "reporting-agent", Groups: []string{"agents"},
			ClientName: "claude-code", ClientVersion: "2.1.0", Transport: "http"}})
	add(recorder.TypeCallResult, "", "svc-reporting", "call_0192a", recorder.ResultData{Status: "ok", Rows: 1, DurationMS: 3})
	add(recorder.TypeCallIntent, "", "svc-other", "call_0192b", recorder.IntentData{Tool: "sql_query", Connection: "prod-db"})
	done()
	code, out, errs := e.run(t, "replay", "call_0192a")
	if code != 0 {
		t.Fatalf("replay = %d %s", code, errs)
	}
	for _, want := range []string{"call call_0192a: sql_query on prod-db",
		"caller:    claude-code 2.1.0 over http, client id reporting-agent, issuer https://idp.example.com/, groups agents",
		"1 row"} {
		if !strings.Contains(out, want) {
			t.Errorf("replay lacks %q:\n%s", want, out)
		}
	}
	if strings.Contains(out, "call_0192b") || strings.Contains(out, "svc-other") {
		t.Errorf("replay of one call shows another:\n%s", out)
	}
	if code, _, errs = e.run(t, "replay", "call_missing"); code != 1 || !strings.Contains(errs, `no events for call "call_missing"`) {
		t.Errorf("replay of an unknown call = %d %s", code, errs)
	}
}
