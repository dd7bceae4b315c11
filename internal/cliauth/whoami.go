package cliauth

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"time"

	gooidc "github.com/coreos/go-oidc/v3/oidc"
	"golang.org/x/oauth2"
)

// Identity is what a verified access token says about its bearer.
type Identity struct {
	Subject  string    `json:"subject"`
	Email    string    `json:"email,omitempty"`
	Groups   []string  `json:"groups"`
	Issuer   string    `json:"issuer"`
	ClientID string    `json:"client_id,omitempty"`
	Audience []string  `json:"audience"`
	Scopes   []string  `json:"scopes,omitempty"`
	Expiry   time.Time `json:"expiry"`
}

// asymmetric are the algorithms accepted, as the gateway accepts them.
var asymmetric = []string{"RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "ES512", "EdDSA"}

// Whoami verifies tok against the keys of e's issuer (signature, issuer,
// expiry; not the audience, which only the gateway knows) and returns what
// it says. Email falls back to the ID token when the access token has none.
func Whoami(ctx context.Context, e *Entry, tok, groupsClaim string, client *http.Client) (*Identity, error) {
	if client != nil {
		ctx = context.WithValue(ctx, oauth2.HTTPClient, client)
	}
	prov, err := gooidc.NewProvider(ctx, e.Issuer)
	if err != nil {
		return nil, fmt.Errorf("cliauth: whoami: discovery: %w", err)
	}
	v := prov.Verifier(&gooidc.Config{SkipClientIDCheck: true, SupportedSigningAlgs: asymmetric})
	at, err := v.Verify(ctx, tok)
	if err != nil {
		return nil, fmt.Errorf("cliauth: whoami: the access token does not verify: %w", err)
	}
	var c map[string]any
	if err := at.Claims(&c); err != nil {
		return nil, fmt.Errorf("cliauth: whoami: %w", err)
	}
	id := &Identity{Subject: at.Subject, Issuer: at.Issuer, Audience: at.Audience, Expiry: at.Expiry,
		Email: str(c["email"]), Groups: list(c[groupsClaim]), ClientID: str(c["azp"])}
	if id.ClientID == "" {
		id.ClientID = str(c["client_id"])
	}
	if s := str(c["scope"]); s != "" {
		id.Scopes = strings.Fields(s)
	} else {
		id.Scopes = list(c["scp"])
	}
	if id.Email == "" && e.IDToken != "" {
		// An expired ID token still names its subject's email; only its
		// signature matters here.
		iv := prov.Verifier(&gooidc.Config{ClientID: e.ClientID, SkipExpiryCheck: true, SupportedSigningAlgs: asymmetric})
		if it, err := iv.Verify(ctx, e.IDToken); err == nil && it.Subject == at.Subject {
			var ic map[string]any
			if it.Claims(&ic) == nil {
				id.Email = str(ic["email"])
			}
		}
	}
	if id.Groups == nil {
		id.Groups = []string{}
	}
	return id, nil
}

func str(v any) string {
	s, _ := v.(string)
	return s
}

func list(v any) []string {
	switch v := v.(type) {
	case string:
		return strings.Fields(v)
	case []any:
		out := make([]string, 0, len(v))
		for _, e := range v {
			if s, ok := e.(string); ok {
				out = append(out, s)
			}
		}
		return out
	}
	return nil
}

// String renders an identity for people.
func (id *Identity) String() string {
	var b strings.Builder
	row := func(k, v string) { fmt.Fprintf(&b, "%-9s %s\n", k+":", v) }
	row("subject", id.Subject)
	row("email", id.Email)
	row("groups", strings.Join(id.Groups, ", "))
	row("issuer", id.Issuer)
	row("client", id.ClientID)
	row("audience", strings.Join(id.Audience, ", "))
	row("scopes", strings.Join(id.Scopes, " "))
	left := time.Until(id.Expiry).Round(time.Second)
	state := "expires in " + left.String()
	if left <= 0 {
		state = "expired"
	}
	row("expiry", id.Expiry.Local().Format(time.RFC3339)+" ("+state+")")
	return b.String()
}

// JSON renders an identity as JSON.
func (id *Identity) JSON() string {
	b, _ := json.MarshalIndent(id, "", "  ")
	return string(b) + "\n"
}
