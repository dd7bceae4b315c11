package testenv_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"testing"
	"time"

	"github.com/airlockhq/airlock/internal/demo"
	"github.com/airlockhq/airlock/internal/testenv"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
)

func TestMain(m *testing.M) { os.Exit(testenv.Main(m)) }

func connect(t *testing.T, dsn string) *pgx.Conn {
	t.Helper()
	conn, err := pgx.Connect(context.Background(), dsn)
	if err != nil {
		t.Fatalf("connect: %v", err)
	}
	t.Cleanup(func() { conn.Close(context.Background()) })
	return conn
}

func count(t *testing.T, conn *pgx.Conn, table string) int {
	t.Helper()
	var n int
	if err := conn.QueryRow(context.Background(), "SELECT count(*) FROM "+table).Scan(&n); err != nil {
		t.Fatalf("count %s: %v", table, err)
	}
	return n
}

// wantSQLState asserts that err is a server error with the given code: a
// permission check must fail for the right reason, not for a typo.
func wantSQLState(t *testing.T, err error, code, what string) {
	t.Helper()
	var pgErr *pgconn.PgError
	if !errors.As(err, &pgErr) || pgErr.Code != code {
		t.Errorf("%s: got error %v, want SQLSTATE %s", what, err, code)
	}
}

// TestDatabases creates two databases in parallel and checks each is a full,
// independent copy of the fixture reachable only through a non-superuser.
func TestDatabases(t *testing.T) {
	pg := testenv.Postgres(t)
	for i := range 2 {
		t.Run(fmt.Sprint("db", i), func(t *testing.T) {
			t.Parallel()
			start := time.Now()
			db := pg.NewDatabase(t)
			t.Logf("NewDatabase %s: %v", db.Name, time.Since(start))
			app := connect(t, db.AppDSN)
			ctx := context.Background()

			for table, want := range map[string]int{
				"customers": demo.Customers, "orders": demo.Orders, "order_items": demo.OrderItems,
				"big_events": demo.BigEvents, "customer_orders": demo.Orders,
			} {
				if got := count(t, app, table); got != want {
					t.Errorf("count(%s) = %d, want %d", table, got, want)
				}
			}
			if got := count(t, app, "analytics.daily_revenue"); got == 0 {
				t.Error("analytics.daily_revenue is empty")
			}

			var user string
			var super bool
			if err := app.QueryRow(ctx, "SELECT current_user, rolsuper FROM pg_roles WHERE rolname = current_user").Scan(&user, &super); err != nil {
				t.Fatal(err)
			}
			if user != db.AppRole || super {
				t.Errorf("connected as %s (superuser %v), want %s, not superuser", user, super, db.AppRole)
			}

			_, err := app.Exec(ctx, "SELECT pg_read_file('/etc/passwd')")
			wantSQLState(t, err, "42501", "pg_read_file")
			// PostgreSQL 15 no longer lets PUBLIC create in schema public.
			_, err = app.Exec(ctx, "CREATE TABLE public.planted (x int)")
			wantSQLState(t, err, "42501", "CREATE TABLE in public")
			_, err = app.Exec(ctx, "DROP TABLE customers")
			wantSQLState(t, err, "42501", "DROP TABLE customers")

			// The data privileges work, including sequences behind ids.
			tag, err := app.Exec(ctx, "INSERT INTO customers (name, email) VALUES ($1, $2)", "Test "+db.Name, db.Name+"@example.com")
			if err != nil || tag.RowsAffected() != 1 {
				t.Fatalf("insert as app role: %v", err)
			}
			if _, err := app.Exec(ctx, "UPDATE orders SET status = 'cancelled' WHERE id = 1"); err != nil {
				t.Errorf("update as app role: %v", err)
			}
			if _, err := app.Exec(ctx, "DELETE FROM order_items WHERE order_id = 2"); err != nil {
				t.Errorf("delete as app role: %v", err)
			}
			if got := count(t, app, "customers"); got != demo.Customers+1 {
				t.Errorf("after insert: %d customers, want %d", got, demo.Customers+1)
			}
		})
	}
}

// TestDatabaseDropped checks that a test's database and role are gone once
// the test ends.
func TestDatabaseDropped(t *testing.T) {
	pg := testenv.Postgres(t)
	var db testenv.DB
	t.Run("inner", func(t *testing.T) { db = pg.NewDatabase(t) })
	admin := connect(t, pg.DSN("postgres", "", "postgres"))
	var dbs, roles int
	err := admin.QueryRow(context.Background(),
		"SELECT (SELECT count(*) FROM pg_database WHERE datname = $1), (SELECT count(*) FROM pg_roles WHERE rolname = $2)",
		db.Name, db.AppRole).Scan(&dbs, &roles)
	if err != nil {
		t.Fatal(err)
	}
	if dbs != 0 || roles != 0 {
		t.Errorf("after the test: %d databases named %s, %d roles named %s; want none", dbs, db.Name, roles, db.AppRole)
	}
}

// TestSharedServer checks that every test of the package gets the same server.
func TestSharedServer(t *testing.T) {
	if a, b := testenv.Postgres(t), testenv.Postgres(t); a != b {
		t.Errorf("Postgres returned two servers: %p and %p", a, b)
	}
}
