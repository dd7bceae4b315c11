package policy

import (
	"encoding/json"
	"fmt"
	"time"

	"github.com/airlockhq/airlock/connectors"
	"github.com/airlockhq/airlock/internal/identity"
)

// Input is the policy input document (DESIGN.md, "Policy contract").
type Input struct {
	Principal  identity.Principal `json:"principal"`
	Tool       ToolRef            `json:"tool"`
	Connection ConnRef            `json:"connection"`
	Arguments  map[string]any     `json:"arguments"`
	Action     *connectors.Action `json:"action"`
	// ActionDetail carries family-specific members of "action" that
	// connectors.Action has no field for: Kubernetes verb, group, version,
	// resource, namespace, name; SSH commands; HTTP method, host, path.
	// They are merged into the action object; Action's own members win.
	ActionDetail map[string]any `json:"-"`
	Grants       []Grant        `json:"grants"`
	// Now is the evaluation time (RFC 3339 in the input); zero means the
	// time of the call to Decide.
	Now time.Time `json:"now"`
}

// ToolRef names the tool being called and its family (sql, k8s, ssh, http,
// governance).
type ToolRef struct {
	Name   string `json:"name"`
	Family string `json:"family"`
}

// ConnRef describes the connection the call targets; empty for governance
// tools, which reach no backend.
type ConnRef struct {
	Name   string            `json:"name"`
	Kind   string            `json:"kind"`
	Labels map[string]string `json:"labels"`
}

// Grant is a just-in-time access grant the caller holds.
type Grant struct {
	Connection string    `json:"connection"`
	Access     string    `json:"access"` // "read" | "write"
	ExpiresAt  time.Time `json:"expires_at"`
}

// Decision is the policy's answer for one call.
//
// deny: !Allow && !RequireApproval; approval: RequireApproval (Allow is
// then false); allow: Allow && !RequireApproval.
type Decision struct {
	Allow           bool     `json:"allow"`
	RequireApproval bool     `json:"require_approval"`
	Approvers       []string `json:"approvers,omitempty"`
	// Reasons are never nil, so a denial always has words for the agent.
	Reasons   []string       `json:"reasons"`
	MaxRows   int            `json:"max_rows,omitempty"`
	TimeoutMS int            `json:"timeout_ms,omitempty"`
	Mask      MaskObligation `json:"mask"`
	// Policy is the bundle hash of the policy version that decided.
	Policy string `json:"policy"`
	// Fired lists the rules that produced the decision (Explain only).
	Fired []string `json:"fired,omitempty"`
}

// MaskObligation says what must be masked on the way out.
type MaskObligation struct {
	Response bool `json:"response"`
}

// Denied reports whether d is a denial.
func (d Decision) Denied() bool { return !d.Allow && !d.RequireApproval }

// deny builds a denial for policy version hash.
func deny(hash string, reasons ...string) Decision {
	if reasons == nil {
		reasons = []string{}
	}
	return Decision{Reasons: reasons, Mask: MaskObligation{Response: true}, Policy: hash}
}

// actionKeys are the members connectors.Action itself encodes.
var actionKeys = map[string]bool{"read_only": true, "risk": true, "statements": true, "flags": true, "reasons": true}

type inputJSON struct {
	Principal  identity.Principal `json:"principal"`
	Tool       ToolRef            `json:"tool"`
	Connection ConnRef            `json:"connection"`
	Arguments  map[string]any     `json:"arguments"`
	Action     json.RawMessage    `json:"action"`
	Grants     []Grant            `json:"grants"`
	Now        time.Time          `json:"now"`
}

// MarshalJSON writes the input as policy sees it, with ActionDetail merged
// into "action", so recordings and `airlock policy eval` files agree with
// what was evaluated.
func (in Input) MarshalJSON() ([]byte, error) {
	j := inputJSON{Principal: in.Principal, Tool: in.Tool, Connection: in.Connection,
		Arguments: in.Arguments, Grants: in.Grants, Now: in.Now}
	switch {
	case in.Action == nil && len(in.ActionDetail) == 0:
		j.Action = json.RawMessage("null")
	default:
		m := map[string]any{}
		for k, v := range in.ActionDetail {
			m[k] = v
		}
		if in.Action != nil {
			b, err := json.Marshal(in.Action)
			if err != nil {
				return nil, err
			}
			var am map[string]any
			if err := json.Unmarshal(b, &am); err != nil {
				return nil, err
			}
			for k, v := range am {
				m[k] = v
			}
		}
		b, err := json.Marshal(m)
		if err != nil {
			return nil, err
		}
		j.Action = b
	}
	return json.Marshal(j)
}

// UnmarshalJSON reads the policy input form; action members that
// connectors.Action does not know land in ActionDetail.
func (in *Input) UnmarshalJSON(b []byte) error {
	var j inputJSON
	if err := json.Unmarshal(b, &j); err != nil {
		return err
	}
	*in = Input{Principal: j.Principal, Tool: j.Tool, Connection: j.Connection,
		Arguments: j.Arguments, Grants: j.Grants, Now: j.Now}
	if len(j.Action) == 0 || string(j.Action) == "null" {
		return nil
	}
	var a connectors.Action
	if err := json.Unmarshal(j.Action, &a); err != nil {
		return fmt.Errorf("action: %w", err)
	}
	in.Action = &a
	var m map[string]any
	if err := json.Unmarshal(j.Action, &m); err != nil {
		return fmt.Errorf("action: %w", err)
	}
	for k, v := range m {
		if actionKeys[k] {
			continue
		}
		if in.ActionDetail == nil {
			in.ActionDetail = map[string]any{}
		}
		in.ActionDetail[k] = v
	}
	return nil
}
