package gateway

import (
	"context"
	"errors"
	"strings"
	"time"

	"github.com/airlockhq/airlock/connectors"
	"github.com/airlockhq/airlock/internal/identity"
	"github.com/airlockhq/airlock/tools"
)

// authenticate binds the principal: one the transport verified (in the
// context), or the configured identity source. No principal, no call.
func (g *Gateway) authenticate() Stage {
	return stageFunc{"authenticate", func(next Handler) Handler {
		return func(ctx context.Context, c *Call) (*connectors.Result, error) {
			p, err := g.Principal(ctx)
			if err != nil {
				r := refuse(c, RefusedIdentity, "refused: %v", err)
				r.Err = err
				return nil, r
			}
			if p.Client.Name == "" {
				p.Client = c.Client
			}
			c.Principal = p
			return next(ctx, c)
		}
	}}
}

// bind stops revoked subjects. Verified principals were checked against
// revocations when their token was verified; a development identity has no
// token and is checked here, as if issued now. It runs inside the record
// stage, so the refusal is recorded.
func (g *Gateway) bind() Stage {
	return stageFunc{"bind", func(next Handler) Handler {
		return func(ctx context.Context, c *Call) (*connectors.Result, error) {
			if g.revs != nil && !c.Principal.Verified {
				revoked, why, err := g.revs.IsRevoked(ctx, c.Principal.Subject, time.Now())
				if err != nil || revoked {
					if err != nil {
						why = "revocations could not be checked"
					}
					r := refuse(c, RefusedIdentity, "refused: %s is revoked (%s)", c.Principal.Subject, why)
					r.Err = err
					return nil, r
				}
			}
			return next(ctx, c)
		}
	}}
}

// resolve finds the tool and connection and checks the arguments.
func (g *Gateway) resolve() Stage {
	return stageFunc{"resolve", func(next Handler) Handler {
		return func(ctx context.Context, c *Call) (*connectors.Result, error) {
			t, _ := g.catalog.Get(c.ToolName)
			c.Tool = t
			connName, args, err := t.Parse(c.Arguments)
			if err != nil {
				r := refuse(c, RefusedInvalid, "%v", err)
				r.Err = err
				return nil, r
			}
			c.Op = connectors.Operation{Tool: t.Name, Args: args}
			if !t.NeedsConnection() {
				return next(ctx, c)
			}
			conn, ok := g.conns[connName]
			// A connection the caller may not see is answered exactly like
			// one that does not exist: its name is not confirmed.
			if !ok || !kindIn(conn.Kind(), t.Kinds) || !g.visible(ctx, c.Principal, t, conn) {
				return nil, refuse(c, RefusedInvalid,
					"tool %s: connection %q is not one you can use with this tool; usable connections: %s (list_connections describes them)",
					t.Name, connName, strings.Join(g.usable(ctx, c.Principal, t), ", "))
			}
			c.Connection = conn
			return next(ctx, c)
		}
	}}
}

func kindIn(k string, kinds []string) bool {
	for _, x := range kinds {
		if x == k {
			return true
		}
	}
	return false
}

// usable names the connections p may use t on, for a refusal's message.
func (g *Gateway) usable(ctx context.Context, p identity.Principal, t *tools.Tool) []string {
	out := g.usableOn(ctx, p, t)
	if len(out) == 0 {
		return []string{"(none)"}
	}
	return out
}

// classify asks the connector what the call would do. A call that cannot be
// understood is refused, never run.
func (g *Gateway) classify() Stage {
	return stageFunc{"classify", func(next Handler) Handler {
		return func(ctx context.Context, c *Call) (*connectors.Result, error) {
			if c.Connection == nil {
				c.Action = &connectors.Action{ReadOnly: true, Risk: connectors.RiskLow, Flags: []string{}}
				return next(ctx, c)
			}
			a, err := c.Connection.Classify(ctx, c.Op)
			if err != nil {
				r := refuse(c, RefusedInvalid, "%s refused: the input could not be understood, so it was not run: %v", c.ToolName, err)
				r.Err = err
				return nil, r
			}
			c.Action = a
			return next(ctx, c)
		}
	}}
}

// authorize asks the authorizer; an error is a denial, never a pass.
func (g *Gateway) authorize() Stage {
	return stageFunc{"authorize", func(next Handler) Handler {
		return func(ctx context.Context, c *Call) (*connectors.Result, error) {
			d, err := g.authz.Authorize(ctx, c)
			if err != nil {
				c.Decision = &Decision{Reasons: []string{"policy evaluation failed"}}
				r := refuse(c, RefusedDenied, "denied: the policy could not be evaluated, so the call was refused (call %s)", c.ID)
				r.Err = err
				return nil, r
			}
			c.Decision = &d
			switch {
			case d.RequireApproval:
				return next(ctx, c)
			case !d.Allow:
				return nil, refuse(c, RefusedDenied, "denied by policy: %s.%s", joinReasons(d.Reasons), whatItDoes(c))
			}
			return next(ctx, c)
		}
	}}
}

