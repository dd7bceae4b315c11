package store

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
)

// Postgres is the store for several gateway replicas. Appends serialise on
// the single audit_head row (SELECT ... FOR UPDATE): whichever replica holds
// it reads the head, writes its whole batch and moves the head, so the
// replicas share one linear chain and one sequence.
type Postgres struct {
	pool *pgxpool.Pool
	d    dialect
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

func isNoRows(err error) bool { return errors.Is(err, pgx.ErrNoRows) }

// Cursor implements AuditLog.
func (p *Postgres) Cursor(ctx context.Context, sink string) (int64, error) {
	var seq int64
	err := p.pool.QueryRow(ctx, "SELECT seq FROM audit_sink_cursors WHERE sink = $1", sink).Scan(&seq)
	if isNoRows(err) {
		return 0, nil
	}
	if err != nil {
		return 0, fmt.Errorf("store: cursor %s: %w", sink, err)
	}
	return seq, nil
}

// SetCursor implements AuditLog.
func (p *Postgres) SetCursor(ctx context.Context, sink string, seq int64) error {
	_, err := p.pool.Exec(ctx, pgSetCursorSQL, sink, seq, time.Now().UTC())
	if err != nil {
		return fmt.Errorf("store: set cursor %s: %w", sink, err)
	}
	return nil
}

const pgSetCursorSQL = `INSERT INTO audit_sink_cursors (sink, seq, updated) VALUES ($1, $2, $3)
ON CONFLICT (sink) DO UPDATE SET seq = excluded.seq, updated = excluded.updated`

// DeleteCursor implements AuditLog.
func (p *Postgres) DeleteCursor(ctx context.Context, name string) error {
	if _, err := p.pool.Exec(ctx, "DELETE FROM audit_sink_cursors WHERE sink = $1", name); err != nil {
		return fmt.Errorf("store: delete cursor %s: %w", name, err)
	}
	return nil
}

// LegalHold implements AuditLog.
func (p *Postgres) LegalHold(ctx context.Context) (bool, error) {
	on, err := legalHold(ctx, p.pool.QueryRow(ctx, "SELECT value FROM audit_settings WHERE name = 'legal_hold'"))
	if err != nil {
		return false, fmt.Errorf("store: legal hold: %w", err)
	}
	return on, nil
}

// SetLegalHold implements AuditLog.
func (p *Postgres) SetLegalHold(ctx context.Context, on bool) error {
	_, err := p.pool.Exec(ctx, `INSERT INTO audit_settings (name, value) VALUES ('legal_hold', $1)
ON CONFLICT (name) DO UPDATE SET value = excluded.value`, onOff(on))
	if err != nil {
		return fmt.Errorf("store: set legal hold: %w", err)
	}
	return nil
}
