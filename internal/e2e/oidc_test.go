package e2e

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/mark3labs/mcp-go/client"
	"github.com/mark3labs/mcp-go/client/transport"
	"github.com/mark3labs/mcp-go/mcp"

	"github.com/airlockhq/airlock/internal/app"
	"github.com/airlockhq/airlock/internal/config"
	"github.com/airlockhq/airlock/internal/identity"
	"github.com/airlockhq/airlock/internal/testenv"
	airmcp "github.com/airlockhq/airlock/mcp"
)

// whoamiPolicy makes the principal observable: a query of 'whoami' is
// refused with everything policy sees about the caller.
const whoamiPolicy = `package airlock.authz

import rego.v1

deny contains sprintf("whoami subject=%s issuer=%s verified=%v groups=%v client=%s client_id=%s", [
	input.principal.subject, input.principal.issuer, input.principal.verified,
	input.principal.groups, input.principal.client.name, input.principal.client_id]) if {
	input.tool.name == "sql_query"
	input.arguments.sql == "SELECT 'whoami'"
}
`

// oidcEnv is a gateway in process that trusts one test OP and serves a
// connection labelled env: prod, which unverified identities may not use:
// a read that succeeds there was made by a verified principal.
type oidcEnv struct {
	op       *testenv.OP
	base     string // http://127.0.0.1:PORT
	resource string
	rev      *identity.MemoryRevocations
	db       testenv.DB
	cfgBody  string
	dir      string // the configuration's folder: the audit store is here
}

const (
	svcID, svcSecret = "agent-svc", "agent-svc-secret"
)

func oidcConfig(issuer, resource string) string {
	return fmt.Sprintf(`listen: 127.0.0.1:0
resource: %s
identity:
  oidc:
    - issuer: %s
      audiences: [%s, %s, %s, %s]
      required_scopes: [airlock]
log:
  level: warn
approvals:
  hold: 1s # a call sent to approval answers with its request id at once
policy:
  dir: policies
connections:
  - name: shop
    kind: postgres
    description: test shop database
    labels: {env: prod, team: payments}
    dsn: env:AIRLOCK_TEST_SHOP_DSN
`, resource, issuer, svcID, testenv.DeviceClientID, testenv.NativeClientID, resource)
}

func newOIDCEnv(t *testing.T) *oidcEnv {
	t.Helper()
	op := testenv.OIDC(t)
	op.AddService(svcID, svcSecret, []string{"agents"})
	op.AddService("narrow-svc", "narrow-secret", nil, svcID)
	db := testenv.Postgres(t).NewDatabase(t)
	t.Setenv("AIRLOCK_TEST_SHOP_DSN", db.AppDSN)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	base := "http://" + ln.Addr().String()
	dir := t.TempDir()
	if err := os.MkdirAll(filepath.Join(dir, "policies"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "policies", "whoami.rego"), []byte(whoamiPolicy), 0o644); err != nil {
		t.Fatal(err)
	}
	body := oidcConfig(op.Issuer(), base+"/mcp")
	cfgPath := filepath.Join(dir, "airlock.yaml")
	if err := os.WriteFile(cfgPath, []byte(body), 0o600); err != nil {
		t.Fatal(err)
	}
	cfg, err := config.Load(cfgPath)
	if err != nil {
		t.Fatalf("config: %v", err)
	}
	rev := &identity.MemoryRevocations{}
	ctx, cancel := context.WithCancel(context.Background())
	a, err := app.New(ctx, cfg, app.Options{Revocations: rev}, nil)
	if err != nil {
		t.Fatalf("app: %v", err)
	}
	h := airmcp.NewHTTP(a.MCP, cfg.Server, a.Ready, a.Log)
	done := make(chan struct{})
	go func() { _ = h.Serve(ctx, ln); close(done) }()
	t.Cleanup(func() { cancel(); <-done; a.Close() })
	return &oidcEnv{op: op, base: base, resource: base + "/mcp", rev: rev, db: db, cfgBody: body, dir: dir}
}

func (e *oidcEnv) svcToken(t *testing.T) string {
	return e.op.ClientCredentialsToken(t, svcID, svcSecret, "airlock")
}

// session opens an MCP session (2025-11-25, with Mcp-Session-Id) whose
// requests carry the token *tok holds at the time.
func (e *oidcEnv) session(t *testing.T, tok *string) *client.Client {
	return e.connect(t, tok, mcp.ProtocolVersion20251125, mcp.Implementation{Name: "airlock-e2e", Version: "1.0"})
}

