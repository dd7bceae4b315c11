package gateway

import (
	"context"
	"fmt"
	"sort"
	"strings"

	"github.com/airlockhq/airlock/connectors"
	"github.com/airlockhq/airlock/internal/identity"
)

type connectionInfo struct {
	Name        string            `json:"name"`
	Kind        string            `json:"kind"`
	Labels      map[string]string `json:"labels"`
	Description string            `json:"description,omitempty"`
	Tools       []string          `json:"tools"`
}

// governance runs the tools that need no connection.
func (g *Gateway) governance(ctx context.Context, c *Call) (*connectors.Result, error) {
	switch c.ToolName {
	case "list_connections":
		return g.listConnections(ctx, c.Principal), nil
	case "request_access":
		return g.requestAccess(ctx, c)
	case "approval_status":
		return g.approvalStatus(ctx, c)
	}
	return nil, refuse(c, RefusedInternal, "internal error: tool %s has no executor", c.ToolName)
}

// listConnections describes the connections p may use, each with the tools
// p may use on it.
func (g *Gateway) listConnections(ctx context.Context, p identity.Principal) *connectors.Result {
	infos := make([]connectionInfo, 0, len(g.names))
	var b strings.Builder
	for _, n := range g.names {
		conn := g.conns[n]
		info := connectionInfo{Name: n, Kind: conn.Kind(), Labels: conn.Labels()}
		if cc, ok := g.cfg.Connection(n); ok {
			info.Description = cc.Description
		}
		if info.Labels == nil {
			info.Labels = map[string]string{}
		}
		info.Tools = g.toolsOn(ctx, p, conn)
		if len(info.Tools) == 0 {
			continue
		}
		infos = append(infos, info)
		fmt.Fprintf(&b, "%s (%s)", n, info.Kind)
		if len(info.Labels) > 0 {
			keys := make([]string, 0, len(info.Labels))
			for k := range info.Labels {
				keys = append(keys, k)
			}
			sort.Strings(keys)
			parts := make([]string, len(keys))
			for i, k := range keys {
				parts[i] = k + "=" + info.Labels[k]
			}
			fmt.Fprintf(&b, " [%s]", strings.Join(parts, " "))
		}
		if info.Description != "" {
			fmt.Fprintf(&b, ": %s", info.Description)
		}
		fmt.Fprintf(&b, "\n  tools: %s\n", strings.Join(info.Tools, ", "))
	}
	if len(infos) == 0 {
		b.WriteString("no connections are available to you\n")
	}
	return &connectors.Result{
		Structured: map[string]any{"connections": infos},
		Text:       b.String(),
		Rows:       len(infos),
	}
}
