package cliauth

import (
	"context"
	"crypto/rand"
	"crypto/subtle"
	"errors"
	"fmt"
	"html"
	"net"
	"net/http"
	"os/exec"
	"runtime"
	"strconv"
	"sync"
	"time"

	gooidc "github.com/coreos/go-oidc/v3/oidc"
	"golang.org/x/oauth2"
)

// callbackPath is where the provider sends the browser back to.
const callbackPath = "/callback"

// loginBrowser runs the authorization code grant with PKCE (RFC 7636)
// through the person's browser, with the redirect to a one-shot listener
// on the loopback interface (RFC 8252, section 7.3). state ties the
// redirect to this login, the PKCE verifier ties the code to this process,
// and the nonce ties the ID token to this request.
func loginBrowser(ctx context.Context, o LoginOptions, prov *gooidc.Provider) (*oauth2.Token, error) {
	ln, err := net.Listen("tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(o.RedirectPort)))
	if err != nil {
		return nil, fmt.Errorf("cliauth: login: listening for the browser's return on 127.0.0.1: %w", err)
	}
	cfg := &oauth2.Config{ClientID: o.ClientID, ClientSecret: o.ClientSecret, Endpoint: prov.Endpoint(), Scopes: o.Scopes,
		RedirectURL: "http://" + ln.Addr().String() + callbackPath}
	state, nonce, verifier := rand.Text(), rand.Text(), oauth2.GenerateVerifier()
	authURL := cfg.AuthCodeURL(state, oauth2.S256ChallengeOption(verifier), gooidc.Nonce(nonce))

	cb := &callback{state: state, done: make(chan callbackResult, 1)}
	srv := &http.Server{Handler: cb, ReadHeaderTimeout: 10 * time.Second}
	go func() { _ = srv.Serve(ln) }()
	defer func() {
		// Let the page the browser is waiting for go out first.
		sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 2*time.Second)
		defer cancel()
		_ = srv.Shutdown(sctx)
	}()

	if o.Prompt != nil {
		fmt.Fprintf(o.Prompt, "To log in, open this address in a browser on this machine:\n  %s\nWaiting for the login...\n", authURL)
	}
	if o.OpenURL != nil {
		if err := o.OpenURL(authURL); err != nil && o.Prompt != nil {
			fmt.Fprintf(o.Prompt, "(no browser could be started: %v; open the address yourself)\n", err)
		}
	}
	var res callbackResult
	select {
	case <-ctx.Done():
		return nil, fmt.Errorf("cliauth: login: no answer from the browser: %w", ctx.Err())
	case res = <-cb.done:
	}
	if res.err != nil {
		return nil, fmt.Errorf("cliauth: login: %w", res.err)
	}
	tok, err := cfg.Exchange(ctx, res.code, oauth2.VerifierOption(verifier))
	if err != nil {
		return nil, fmt.Errorf("cliauth: login: exchanging the code: %w", err)
	}
	if raw, ok := tok.Extra("id_token").(string); ok && raw != "" {
		idt, err := prov.Verifier(&gooidc.Config{ClientID: o.ClientID}).Verify(ctx, raw)
		if err != nil {
			return nil, fmt.Errorf("cliauth: login: the ID token does not verify: %w", err)
		}
		if subtle.ConstantTimeCompare([]byte(idt.Nonce), []byte(nonce)) != 1 {
			return nil, errors.New("cliauth: login: the ID token was issued for another login (nonce mismatch)")
		}
	}
	return tok, nil
}

type callbackResult struct {
	code string
	err  error
}

// callback takes the first redirect that carries this login's state.
// Anything else reaching the port (another page's request, a forged or
// replayed redirect) is answered 400 and changes nothing.
type callback struct {
	state string
	once  sync.Once
	done  chan callbackResult
}

func (c *callback) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.URL.Path != callbackPath {
		http.NotFound(w, r)
		return
	}
	q := r.URL.Query()
	if subtle.ConstantTimeCompare([]byte(q.Get("state")), []byte(c.state)) != 1 {
		http.Error(w, "airlock login: this response does not belong to the login in progress (state mismatch)", http.StatusBadRequest)
		return
	}
	var res callbackResult
	switch code := q.Get("code"); {
	case q.Get("error") != "":
		res.err = fmt.Errorf("the provider refused the login: %s %s", q.Get("error"), q.Get("error_description"))
	case code == "":
		http.Error(w, "airlock login: the response carries neither a code nor an error", http.StatusBadRequest)
		return
	default:
		res.code = code
	}
	first := false
	c.once.Do(func() { first = true })
	if !first {
		http.Error(w, "airlock login: this login has already been answered", http.StatusBadRequest)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	msg := "You are logged in to airlock. You can close this window."
	if res.err != nil {
		msg = "The login was refused: " + res.err.Error()
	}
	fmt.Fprintf(w, "<!doctype html><title>airlock login</title><p>%s</p>\n", html.EscapeString(msg))
	c.done <- res
}

// OpenBrowser opens url with the desktop's handler for web addresses.
func OpenBrowser(url string) error {
	var cmd *exec.Cmd
	switch runtime.GOOS {
	case "darwin":
		cmd = exec.Command("open", url)
	case "windows":
		cmd = exec.Command("rundll32", "url.dll,FileProtocolHandler", url)
	default:
		cmd = exec.Command("xdg-open", url)
	}
	if err := cmd.Start(); err != nil {
		return err
	}
	go func() { _ = cmd.Wait() }()
	return nil
}