// connect opens a client on protocol version v that describes itself as
// info, its requests carrying the token *tok holds at the time.
func (e *oidcEnv) connect(t *testing.T, tok *string, v string, info mcp.Implementation) *client.Client {
	t.Helper()
	tr, err := transport.NewStreamableHTTP(e.resource, transport.WithHTTPHeaderFunc(
		func(context.Context) map[string]string { return map[string]string{"Authorization": "Bearer " + *tok} }))
	if err != nil {
		t.Fatal(err)
	}
	c := client.NewClient(tr, client.WithProtocolVersion(v))
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := c.Start(ctx); err != nil {
		t.Fatalf("client start: %v", err)
	}
	init := mcp.InitializeRequest{}
	init.Params.ProtocolVersion = v
	init.Params.ClientInfo = info
	if _, err := c.Initialize(ctx, init); err != nil {
		t.Fatalf("initialize: %v", err)
	}
	t.Cleanup(func() { _ = c.Close() })
	return c
}

func tryCall(c *client.Client, tool string, args map[string]any) (*mcp.CallToolResult, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	req := mcp.CallToolRequest{}
	req.Params.Name, req.Params.Arguments = tool, args
	return c.CallTool(ctx, req)
}

func countOrders(t *testing.T, c *client.Client) {
	t.Helper()
	res := call(t, c, "sql_query", map[string]any{"connection": "shop", "sql": "SELECT count(*) AS n FROM orders"})
	var out queryOut
	structured(t, res, &out)
	if res.IsError || len(out.Rows) != 1 || out.Rows[0][0].(float64) != 200 {
		t.Fatalf("count on env: prod: %s", textOf(res))
	}
}

func whoami(t *testing.T, c *client.Client) string {
	t.Helper()
	res := call(t, c, "sql_query", map[string]any{"connection": "shop", "sql": "SELECT 'whoami'"})
	if !res.IsError || !strings.Contains(textOf(res), "whoami subject=") {
		t.Fatalf("whoami: %s", textOf(res))
	}
	return textOf(res)
}

func TestOIDCVerifiedPrincipals(t *testing.T) {
	e := newOIDCEnv(t)
	tok := e.svcToken(t)
	c := e.session(t, &tok)
	countOrders(t, c)
	// client_id is the token's client; the client name is only what the
	// MCP client said in initialize.
	want := fmt.Sprintf(`whoami subject=%s issuer=%s verified=true groups=["agents"] client=airlock-e2e client_id=%s`, svcID, e.op.Issuer(), svcID)
	if got := whoami(t, c); !strings.Contains(got, want) {
		t.Fatalf("client credentials principal:\n got %s\nwant %s", got, want)
	}
	dev := e.op.DeviceFlowToken(t, "alice", "alice-pw", "openid", "airlock").AccessToken
	c2 := e.session(t, &dev)
	countOrders(t, c2)
	if got := whoami(t, c2); !strings.Contains(got, `subject=alice `) || !strings.Contains(got, `groups=["dba", "payments"]`) ||
		!strings.Contains(got, "client_id="+testenv.DeviceClientID) {
		t.Fatalf("device flow principal: %s", got)
	}
}

// TestOIDCCallerIsRecordedWithoutASession: a call on the stateless
// revision has no session.start to say who made it, so its intent carries
// the caller: the token's client and issuer and the groups policy saw,
// beside what the client software said of itself. An auditor replays the
// call by its id.
func TestOIDCCallerIsRecordedWithoutASession(t *testing.T) {
	e := newOIDCEnv(t)
	tok := e.svcToken(t)
	c := e.connect(t, &tok, mcp.ProtocolVersion20260728, mcp.Implementation{Name: "reporting-bot", Version: "3.1"})
	countOrders(t, c)

	var intents []struct {
		CallID    string `json:"call_id"`
		SessionID string `json:"session_id"`
		Data      struct {
			Caller map[string]any `json:"caller"`
		} `json:"data"`
	}
	awaitTrail(t, e.dir, "the call's intent did not reach the store", func(out string) bool {
		return json.Unmarshal([]byte(out), &intents) == nil && len(intents) > 0
	}, "search", "--json", "--type", "call.intent", "--subject", svcID)
	in := intents[0]
	want := map[string]any{"issuer": e.op.Issuer(), "client_id": svcID, "groups": []any{"agents"},
		"client_name": "reporting-bot", "client_version": "3.1", "transport": "http"}
	if in.SessionID != "" || fmt.Sprint(in.Data.Caller) != fmt.Sprint(want) {
		t.Fatalf("intent session %q caller %v, want no session and %v", in.SessionID, in.Data.Caller, want)
	}
	out, code := audit(t, e.dir, "replay", in.CallID)
	wantLine := "caller:    reporting-bot 3.1 over http, client id " + svcID + ", issuer " + e.op.Issuer() + ", groups agents"
	if code != 0 || !strings.Contains(out, wantLine) || !strings.Contains(out, "call "+in.CallID+": sql_query on shop") {
		t.Fatalf("audit replay %s: %d\n%s", in.CallID, code, out)
	}
}

