package gateway

import (
	"context"
	"fmt"
)

// ReadOnlyRule is the built-in authorizer used when no policy engine is
// configured: calls classified read-only run, everything else is refused
// with the classifier's reasons.
type ReadOnlyRule struct{}

// ReadOnlyPolicy names the built-in rule in decisions.
const ReadOnlyPolicy = "builtin:read-only"

// Authorize implements Authorizer.
func (ReadOnlyRule) Authorize(_ context.Context, c *Call) (Decision, error) {
	if c.Action == nil {
		return Decision{}, fmt.Errorf("gateway: authorize: call %s was not classified", c.ID)
	}
	if c.Action.ReadOnly {
		return Decision{Allow: true, Reasons: []string{"read-only call"}, Policy: ReadOnlyPolicy}, nil
	}
	reasons := append([]string{"only read-only calls are allowed"}, c.Action.Reasons...)
	if len(c.Action.Reasons) == 0 {
		reasons = append(reasons, "the call is not read-only")
	}
	return Decision{Allow: false, Reasons: reasons, Policy: ReadOnlyPolicy}, nil
}
