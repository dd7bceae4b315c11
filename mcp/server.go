package mcp

import (
	"context"
	"errors"
	"net/http"
	"sync"
	"sync/atomic"

	"github.com/mark3labs/mcp-go/mcp"
	"github.com/mark3labs/mcp-go/server"

	"github.com/airlockhq/airlock/internal/gateway"
	"github.com/airlockhq/airlock/internal/identity"
	"github.com/airlockhq/airlock/tools"
)

// Version is reported to clients as the server version.
var Version = "dev"

// Server is the MCP face of a gateway.
type Server struct {
	gw  *gateway.Gateway
	mcp *server.MCPServer

	// calls is cancelled when in-flight calls must stop (end of the
	// shutdown grace period); inflight counts them.
	calls    context.Context
	stop     context.CancelFunc
	inflight sync.WaitGroup
	active   atomic.Int64

	// auth, when set, makes the HTTP transport require bearer tokens.
	auth   *AuthConfig
	routes []Route
}

// Options tune the MCP server.
type Options struct {
	// Fixtures registers the MCP conformance suite's test_* tools, resources
	// and prompts instead of nothing; used only by the conformance run.
	Fixtures bool
	// Auth makes the HTTP transport an OAuth resource server (see
	// AuthConfig); nil serves HTTP without tokens (dev identity).
	Auth *AuthConfig
	// Routes are more HTTP endpoints served beside /mcp (the admin API,
	// Slack interactivity).
	Routes []Route
}

// New registers the gateway's catalog as MCP tools.
func New(gw *gateway.Gateway, opt Options) *Server {
	s := &Server{gw: gw, auth: opt.Auth, routes: opt.Routes}
	s.calls, s.stop = context.WithCancel(context.Background())
	srvOpts := []server.ServerOption{
		server.WithToolCapabilities(false),
		server.WithRecovery(),
		server.WithInstructions(instructions),
		server.WithTitle("airlock"),
		server.WithToolFilter(s.filterTools),
		server.WithHooks(s.sessionHooks()),
	}
	if opt.Fixtures {
		srvOpts = append(srvOpts, fixtureOptions()...)
	}
	s.mcp = server.NewMCPServer("airlock", Version, srvOpts...)
	s.registerTools()
	if opt.Fixtures {
		registerFixtures(s.mcp)
	}
	return s
}

const instructions = "airlock governs access to production systems. Every tool call is checked against policy " +
	"and recorded. Start with list_connections to see what you may use. A refused call says why and what to do next; " +
	"do not try to work around a refusal."

func (s *Server) registerTools() {
	kinds := map[string]bool{}
	for _, n := range s.gw.ConnectionNames() {
		c, _ := s.gw.Connection(n)
		kinds[c.Kind()] = true
	}
	for _, t := range s.gw.Catalog().For(kinds) {
		s.mcp.AddTool(s.toolFor(t), s.handler(t.Name))
	}
}

func (s *Server) toolFor(t *tools.Tool) mcp.Tool {
	var conns []string
	for _, n := range s.gw.ConnectionNames() {
		c, _ := s.gw.Connection(n)
		for _, k := range t.Kinds {
			if c.Kind() == k {
				conns = append(conns, n)
			}
		}
	}
	b := func(v bool) *bool { return &v }
	return mcp.Tool{
		Name:            t.Name,
		Title:           t.Title,
		Description:     t.Description,
		RawInputSchema:  t.InputSchema(conns),
		RawOutputSchema: t.OutputSchema(),
		Annotations: mcp.ToolAnnotation{
			Title:           t.Title,
			ReadOnlyHint:    b(t.Annotations.ReadOnly),
			DestructiveHint: b(t.Annotations.Destructive),
			IdempotentHint:  b(t.Annotations.Idempotent),
			OpenWorldHint:   b(t.Annotations.OpenWorld),
		},
	}
}

// sessionHooks record the start and end of 2025-11-25 sessions (and of
// the stdio session); the stateless revision has no sessions to record.
func (s *Server) sessionHooks() *server.Hooks {
	h := &server.Hooks{}
	describe := func(ctx context.Context, sess server.ClientSession) gateway.Session {
		out := gateway.Session{ID: sess.SessionID()}
		out.Transport, _ = ctx.Value(transportKey{}).(string)
		out.RemoteAddr, _ = ctx.Value(remoteAddrKey{}).(string)
		out.Client = sessionClient(sess)
		return out
	}
	h.AddOnRegisterSession(func(ctx context.Context, sess server.ClientSession) {
		s.gw.RecordSession(ctx, describe(ctx, sess), true, "")
	})
	h.AddOnUnregisterSession(func(ctx context.Context, sess server.ClientSession) {
		s.gw.RecordSession(ctx, describe(ctx, sess), false, "closed")
	})
	return h
}