// post sends one JSON-RPC message to /mcp the way a client would.
func post(t *testing.T, url, token, session, body string) (*http.Response, string) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodPost, url, strings.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Accept", "application/json, text/event-stream")
	req.Header.Set("MCP-Protocol-Version", mcp.ProtocolVersion20251125)
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	if session != "" {
		req.Header.Set("Mcp-Session-Id", session)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	return resp, string(b)
}

const initBody = `{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-11-25","capabilities":{},"clientInfo":{"name":"raw","version":"1"}}}`

func TestOIDCBadTokensAreRefused(t *testing.T) {
	e := newOIDCEnv(t)
	meta := `resource_metadata="` + e.base + `/.well-known/oauth-protected-resource/mcp"`
	kid, _ := e.op.SigningKey()
	claims := func(change func(map[string]any)) map[string]any {
		c := e.op.Claims("mallory", e.resource)
		c["scope"] = "airlock"
		if change != nil {
			change(c)
		}
		return c
	}
	good := e.op.Sign(t, claims(nil))
	if resp, body := post(t, e.resource, good, "", initBody); resp.StatusCode != 200 {
		t.Fatalf("a token for our resource URI (the default audience): %d %s", resp.StatusCode, body)
	}
	ago := time.Now().Add(-time.Hour).Unix()
	for _, tc := range []struct {
		name, token string
		status      int
		want        string
	}{
		{"no token", "", 401, meta + `, scope="airlock"`},
		{"expired", e.op.Sign(t, claims(func(c map[string]any) { c["exp"], c["iat"], c["nbf"] = ago, ago-60, ago-60 })), 401, `error_description="expired"`},
		{"not yet valid", e.op.Sign(t, claims(func(c map[string]any) { c["nbf"] = time.Now().Add(time.Hour).Unix() })), 401, `error_description="not yet valid"`},
		{"wrong audience", e.op.Sign(t, claims(func(c map[string]any) { c["aud"] = "https://elsewhere.test/mcp" })), 401, `error_description="wrong audience"`},
		{"wrong issuer", e.op.Sign(t, claims(func(c map[string]any) { c["iss"] = "https://idp.evil.test" })), 401, `error_description="untrusted issuer"`},
		{"unknown key", testenv.SignToken(t, "RS256", testenv.NewRSAKey(t), "kid-nobody-has", claims(nil)), 401, `error_description="unknown signing key"`},
		{"alg none", testenv.UnsignedToken(claims(nil)), 401, `error_description="signing algorithm not accepted"`},
		{"HS256 with the public key", e.op.HS256WithPublicKey(t, claims(nil)), 401, `error_description="signing algorithm not accepted"`},
		{"tampered payload", testenv.Tamper(good, claims(func(c map[string]any) { c["sub"] = "admin" })), 401, `error_description="bad signature"`},
		{"another key under our kid", testenv.SignToken(t, "RS256", testenv.NewRSAKey(t), kid, claims(nil)), 401, `error_description="bad signature"`},
		{"insufficient scope", e.op.ClientCredentialsToken(t, "narrow-svc", "narrow-secret", "other"), 403, `error="insufficient_scope", error_description="missing scope airlock", ` + meta + `, scope="airlock"`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			resp, body := post(t, e.resource, tc.token, "", initBody)
			h := resp.Header.Get("WWW-Authenticate")
			if resp.StatusCode != tc.status || !strings.HasPrefix(h, "Bearer ") || !strings.Contains(h, tc.want) || !strings.Contains(h, meta) {
				t.Fatalf("%d %q (%s); want %d with %s", resp.StatusCode, h, body, tc.status, tc.want)
			}
			if tc.status == 401 && tc.token != "" && !strings.Contains(h, `error="invalid_token"`) {
				t.Fatalf("no invalid_token: %q", h)
			}
		})
	}
	// What stays open: health, readiness and the metadata.
	for _, path := range []string{"/healthz", "/readyz", "/.well-known/oauth-protected-resource", "/.well-known/oauth-protected-resource/mcp"} {
		resp, err := http.Get(e.base + path)
		if err != nil || resp.StatusCode != 200 {
			t.Fatalf("%s: %v %v", path, err, resp)
		}
		if strings.HasPrefix(path, "/.well-known") {
			var doc struct {
				Resource string   `json:"resource"`
				AS       []string `json:"authorization_servers"`
				Scopes   []string `json:"scopes_supported"`
			}
			_ = json.NewDecoder(resp.Body).Decode(&doc)
			if doc.Resource != e.resource || len(doc.AS) != 1 || doc.AS[0] != e.op.Issuer() || len(doc.Scopes) != 1 {
				t.Fatalf("%s: %+v", path, doc)
			}
		}
		resp.Body.Close()
	}
}

