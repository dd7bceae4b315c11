// Command airlock is the governance gateway's single binary: `serve` runs the
// MCP server, `dev` runs it on embedded defaults against a throwaway demo
// database, `config validate` checks a configuration file, and `version`
// prints the build. It parses flags and exit codes; internal/app does the
// wiring.
package main
