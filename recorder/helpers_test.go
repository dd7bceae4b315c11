package recorder

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"database/sql"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/airlockhq/airlock/connectors"
	"github.com/airlockhq/airlock/internal/store"
	"github.com/airlockhq/airlock/internal/testenv"
	"github.com/jackc/pgx/v5"
)

func TestMain(m *testing.M) { os.Exit(testenv.Main(m)) }

// fixture is one store as both the recorder and an attacker with direct
// database access see it.
type fixture struct {
	driver, dsn string
	st          store.Store
	pg          *pgx.Conn // the attacker's connection, opened on first use
}

type backend struct {
	driver string
	dsn    func(t testing.TB) string
}

var backends = []backend{
	{"sqlite", func(t testing.TB) string { return filepath.Join(t.TempDir(), "audit.db") }},
	{"postgres", func(t testing.TB) string { return testenv.Postgres(t).NewDatabase(t).AdminDSN }},
}

func openFixture(t testing.TB, b backend) *fixture {
	t.Helper()
	fx := &fixture{driver: b.driver, dsn: b.dsn(t)}
	fx.reopen(t)
	return fx
}

func (fx *fixture) reopen(t testing.TB) {
	t.Helper()
	st, err := store.Open(context.Background(), fx.driver, fx.dsn)
	if err != nil {
		t.Fatal(err)
	}
	fx.st = st
	t.Cleanup(func() { st.Close() })
}

// each runs fn on a fresh store of every backend.
func each(t *testing.T, fn func(t *testing.T, fx *fixture)) {
	for _, b := range backends {
		t.Run(b.driver, func(t *testing.T) { fn(t, openFixture(t, b)) })
	}
}

// exec runs SQL as the attacker, straight on the database. Placeholders
// are $1, $2, ... in order of appearance (SQLite numbers them the same).
func (fx *fixture) exec(t testing.TB, query string, args ...any) {
	t.Helper()
	ctx := context.Background()
	if fx.driver == "postgres" {
		if fx.pg == nil {
			conn, err := pgx.Connect(ctx, fx.dsn)
			if err != nil {
				t.Fatal(err)
			}
			fx.pg = conn
			t.Cleanup(func() { conn.Close(context.Background()) })
		}
		if _, err := fx.pg.Exec(ctx, query, args...); err != nil {
			t.Fatalf("attacker SQL %q: %v", query, err)
		}
		return
	}
	db, err := sql.Open("sqlite", fx.dsn+"?_pragma=busy_timeout(5000)")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if _, err := db.ExecContext(ctx, query, args...); err != nil {
		t.Fatalf("attacker SQL %q: %v", query, err)
	}
}

func newKey(t testing.TB) ed25519.PrivateKey {
	t.Helper()
	_, k, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

func newRecorder(t testing.TB, log store.AuditLog, key ed25519.PrivateKey, opt Options) *Recorder {
	t.Helper()
	opt.SigningKey = key
	if opt.CheckpointInterval == 0 {
		opt.CheckpointInterval = time.Hour // tests decide when to seal
	}
	r, err := New(context.Background(), log, opt)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// callEvents returns the events of one call: intent, then result (or an
// error for every fifth call, which policy denied).
func callEvents(session, subject string, i int) (intent, outcome Event) {
	call := fmt.Sprintf("call_%s_%d", session, i)
	deny := i%5 == 4
	intent, _ = NewEvent(TypeCallIntent, IntentData{
		Tool: "sql_query", Connection: "prod-db",
		Arguments: map[string]any{"sql": fmt.Sprintf("SELECT * FROM orders WHERE id = %d", i)},
		Action:    &connectors.Action{ReadOnly: !deny, Risk: connectors.RiskLow, Flags: []string{}},
		Decision:  &DecisionData{Allow: !deny, Reasons: []string{"reads are allowed"}, Policy: "sha256:abc"},
	})
	if deny {
		outcome, _ = NewEvent(TypeCallError, ErrorData{Kind: "denied", Message: "writes to prod-db need approval"})
	} else {
		outcome, _ = NewEvent(TypeCallResult, ResultData{Status: "ok", Rows: 1, Bytes: 42, DurationMS: 1.5,
			Content: []byte(`{"rows":[{"id":1,"email":"[masked]"}]}`)})
	}
	for _, e := range []*Event{&intent, &outcome} {
		e.CallID, e.SessionID, e.Subject, e.Verified = call, session, subject, true
	}
	return intent, outcome
}

// appendN appends n events one at a time: a session start, then calls.
func appendN(t testing.TB, r *Recorder, session string, n int) {
	t.Helper()
	ctx := context.Background()
	start, _ := NewEvent(TypeSessionStart, SessionData{ClientName: "claude-code", ClientVersion: "2.1", Transport: "http", RemoteAddr: "127.0.0.1:5000"})
	start.SessionID, start.Subject, start.Verified = session, "alice@example.com", true
	evs := []Event{start}
	for i := 0; len(evs) < n; i++ {
		in, out := callEvents(session, "alice@example.com", i)
		evs = append(evs, in, out)
	}
	for _, e := range evs[:n] {
		if _, err := r.Append(ctx, e); err != nil {
			t.Fatal(err)
		}
	}
}

func verify(t testing.TB, log store.AuditLog, opt VerifyOptions, keys ...ed25519.PrivateKey) *Report {
	t.Helper()
	for _, k := range keys {
		opt.Keys = append(opt.Keys, k.Public().(ed25519.PublicKey))
	}
	rep, err := Verify(context.Background(), log, opt)
	if err != nil {
		t.Fatal(err)
	}
	return rep
}

func wantOK(t testing.TB, rep *Report) {
	t.Helper()
	if !rep.OK() {
		t.Fatalf("verify failed: %v", rep.Problems)
	}
}

// wantProblem asserts that the first problem is at seq and of kind, with
// a message containing text.
func wantProblem(t testing.TB, rep *Report, seq int64, kind, text string) {
	t.Helper()
	if rep.OK() {
		t.Fatalf("verify passed; want a %s problem at seq %d", kind, seq)
	}
	p := rep.Problems[0]
	if p.Seq != seq || p.Kind != kind || !strings.Contains(p.Message, text) {
		t.Fatalf("first problem = %s [%s]; want seq %d [%s] containing %q (all: %v)", p, p.Kind, seq, kind, text, rep.Problems)
	}
	t.Logf("audit verify: %s", p)
}
