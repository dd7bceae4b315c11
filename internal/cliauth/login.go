package cliauth

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strings"
	"time"

	gooidc "github.com/coreos/go-oidc/v3/oidc"
	"golang.org/x/oauth2"
)

// DefaultScopes ask for an identity (openid, email, profile) and a refresh
// token (offline_access), so a login lasts beyond the first access token.
var DefaultScopes = []string{gooidc.ScopeOpenID, "email", "profile", gooidc.ScopeOfflineAccess}

// LoginOptions configure a login.
type LoginOptions struct {
	Issuer, ClientID, ClientSecret string
	Scopes                         []string
	// Gateway is remembered with the login, so airlock call can omit it.
	Gateway string
	// Browser logs in through a browser (authorization code with PKCE and
	// a loopback redirect) instead of the device flow. It is also used
	// when the provider offers no device flow.
	Browser bool
	// RedirectPort is the loopback port the browser returns to; 0 picks a
	// free one (providers that follow RFC 8252 accept any port).
	RedirectPort int
	// OpenURL, when set, is given the address to open in a browser.
	OpenURL func(url string) error
	// Prompt receives the instructions for the person (the address to
	// open, or the verification URL and user code).
	Prompt io.Writer
	// HTTPClient is used for every request to the issuer.
	HTTPClient *http.Client
}

func (o *LoginOptions) ctx(ctx context.Context) context.Context {
	if o.HTTPClient == nil {
		return ctx
	}
	// go-oidc and x/oauth2 both take their client from the context.
	return context.WithValue(ctx, oauth2.HTTPClient, o.HTTPClient)
}

// Login logs a person in and returns the new entry; the caller stores
// it. By default it runs the OAuth 2.0 device authorization grant: it asks
// the issuer for a user code, tells the person where to enter it, and
// polls until they have approved (or the code expires). With Browser, or
// when the issuer has no device flow, the person logs in through a
// browser on this machine instead (see loginBrowser).
func Login(ctx context.Context, o LoginOptions) (*Entry, error) {
	ctx = o.ctx(ctx)
	prov, err := gooidc.NewProvider(ctx, o.Issuer)
	if err != nil {
		return nil, fmt.Errorf("cliauth: login: discovery: %w", err)
	}
	ep := prov.Endpoint()
	if len(o.Scopes) == 0 {
		o.Scopes = DefaultScopes
	}
	var tok *oauth2.Token
	if o.Browser || ep.DeviceAuthURL == "" {
		tok, err = loginBrowser(ctx, o, prov)
	} else {
		tok, err = loginDevice(ctx, o, ep)
	}
	if err != nil {
		return nil, err
	}
	e := &Entry{Issuer: o.Issuer, ClientID: o.ClientID, ClientSecret: o.ClientSecret, Scopes: o.Scopes,
		TokenURL: ep.TokenURL, Gateway: o.Gateway}
	e.set(tok)
	return e, nil
}

func loginDevice(ctx context.Context, o LoginOptions, ep oauth2.Endpoint) (*oauth2.Token, error) {
	cfg := &oauth2.Config{ClientID: o.ClientID, ClientSecret: o.ClientSecret, Endpoint: ep, Scopes: o.Scopes}
	da, err := cfg.DeviceAuth(ctx)
	if err != nil {
		return nil, fmt.Errorf("cliauth: login: device authorization: %w", err)
	}
	if o.Prompt != nil {
		fmt.Fprintf(o.Prompt, "To log in, open %s\nand enter the code: %s\n", da.VerificationURI, da.UserCode)
		if da.VerificationURIComplete != "" {
			fmt.Fprintf(o.Prompt, "(or open %s)\n", da.VerificationURIComplete)
		}
		fmt.Fprintln(o.Prompt, "Waiting for approval...")
	}
	tok, err := cfg.DeviceAccessToken(ctx, da)
	if err != nil {
		return nil, fmt.Errorf("cliauth: login: %w", err)
	}
	return tok, nil
}

func (e *Entry) set(tok *oauth2.Token) {
	e.AccessToken = tok.AccessToken
	if tok.RefreshToken != "" {
		e.RefreshToken = tok.RefreshToken
	}
	if id, ok := tok.Extra("id_token").(string); ok && id != "" {
		e.IDToken = id
	}
	e.Expiry = tok.Expiry
}

// refreshMargin renews a token this long before it expires, so it does
// not expire on its way to the gateway.
const refreshMargin = time.Minute

// ErrExpired means the access token expired and cannot be refreshed.
var ErrExpired = errors.New("the login expired: run airlock login again")

// Token returns a current access token of e, refreshing it (and saving the
// cache) when it is about to expire.
func (c *Cache) Token(ctx context.Context, e *Entry, client *http.Client) (string, error) {
	if e.Expiry.IsZero() || time.Until(e.Expiry) > refreshMargin {
		return e.AccessToken, nil
	}
	if e.RefreshToken == "" {
		return "", fmt.Errorf("cliauth: token of %s expired at %s and there is no refresh token: %w",
			e.Issuer, e.Expiry.Format(time.RFC3339), ErrExpired)
	}
	if client != nil {
		ctx = context.WithValue(ctx, oauth2.HTTPClient, client)
	}
	cfg := &oauth2.Config{ClientID: e.ClientID, ClientSecret: e.ClientSecret, Scopes: e.Scopes,
		Endpoint: oauth2.Endpoint{TokenURL: e.TokenURL}}
	// An expired token makes the source refresh at once.
	tok, err := cfg.TokenSource(ctx, &oauth2.Token{RefreshToken: e.RefreshToken, Expiry: time.Unix(1, 0)}).Token()
	if err != nil {
		var re *oauth2.RetrieveError
		if errors.As(err, &re) && slices.Contains([]string{"invalid_grant", "invalid_token"}, re.ErrorCode) {
			return "", fmt.Errorf("cliauth: refresh at %s: %s %s: %w", e.Issuer, re.ErrorCode, re.ErrorDescription, ErrExpired)
		}
		return "", fmt.Errorf("cliauth: refresh at %s: %w", e.Issuer, err)
	}
	e.set(tok)
	if err := c.Save(); err != nil {
		return "", err
	}
	return e.AccessToken, nil
}

// GatewayURL normalises a gateway address to its MCP endpoint: a bare
// host or origin gets /mcp.
func GatewayURL(s string) string {
	s = strings.TrimRight(s, "/")
	if !strings.Contains(s, "://") {
		s = "https://" + s
	}
	if rest := s[strings.Index(s, "://")+3:]; !strings.Contains(rest, "/") {
		s += "/mcp"
	}
	return s
}
