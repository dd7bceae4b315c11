package mcp

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	"github.com/mark3labs/mcp-go/client"
	"github.com/mark3labs/mcp-go/client/transport"
	"github.com/mark3labs/mcp-go/mcp"
)

// ToolResult is a tool's answer as a command line shows it.
type ToolResult struct {
	IsError bool
	// Text is the text content (for SQL, the result already as a table).
	Text string
	// Structured is the structuredContent, if any.
	Structured json.RawMessage
}

// ErrUnauthorized means the gateway refused the token (401).
var ErrUnauthorized = errors.New("the gateway refused the token")

// CallTool calls one tool on the gateway whose MCP endpoint is url, with
// token as the bearer token ("" sends none), over Streamable HTTP. The
// session is opened for the call and closed after it.
func CallTool(ctx context.Context, url, token, tool string, args map[string]any) (*ToolResult, error) {
	var opts []transport.StreamableHTTPCOption
	if token != "" {
		opts = append(opts, transport.WithHTTPHeaders(map[string]string{"Authorization": "Bearer " + token}))
	}
	tr, err := transport.NewStreamableHTTP(url, opts...)
	if err != nil {
		return nil, fmt.Errorf("mcp: client: %w", err)
	}
	c := client.NewClient(tr)
	defer func() { _ = c.Close() }()
	if err := c.Start(ctx); err != nil {
		return nil, clientErr("connect to "+url, err)
	}
	init := mcp.InitializeRequest{}
	init.Params.ProtocolVersion = mcp.LATEST_PROTOCOL_VERSION
	init.Params.ClientInfo = mcp.Implementation{Name: "airlock-cli", Version: Version}
	if _, err := c.Initialize(ctx, init); err != nil {
		return nil, clientErr("initialize", err)
	}
	req := mcp.CallToolRequest{}
	req.Params.Name = tool
	req.Params.Arguments = args
	res, err := c.CallTool(ctx, req)
	if err != nil {
		return nil, clientErr("call "+tool, err)
	}
	out := &ToolResult{IsError: res.IsError}
	var text []string
	for _, ct := range res.Content {
		if t, ok := ct.(mcp.TextContent); ok {
			text = append(text, t.Text)
		}
	}
	out.Text = strings.Join(text, "\n")
	if res.StructuredContent != nil {
		if out.Structured, err = json.Marshal(res.StructuredContent); err != nil {
			return nil, fmt.Errorf("mcp: client: %w", err)
		}
	}
	return out, nil
}

func clientErr(what string, err error) error {
	var auth *transport.AuthorizationRequiredError
	if errors.As(err, &auth) {
		return fmt.Errorf("mcp: %s: %w (log in again, or check the gateway's issuer and audience)", what, ErrUnauthorized)
	}
	return fmt.Errorf("mcp: %s: %w", what, err)
}