func TestOIDCKeyRotationIsFollowed(t *testing.T) {
	e := newOIDCEnv(t)
	tok := e.svcToken(t)
	countOrders(t, e.session(t, &tok))
	if err := e.op.RotateKeys(); err != nil {
		t.Fatal(err)
	}
	e.op.DropOldKeys()
	fresh := e.svcToken(t)
	if strings.Split(fresh, ".")[0] == strings.Split(tok, ".")[0] {
		t.Fatal("the OP did not change keys")
	}
	countOrders(t, e.session(t, &fresh))
}

func TestOIDCSessionCannotChangePrincipal(t *testing.T) {
	e := newOIDCEnv(t)
	tok := e.svcToken(t)
	c := e.session(t, &tok)
	countOrders(t, c)
	// Same session, someone else's token: refused before any tool runs.
	tok = e.op.DeviceFlowToken(t, "bob", "bob-pw", "airlock").AccessToken
	_, err := tryCall(c, "sql_query", map[string]any{"connection": "shop", "sql": "SELECT 1"})
	if err == nil || !strings.Contains(err.Error(), "access_denied") {
		t.Fatalf("a call with another principal's token on the session: %v", err)
	}
	// Bob in his own session is fine.
	countOrders(t, e.session(t, &tok))
	// The same, on the wire: 403 for the session's id with another token.
	resp, _ := post(t, e.resource, e.svcToken(t), "", initBody)
	sid := resp.Header.Get("Mcp-Session-Id")
	if resp.StatusCode != 200 || sid == "" {
		t.Fatalf("initialize: %d %q", resp.StatusCode, sid)
	}
	list := `{"jsonrpc":"2.0","id":2,"method":"tools/list"}`
	if resp, body := post(t, e.resource, tok, sid, list); resp.StatusCode != 403 || !strings.Contains(body, "another principal") {
		t.Fatalf("bob on the agent's session: %d %s", resp.StatusCode, body)
	}
}

func TestOIDCRevocationStopsTheNextCallOnAnOpenSession(t *testing.T) {
	e := newOIDCEnv(t)
	tok := e.svcToken(t)
	c := e.session(t, &tok)
	countOrders(t, c)
	e.rev.Revoke(svcID, "agent compromised", time.Now())
	_, err := tryCall(c, "sql_query", map[string]any{"connection": "shop", "sql": "SELECT 1"})
	var authErr *transport.AuthorizationRequiredError
	if !errors.As(err, &authErr) {
		t.Fatalf("a call after revocation: %v", err)
	}
	resp, _ := post(t, e.resource, tok, "", initBody)
	if h := resp.Header.Get("WWW-Authenticate"); resp.StatusCode != 401 || !strings.Contains(h, `error_description="subject revoked"`) {
		t.Fatalf("revoked: %d %q", resp.StatusCode, h)
	}
	// Lifting it does not revive tokens issued before the revocation.
	e.rev.Unrevoke(svcID)
	if resp, _ := post(t, e.resource, tok, "", initBody); resp.StatusCode != 401 {
		t.Fatalf("an old token after un-revoke: %d", resp.StatusCode)
	}
}

