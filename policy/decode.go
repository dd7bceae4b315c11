package policy

import (
	"encoding/json"
	"fmt"
	"math"

	"github.com/open-policy-agent/opa/v1/ast"
)

// Member names of the decision, made once rather than per decision.
var (
	dAllow           = ast.StringTerm("allow")
	dRequireApproval = ast.StringTerm("require_approval")
	dApprovers       = ast.StringTerm("approvers")
	dReasons         = ast.StringTerm("reasons")
	dMaxRows         = ast.StringTerm("max_rows")
	dTimeoutMs       = ast.StringTerm("timeout_ms")
	dMask            = ast.StringTerm("mask")
	dResponse        = ast.StringTerm("response")
)

// decodeDecision reads the decision object. It is strict about types,
// because a decision the gateway misreads is worse than none: anything
// malformed is an error, and the call is denied.
func decodeDecision(t *ast.Term) (Decision, error) {
	obj, ok := t.Value.(ast.Object)
	if !ok {
		return Decision{}, fmt.Errorf("policy: decision is %s, want an object", ast.ValueName(t.Value))
	}
	d := Decision{Reasons: []string{}, Mask: MaskObligation{Response: true}}
	var err error
	allowT := obj.Get(dAllow)
	if allowT == nil {
		return Decision{}, fmt.Errorf("policy: decision has no allow member")
	}
	if d.Allow, err = asBool("allow", allowT); err != nil {
		return Decision{}, err
	}
	if v := obj.Get(dRequireApproval); v != nil {
		if d.RequireApproval, err = asBool("require_approval", v); err != nil {
			return Decision{}, err
		}
	}
	if v := obj.Get(dApprovers); v != nil {
		if d.Approvers, err = asStrings("approvers", v); err != nil {
			return Decision{}, err
		}
	}
	if v := obj.Get(dReasons); v != nil {
		if d.Reasons, err = asStrings("reasons", v); err != nil {
			return Decision{}, err
		}
	}
	if v := obj.Get(dMaxRows); v != nil {
		if d.MaxRows, err = asCount("max_rows", v); err != nil {
			return Decision{}, err
		}
	}
	if v := obj.Get(dTimeoutMs); v != nil {
		if d.TimeoutMS, err = asCount("timeout_ms", v); err != nil {
			return Decision{}, err
		}
	}
	if v := obj.Get(dMask); v != nil {
		m, ok := v.Value.(ast.Object)
		if !ok {
			return Decision{}, fmt.Errorf("policy: decision mask is %s, want an object", ast.ValueName(v.Value))
		}
		if r := m.Get(dResponse); r != nil {
			if d.Mask.Response, err = asBool("mask.response", r); err != nil {
				return Decision{}, err
			}
		}
	}
	if d.RequireApproval {
		d.Allow = false
	}
	if !d.Allow && len(d.Reasons) == 0 {
		if d.RequireApproval {
			d.Reasons = []string{"approval required by policy"}
		} else {
			d.Reasons = []string{"denied by policy"}
		}
	}
	return d, nil
}

func asBool(name string, t *ast.Term) (bool, error) {
	b, ok := t.Value.(ast.Boolean)
	if !ok {
		return false, fmt.Errorf("policy: decision %s is %s, want a boolean", name, ast.ValueName(t.Value))
	}
	return bool(b), nil
}

func asStrings(name string, t *ast.Term) ([]string, error) {
	var elems []*ast.Term
	switch v := t.Value.(type) {
	case *ast.Array:
		elems = make([]*ast.Term, v.Len())
		for i := range elems {
			elems[i] = v.Elem(i)
		}
	case ast.Set:
		elems = v.Slice()
	default:
		return nil, fmt.Errorf("policy: decision %s is %s, want an array of strings", name, ast.ValueName(t.Value))
	}
	out := make([]string, len(elems))
	for i, e := range elems {
		s, ok := e.Value.(ast.String)
		if !ok {
			return nil, fmt.Errorf("policy: decision %s holds %s, want strings", name, ast.ValueName(e.Value))
		}
		out[i] = string(s)
	}
	return out, nil
}

func asCount(name string, t *ast.Term) (int, error) {
	n, ok := t.Value.(ast.Number)
	if !ok {
		return 0, fmt.Errorf("policy: decision %s is %s, want a number", name, ast.ValueName(t.Value))
	}
	i, err := json.Number(n).Int64()
	if err != nil || i < 0 || i > math.MaxInt32 {
		return 0, fmt.Errorf("policy: decision %s is %s, want a non-negative integer", name, string(n))
	}
	return int(i), nil
}
