// Package gateway owns the pipeline every tool call goes through: the Call
// that carries one request from transport to connector, the Stage and Chain
// types, and Pipeline, the one place where the order of the stages is
// written. Transports (package mcp, the CLI) hand calls to a Gateway; the
// stages decide, with identity, classification and policy, whether and how a
// connector executes them. Nothing runs without an identity and a decision.
package gateway
