package gateway

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/airlockhq/airlock/approvals"
	"github.com/airlockhq/airlock/connectors"
	"github.com/airlockhq/airlock/tools"
)

// ApprovalService is what the gateway needs from package approvals.
type ApprovalService interface {
	Await(ctx context.Context, req approvals.Request, progress func(string)) (approvals.Outcome, error)
	StatusFor(ctx context.Context, id string, a approvals.Approver) (approvals.RequestView, error)
}

// Approvals adapts the approvals service to the approve stage: a call that
// needs approval waits for one bound to exactly its subject, tool,
// connection and arguments.
type Approvals struct {
	Service ApprovalService
	g       *Gateway
}

// Approve implements Approver.
func (a *Approvals) Approve(ctx context.Context, c *Call) error {
	req := a.g.approvalRequest(c)
	o, err := a.Service.Await(ctx, req, c.Progress)
	if err != nil {
		r := refuse(c, RefusedApproval, "the call needs approval, and the approval request could not be made, so it was not run: %s", approvals.Explain(err))
		r.Err = err
		return r
	}
	if o.State == approvals.StateApproved {
		return nil
	}
	return refuse(c, RefusedApproval, "this call needs approval (%s): %s.%s",
		joinReasons(c.Decision.Reasons), strings.TrimSuffix(o.Message(c.ToolName), "."), whatItDoes(c))
}

func (g *Gateway) approvalRequest(c *Call) approvals.Request {
	p := c.Principal
	req := approvals.Request{Subject: p.Subject, Email: p.Email, Groups: p.Groups, ClientName: p.Client.Name,
		Tool: c.ToolName, Action: c.Action, Kind: approvals.KindCall}
	if c.Connection != nil {
		req.Connection = c.Connection.Name()
		req.ConnectionLabels = c.Connection.Labels()
	}
	req.ArgsHash = approvals.ArgsHash(c.ToolName, req.Connection, c.Op.Args)
	req.ArgsText = argsText(g.maskedArgs(c))
	if c.Decision != nil {
		req.Reasons, req.Approvers = c.Decision.Reasons, c.Decision.Approvers
	}
	return req
}

// argsText shows the arguments to an approver: the SQL as written (masked)
// and the rest as JSON.
func argsText(args map[string]any) string {
	var b strings.Builder
	if sql, ok := args[tools.ArgSQL].(string); ok {
		b.WriteString(sql)
	}
	rest := map[string]any{}
	for k, v := range args {
		if k != tools.ArgSQL {
			rest[k] = v
		}
	}
	if len(rest) > 0 {
		raw, _ := json.Marshal(rest)
		if b.Len() > 0 {
			b.WriteString("\n")
		}
		b.Write(raw)
	}
	return b.String()
}

// requestAccess runs the request_access tool: a JIT grant is an approval
// request of its own kind; once approved, policy sees the grant.
func (g *Gateway) requestAccess(ctx context.Context, c *Call) (*connectors.Result, error) {
	if g.approvals == nil {
		return nil, refuse(c, RefusedApproval, "access requests need an approval channel, and none is configured")
	}
	conn, _ := c.Op.Args["connection"].(string)
	access, _ := c.Op.Args["access"].(string)
	reason, _ := c.Op.Args["reason"].(string)
	durText, _ := c.Op.Args["duration"].(string)
	dur, err := time.ParseDuration(durText)
	if err != nil || dur <= 0 {
		return nil, refuse(c, RefusedInvalid, "tool request_access: argument \"duration\": want a duration such as 30m or 2h")
	}
	target, ok := g.conns[conn]
	if !ok || !g.ToolVisibleOn(ctx, c.Principal, target) {
		return nil, refuse(c, RefusedInvalid, "tool request_access: connection %q is not one you can use (list_connections describes them)", conn)
	}
	req := g.approvalRequest(c)
	req.Kind = approvals.KindGrant
	req.Connection, req.ConnectionLabels = conn, target.Labels()
	req.Grant = &approvals.GrantSpec{Connection: conn, Access: access, Duration: dur, Reason: reason}
	req.Reasons = []string{fmt.Sprintf("%s asks for %s access to %s for %s: %s", c.Principal.Subject, access, conn, dur, reason)}
	o, err := g.approvals.Await(ctx, req, c.Progress)
	if err != nil {
		r := refuse(c, RefusedApproval, "the access request could not be made: %s", approvals.Explain(err))
		r.Err = err
		return nil, r
	}
	out := map[string]any{"request_id": o.ID, "state": o.State}
	text := o.Message("request_access")
	if o.State == approvals.StateApproved && o.Grant != nil {
		out["grant_id"], out["expires_at"] = o.Grant.ID, o.Grant.ExpiresAt.UTC().Format(time.RFC3339)
		text = fmt.Sprintf("granted: %s access to %s until %s (grant %s, approved by %s)",
			o.Grant.Access, o.Grant.Connection, o.Grant.ExpiresAt.UTC().Format(time.RFC3339), o.Grant.ID, o.DecidedBy)
	}
	if o.State != approvals.StateApproved && o.State != approvals.StatePending {
		return nil, refuse(c, RefusedApproval, "%s", text)
	}
	return &connectors.Result{Structured: out, Text: text + "\n", Rows: 1}, nil
}

// approvalStatus runs the approval_status tool for the caller's own
// requests (or ones the caller may decide).
func (g *Gateway) approvalStatus(ctx context.Context, c *Call) (*connectors.Result, error) {
	if g.approvals == nil {
		return nil, refuse(c, RefusedApproval, "no approval channel is configured")
	}
	id, _ := c.Op.Args["request_id"].(string)
	v, err := g.approvals.StatusFor(ctx, id, approvals.ApproverFrom(c.Principal, approvals.ViaCLI))
	if err != nil {
		return nil, refuse(c, RefusedInvalid, "approval_status: %s", approvals.Explain(err))
	}
	text := fmt.Sprintf("request %s (%s on %s) is %s", v.ID, v.Tool, v.Connection, v.State)
	if v.DecidedBy != "" {
		text += fmt.Sprintf(", decided by %s", v.DecidedBy)
		if v.DecisionReason != "" {
			text += ": " + v.DecisionReason
		}
	}
	if v.State == approvals.StateApproved && v.Kind == approvals.KindCall {
		text += "; call the tool again with exactly the same arguments to run it"
	}
	out := map[string]any{"request_id": v.ID, "state": v.State, "tool": v.Tool, "connection": v.Connection,
		"decided_by": v.DecidedBy, "reason": v.DecisionReason, "expires_at": v.ExpiresAt.UTC().Format(time.RFC3339)}
	return &connectors.Result{Structured: out, Text: text + "\n", Rows: 1}, nil
}
