package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"os"
	"os/signal"
	"syscall"

	"go.uber.org/zap"

	"github.com/airlockhq/airlock/internal/app"
	"github.com/airlockhq/airlock/internal/config"
	"github.com/airlockhq/airlock/mcp"
)

type serveFlags struct {
	config, listen, devIdentity string
	stdio, fixtures             bool
}

func (f *serveFlags) register(fs *flag.FlagSet) {
	fs.StringVar(&f.config, "config", "", "configuration file (default: embedded defaults)")
	fs.StringVar(&f.listen, "listen", "", "Streamable HTTP address, e.g. 127.0.0.1:8080 (overrides listen:)")
	fs.BoolVar(&f.stdio, "stdio", false, "serve MCP on stdin/stdout instead of HTTP")
	fs.StringVar(&f.devIdentity, "dev-identity", "", "act as this unverified development identity (demos only)")
	fs.BoolVar(&f.fixtures, "conformance-fixtures", false, "serve the MCP conformance suite's test fixtures")
}

func cmdServe(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("serve", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var f serveFlags
	f.register(fs)
	if err := fs.Parse(args); err != nil {
		return exitUsage
	}
	cfg, err := loadConfig(f.config)
	if err != nil {
		fmt.Fprintf(stderr, "airlock: %v\n", err)
		return exitUsage
	}
	return serve(ctx, cfg, f, stdin, stdout, stderr, nil)
}

// serve runs the gateway on cfg until ctx ends. started, when set, is told
// the HTTP address once the listener is open.
func serve(ctx context.Context, cfg *config.Config, f serveFlags, stdin io.Reader, stdout, stderr io.Writer, started func(addr string)) int {
	if f.listen != "" {
		cfg.Listen = f.listen
	}
	if f.devIdentity != "" {
		cfg.Identity.DevIdentity = f.devIdentity
	}
	log, err := app.NewLogger(cfg.Log)
	if err != nil {
		fmt.Fprintf(stderr, "airlock: %v\n", err)
		return exitUsage
	}
	defer func() { _ = log.Sync() }()

	a, err := app.New(ctx, cfg, app.Options{Fixtures: f.fixtures, Stdio: f.stdio}, log)
	if err != nil {
		fmt.Fprintf(stderr, "airlock: %v\n", err)
		if errors.Is(err, app.ErrNoIdentitySource) || errors.Is(err, app.ErrIdentityConfig) {
			return exitUsage
		}
		return exitFailure
	}
	defer a.Close()
	hup := make(chan os.Signal, 1)
	signal.Notify(hup, syscall.SIGHUP)
	defer signal.Stop(hup)
	go a.WatchPolicy(ctx, hup)
	a.Start(ctx)

	if f.stdio {
		log.Info("serving MCP on stdio")
		if err := a.MCP.ServeStdio(ctx, stdin, stdout); err != nil && !errors.Is(err, context.Canceled) {
			log.Error("stdio transport stopped", zap.Error(err))
			return exitFailure
		}
		return 0
	}
	ln, err := net.Listen("tcp", cfg.Listen)
	if err != nil {
		fmt.Fprintf(stderr, "airlock: listen %s: %v\n", cfg.Listen, err)
		return exitFailure
	}
	addr := ln.Addr().String()
	log.Info("serving MCP over Streamable HTTP", zap.String("url", "http://"+addr+mcp.Endpoint))
	if started != nil {
		started(addr)
	}
	h := mcp.NewHTTP(a.MCP, cfg.Server, a.Ready, log)
	if err := h.Serve(ctx, ln); err != nil {
		log.Error("http transport stopped", zap.Error(err))
		return exitFailure
	}
	log.Info("stopped")
	return 0
}
