// Package mcp is the only package that speaks the Model Context Protocol (and
// the only importer of mark3labs/mcp-go). It registers the tool catalog as
// MCP tools, hands every tools/call to the gateway, maps results, refusals
// and errors onto MCP results, and serves the stdio and Streamable HTTP
// transports (both the 2025-11-25 session revision and the stateless
// 2026-07-28 revision on the same /mcp endpoint), with /healthz, /readyz,
// request limits and graceful shutdown.
package mcp
