package gateway

import (
	"context"
	"time"

	"github.com/airlockhq/airlock/internal/identity"
	"github.com/airlockhq/airlock/policy"
)

// PolicyAuthorizer decides calls with the OPA policy engine.
type PolicyAuthorizer struct {
	Engine *policy.Engine
	// Grants returns the caller's active grants; nil means none exist.
	Grants func(ctx context.Context, p identity.Principal) []policy.Grant
}

// Authorize implements Authorizer. Errors (evaluation failure, undefined
// decision, timeout) come back as errors, which the authorize stage turns
// into a denial.
func (a PolicyAuthorizer) Authorize(ctx context.Context, c *Call) (Decision, error) {
	return a.Engine.Decide(ctx, a.input(ctx, c))
}

func (a PolicyAuthorizer) input(ctx context.Context, c *Call) policy.Input {
	in := policy.Input{
		Principal: c.Principal,
		Tool:      policy.ToolRef{Name: c.Tool.Name, Family: string(c.Tool.Family)},
		Arguments: c.Op.Args,
		Action:    c.Action,
		Grants:    []policy.Grant{},
		Now:       time.Now().UTC(),
	}
	if c.Connection != nil {
		in.Connection = policy.ConnRef{Name: c.Connection.Name(), Kind: c.Connection.Kind(), Labels: c.Connection.Labels()}
	}
	if in.Connection.Labels == nil {
		in.Connection.Labels = map[string]string{}
	}
	if a.Grants != nil {
		in.Grants = a.Grants(ctx, c.Principal)
	}
	return in
}

// Visibility says which tools and connections a principal may see. The
// default (nil) shows everything.
type Visibility interface {
	Visible(ctx context.Context, p identity.Principal, t policy.ToolRef, c policy.ConnRef) bool
}
