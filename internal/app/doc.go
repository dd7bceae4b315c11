// Package app wires airlock together from a configuration: it opens the
// connections, builds the gateway with its pipeline and the MCP server, and
// owns their lifetimes. It is the one package (with cmd/airlock) allowed to
// import everything.
package app