// cli runs the airlock binary with its own config directory.
func cli(t *testing.T, home string, args ...string) (string, string, error) {
	t.Helper()
	cmd := exec.Command(binary, args...)
	cmd.Env = append(os.Environ(), "XDG_CONFIG_HOME="+home, "HOME="+home, "AIRLOCK_TOKEN=", "AIRLOCK_GATEWAY=")
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	return stdout.String(), stderr.String(), err
}

// startLogin runs airlock login in home and hands over the lines it
// prints on stderr (its instructions to the person). wait returns its
// standard output once it has ended, and everything it printed.
func startLogin(t *testing.T, home string, args ...string) (lines <-chan string, wait func() (string, error)) {
	t.Helper()
	login := exec.Command(binary, append([]string{"login"}, args...)...)
	login.Env = append(os.Environ(), "XDG_CONFIG_HOME="+home, "HOME="+home, "AIRLOCK_CLIENT_SECRET="+testenv.DeviceClientSecret)
	pr, pw, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	var stdout, prompt bytes.Buffer
	login.Stdout, login.Stderr = &stdout, pw
	if err := login.Start(); err != nil {
		t.Fatal(err)
	}
	pw.Close()
	t.Cleanup(func() { _ = login.Process.Kill() })
	ch, done := make(chan string, 16), make(chan struct{})
	go func() {
		defer close(done)
		sc := bufio.NewScanner(pr)
		for sc.Scan() {
			prompt.WriteString(sc.Text() + "\n")
			select {
			case ch <- sc.Text():
			default:
			}
		}
	}()
	return ch, func() (string, error) {
		err := login.Wait()
		<-done
		if err != nil {
			return "", fmt.Errorf("airlock login: %w\n%s%s", err, prompt.String(), stdout.String())
		}
		return stdout.String(), nil
	}
}

// awaitLine returns the first submatch of re in the lines, within 30 s.
func awaitLine(t *testing.T, lines <-chan string, re *regexp.Regexp) string {
	t.Helper()
	timeout := time.After(30 * time.Second)
	var seen []string
	for {
		select {
		case l := <-lines:
			if m := re.FindStringSubmatch(l); m != nil {
				return m[1]
			}
			seen = append(seen, l)
		case <-timeout:
			t.Fatalf("airlock login printed nothing matching %s:\n%s", re, strings.Join(seen, "\n"))
		}
	}
}

func TestCLIDeviceLoginAndGovernedQuery(t *testing.T) {
	e := newOIDCEnv(t)
	home := t.TempDir()
	if _, errOut, err := cli(t, home, "call", "list_connections", "--gateway", e.base); err == nil || !strings.Contains(errOut, "requires a token") {
		t.Fatalf("a call before login: %v %s", err, errOut)
	}
	lines, wait := startLogin(t, home, "--issuer", e.op.Issuer(), "--client-id", testenv.DeviceClientID,
		"--scope", "openid email offline_access airlock", "--gateway", e.base)
	// The person, at the OP's page, while the CLI polls.
	e.op.ApproveDevice(t, awaitLine(t, lines, regexp.MustCompile(`enter the code: (\S+)`)), "alice", "alice-pw")
	stdout, err := wait()
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(stdout, "as alice") {
		t.Fatalf("login output: %s", stdout)
	}
	st, err := os.Stat(filepath.Join(home, "airlock", "tokens.json"))
	if err != nil || st.Mode().Perm() != 0o600 {
		t.Fatalf("token cache: %v %v", err, st)
	}

	out, errOut, err := cli(t, home, "whoami")
	if err != nil || !strings.Contains(out, "subject:  alice") || !strings.Contains(out, "alice@example.com") ||
		!strings.Contains(out, "dba, payments") || !strings.Contains(out, e.op.Issuer()) {
		t.Fatalf("whoami: %v\n%s%s", err, out, errOut)
	}
	t.Logf("airlock whoami:\n%s", out)
	out, errOut, err = cli(t, home, "call", "sql_query", "--connection", "shop",
		"--arg", "sql=SELECT id, status FROM orders ORDER BY id LIMIT 3")
	if err != nil || !regexp.MustCompile(`(?m)^id +status\n-+ +-+\n1 +delivered\n2 +delivered\n3 +shipped\n`).MatchString(out) ||
		!strings.Contains(out, "(3 rows") {
		t.Fatalf("airlock call: %v\n%s%s", err, out, errOut)
	}
	t.Logf("airlock call:\n%s", out)
	out, errOut, err = cli(t, home, "call", "sql_query", "--connection", "shop", "--json", `{"sql": "DELETE FROM orders"}`)
	if ee, ok := err.(*exec.ExitError); !ok || ee.ExitCode() != 1 || !strings.Contains(errOut, "approval") {
		t.Fatalf("a delete through the CLI: %v\n%s%s", err, out, errOut)
	}
	out, _, err = cli(t, home, "token", "--header-json")
	var hdr map[string]string
	if err != nil || json.Unmarshal([]byte(out), &hdr) != nil || !strings.HasPrefix(hdr["Authorization"], "Bearer ey") {
		t.Fatalf("token --header-json: %v %s", err, out)
	}
}

