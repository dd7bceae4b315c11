package auditcli

import (
	"context"
	"crypto/ed25519"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/airlockhq/airlock/internal/config"
	"github.com/airlockhq/airlock/internal/store"
	"github.com/airlockhq/airlock/recorder"
)

// Exit codes, as the rest of the airlock command uses them.
const (
	exitOK      = 0
	exitFailure = 1 // verify found a problem, or the command failed
	exitUsage   = 2
)

// Usage is the help text of `airlock audit`.
const Usage = `usage: airlock audit COMMAND [flags]

commands:
  verify [--require-sealed]          check the hash chain, checkpoints and signatures
  replay SESSION|CALL                print a session, or one call (an id call_...), as a transcript
  sessions [filters]                 list sessions
  search [filters]                   list events (whole calls when filtering by tool, connection or decision)
  export [--since T] [--after-seq N] [--format jsonl|cef]
                                     write events to stdout for a SIEM
  hold on|off [--reason TEXT]        set or clear the legal hold (stops purging)
  purge --older-than 400d | --before TIME
                                     purge whole checkpointed segments older than that

store and keys (every command):
  --store-driver sqlite|postgres     (sqlite)
  --store-dsn DSN                    (./airlock.db)
  --public-key FILE                  verification key(s), PEM; repeatable
  --signing-key FILE                 the recorder's key: verifies, and signs what hold and purge record
  --json                             machine-readable output

filters: --subject S --session ID --call ID --type T[,T] --tool T --connection C
         --decision allow|deny|require_approval --since T --until T --limit N
         (T: RFC 3339 time, or a duration ago such as 24h or 7d)
`

// common holds the flags every subcommand has.
type common struct {
	driver, dsn string
	publicKeys  []string
	signingKey  string
	json        bool
	by          string
	journal     string
}

func (c *common) register(fs *flag.FlagSet) {
	fs.StringVar(&c.driver, "store-driver", "sqlite", "store driver: sqlite or postgres")
	fs.StringVar(&c.dsn, "store-dsn", "./airlock.db", "store DSN (SQLite file or PostgreSQL connection string)")
	fs.Func("public-key", "PEM file with verification key(s); repeatable", func(s string) error {
		c.publicKeys = append(c.publicKeys, s)
		return nil
	})
	fs.StringVar(&c.signingKey, "signing-key", "", "the recorder's signing key (PEM)")
	fs.BoolVar(&c.json, "json", false, "machine-readable output")
	fs.StringVar(&c.by, "by", "", "who runs this (recorded by hold and purge)")
	fs.StringVar(&c.journal, "journal", "", "the gateway's journal directory (default: <store-dsn>.journal for sqlite)")
}

func (c *common) open(ctx context.Context) (store.Store, error) {
	if c.driver == "sqlite" || c.driver == "" {
		// Opening a mistyped path would create an empty store that
		// verifies: refuse instead.
		path, _, _ := strings.Cut(strings.TrimPrefix(c.dsn, "file:"), "?")
		if _, err := os.Stat(path); err != nil {
			return nil, fmt.Errorf("no audit store at %s: %w", path, err)
		}
	}
	return store.Open(ctx, c.driver, c.dsn)
}

// journalDir is where the gateway's journal is, if it has one.
func (c *common) journalDir() string {
	if c.journal != "" || (c.driver != "sqlite" && c.driver != "") {
		return c.journal
	}
	return c.dsn + ".journal"
}

func (c *common) keys() ([]ed25519.PublicKey, error) {
	var out []ed25519.PublicKey
	for _, p := range c.publicKeys {
		ks, err := recorder.LoadPublicKeys(p)
		if err != nil {
			return nil, err
		}
		out = append(out, ks...)
	}
	if c.signingKey != "" {
		k, err := recorder.LoadKey(c.signingKey)
		if err != nil {
			return nil, err
		}
		out = append(out, k.Public().(ed25519.PublicKey))
	}
	if len(out) == 0 {
		return nil, errors.New("no key to check signatures with: pass --public-key FILE (or --signing-key FILE)")
	}
	return out, nil
}

// filters are the search and sessions flags.
type filters struct {
	subject, session, call, types, tool, connection, decision, since, until string
	limit                                                                   int
}

func (f *filters) register(fs *flag.FlagSet) {
	fs.StringVar(&f.subject, "subject", "", "only this subject")
	fs.StringVar(&f.session, "session", "", "only this session")
	fs.StringVar(&f.call, "call", "", "only this call")
	fs.StringVar(&f.types, "type", "", "only these event types (comma-separated)")
	fs.StringVar(&f.tool, "tool", "", "only calls of this tool")
	fs.StringVar(&f.connection, "connection", "", "only calls on this connection")
	fs.StringVar(&f.decision, "decision", "", "only calls with this decision: allow, deny, require_approval")
	fs.StringVar(&f.since, "since", "", "from this time (RFC 3339, or a duration ago: 24h, 7d)")
	fs.StringVar(&f.until, "until", "", "before this time")
	fs.IntVar(&f.limit, "limit", 0, "at most this many")
}

func (f *filters) query(now time.Time) (store.Query, error) {
	q := store.Query{Subject: f.subject, SessionID: f.session, CallID: f.call, Tool: f.tool,
		Connection: f.connection, Decision: f.decision, Limit: f.limit}
	if f.types != "" {
		q.Types = strings.Split(f.types, ",")
	}
	switch f.decision {
	case "", recorder.DecisionAllow, recorder.DecisionDeny, recorder.DecisionApproval:
	default:
		return q, fmt.Errorf("--decision %q: want allow, deny or require_approval", f.decision)
	}
	var err error
	if q.Since, err = parseWhen(f.since, now); err != nil {
		return q, fmt.Errorf("--since: %w", err)
	}
	if q.Until, err = parseWhen(f.until, now); err != nil {
		return q, fmt.Errorf("--until: %w", err)
	}
	return q, nil
}

// parseWhen reads an RFC 3339 time or a duration before now.
func parseWhen(s string, now time.Time) (time.Time, error) {
	if s == "" {
		return time.Time{}, nil
	}
	if t, err := time.Parse(time.RFC3339Nano, s); err == nil {
		return t, nil
	}
	if t, err := time.Parse("2006-01-02", s); err == nil {
		return t, nil
	}
	d, err := config.ParseDuration(s)
	if err != nil {
		return time.Time{}, fmt.Errorf("%q is neither an RFC 3339 time nor a duration", s)
	}
	return now.Add(-d), nil
}

func writeJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	enc.SetEscapeHTML(false)
	return enc.Encode(v)
}
