package store

import (
	"context"
	"fmt"
)

// Option adjusts how Open opens a store.
type Option func(*options)

type options struct {
	durability Durability
	maxConns   int32
}

// WithDurability sets what a committed append survives (default
// DurabilityProcess).
func WithDurability(d Durability) Option { return func(o *options) { o.durability = d } }

// WithMaxConns caps the PostgreSQL pool (default 8). SQLite ignores it.
func WithMaxConns(n int32) Option { return func(o *options) { o.maxConns = n } }

// Open opens the store named by driver ("sqlite" or "postgres") and dsn (a
// file path or file: URI for SQLite, a PostgreSQL connection string), and
// applies the pending schema migrations.
func Open(ctx context.Context, driver, dsn string, opts ...Option) (Store, error) {
	o := options{durability: DurabilityProcess, maxConns: 8}
	for _, f := range opts {
		f(&o)
	}
	switch o.durability {
	case DurabilityProcess, DurabilityFsync:
	case "":
		o.durability = DurabilityProcess
	default:
		return nil, fmt.Errorf("store: open: unknown durability %q (want %q or %q)", o.durability, DurabilityProcess, DurabilityFsync)
	}
	if dsn == "" {
		return nil, fmt.Errorf("store: open %s: empty dsn", driver)
	}
	switch driver {
	case "sqlite", "":
		return openSQLite(ctx, dsn, o)
	case "postgres", "postgresql", "pgx":
		return openPostgres(ctx, dsn, o)
	}
	return nil, fmt.Errorf("%w %q (want sqlite or postgres)", ErrUnknownType, driver)
}
