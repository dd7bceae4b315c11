package cliauth_test

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/airlockhq/airlock/internal/cliauth"
	"github.com/airlockhq/airlock/internal/testenv"
)

// TestBrowserLogin logs alice in through the browser flow at the real OP:
// the address asks for a PKCE S256 challenge and a nonce, the redirect
// comes back to a loopback port, and the tokens are alice's, refreshable.
// Before the real redirect, a forged one (someone else's state and code)
// reaches the port: it is refused and does not end the login.
func TestBrowserLogin(t *testing.T) {
	op := testenv.OIDC(t)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	// What the browser saw: the forged redirect's status, then the page
	// the real one ended on.
	seen := make(chan any, 2)
	open := func(authURL string) error {
		u, err := url.Parse(authURL)
		if err != nil {
			return err
		}
		q := u.Query()
		if q.Get("code_challenge_method") != "S256" || q.Get("code_challenge") == "" || q.Get("nonce") == "" ||
			q.Get("state") == "" || !strings.HasPrefix(q.Get("redirect_uri"), "http://127.0.0.1:") {
			t.Errorf("authorization request lacks PKCE, nonce, state or a loopback redirect: %s", authURL)
		}
		go func() {
			resp, err := http.Get(q.Get("redirect_uri") + "?state=forged&code=stolen")
			if err != nil {
				t.Errorf("forged redirect: %v", err)
				return
			}
			resp.Body.Close()
			seen <- resp.StatusCode
			_, page := op.BrowserLogin(t, authURL, "alice", "alice-pw")
			seen <- page
		}()
		return nil
	}
	var prompt strings.Builder
	e, err := cliauth.Login(ctx, cliauth.LoginOptions{Issuer: op.Issuer(), ClientID: testenv.NativeClientID,
		Browser: true, OpenURL: open, Prompt: &prompt})
	if err != nil {
		t.Fatalf("login: %v", err)
	}
	if forged := <-seen; forged != http.StatusBadRequest {
		t.Errorf("a redirect with a forged state got %v", forged)
	}
	if !strings.Contains(prompt.String(), "open this address in a browser") {
		t.Errorf("prompt: %s", prompt.String())
	}
	id, err := cliauth.Whoami(ctx, e, e.AccessToken, "groups", nil)
	if err != nil {
		t.Fatal(err)
	}
	if id.Subject != "alice" || strings.Join(id.Groups, ",") != "dba,payments" || id.ClientID != testenv.NativeClientID {
		t.Fatalf("whoami %+v", id)
	}
	if e.RefreshToken == "" || e.IDToken == "" {
		t.Fatalf("entry without refresh or ID token: %+v", e)
	}
	c, err := cliauth.Load(t.TempDir() + "/tokens.json")
	if err != nil {
		t.Fatal(err)
	}
	c.Put(e)
	e.Expiry = time.Now()
	if tok, err := c.Token(ctx, e, nil); err != nil || tok == "" {
		t.Fatalf("refresh: %v", err)
	}
	if page := (<-seen).(string); !strings.Contains(page, "You are logged in") {
		t.Errorf("the browser was shown %q", page)
	}
}

// TestBrowserLoginRefused: when the provider sends the browser back with
// an error (the person declined), the login fails and says why.
func TestBrowserLoginRefused(t *testing.T) {
	op := testenv.OIDC(t)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	open := func(authURL string) error {
		u, _ := url.Parse(authURL)
		q := u.Query()
		go func() {
			resp, err := http.Get(q.Get("redirect_uri") + "?" + url.Values{"state": {q.Get("state")},
				"error": {"access_denied"}, "error_description": {"the user declined"}}.Encode())
			if err == nil {
				resp.Body.Close()
			}
		}()
		return nil
	}
	_, err := cliauth.Login(ctx, cliauth.LoginOptions{Issuer: op.Issuer(), ClientID: testenv.NativeClientID, Browser: true, OpenURL: open})
	if err == nil || !strings.Contains(err.Error(), "access_denied the user declined") {
		t.Fatalf("refused login: %v", err)
	}
}
