package connectors

import (
	"context"
	"fmt"
	"sort"
	"sync"
	"time"

	"github.com/airlockhq/airlock/internal/config"
)

// Operation is one tool call as a connector sees it: the catalog has already
// checked the arguments against the tool's schema.
type Operation struct {
	// Tool is the catalog name, e.g. "sql_query".
	Tool string
	// Args are the validated arguments, without "connection".
	Args map[string]any
}

// Limits are the obligations execution must honour; they come from the
// decision and fall back to the connection's configured limits.
type Limits struct {
	MaxRows  int
	MaxBytes int
	Timeout  time.Duration
}

// Connection is one configured backend, open and ready to classify and
// execute operations. Implementations are safe for concurrent use.
type Connection interface {
	// Name is the configured connection name, e.g. "prod-db".
	Name() string
	// Kind is the registered kind, e.g. "postgres".
	Kind() string
	// Labels are the operator's labels from the configuration.
	Labels() map[string]string
	// Classify says what op would do, without doing it. An error means the
	// arguments cannot be understood (unparseable SQL); callers refuse the call.
	Classify(ctx context.Context, op Operation) (*Action, error)
	// Execute runs op, which was classified as action and authorized.
	Execute(ctx context.Context, op Operation, action *Action, lim Limits) (*Result, error)
	// Ping reports whether the backend is reachable, for readiness.
	Ping(ctx context.Context) error
	// Close releases the connection's resources.
	Close() error
}

// Factory opens a connection from its configuration.
type Factory func(ctx context.Context, c config.Connection) (Connection, error)

var (
	regMu    sync.RWMutex
	registry = map[string]Factory{}
)

// Register makes a connection kind available. It is called from the init
// function of the package implementing the kind and panics on a duplicate,
// which is always a programming error.
func Register(kind string, f Factory) {
	regMu.Lock()
	defer regMu.Unlock()
	if kind == "" || f == nil {
		panic("connectors: Register with empty kind or nil factory")
	}
	if _, dup := registry[kind]; dup {
		panic(fmt.Sprintf("connectors: kind %q registered twice", kind))
	}
	registry[kind] = f
}

// Lookup returns the factory for kind.
func Lookup(kind string) (Factory, bool) {
	regMu.RLock()
	defer regMu.RUnlock()
	f, ok := registry[kind]
	return f, ok
}

// Kinds lists the registered kinds, sorted.
func Kinds() []string {
	regMu.RLock()
	defer regMu.RUnlock()
	out := make([]string, 0, len(registry))
	for k := range registry {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// Open opens every configured connection. On error the ones already opened
// are closed and the error names the failing connection.
func Open(ctx context.Context, conns []config.Connection) (map[string]Connection, error) {
	out := make(map[string]Connection, len(conns))
	for _, c := range conns {
		f, ok := Lookup(c.Kind)
		if !ok {
			CloseAll(out)
			return nil, fmt.Errorf("connectors: open %q: unknown kind %q (known: %v)", c.Name, c.Kind, Kinds())
		}
		conn, err := f(ctx, c)
		if err != nil {
			CloseAll(out)
			return nil, fmt.Errorf("connectors: open %q: %w", c.Name, err)
		}
		out[c.Name] = conn
	}
	return out, nil
}

// CloseAll closes every connection in m.
func CloseAll(m map[string]Connection) {
	for _, c := range m {
		_ = c.Close()
	}
}
