package testenv

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"os"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/airlockhq/airlock/internal/demo"
	"github.com/airlockhq/airlock/internal/pgserver"
	"github.com/jackc/pgx/v5"
)

// fixtureDB is the seeded database every test database is cloned from.
// Nobody connects to it after seeding: CREATE DATABASE ... TEMPLATE refuses
// a template with open sessions.
const fixtureDB = "airlock_fixture"

// PG is the package-wide PostgreSQL server with the fixture loaded.
type PG struct {
	*pgserver.Server
	seq      atomic.Int64
	strategy string // CREATE DATABASE clause, see startPostgres
}

// DB is a database of one test: a copy of the fixture, owned by the
// superuser, plus a login role that is not a superuser, which is what the
// gateway connects as.
type DB struct {
	Name     string
	AppRole  string
	AppDSN   string // the non-superuser app role; what the gateway gets
	AdminDSN string // the superuser postgres; for setup and assertions only
}

var (
	pgOnce sync.Once
	pgVal  *PG
	pgErr  error
)

// LogEnv names an environment variable: when set to a file name, the shared
// server's log is appended to that file.
const LogEnv = "AIRLOCK_TESTENV_PGLOG"

// startTimeout covers initdb, start-up and seeding on a busy 2-core machine.
const startTimeout = 2 * time.Minute

// Postgres returns the package-wide server, starting it on first use. It
// fails the test when PostgreSQL cannot start, and never skips: a missing
// server must turn CI red. A failed start is not retried by later tests.
func Postgres(t testing.TB) *PG {
	t.Helper()
	requireMain(t)
	pgOnce.Do(func() { pgVal, pgErr = startPostgres() })
	if pgErr != nil {
		t.Fatalf("testenv: %v", pgErr)
	}
	return pgVal
}

func startPostgres() (*PG, error) {
	ctx, cancel := context.WithTimeout(context.Background(), startTimeout)
	defer cancel()
	opt := pgserver.Options{}
	// The server log is otherwise only seen, as a tail, in errors.
	if path := os.Getenv(LogEnv); path != "" {
		f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o644)
		if err != nil {
			return nil, fmt.Errorf("open $%s: %w", LogEnv, err)
		}
		registerStop(f.Close)
		opt.Log = f
	}
	srv, err := pgserver.Start(ctx, opt)
	if err != nil {
		return nil, fmt.Errorf("start PostgreSQL: %w", err)
	}
	registerStop(srv.Stop)
	if err := srv.Exec(ctx, "postgres", "CREATE DATABASE "+fixtureDB); err != nil {
		return nil, fmt.Errorf("create fixture database: %w", err)
	}
	if err := demo.Seed(ctx, srv.DSN("postgres", "", fixtureDB)); err != nil {
		return nil, fmt.Errorf("seed fixture database: %w (server log:\n%s)", err, srv.LogTail())
	}
	// Marking it a template documents intent and stops accidental
	// connections by name from blocking CREATE DATABASE ... TEMPLATE.
	if err := srv.Exec(ctx, "postgres", "ALTER DATABASE "+fixtureDB+" WITH IS_TEMPLATE true ALLOW_CONNECTIONS false"); err != nil {
		return nil, fmt.Errorf("freeze fixture database: %w", err)
	}
	pg := &PG{Server: srv}
	// PostgreSQL 15 copies a template through the WAL by default; copying
	// the files is about twice as fast for the fixture's 200000 events.
	if major, _, _ := strings.Cut(srv.Version, "."); atoi(major) >= 15 {
		pg.strategy = " STRATEGY FILE_COPY"
	}
	return pg, nil
}

// NewDatabase creates a fresh copy of the fixture for t, with its own app
// role, and drops both when t ends. Copies are independent, so parallel
// tests may write freely.
func (p *PG) NewDatabase(t testing.TB) DB {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	name := fmt.Sprintf("t%d_%s", p.seq.Add(1), randomHex(4))
	role := name + "_app"
	password := randomHex(16)
	db := DB{
		Name:     name,
		AppRole:  role,
		AppDSN:   p.DSN(role, password, name),
		AdminDSN: p.DSN("postgres", "", name),
	}
	if err := p.Exec(ctx, "postgres", fmt.Sprintf("CREATE DATABASE %s TEMPLATE %s%s", ident(name), fixtureDB, p.strategy)); err != nil {
		t.Fatalf("testenv: new database: %v", err)
	}
	t.Cleanup(func() { p.dropDatabase(t, db) })
	if err := demo.CreateAppRole(ctx, db.AdminDSN, role, password); err != nil {
		t.Fatalf("testenv: new database %s: %v", name, err)
	}
	return db
}

func (p *PG) dropDatabase(t testing.TB, db DB) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	// FORCE ends sessions a test left open, e.g. a pool closed too late.
	if err := p.Exec(ctx, "postgres", fmt.Sprintf("DROP DATABASE IF EXISTS %s WITH (FORCE)", ident(db.Name))); err != nil {
		t.Errorf("testenv: drop database: %v", err)
		return
	}
	if err := p.Exec(ctx, "postgres", "DROP ROLE IF EXISTS "+ident(db.AppRole)); err != nil {
		t.Errorf("testenv: drop role: %v", err)
	}
}

func atoi(s string) int {
	n, err := strconv.Atoi(s)
	if err != nil {
		return 0
	}
	return n
}

func ident(s string) string { return pgx.Identifier{s}.Sanitize() }

func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b) // crypto/rand.Read never fails on Linux
	return hex.EncodeToString(b)
}
