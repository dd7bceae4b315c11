package gateway

import (
	"context"

	"github.com/airlockhq/airlock/connectors"
	"github.com/airlockhq/airlock/internal/identity"
	"github.com/airlockhq/airlock/policy"
	"github.com/airlockhq/airlock/tools"
)

// Principal returns the caller of ctx: one the transport verified, or the
// configured identity source's. It never returns a principal without a
// subject.
func (g *Gateway) Principal(ctx context.Context) (identity.Principal, error) {
	p, ok := identity.FromContext(ctx)
	if !ok {
		var err error
		if p, err = g.idsrc.Principal(ctx); err != nil {
			return identity.Principal{}, err
		}
	}
	if p.Subject == "" {
		return identity.Principal{}, identity.ErrNoIdentity
	}
	return p, nil
}

func (g *Gateway) visible(ctx context.Context, p identity.Principal, t *tools.Tool, conn connectors.Connection) bool {
	if g.vis == nil {
		return true
	}
	ref := policy.ConnRef{Labels: map[string]string{}}
	if conn != nil {
		ref = policy.ConnRef{Name: conn.Name(), Kind: conn.Kind(), Labels: conn.Labels()}
		if ref.Labels == nil {
			ref.Labels = map[string]string{}
		}
	}
	return g.vis.Visible(ctx, p, policy.ToolRef{Name: t.Name, Family: string(t.Family)}, ref)
}

// ToolView is one tool as a principal sees it: the connections it may use
// the tool on (none for tools that need no connection).
type ToolView struct {
	Tool        *tools.Tool
	Connections []string
}

// VisibleTools lists the tools p may see, each with the connections p may
// use it on. A tool that needs a connection is listed only when at least
// one connection is visible.
func (g *Gateway) VisibleTools(ctx context.Context, p identity.Principal) []ToolView {
	var out []ToolView
	for _, t := range g.catalog.All() {
		if !t.NeedsConnection() {
			if g.visible(ctx, p, t, nil) {
				out = append(out, ToolView{Tool: t})
			}
			continue
		}
		if conns := g.usableOn(ctx, p, t); len(conns) > 0 {
			out = append(out, ToolView{Tool: t, Connections: conns})
		}
	}
	return out
}

// ToolVisible reports whether p may see t on at least one connection (or at
// all, for tools that need none).
func (g *Gateway) ToolVisible(ctx context.Context, p identity.Principal, t *tools.Tool) bool {
	if !t.NeedsConnection() {
		return g.visible(ctx, p, t, nil)
	}
	return len(g.usableOn(ctx, p, t)) > 0
}

// usableOn lists the connections, by name, that p may use t on.
func (g *Gateway) usableOn(ctx context.Context, p identity.Principal, t *tools.Tool) []string {
	var out []string
	for _, n := range g.names {
		if kindIn(g.conns[n].Kind(), t.Kinds) && g.visible(ctx, p, t, g.conns[n]) {
			out = append(out, n)
		}
	}
	return out
}

// toolsOn lists the tools, by name, that p may use on conn.
func (g *Gateway) toolsOn(ctx context.Context, p identity.Principal, conn connectors.Connection) []string {
	var out []string
	for _, t := range g.catalog.All() {
		if kindIn(conn.Kind(), t.Kinds) && g.visible(ctx, p, t, conn) {
			out = append(out, t.Name)
		}
	}
	return out
}

// ToolVisibleOn reports whether p may use any tool on conn.
func (g *Gateway) ToolVisibleOn(ctx context.Context, p identity.Principal, conn connectors.Connection) bool {
	return len(g.toolsOn(ctx, p, conn)) > 0
}
