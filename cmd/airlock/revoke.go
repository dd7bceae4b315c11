package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os/user"

	"github.com/airlockhq/airlock/internal/app"
)

// cmdRevoke runs `airlock revoke` and `airlock unrevoke`: they write to the
// shared store the configuration names, so every gateway using that store
// refuses (or again admits) the subject at its next call.
func cmdRevoke(ctx context.Context, args []string, lift bool, stdout, stderr io.Writer) int {
	name := "revoke"
	if lift {
		name = "unrevoke"
	}
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(stderr)
	cfgPath := fs.String("config", "", "configuration file naming the store (default: embedded defaults)")
	subject := fs.String("subject", "", "the subject to "+name+" (required)")
	reason := fs.String("reason", "", "why; recorded (required for revoke)")
	by := fs.String("by", "", "who does this (default: the OS user)")
	if err := fs.Parse(args); err != nil {
		return exitUsage
	}
	if *subject == "" || (!lift && *reason == "") {
		fmt.Fprintf(stderr, "usage: airlock %s --subject S%s [--config FILE] [--by NAME]\n", name, map[bool]string{false: " --reason R", true: ""}[lift])
		return exitUsage
	}
	if *by == "" {
		if u, err := user.Current(); err == nil {
			*by = "os:" + u.Username
		}
	}
	cfg, err := loadConfig(*cfgPath)
	if err != nil {
		fmt.Fprintf(stderr, "airlock: %v\n", err)
		return exitUsage
	}
	msg, err := app.Revoke(ctx, cfg, *subject, *reason, *by, lift)
	if err != nil {
		fmt.Fprintf(stderr, "airlock %s: %v\n", name, err)
		return exitFailure
	}
	fmt.Fprintln(stdout, msg)
	return 0
}
