package main

import (
	"context"
	"flag"
	"fmt"
	"io"

	"github.com/airlockhq/airlock/internal/cliauth"
)

// cmdWhoami shows who the cached login says you are, after verifying the
// access token against the issuer's keys: what the gateway will see.
func cmdWhoami(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("whoami", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var f loginFlags
	f.register(fs)
	groupsClaim := fs.String("groups-claim", "groups", "claim holding the groups, as the gateway is configured")
	asJSON := fs.Bool("json", false, "print JSON")
	if err := fs.Parse(args); err != nil || fs.NArg() != 0 {
		return exitUsage
	}
	tok, e, code := cachedToken(ctx, f, stderr)
	if tok == "" {
		return code
	}
	id, err := cliauth.Whoami(ctx, e, tok, *groupsClaim, nil)
	if err != nil {
		fmt.Fprintf(stderr, "airlock whoami: %v\n", err)
		return exitFailure
	}
	if *asJSON {
		fmt.Fprint(stdout, id.JSON())
	} else {
		fmt.Fprint(stdout, id.String())
	}
	return 0
}
