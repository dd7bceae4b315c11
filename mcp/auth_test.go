package mcp

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"go.uber.org/zap"

	"github.com/airlockhq/airlock/internal/identity"
)

type fakeVerifier map[string]any // token -> identity.Principal or error

func (f fakeVerifier) Verify(_ context.Context, tok string) (identity.Principal, error) {
	switch v := f[tok].(type) {
	case identity.Principal:
		return v, nil
	case error:
		return identity.Principal{}, v
	}
	return identity.Principal{}, &identity.TokenError{Kind: identity.ErrInvalidToken, Reason: "unknown"}
}

var (
	alice = identity.Principal{Subject: "alice", Issuer: "https://idp.test", Verified: true}
	bob   = identity.Principal{Subject: "bob", Issuer: "https://idp.test", Verified: true}
)

// authServer is the middleware in front of a stand-in MCP endpoint that
// records what it saw and mints a session on "initialize".
func authServer(t *testing.T, resource string) (*httptest.Server, *[]identity.Principal) {
	t.Helper()
	var seen []identity.Principal
	a := newAuthenticator(AuthConfig{
		Verifier: fakeVerifier{
			"alice-tok": alice, "bob-tok": bob,
			"narrow-tok": &identity.TokenError{Kind: identity.ErrInsufficientScope, Reason: "missing scope airlock", Scopes: []string{"airlock"}},
			"down-tok":   errors.New("revocation store unreachable"),
		},
		Resource: resource, AuthorizationServers: []string{"https://idp.test"}, Scopes: []string{"airlock"},
	}, zap.NewNop())
	next := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p, _ := identity.FromContext(r.Context())
		if r.Header.Get("Authorization") != "" {
			t.Error("the token reached the MCP server")
		}
		seen = append(seen, p)
		if r.URL.Query().Get("init") != "" {
			w.Header().Set("Mcp-Session-Id", r.URL.Query().Get("init"))
		}
		w.WriteHeader(http.StatusOK)
	})
	mux := http.NewServeMux()
	mux.Handle(Endpoint, a.wrap(next))
	a.routes(mux)
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	return srv, &seen
}

func do(t *testing.T, method, url, token, session string) *http.Response {
	t.Helper()
	req, _ := http.NewRequest(method, url, strings.NewReader("{}"))
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
	resp.Body.Close()
	return resp
}

func TestChallenges(t *testing.T) {
	srv, seen := authServer(t, "https://airlock.test/mcp")
	meta := `resource_metadata="https://airlock.test/.well-known/oauth-protected-resource/mcp"`
	for _, tc := range []struct {
		name, token string
		status      int
		want        []string
	}{
		{"no token", "", 401, []string{meta, `scope="airlock"`}},
		{"bad token", "forged", 401, []string{`error="invalid_token"`, `error_description="unknown"`, meta}},
		{"insufficient scope", "narrow-tok", 403, []string{`error="insufficient_scope"`, `scope="airlock"`, meta}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			resp := do(t, http.MethodPost, srv.URL+Endpoint, tc.token, "")
			h := resp.Header.Get("WWW-Authenticate")
			if resp.StatusCode != tc.status || !strings.HasPrefix(h, "Bearer ") {
				t.Fatalf("%d %q", resp.StatusCode, h)
			}
			for _, w := range tc.want {
				if !strings.Contains(h, w) {
					t.Errorf("WWW-Authenticate %q lacks %s", h, w)
				}
			}
			if tc.token == "" && strings.Contains(h, "error=") {
				t.Errorf("a request without a token got an error code: %q", h)
			}
		})
	}
	if resp := do(t, http.MethodPost, srv.URL+Endpoint, "down-tok", ""); resp.StatusCode != 503 || resp.Header.Get("Retry-After") == "" {
		t.Fatalf("verifier outage: %d", resp.StatusCode)
	}
	req, _ := http.NewRequest(http.MethodPost, srv.URL+Endpoint, nil)
	req.Header.Add("Authorization", "Bearer alice-tok")
	req.Header.Add("Authorization", "Bearer bob-tok")
	if resp, _ := http.DefaultClient.Do(req); resp.StatusCode != 401 {
		t.Fatalf("two Authorization headers: %d", resp.StatusCode)
	}
	if len(*seen) != 0 {
		t.Fatalf("refused requests reached the endpoint: %v", *seen)
	}
	if resp := do(t, http.MethodPost, srv.URL+Endpoint, "alice-tok", ""); resp.StatusCode != 200 || (*seen)[0].Subject != "alice" {
		t.Fatalf("good token: %d %v", resp.StatusCode, *seen)
	}
	if resp := do(t, http.MethodOptions, srv.URL+Endpoint, "", ""); resp.StatusCode != 200 {
		t.Fatalf("preflight: %d", resp.StatusCode)
	}
}

