package demo

import (
	"context"
	_ "embed"
	"fmt"
	"strings"

	"github.com/jackc/pgx/v5"
)

//go:embed seed.sql
var seedSQL string

// SeedSQL returns the fixture script, for tools that want to show or run it
// themselves.
func SeedSQL() string { return seedSQL }

// Row counts of the seeded tables, for assertions.
const (
	Customers  = 50
	Orders     = 200
	BigEvents  = 200000
	OrderItems = 401 // order o has 1 + o%3 items: 66*1 + 67*2 + 67*3
)

// Schemas holds the schemas the fixture creates and the app role may use.
var Schemas = []string{"public", "analytics"}

// Seed creates the fixture schema and data in the database adminDSN names,
// in one transaction. It connects as the owner-to-be of the objects, which
// should be a superuser or the database owner, never the app role: the app
// role must not own what it is later governed on. It does nothing when
// public.customers already exists, so a persistent demo database is seeded
// once.
func Seed(ctx context.Context, adminDSN string) error {
	conn, err := pgx.Connect(ctx, adminDSN)
	if err != nil {
		return fmt.Errorf("demo: seed: %w", err)
	}
	defer conn.Close(context.Background())
	var exists bool
	if err := conn.QueryRow(ctx, "SELECT to_regclass('public.customers') IS NOT NULL").Scan(&exists); err != nil {
		return fmt.Errorf("demo: seed: %w", err)
	}
	if exists {
		return nil
	}
	// Without arguments pgx sends the script with the simple protocol: one
	// implicit transaction, so a failure leaves nothing half-seeded.
	if _, err := conn.Exec(ctx, seedSQL); err != nil {
		return fmt.Errorf("demo: seed: %w", err)
	}
	return nil
}

// CreateAppRole creates (or resets) role as a plain login role, with no
// attribute that would let it escape governance, and grants it the fixture's
// data privileges in the database adminDSN names.
func CreateAppRole(ctx context.Context, adminDSN, role, password string) error {
	conn, err := pgx.Connect(ctx, adminDSN)
	if err != nil {
		return fmt.Errorf("demo: create role %s: %w", role, err)
	}
	defer conn.Close(context.Background())
	id := pgx.Identifier{role}.Sanitize()
	attrs := "LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION NOBYPASSRLS PASSWORD " + quoteLiteral(password)
	// CREATE ROLE has no IF NOT EXISTS; a DO block keeps it one round trip.
	sql := fmt.Sprintf(`DO $airlock$ BEGIN
  IF EXISTS (SELECT FROM pg_roles WHERE rolname = %s) THEN
    ALTER ROLE %s %s;
  ELSE
    CREATE ROLE %s %s;
  END IF;
END $airlock$`, quoteLiteral(role), id, attrs, id, attrs)
	if _, err := conn.Exec(ctx, sql); err != nil {
		return fmt.Errorf("demo: create role %s: %w", role, err)
	}
	if err := grant(ctx, conn, role); err != nil {
		return fmt.Errorf("demo: create role %s: %w", role, err)
	}
	return nil
}

// GrantApp grants role what the gateway's connection needs on the fixture,
// and nothing more: CONNECT on the database, USAGE on its schemas, data
// privileges (SELECT, INSERT, UPDATE, DELETE: no TRUNCATE, REFERENCES or
// TRIGGER) on its tables and views, and USAGE on its sequences so inserts
// can draw ids. Ownership stays with the admin, so the role cannot ALTER or
// DROP anything. Grants are per database: run it in every copy.
func GrantApp(ctx context.Context, adminDSN, role string) error {
	conn, err := pgx.Connect(ctx, adminDSN)
	if err != nil {
		return fmt.Errorf("demo: grant %s: %w", role, err)
	}
	defer conn.Close(context.Background())
	if err := grant(ctx, conn, role); err != nil {
		return fmt.Errorf("demo: grant %s: %w", role, err)
	}
	return nil
}

func grant(ctx context.Context, conn *pgx.Conn, role string) error {
	id := pgx.Identifier{role}.Sanitize()
	var db string
	if err := conn.QueryRow(ctx, "SELECT current_database()").Scan(&db); err != nil {
		return err
	}
	stmts := []string{fmt.Sprintf("GRANT CONNECT ON DATABASE %s TO %s", pgx.Identifier{db}.Sanitize(), id)}
	for _, s := range Schemas {
		schema := pgx.Identifier{s}.Sanitize()
		stmts = append(stmts,
			fmt.Sprintf("GRANT USAGE ON SCHEMA %s TO %s", schema, id),
			fmt.Sprintf("GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA %s TO %s", schema, id),
			fmt.Sprintf("GRANT USAGE ON ALL SEQUENCES IN SCHEMA %s TO %s", schema, id))
	}
	_, err := conn.Exec(ctx, strings.Join(stmts, ";\n"))
	return err
}

// quoteLiteral quotes s as an SQL string literal. Role DDL takes no bind
// parameters, so the password has to be inlined; standard_conforming_strings
// is on in every supported PostgreSQL, so doubling quotes is enough.
func quoteLiteral(s string) string {
	return "'" + strings.ReplaceAll(s, "'", "''") + "'"
}
