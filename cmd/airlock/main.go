package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"

	"github.com/airlockhq/airlock/internal/config"
	"github.com/airlockhq/airlock/mcp"
)

// version is set at build time with -ldflags "-X main.version=...".
var version = "dev"

// Exit codes: 1 for a failure while running, 2 for a bad invocation or
// configuration (nothing was started).
const (
	exitFailure = 1
	exitUsage   = 2
)

const usage = `airlock: governance gateway for AI-agent tool calls

usage:
  airlock serve [--config FILE] [--listen ADDR | --stdio] [--dev-identity NAME]
  airlock dev [--listen ADDR] [--dev-identity NAME]
  airlock login --issuer URL --client-id ID [--client-secret S] [--scope S]... [--gateway URL]
                [--browser [--no-open] [--redirect-port N]]
  airlock whoami [--issuer URL] [--client-id ID] [--json]
  airlock token [--issuer URL] [--client-id ID] [--header-json]
  airlock call TOOL [--gateway URL] [--connection NAME] [--arg key=value]... [--json '{...}']
  airlock config validate [--print] FILE
  airlock policy test [--replace-default] [DIR]
  airlock policy eval [--dir DIR] --input FILE
  airlock policy explain [--dir DIR] --input FILE
  airlock revoke --subject S --reason R [--config FILE]
  airlock unrevoke --subject S [--config FILE]
  airlock audit verify|replay ID|sessions|search|export|hold on|off|purge [flags]   (ID: a session or a call)
  airlock approvals list|show|approve ID|deny ID [--reason R] [--gateway URL]
  airlock grants list|revoke ID [--reason R] [--gateway URL]
  airlock version
`

func main() {
	mcp.Version = version
	os.Exit(run(os.Args[1:], os.Stdin, os.Stdout, os.Stderr))
}

func run(args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return exitUsage
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	switch args[0] {
	case "serve":
		return cmdServe(ctx, args[1:], stdin, stdout, stderr)
	case "dev":
		return cmdDev(ctx, args[1:], stdout, stderr)
	case "config":
		return cmdConfig(args[1:], stdout, stderr)
	case "login":
		return cmdLogin(ctx, args[1:], stdout, stderr)
	case "whoami":
		return cmdWhoami(ctx, args[1:], stdout, stderr)
	case "token":
		return cmdToken(ctx, args[1:], stdout, stderr)
	case "call":
		return cmdCall(ctx, args[1:], stdout, stderr)
	case "policy":
		return cmdPolicy(args[1:], stdout, stderr)
	case "revoke":
		return cmdRevoke(ctx, args[1:], false, stdout, stderr)
	case "unrevoke":
		return cmdRevoke(ctx, args[1:], true, stdout, stderr)
	case "audit":
		return cmdAudit(args[1:], stdout, stderr)
	case "approvals":
		return cmdApprovals(args[1:], stdout, stderr)
	case "grants":
		return cmdGrants(args[1:], stdout, stderr)
	case "version", "--version":
		fmt.Fprintf(stdout, "airlock %s\n", version)
		return 0
	case "help", "-h", "--help":
		fmt.Fprint(stdout, usage)
		return 0
	}
	fmt.Fprintf(stderr, "airlock: unknown command %q\n\n%s", args[0], usage)
	return exitUsage
}

func cmdConfig(args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 || args[0] != "validate" {
		fmt.Fprint(stderr, "usage: airlock config validate [--print] FILE\n")
		return exitUsage
	}
	fs := flag.NewFlagSet("config validate", flag.ContinueOnError)
	fs.SetOutput(stderr)
	print := fs.Bool("print", false, "print the effective configuration (secrets as references)")
	if err := fs.Parse(args[1:]); err != nil {
		return exitUsage
	}
	if fs.NArg() != 1 {
		fmt.Fprint(stderr, "usage: airlock config validate [--print] FILE\n")
		return exitUsage
	}
	cfg, err := config.Load(fs.Arg(0))
	if err != nil {
		fmt.Fprintf(stderr, "airlock: %v\n", err)
		return exitUsage
	}
	if *print {
		fmt.Fprint(stdout, cfg.Redacted())
	}
	fmt.Fprintf(stderr, "%s: ok (%d connections)\n", fs.Arg(0), len(cfg.Connections))
	return 0
}

// loadConfig reads FILE, or the embedded defaults when no file is given.
func loadConfig(path string) (*config.Config, error) {
	if path == "" {
		return config.Parse("(defaults)", nil)
	}
	cfg, err := config.Load(path)
	if err != nil {
		var ce *config.Error
		if errors.As(err, &ce) {
			return nil, err
		}
		return nil, fmt.Errorf("reading %s: %w", path, err)
	}
	return cfg, nil
}