// approve holds calls whose decision requires approval until an approver
// decides; with no approval channel they are refused.
func (g *Gateway) approve() Stage {
	return stageFunc{"approve", func(next Handler) Handler {
		return func(ctx context.Context, c *Call) (*connectors.Result, error) {
			if !c.Decision.RequireApproval {
				return next(ctx, c)
			}
			if g.approver == nil {
				return nil, refuse(c, RefusedApproval,
					"this call needs approval (%s), and no approval channel is configured, so it was not run.%s",
					joinReasons(c.Decision.Reasons), whatItDoes(c))
			}
			if err := g.approver.Approve(ctx, c); err != nil {
				var r *Refusal
				if errors.As(err, &r) {
					return nil, r
				}
				rr := refuse(c, RefusedApproval, "approval could not be obtained: %v", err)
				rr.Err = err
				return nil, rr
			}
			return next(ctx, c)
		}
	}}
}

type limitsKey struct{}

// limit turns the decision's obligations and the configured limits into the
// limits execution must honour.
func (g *Gateway) limit() Stage {
	return stageFunc{"limit", func(next Handler) Handler {
		return func(ctx context.Context, c *Call) (*connectors.Result, error) {
			if c.Connection == nil {
				return next(ctx, c)
			}
			return next(context.WithValue(ctx, limitsKey{}, g.limitsFor(c)), c)
		}
	}}
}

func (g *Gateway) limitsFor(c *Call) connectors.Limits {
	cl := g.cfg.Limits
	if cc, ok := g.cfg.Connection(c.Connection.Name()); ok {
		cl = cc.Limits
	}
	lim := connectors.Limits{MaxRows: cl.MaxRows, MaxBytes: cl.MaxResultBytes, Timeout: cl.StatementTimeout.D()}
	if v, ok := c.Op.Args[tools.ArgMaxRows].(float64); ok && v > 0 {
		lim.MaxRows = int(v)
		if cl.MaxRowsCeiling > 0 && lim.MaxRows > cl.MaxRowsCeiling {
			lim.MaxRows = cl.MaxRowsCeiling
		}
	}
	if d := c.Decision; d != nil {
		if d.MaxRows > 0 && d.MaxRows < lim.MaxRows {
			lim.MaxRows = d.MaxRows
		}
		if t := time.Duration(d.TimeoutMS) * time.Millisecond; t > 0 && (lim.Timeout == 0 || t < lim.Timeout) {
			lim.Timeout = t
		}
	}
	return lim
}

// execute is the end of the pipeline: the connector runs the operation.
func (g *Gateway) execute(ctx context.Context, c *Call) (*connectors.Result, error) {
	if c.Decision == nil || (!c.Decision.Allow && !c.Decision.RequireApproval) {
		// Unreachable through the pipeline; a guard against a mis-ordered chain.
		return nil, refuse(c, RefusedInternal, "internal error: no decision for call %s", c.ID)
	}
	if err := g.writeIntent(ctx, c); err != nil {
		return nil, err
	}
	if c.Connection == nil {
		return g.governance(ctx, c)
	}
	lim, _ := ctx.Value(limitsKey{}).(connectors.Limits)
	res, err := c.Connection.Execute(ctx, c.Op, c.Action, lim)
	if err == nil {
		return res, nil
	}
	var ce *connectors.Error
	switch {
	case errors.As(err, &ce) && ce.Unavailable:
		r := refuse(c, RefusedUnavailable, "connection %s is unavailable: %s", c.Connection.Name(), ce.Error())
		r.Err = err
		return nil, r
	case errors.As(err, &ce):
		r := refuse(c, RefusedFailed, "%s", ce.Error())
		r.Err = err
		return nil, r
	case errors.Is(err, context.DeadlineExceeded):
		r := refuse(c, RefusedFailed, "the call took longer than its time limit and was cancelled")
		r.Err = err
		return nil, r
	default:
		r := refuse(c, RefusedInternal, "internal error while running the call; operators can find call %s in the logs", c.ID)
		r.Err = err
		return nil, r
	}
}

// whatItDoes repeats the classifier's findings, so an agent sees which
// statement, table or function a refusal is about.
func whatItDoes(c *Call) string {
	if c.Action == nil || len(c.Action.Reasons) == 0 {
		return ""
	}
	return " What the call would do: " + strings.Join(c.Action.Reasons, "; ") + "."
}

func joinReasons(rs []string) string {
	if len(rs) == 0 {
		return "no reason given"
	}
	return strings.Join(rs, "; ")
}
