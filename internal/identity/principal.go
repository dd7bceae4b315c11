package identity

import (
	"context"
	"errors"
	"fmt"
	"net/mail"
	"strings"
)

// Client names the MCP client software acting for the principal.
type Client struct {
	Name    string `json:"name"`
	Version string `json:"version"`
}

// Principal is the identity a call is bound to. Its JSON form is the
// "principal" member of the policy input.
type Principal struct {
	Subject string   `json:"subject"`
	Email   string   `json:"email"`
	Groups  []string `json:"groups"`
	Issuer  string   `json:"issuer"`
	// ClientID is the OAuth client the token was issued to (azp or
	// client_id claim); empty for development identities.
	ClientID string `json:"client_id,omitempty"`
	Client   Client `json:"client"`
	Verified bool   `json:"verified"`
}

// DevIssuer is the issuer recorded for development identities.
const DevIssuer = "airlock:dev-identity"

// ErrNoIdentity is returned when a call carries no identity at all.
var ErrNoIdentity = errors.New("identity: no identity: the call carries no verified token and no development identity is configured")

// Dev returns the unverified development principal for an email-like name.
func Dev(name string) (Principal, error) {
	name = strings.TrimSpace(name)
	if name == "" {
		return Principal{}, errors.New("identity: dev identity is empty")
	}
	p := Principal{Subject: name, Issuer: DevIssuer, Groups: []string{}, Verified: false}
	if a, err := mail.ParseAddress(name); err == nil && a.Address == name {
		p.Email = name
	} else if strings.ContainsAny(name, " \t\n") {
		return Principal{}, fmt.Errorf("identity: dev identity %q: must be an email address or a name without spaces", name)
	}
	return p, nil
}

// Source produces the principal for a request. Implementations must not
// return a principal they could not establish.
type Source interface {
	Principal(ctx context.Context) (Principal, error)
}

// Static is a Source that always returns the same principal (dev identity).
type Static struct{ P Principal }

// Principal implements Source.
func (s Static) Principal(context.Context) (Principal, error) { return s.P, nil }

type ctxKey struct{}

// WithPrincipal returns ctx carrying p.
func WithPrincipal(ctx context.Context, p Principal) context.Context {
	return context.WithValue(ctx, ctxKey{}, p)
}

// FromContext returns the principal carried by ctx.
func FromContext(ctx context.Context) (Principal, bool) {
	p, ok := ctx.Value(ctxKey{}).(Principal)
	return p, ok
}