func TestSessionKeepsItsPrincipal(t *testing.T) {
	srv, seen := authServer(t, "https://airlock.test/mcp")
	if resp := do(t, http.MethodPost, srv.URL+Endpoint+"?init=s1", "alice-tok", ""); resp.StatusCode != 200 {
		t.Fatal(resp.Status)
	}
	// The session was bound when it was minted: bob cannot take it over,
	// even as the first to use it.
	if resp := do(t, http.MethodPost, srv.URL+Endpoint, "bob-tok", "s1"); resp.StatusCode != 403 {
		t.Fatalf("bob on alice's session: %d", resp.StatusCode)
	}
	if resp := do(t, http.MethodPost, srv.URL+Endpoint, "alice-tok", "s1"); resp.StatusCode != 200 {
		t.Fatalf("alice on her session: %d", resp.StatusCode)
	}
	// A session id never seen is bound on first use.
	do(t, http.MethodPost, srv.URL+Endpoint, "bob-tok", "s2")
	if resp := do(t, http.MethodPost, srv.URL+Endpoint, "alice-tok", "s2"); resp.StatusCode != 403 {
		t.Fatalf("alice on bob's session: %d", resp.StatusCode)
	}
	// Closing the session forgets the binding.
	do(t, http.MethodDelete, srv.URL+Endpoint, "alice-tok", "s1")
	if resp := do(t, http.MethodPost, srv.URL+Endpoint, "bob-tok", "s1"); resp.StatusCode != 200 {
		t.Fatalf("a closed session's id: %d", resp.StatusCode)
	}
	if len(*seen) != 5 {
		t.Fatalf("%d requests reached the endpoint", len(*seen))
	}
}

func TestSessionTableIsBoundedAndForgetsIdleSessions(t *testing.T) {
	now := time.Now()
	st := &sessionTable{m: map[string]binding{}, ttl: time.Hour, max: 2, now: func() time.Time { return now }}
	if st.check("a", alice) != sessionOK || st.check("b", bob) != sessionOK {
		t.Fatal("binding")
	}
	if st.check("c", alice) != sessionTableFull {
		t.Fatal("a full table took a new session")
	}
	if st.check("a", alice) != sessionOK {
		t.Fatal("a full table refused a known session")
	}
	now = now.Add(2 * time.Hour)
	if st.check("c", alice) != sessionOK || len(st.m) != 1 {
		t.Fatalf("idle bindings were not swept: %d", len(st.m))
	}
}

func TestProtectedResourceMetadata(t *testing.T) {
	for _, resource := range []string{"https://airlock.test/mcp", ""} {
		srv, _ := authServer(t, resource)
		want := resource
		if want == "" {
			want = srv.URL + Endpoint
		}
		for _, path := range []string{"/.well-known/oauth-protected-resource", "/.well-known/oauth-protected-resource/mcp"} {
			resp, err := http.Get(srv.URL + path)
			if err != nil {
				t.Fatal(err)
			}
			var doc map[string]any
			_ = json.NewDecoder(resp.Body).Decode(&doc)
			resp.Body.Close()
			if resp.StatusCode != 200 || doc["resource"] != want ||
				doc["authorization_servers"].([]any)[0] != "https://idp.test" ||
				doc["scopes_supported"].([]any)[0] != "airlock" || doc["bearer_methods_supported"].([]any)[0] != "header" {
				t.Fatalf("%s (resource %q): %d %v", path, resource, resp.StatusCode, doc)
			}
		}
		if resource == "" {
			resp := do(t, http.MethodPost, srv.URL+Endpoint, "", "")
			if h := resp.Header.Get("WWW-Authenticate"); !strings.Contains(h, srv.URL+"/.well-known/oauth-protected-resource/mcp") {
				t.Fatalf("derived metadata URL: %q", h)
			}
		}
	}
}