type remoteAddrKey struct{}

// sessionClient is the client software a session's initialize named.
func sessionClient(sess server.ClientSession) identity.Client {
	ci, ok := sess.(interface{ GetClientInfo() mcp.Implementation })
	if !ok {
		return identity.Client{}
	}
	info := ci.GetClientInfo()
	return identity.Client{Name: info.Name, Version: info.Version}
}

// filterTools shows the caller only the tools and connections its policy
// could ever allow; mcp-go applies the same filter to tools/call, so a
// hidden tool is unknown to that caller.
func (s *Server) filterTools(ctx context.Context, list []mcp.Tool) []mcp.Tool {
	p, err := s.gw.Principal(ctx)
	if err != nil {
		return nil
	}
	if len(list) == 1 {
		// tools/call checks one tool: answer without building schemas.
		if t, ok := s.gw.Catalog().Get(list[0].Name); ok && !s.gw.ToolVisible(ctx, p, t) {
			return nil
		}
		return list
	}
	views := map[string]gateway.ToolView{}
	for _, v := range s.gw.VisibleTools(ctx, p) {
		views[v.Tool.Name] = v
	}
	out := make([]mcp.Tool, 0, len(list))
	for _, t := range list {
		v, governed := views[t.Name]
		if _, inCatalog := s.gw.Catalog().Get(t.Name); !inCatalog {
			out = append(out, t) // conformance fixtures
			continue
		}
		if !governed {
			continue
		}
		if v.Tool.NeedsConnection() {
			t.RawInputSchema = v.Tool.InputSchema(v.Connections)
		}
		out = append(out, t)
	}
	return out
}

type transportKey struct{}

func (s *Server) handler(name string) server.ToolHandlerFunc {
	return func(ctx context.Context, req mcp.CallToolRequest) (*mcp.CallToolResult, error) {
		s.inflight.Add(1)
		s.active.Add(1)
		defer func() { s.active.Add(-1); s.inflight.Done() }()
		// Calls end with the request or with the shutdown grace period.
		ctx, cancel := context.WithCancel(ctx)
		defer cancel()
		defer context.AfterFunc(s.calls, cancel)()

		c := &gateway.Call{ToolName: name, Arguments: req.GetArguments()}
		if c.Arguments == nil {
			c.Arguments = map[string]any{}
		}
		c.Transport, _ = ctx.Value(transportKey{}).(string)
		if sess := server.ClientSessionFromContext(ctx); sess != nil {
			c.SessionID = sess.SessionID()
			c.Client = sessionClient(sess)
		}
		if c.Client.Name == "" && req.Params.Meta != nil {
			if info := req.Params.Meta.ClientInfo(); info != nil {
				c.Client = identity.Client{Name: info.Name, Version: info.Version}
			}
		}
		c.Progress = s.progress(ctx, req)
		res, err := s.gw.Handle(ctx, c)
		if errors.Is(err, gateway.ErrUnknownTool) {
			return nil, err
		}
		if err != nil {
			return errorResult(c, err), nil
		}
		out := &mcp.CallToolResult{
			Content:           []mcp.Content{mcp.NewTextContent(res.Text)},
			StructuredContent: res.Structured,
		}
		return out, nil
	}
}

// progress reports to the caller while a call waits (for an approval), as
// MCP progress notifications on the request's progress token. Without a
// token the client asked for none, and nothing is sent.
func (s *Server) progress(ctx context.Context, req mcp.CallToolRequest) func(string) {
	if req.Params.Meta == nil || req.Params.Meta.ProgressToken == nil {
		return nil
	}
	token := req.Params.Meta.ProgressToken
	var n atomic.Int64
	return func(msg string) {
		_ = s.mcp.SendNotificationToClient(ctx, string(mcp.MethodNotificationProgress), map[string]any{
			"progressToken": token, "progress": n.Add(1), "message": msg})
	}
}

func errorResult(c *gateway.Call, err error) *mcp.CallToolResult {
	msg := err.Error()
	var r *gateway.Refusal
	if errors.As(err, &r) && r.CallID != "" {
		msg += " [" + r.CallID + "]"
	}
	return &mcp.CallToolResult{IsError: true, Content: []mcp.Content{mcp.NewTextContent(msg)}}
}

// Route is an extra HTTP endpoint. Authenticated routes see the caller's
// principal in the request context, established like /mcp's: a bearer
// token when OIDC is configured, else the gateway's identity source.
type Route struct {
	Pattern       string
	Handler       http.Handler
	Authenticated bool
}

// MCPServer exposes the underlying server, for transports.
func (s *Server) MCPServer() *server.MCPServer { return s.mcp }

// Active is the number of calls in flight.
func (s *Server) Active() int64 { return s.active.Load() }
