package cliauth_test

import (
	"context"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/airlockhq/airlock/internal/cliauth"
	"github.com/airlockhq/airlock/internal/testenv"
)

// approver plays the person: when the login prints its user code, it
// approves it at the OP.
type approver struct {
	t    *testing.T
	op   *testenv.OP
	mu   sync.Mutex
	buf  strings.Builder
	done bool
}

var codeRe = regexp.MustCompile(`enter the code: (\S+)`)

func (a *approver) Write(p []byte) (int, error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.buf.Write(p)
	if m := codeRe.FindStringSubmatch(a.buf.String()); m != nil && !a.done {
		a.done = true
		a.op.ApproveDevice(a.t, m[1], "alice", "alice-pw")
	}
	return len(p), nil
}

func TestLoginCacheRefreshWhoami(t *testing.T) {
	op := testenv.OIDC(t)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	e, err := cliauth.Login(ctx, cliauth.LoginOptions{Issuer: op.Issuer(), ClientID: testenv.DeviceClientID,
		ClientSecret: testenv.DeviceClientSecret, Gateway: "https://gw.test/mcp", Prompt: &approver{t: t, op: op}})
	if err != nil {
		t.Fatalf("login: %v", err)
	}
	if e.AccessToken == "" || e.RefreshToken == "" || e.IDToken == "" || e.TokenURL == "" {
		t.Fatalf("entry %+v", e)
	}

	path := filepath.Join(t.TempDir(), "airlock", "tokens.json")
	c, err := cliauth.Load(path)
	if err != nil {
		t.Fatal(err)
	}
	c.Put(e)
	if err := c.Save(); err != nil {
		t.Fatal(err)
	}
	for p, mode := range map[string]os.FileMode{path: 0o600, filepath.Dir(path): 0o700} {
		if st, err := os.Stat(p); err != nil || st.Mode().Perm() != mode {
			t.Fatalf("%s: %v %v", p, st.Mode(), err)
		}
	}

	c, err = cliauth.Load(path)
	if err != nil {
		t.Fatal(err)
	}
	got, err := c.Get("", "")
	if err != nil || got.AccessToken != e.AccessToken || got.Gateway != "https://gw.test/mcp" {
		t.Fatalf("get: %v %+v", err, got)
	}
	// A fresh token is used as it is.
	if tok, err := c.Token(ctx, got, nil); err != nil || tok != e.AccessToken {
		t.Fatalf("fresh token: %v", err)
	}
	// One about to expire is refreshed, and the cache saved.
	got.Expiry = time.Now().Add(10 * time.Second)
	tok, err := c.Token(ctx, got, nil)
	if err != nil || tok == e.AccessToken {
		t.Fatalf("refresh: %v", err)
	}
	again, _ := cliauth.Load(path)
	if saved, _ := again.Get(op.Issuer(), testenv.DeviceClientID); saved.AccessToken != tok {
		t.Fatal("the refreshed token was not saved")
	}

	id, err := cliauth.Whoami(ctx, got, tok, "groups", nil)
	if err != nil {
		t.Fatal(err)
	}
	if id.Subject != "alice" || id.Email != "alice@example.com" || strings.Join(id.Groups, ",") != "dba,payments" ||
		id.Issuer != op.Issuer() || id.ClientID != testenv.DeviceClientID {
		t.Fatalf("whoami %+v", id)
	}
	if !strings.Contains(id.String(), "subject:  alice") {
		t.Fatal(id.String())
	}
	// A token that is not the OP's does not pass whoami.
	if _, err := cliauth.Whoami(ctx, got, testenv.UnsignedToken(op.Claims("alice", "x")), "groups", nil); err == nil {
		t.Fatal("an unsigned token passed whoami")
	}
	// A dead refresh token means logging in again.
	got.Expiry, got.RefreshToken = time.Now().Add(-time.Minute), "revoked"
	if _, err := c.Token(ctx, got, nil); err == nil || !strings.Contains(err.Error(), "login") {
		t.Fatalf("dead refresh token: %v", err)
	}
}

func TestCacheRefusesAFileOthersCanRead(t *testing.T) {
	path := filepath.Join(t.TempDir(), "tokens.json")
	if err := os.WriteFile(path, []byte(`{"entries":{}}`), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := cliauth.Load(path); err == nil || !strings.Contains(err.Error(), "readable by other users") {
		t.Fatalf("a 0644 token file: %v", err)
	}
}

func TestCacheGetPicksTheLogin(t *testing.T) {
	c, err := cliauth.Load(filepath.Join(t.TempDir(), "none.json"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.Get("", ""); err != cliauth.ErrNotLoggedIn {
		t.Fatalf("empty cache: %v", err)
	}
	a := &cliauth.Entry{Issuer: "https://a", ClientID: "cli"}
	b := &cliauth.Entry{Issuer: "https://b", ClientID: "cli"}
	c.Put(a)
	c.Put(b)
	if e, _ := c.Get("", ""); e != b {
		t.Fatal("the default is the last login")
	}
	if e, _ := c.Get("https://a", ""); e != a {
		t.Fatal("by issuer")
	}
	if _, err := c.Get("https://c", "cli"); err != cliauth.ErrNotLoggedIn {
		t.Fatalf("unknown issuer: %v", err)
	}
}

func TestGatewayURL(t *testing.T) {
	for in, want := range map[string]string{
		"https://gw.example.com":        "https://gw.example.com/mcp",
		"https://gw.example.com/":       "https://gw.example.com/mcp",
		"gw.example.com":                "https://gw.example.com/mcp",
		"http://127.0.0.1:8080/mcp":     "http://127.0.0.1:8080/mcp",
		"https://gw.example.com/x/mcp/": "https://gw.example.com/x/mcp",
		"http://127.0.0.1:8080":         "http://127.0.0.1:8080/mcp",
	} {
		if got := cliauth.GatewayURL(in); got != want {
			t.Errorf("GatewayURL(%q) = %q, want %q", in, got, want)
		}
	}
}
