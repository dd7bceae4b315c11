// Package policy owns authorization: the policy input and decision types,
// the embedded default Rego bundle (package airlock.authz, helpers in
// airlock.lib), loading operator policies next to or instead of it,
// evaluating decisions and tool visibility with OPA, hot reload, and the
// functions behind `airlock policy test|eval|explain`.
//
// Every failure is a denial: an evaluation error, an undefined or malformed
// decision, or a timeout is returned as an error, and DecideOrDeny turns it
// into a deny Decision so callers cannot allow by accident.
//
// The package must not import internal/gateway or mcp; the gateway adapts
// Decision to its own type.
package policy
