package mcp

import (
	"context"
	"io"

	"github.com/mark3labs/mcp-go/server"
)

// ServeStdio serves MCP on in/out until in closes or ctx is cancelled; in
// stdio mode stdout belongs to the protocol, so logs go to stderr.
func (s *Server) ServeStdio(ctx context.Context, in io.Reader, out io.Writer) error {
	st := server.NewStdioServer(s.mcp)
	st.SetContextFunc(func(ctx context.Context) context.Context {
		return context.WithValue(ctx, transportKey{}, "stdio")
	})
	err := st.Listen(ctx, in, out)
	s.stop()
	return err
}
