package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"flag"
	"fmt"
	"io"
	"os/user"
	"path/filepath"
	"time"

	"github.com/airlockhq/airlock/internal/config"
	"github.com/airlockhq/airlock/internal/demo"
	"github.com/airlockhq/airlock/internal/pgserver"
)

// cmdDev runs the gateway on its embedded defaults against a demo PostgreSQL
// it starts and seeds itself, so a fresh machine can try airlock with one
// command. The database is kept under the user's cache directory between runs
// (pgserver.PersistentDir) unless --fresh is given.
func cmdDev(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("dev", flag.ContinueOnError)
	fs.SetOutput(stderr)
	f := serveFlags{}
	fs.StringVar(&f.listen, "listen", "127.0.0.1:8080", "Streamable HTTP address")
	fs.StringVar(&f.devIdentity, "dev-identity", defaultDevIdentity(), "the unverified identity calls are made as")
	fresh := fs.Bool("fresh", false, "start from a new, empty demo database")
	if err := fs.Parse(args); err != nil {
		return exitUsage
	}
	dir := ""
	if !*fresh {
		d, err := pgserver.PersistentDir("demo-db")
		if err != nil {
			fmt.Fprintf(stderr, "airlock dev: %v\n", err)
			return exitFailure
		}
		dir = d
	}
	fmt.Fprintln(stderr, "airlock dev: starting the demo PostgreSQL database...")
	startCtx, cancel := context.WithTimeout(ctx, 2*time.Minute)
	defer cancel()
	pg, err := pgserver.Start(startCtx, pgserver.Options{Dir: dir})
	if err != nil {
		fmt.Fprintf(stderr, "airlock dev: %v\n", err)
		return exitFailure
	}
	defer func() { _ = pg.Stop() }()
	admin := pg.DSN("postgres", "", "postgres")
	password := randomPassword()
	if err := demo.Seed(startCtx, admin); err != nil {
		fmt.Fprintf(stderr, "airlock dev: %v\n", err)
		return exitFailure
	}
	if err := demo.CreateAppRole(startCtx, admin, "airlock_demo", password); err != nil {
		fmt.Fprintf(stderr, "airlock dev: %v\n", err)
		return exitFailure
	}

	cfg := config.Defaults()
	cfg.Path = "(dev defaults)"
	// The demo's audit trail and key live with its database.
	stateDir := pg.Dir
	cfg.Store.UseSQLite(filepath.Join(stateDir, "airlock.db"))
	cfg.Recorder.SigningKey = filepath.Join(stateDir, "airlock-audit.key")
	// Nobody in the demo can approve: do not hold a write for long.
	cfg.Approvals.Hold = config.Duration(5 * time.Second)
	cfg.Log.Format = "console"
	cfg.Connections = []config.Connection{{
		Name: "demo", Kind: "postgres",
		Description: "Demo shop database (customers, orders) created by airlock dev",
		Labels:      map[string]string{"env": "dev"},
		DSN:         config.NewSecret("generated", pg.DSN("airlock_demo", password, "postgres")),
		Limits:      cfg.Limits,
		Pool:        config.Pool{MaxConns: 8, MinConns: 1},
	}}
	return serve(ctx, cfg, f, nil, stdout, stderr, func(addr string) {
		printConnectHelp(stdout, "http://"+addr+"/mcp", f.devIdentity, cfg.Store.Resolved(), cfg.Recorder.SigningKey)
	})
}

func defaultDevIdentity() string {
	if u, err := user.Current(); err == nil && u.Username != "" {
		return u.Username + "@localhost"
	}
	return "dev@localhost"
}

func randomPassword() string {
	var b [12]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

func printConnectHelp(w io.Writer, url, who, store, key string) {
	fmt.Fprintf(w, `
airlock is serving the demo database as connection "demo" at %[1]s
Calls are made as the unverified development identity %[2]s: reads run (personal data masked);
writes wait for an approval that only a verified approver could give, so they are not run.
Every call is recorded: airlock audit search --store-dsn %[3]s --signing-key %[4]s

Connect a client:
  Claude Code:      claude mcp add --transport http airlock %[1]s
  Cursor:           add to ~/.cursor/mcp.json: {"mcpServers": {"airlock": {"url": "%[1]s"}}}
  MCP Inspector:    npx @modelcontextprotocol/inspector --cli %[1]s --transport http --method tools/list
  A query by hand:  npx @modelcontextprotocol/inspector --cli %[1]s --transport http --method tools/call \
                      --tool-name sql_query --tool-arg connection=demo --tool-arg 'sql=SELECT count(*) FROM orders'

Press Ctrl-C to stop.
`, url, who, store, key)
}
