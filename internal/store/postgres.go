package store

import (
	"context"
	"fmt"

	"github.com/jackc/pgx/v5/pgxpool"
)

// Postgres is the store for several gateway replicas. Appends serialise on
// the single audit_head row (SELECT ... FOR UPDATE): whichever replica holds
// it reads the head, writes its whole batch and moves the head, so the
// replicas share one linear chain and one sequence.
type Postgres struct {
	auditSQL     // reads, cursors, settings and retention of the audit log
	approvalsSQL // approvals, grants and revocations
	pool         *pgxpool.Pool
	d            dialect
}

// migrateLock is the advisory lock replicas starting together take before
// migrating ("airlock" in ASCII), so exactly one applies each migration.
const migrateLock int64 = 0x6169726c6f636b

func openPostgres(ctx context.Context, dsn string, o options) (*Postgres, error) {
	cfg, err := pgxpool.ParseConfig(dsn)
	if err != nil {
		return nil, fmt.Errorf("store: open postgres: %w", err)
	}
	cfg.MaxConns = o.maxConns
	if o.durability == DurabilityFsync {
		// Overrides a server or role configured with synchronous_commit
		// off; the default mode keeps whatever the operator chose.
		cfg.ConnConfig.RuntimeParams["synchronous_commit"] = "on"
	}
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("store: open postgres: %w", err)
	}
	p := &Postgres{pool: pool, d: postgresDialect}
	p.auditSQL = p.audit()
	p.approvalsSQL = approvalsSQL{b: p.ap(), rev: p.ap()}
	if err := p.migrate(ctx); err != nil {
		pool.Close()
		return nil, err
	}
	return p, nil
}

func (p *Postgres) migrate(ctx context.Context) error {
	tx, err := p.pool.Begin(ctx)
	if err != nil {
		return fmt.Errorf("store: migrate: %w", err)
	}
	defer tx.Rollback(context.Background())
	if _, err := tx.Exec(ctx, "SELECT pg_advisory_xact_lock($1)", migrateLock); err != nil {
		return fmt.Errorf("store: migrate: lock: %w", err)
	}
	if _, err := tx.Exec(ctx, `CREATE TABLE IF NOT EXISTS schema_migrations (
  version integer PRIMARY KEY, name text NOT NULL, applied_at timestamptz NOT NULL DEFAULT now())`); err != nil {
		return fmt.Errorf("store: migrate: %w", err)
	}
	var have int
	if err := tx.QueryRow(ctx, "SELECT COALESCE(MAX(version), 0) FROM schema_migrations").Scan(&have); err != nil {
		return fmt.Errorf("store: migrate: %w", err)
	}
	if have > LatestVersion() {
		return fmt.Errorf("store: migrate: the database is at schema version %d, newer than this build's %d: upgrade airlock", have, LatestVersion())
	}
	for _, m := range ordered() {
		if m.Version <= have {
			continue
		}
		for _, st := range statements(m.Postgres) {
			if _, err := tx.Exec(ctx, st); err != nil {
				return fmt.Errorf("store: migrate %d (%s): %w", m.Version, m.Name, err)
			}
		}
		if _, err := tx.Exec(ctx, "INSERT INTO schema_migrations (version, name) VALUES ($1, $2)", m.Version, m.Name); err != nil {
			return fmt.Errorf("store: migrate %d: %w", m.Version, err)
		}
	}
	if err := tx.Commit(ctx); err != nil {
		return fmt.Errorf("store: migrate: %w", err)
	}
	return nil
}

// Driver implements Store.
func (p *Postgres) Driver() string { return "postgres" }

// Close implements Store.
func (p *Postgres) Close() error { p.pool.Close(); return nil }