// TestCLIBrowserLoginAndGovernedQuery: airlock login --browser prints the
// address to open; the person logs in there, the browser comes back to
// the CLI's loopback port, and the cached token makes governed calls.
func TestCLIBrowserLoginAndGovernedQuery(t *testing.T) {
	e := newOIDCEnv(t)
	home := t.TempDir()
	lines, wait := startLogin(t, home, "--browser", "--no-open", "--issuer", e.op.Issuer(), "--client-id", testenv.NativeClientID,
		"--scope", "openid email offline_access airlock", "--gateway", e.base)
	authURL := awaitLine(t, lines, regexp.MustCompile(`^\s+(http://\S+\?\S*code_challenge=\S+)$`))
	if code, page := e.op.BrowserLogin(t, authURL, "alice", "alice-pw"); code != http.StatusOK || !strings.Contains(page, "You are logged in") {
		t.Fatalf("the browser ended on %d %s", code, page)
	}
	stdout, err := wait()
	if err != nil || !strings.Contains(stdout, "as alice") {
		t.Fatalf("login: %v %s", err, stdout)
	}
	out, errOut, err := cli(t, home, "call", "sql_query", "--connection", "shop", "--arg", "sql=SELECT 'whoami'")
	if ee, ok := err.(*exec.ExitError); !ok || ee.ExitCode() != 1 || !strings.Contains(errOut, "whoami subject=alice ") ||
		!strings.Contains(errOut, "client_id="+testenv.NativeClientID) {
		t.Fatalf("a call with the browser login's token: %v\n%s%s", err, out, errOut)
	}
}

func TestStdioWithAVerifiedToken(t *testing.T) {
	e := newOIDCEnv(t)
	dir := t.TempDir()
	cfg := filepath.Join(dir, "airlock.yaml")
	if err := os.WriteFile(cfg, []byte(strings.Replace(e.cfgBody, "  dir: policies\n", "  replace_default: false\n", 1)), 0o600); err != nil {
		t.Fatal(err)
	}
	env := append(os.Environ(), "AIRLOCK_TEST_SHOP_DSN="+e.db.AppDSN, "AIRLOCK_TOKEN="+e.svcToken(t))
	c, err := client.NewStdioMCPClient(binary, env, "serve", "--stdio", "--config", cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if _, err := c.Initialize(ctx, mcp.InitializeRequest{}); err != nil {
		t.Fatalf("initialize over stdio: %v", err)
	}
	countOrders(t, c)

	// A development identity next to OIDC must not start over HTTP.
	cmd := exec.Command(binary, "serve", "--config", cfg, "--dev-identity", "eve@example.com", "--listen", "127.0.0.1:0")
	cmd.Env = append(os.Environ(), "AIRLOCK_TEST_SHOP_DSN="+e.db.AppDSN)
	out, err := cmd.CombinedOutput()
	if ee, ok := err.(*exec.ExitError); !ok || ee.ExitCode() != 2 || !strings.Contains(string(out), "never the fallback") {
		t.Fatalf("dev identity with oidc over HTTP: %v %s", err, out)
	}
	// Nor may stdio run on OIDC without a token.
	cmd = exec.Command(binary, "serve", "--stdio", "--config", cfg)
	cmd.Env = append(os.Environ(), "AIRLOCK_TEST_SHOP_DSN="+e.db.AppDSN, "AIRLOCK_TOKEN=")
	out, err = cmd.CombinedOutput()
	if ee, ok := err.(*exec.ExitError); !ok || ee.ExitCode() != 2 || !strings.Contains(string(out), "AIRLOCK_TOKEN") {
		t.Fatalf("stdio without a token: %v %s", err, out)
	}
}
