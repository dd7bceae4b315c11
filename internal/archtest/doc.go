// Package archtest holds the tests that keep the layout honest: every
// package documents what it owns, leaf packages stay independent of the
// gateway and the MCP layer, and only package mcp speaks MCP through mcp-go.
package archtest
