package gateway

import (
	"context"
	"errors"
	"sort"
	"time"

	"go.uber.org/zap"

	"github.com/airlockhq/airlock/connectors"
	"github.com/airlockhq/airlock/internal/config"
	"github.com/airlockhq/airlock/internal/identity"
	"github.com/airlockhq/airlock/internal/mask"
	"github.com/airlockhq/airlock/tools"
)

// Authorizer decides a classified call.
type Authorizer interface {
	Authorize(ctx context.Context, c *Call) (Decision, error)
}

// Approver obtains a human approval for a call whose decision requires one.
// It returns nil when the call is approved.
type Approver interface {
	Approve(ctx context.Context, c *Call) error
}

// Options assemble a Gateway.
type Options struct {
	Config      *config.Config
	Catalog     *tools.Catalog
	Connections map[string]connectors.Connection
	// Identity produces the principal when the transport did not put a
	// verified one in the context.
	Identity   identity.Source
	Authorizer Authorizer
	// Approvals is nil when no approval channel is configured: calls that
	// need approval are then refused.
	Approvals ApprovalService
	// Visibility limits the tools and connections each principal sees and
	// may call; nil shows everything.
	Visibility Visibility
	// Masker masks results and messages; nil leaves them as they are.
	Masker *mask.Engine
	// Revocations stop revoked subjects at the next call. Verified
	// principals are checked when their token is verified; this covers
	// the rest (development identities).
	Revocations identity.Revocations
	// Recorder receives the audit trail; nil records nothing (tests and
	// benchmarks of the rest of the pipeline only).
	Recorder Recorder
	Log      *zap.Logger
}

// Gateway runs calls through the pipeline.
type Gateway struct {
	cfg       *config.Config
	catalog   *tools.Catalog
	conns     map[string]connectors.Connection
	names     []string
	idsrc     identity.Source
	authz     Authorizer
	approver  Approver
	approvals ApprovalService
	vis       Visibility
	masker    *mask.Engine
	rec       Recorder
	revs      identity.Revocations
	log       *zap.Logger
	handle    Handler
	chain     Chain
}

// New builds a gateway; the pipeline is assembled once here.
func New(o Options) (*Gateway, error) {
	if o.Config == nil || o.Catalog == nil {
		return nil, errors.New("gateway: new: config and catalog are required")
	}
	if o.Identity == nil {
		return nil, errors.New("gateway: new: no identity source: configure an OIDC issuer or an explicit dev identity")
	}
	if o.Authorizer == nil {
		return nil, errors.New("gateway: new: no authorizer")
	}
	if o.Log == nil {
		o.Log = zap.NewNop()
	}
	g := &Gateway{
		cfg: o.Config, catalog: o.Catalog, conns: o.Connections,
		idsrc: o.Identity, authz: o.Authorizer, approvals: o.Approvals, vis: o.Visibility, masker: o.Masker, rec: o.Recorder, revs: o.Revocations, log: o.Log,
	}
	for n := range o.Connections {
		g.names = append(g.names, n)
	}
	sort.Strings(g.names)
	if o.Approvals != nil {
		g.approver = &Approvals{Service: o.Approvals, g: g}
	}
	g.chain = g.Pipeline()
	g.handle = g.chain.Then(g.execute)
	return g, nil
}

// Stages names the pipeline's stages in order.
func (g *Gateway) Stages() []string { return g.chain.Names() }

// ConnectionNames lists the configured connections, sorted.
func (g *Gateway) ConnectionNames() []string { return g.names }

// Connection returns the named connection.
func (g *Gateway) Connection(name string) (connectors.Connection, bool) {
	c, ok := g.conns[name]
	return c, ok
}

// Catalog returns the tool catalog.
func (g *Gateway) Catalog() *tools.Catalog { return g.catalog }

// Handle runs one call through the pipeline. The error is ErrUnknownTool,
// a *Refusal, or (never expected) something internal; transports show
// everything but ErrUnknownTool as a tool error.
func (g *Gateway) Handle(ctx context.Context, c *Call) (*connectors.Result, error) {
	if _, ok := g.catalog.Get(c.ToolName); !ok {
		return nil, ErrUnknownTool
	}
	if c.ID == "" {
		c.ID = NewCallID()
	}
	c.Started = time.Now()
	if t := g.cfg.Limits.CallTimeout.D(); t > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, t)
		defer cancel()
	}
	res, err := g.handle(ctx, c)
	g.logCall(c, res, err)
	return res, err
}

func (g *Gateway) logCall(c *Call, res *connectors.Result, err error) {
	if !g.log.Core().Enabled(zap.InfoLevel) {
		return
	}
	fields := []zap.Field{
		zap.String("call_id", c.ID), zap.String("session_id", c.SessionID),
		zap.String("subject", c.Principal.Subject), zap.String("tool", c.ToolName),
		zap.Duration("duration", time.Since(c.Started)),
	}
	if c.Connection != nil {
		fields = append(fields, zap.String("connection", c.Connection.Name()))
	}
	if c.Decision != nil {
		fields = append(fields, zap.String("decision", decisionWord(c.Decision)))
	}
	var r *Refusal
	switch {
	case err == nil:
		fields = append(fields, zap.Int("rows", res.Rows), zap.Bool("truncated", res.Truncated))
		g.log.Info("call", fields...)
	case errors.As(err, &r):
		fields = append(fields, zap.String("refused", string(r.Kind)))
		if r.Err != nil {
			fields = append(fields, zap.NamedError("cause", r.Err))
		}
		g.log.Info("call refused", fields...)
	default:
		g.log.Error("call failed", append(fields, zap.Error(err))...)
	}
}

func decisionWord(d *Decision) string {
	switch {
	case d.RequireApproval:
		return "require_approval"
	case d.Allow:
		return "allow"
	default:
		return "deny"
	}
}
