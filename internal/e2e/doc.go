// Package e2e holds end-to-end tests of airlock: a real MCP client (mcp-go's)
// over Streamable HTTP (both protocol revisions) and over stdio against the
// built binary, a real PostgreSQL started by internal/testenv, and the
// refusals, limits and failure modes a user would notice.
package e2e
