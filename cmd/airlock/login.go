package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/airlockhq/airlock/internal/cliauth"
)

// scopeFlag collects --scope, repeated or space separated.
type scopeFlag []string

func (s *scopeFlag) String() string { return strings.Join(*s, " ") }
func (s *scopeFlag) Set(v string) error {
	*s = append(*s, strings.Fields(v)...)
	return nil
}

// loginFlags name a cached login; empty values pick the only or last one.
type loginFlags struct{ issuer, clientID string }

func (f *loginFlags) register(fs *flag.FlagSet) {
	fs.StringVar(&f.issuer, "issuer", "", "issuer of the login to use (default: the last login)")
	fs.StringVar(&f.clientID, "client-id", "", "client id of the login to use")
}

// cmdLogin logs a person in, with the device authorization grant or
// through a browser on this machine, and caches the tokens for call, token
// and whoami.
func cmdLogin(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("login", flag.ContinueOnError)
	fs.SetOutput(stderr)
	issuer := fs.String("issuer", "", "OpenID provider (issuer URL), as the gateway trusts it")
	clientID := fs.String("client-id", "", "OAuth client registered for the airlock CLI")
	browser := fs.Bool("browser", false, "log in through a browser on this machine (authorization code with PKCE, redirect to 127.0.0.1) instead of the device flow; used anyway when the provider has no device flow")
	noOpen := fs.Bool("no-open", false, "with the browser flow, print the address instead of starting a browser")
	port := fs.Int("redirect-port", 0, "with the browser flow, the loopback port to return to (default: any free port)")
	secret := fs.String("client-secret", "", "client secret, for confidential clients (or $AIRLOCK_CLIENT_SECRET)")
	gateway := fs.String("gateway", "", "gateway URL to remember for airlock call, e.g. https://airlock.example.com/mcp")
	var scopes scopeFlag
	fs.Var(&scopes, "scope", "scope to ask for; repeat or separate with spaces (default: "+strings.Join(cliauth.DefaultScopes, " ")+")")
	if err := fs.Parse(args); err != nil {
		return exitUsage
	}
	if *issuer == "" || *clientID == "" || fs.NArg() != 0 {
		fmt.Fprint(stderr, "usage: airlock login --issuer URL --client-id ID [--client-secret S] [--scope S]... [--gateway URL] [--browser [--no-open] [--redirect-port N]]\n")
		return exitUsage
	}
	if *secret == "" {
		*secret = os.Getenv("AIRLOCK_CLIENT_SECRET")
	}
	cache, code := openCache(stderr)
	if cache == nil {
		return code
	}
	lctx, cancel := context.WithTimeout(ctx, 15*time.Minute)
	defer cancel()
	if *port < 0 || *port > 65535 {
		fmt.Fprintf(stderr, "airlock login: --redirect-port %d is not a port\n", *port)
		return exitUsage
	}
	opts := cliauth.LoginOptions{Issuer: *issuer, ClientID: *clientID, ClientSecret: *secret,
		Scopes: scopes, Gateway: *gateway, Prompt: stderr, Browser: *browser, RedirectPort: *port}
	if !*noOpen {
		opts.OpenURL = cliauth.OpenBrowser
	}
	e, err := cliauth.Login(lctx, opts)
	if err != nil {
		fmt.Fprintf(stderr, "airlock login: %v\n", err)
		return exitFailure
	}
	cache.Put(e)
	if err := cache.Save(); err != nil {
		fmt.Fprintf(stderr, "airlock login: %v\n", err)
		return exitFailure
	}
	id, err := cliauth.Whoami(lctx, e, e.AccessToken, "groups", nil)
	if err != nil {
		// Logged in, but the gateway will not accept this token either.
		fmt.Fprintf(stderr, "airlock login: logged in, but the access token cannot be verified (is it a JWT?): %v\n", err)
		return exitFailure
	}
	fmt.Fprintf(stdout, "Logged in to %s as %s; the token expires %s. Tokens are kept in %s.\n",
		e.Issuer, id.Subject, e.Expiry.Local().Format(time.RFC3339), cache.Path())
	return 0
}

func openCache(stderr io.Writer) (*cliauth.Cache, int) {
	path, err := cliauth.DefaultPath()
	if err == nil {
		var c *cliauth.Cache
		if c, err = cliauth.Load(path); err == nil {
			return c, 0
		}
	}
	fmt.Fprintf(stderr, "airlock: %v\n", err)
	return nil, exitFailure
}

// cachedToken returns a current access token of the login f names,
// refreshed if need be.
func cachedToken(ctx context.Context, f loginFlags, stderr io.Writer) (string, *cliauth.Entry, int) {
	cache, code := openCache(stderr)
	if cache == nil {
		return "", nil, code
	}
	e, err := cache.Get(f.issuer, f.clientID)
	if err != nil {
		fmt.Fprintf(stderr, "airlock: %v\n", err)
		return "", nil, exitFailure
	}
	tok, err := cache.Token(ctx, e, nil)
	if err != nil {
		fmt.Fprintf(stderr, "airlock: %v\n", err)
		return "", nil, exitFailure
	}
	return tok, e, 0
}

// cmdToken prints the cached access token, refreshed, for clients that
// take a token or a header from a command (Claude Code's headersHelper).
func cmdToken(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("token", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var f loginFlags
	f.register(fs)
	header := fs.Bool("header-json", false, `print {"Authorization": "Bearer ..."} instead of the bare token`)
	if err := fs.Parse(args); err != nil || fs.NArg() != 0 {
		return exitUsage
	}
	tok, _, code := cachedToken(ctx, f, stderr)
	if tok == "" {
		return code
	}
	if *header {
		_ = json.NewEncoder(stdout).Encode(map[string]string{"Authorization": "Bearer " + tok})
		return 0
	}
	fmt.Fprintln(stdout, tok)
	return 0
}
