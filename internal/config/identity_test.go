package config

import (
	"strings"
	"testing"
)

func TestOIDCIssuers(t *testing.T) {
	clearEnv(t)
	cfg := mustParse(t, `resource: https://gw.example.com/mcp
identity:
  oidc:
    - issuer: https://idp.example.com/
    - issuer: http://127.0.0.1:5556
      audiences: [airlock-cli]
      groups_claim: realm_access.roles
      role_map: {db-admins: [dba, approvers]}
      required_scopes: [airlock]
  token_file: ./token
`)
	o := cfg.Identity.OIDC
	if len(o) != 2 || o[0].GroupsClaim != "groups" || o[0].EmailClaim != "email" ||
		o[1].GroupsClaim != "realm_access.roles" || o[1].RoleMap["db-admins"][1] != "approvers" ||
		o[1].RequiredScopes[0] != "airlock" || cfg.Identity.TokenFile != "./token" {
		t.Fatalf("%+v", cfg.Identity)
	}
}

func TestOIDCErrors(t *testing.T) {
	clearEnv(t)
	for _, tc := range []struct {
		name, src, key, msg string
	}{
		{"no issuer", "resource: https://a/mcp\nidentity:\n  oidc:\n    - audiences: [x]\n", "identity.oidc[0].issuer", "missing required key"},
		{"plain http", "resource: https://a/mcp\nidentity:\n  oidc:\n    - issuer: http://idp.example.com\n", "identity.oidc[0].issuer", "https"},
		{"relative", "resource: https://a/mcp\nidentity:\n  oidc:\n    - issuer: idp.example.com\n", "identity.oidc[0].issuer", "absolute URL"},
		{"query", "resource: https://a/mcp\nidentity:\n  oidc:\n    - issuer: https://idp/?x=1\n", "identity.oidc[0].issuer", "without query"},
		{"twice", "resource: https://a/mcp\nidentity:\n  oidc:\n    - issuer: https://idp\n    - issuer: https://idp\n", "identity.oidc[1].issuer", "listed twice"},
		{"no audience", "identity:\n  oidc:\n    - issuer: https://idp\n", "identity.oidc[0]", "set resource"},
		{"empty audience", "resource: https://a/mcp\nidentity:\n  oidc:\n    - issuer: https://idp\n      audiences: ['']\n", "identity.oidc[0].audiences[0]", "must not be empty"},
		{"scope with space", "resource: https://a/mcp\nidentity:\n  oidc:\n    - issuer: https://idp\n      required_scopes: ['a b']\n", "identity.oidc[0].required_scopes[0]", "one scope per entry"},
		{"token file alone", "identity:\n  token_file: ./t\n", "identity.token_file", "needs identity.oidc"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := parseErr(t, tc.src)
			if e.Key != tc.key || !strings.Contains(e.Msg, tc.msg) {
				t.Fatalf("got %s: %s, want %s: ...%s...", e.Key, e.Msg, tc.key, tc.msg)
			}
		})
	}
	// Audiences on every issuer make the resource optional.
	mustParse(t, "identity:\n  oidc:\n    - issuer: http://localhost:9000\n      audiences: [airlock]\n")
}
