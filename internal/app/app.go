package app

import (
	"context"
	"errors"
	"fmt"
	"os"
	"sort"
	"time"

	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"

	"github.com/airlockhq/airlock/approvals"
	aslack "github.com/airlockhq/airlock/approvals/slack"
	"github.com/airlockhq/airlock/connectors"
	_ "github.com/airlockhq/airlock/connectors/postgres" // registers kind postgres
	"github.com/airlockhq/airlock/internal/config"
	"github.com/airlockhq/airlock/internal/gateway"
	"github.com/airlockhq/airlock/internal/identity"
	"github.com/airlockhq/airlock/internal/mask"
	"github.com/airlockhq/airlock/mcp"
	"github.com/airlockhq/airlock/policy"
	"github.com/airlockhq/airlock/recorder"
	"github.com/airlockhq/airlock/tools"
)

// Options are what the command line adds to the configuration.
type Options struct {
	// Fixtures serves the MCP conformance fixtures (conformance runs only).
	Fixtures bool
	// Stdio says the gateway will serve stdio: its identity comes from a
	// token in the environment or a file, not from each request.
	Stdio bool
	// Revocations, when set, is consulted on every verified call.
	Revocations identity.Revocations
}

// App is a wired gateway.
type App struct {
	Config  *config.Config
	Log     *zap.Logger
	Gateway *gateway.Gateway
	Policy  *policy.Engine
	MCP     *mcp.Server
	conns   map[string]connectors.Connection
	state   *state
}

// ErrNoIdentitySource is returned when nothing could establish who callers are.
var ErrNoIdentitySource = errors.New("no identity source: configure identity.oidc (verified tokens), " +
	"or set identity.dev_identity or pass --dev-identity NAME for a demo (development identities are recorded as unverified)")

// New opens the connections and builds the gateway.
func New(ctx context.Context, cfg *config.Config, opt Options, log *zap.Logger) (*App, error) {
	if log == nil {
		log = zap.NewNop()
	}
	engine, err := policy.New(ctx, policy.Options{Dir: cfg.Policy.Dir, ReplaceDefault: cfg.Policy.ReplaceDefault,
		EvalTimeout: cfg.Policy.EvalTimeout.D(), Log: log.Named("policy")})
	if err != nil {
		return nil, fmt.Errorf("app: %w", err)
	}
	mc, err := cfg.Masking.MaskConfig()
	if err != nil {
		return nil, fmt.Errorf("app: masking: %w", err)
	}
	masker, err := mask.New(mc)
	if err != nil {
		return nil, fmt.Errorf("app: masking: %w", err)
	}
	st, err := openState(ctx, cfg, masker, log)
	if err != nil {
		return nil, err
	}
	// Revocations live in the store, which must be open before a stdio
	// token is first verified.
	if opt.Revocations == nil {
		opt.Revocations = StoreRevocations(st.store)
	}
	idsrc, auth, err := identitySetup(ctx, cfg, opt, log)
	if err != nil {
		st.close()
		return nil, err
	}
	if err := st.recordLoaded(ctx, cfg, engine.Hash(), mcp.Version); err != nil {
		st.close()
		return nil, err
	}
	conns, err := connectors.Open(ctx, cfg.Connections)
	if err != nil {
		st.close()
		return nil, err
	}
	gw, err := gateway.New(gateway.Options{
		Config: cfg, Catalog: tools.Default(), Connections: conns,
		Identity: idsrc, Authorizer: gateway.PolicyAuthorizer{Engine: engine, Grants: PolicyGrants(st.approvals, log)},
		Visibility: engine, Masker: masker, Recorder: st.rec, Approvals: st.approvals,
		Revocations: opt.Revocations, Log: log,
	})
	if err != nil {
		connectors.CloseAll(conns)
		st.close()
		return nil, err
	}
	log.Info("gateway ready", zap.Strings("pipeline", gw.Stages()), zap.Strings("connections", gw.ConnectionNames()),
		zap.String("policy", engine.Hash()), zap.String("policy_dir", cfg.Policy.Dir),
		zap.String("store", cfg.Store.Driver), zap.String("audit_key_id", st.rec.KeyID()))
	routes := []mcp.Route{{Pattern: "/admin/", Handler: approvals.AdminHandler(st.approvals), Authenticated: true}}
	if sc := cfg.Approvals.Slack; st.slack != nil && sc.SigningSecret.Value() != "" {
		// Slack's signature is this endpoint's authentication.
		routes = append(routes, mcp.Route{Pattern: "/slack/interactions",
			Handler: aslack.Handler(st.approvals, sc.SigningSecret.Value(), st.slack, aslack.StaticDirectory(sc.Approvers),
				aslack.WithLogger(log.Named("slack")))})
	}
	return &App{Config: cfg, Log: log, Gateway: gw, Policy: engine, state: st,
		MCP: mcp.New(gw, mcp.Options{Fixtures: opt.Fixtures, Auth: auth, Routes: routes}), conns: conns}, nil
}

// PolicyGrants reads a principal's active grants for the policy input on
// every call.
func PolicyGrants(svc *approvals.Service, log *zap.Logger) func(context.Context, identity.Principal) []policy.Grant {
	return func(ctx context.Context, p identity.Principal) []policy.Grant {
		g, err := svc.ActiveGrants(ctx, p.Subject)
		if err != nil {
			// Without grants the policy is stricter, never looser.
			log.Error("grants could not be read; deciding without them", zap.Error(err))
			return []policy.Grant{}
		}
		return g
	}
}

// Approvals is the approval service (for operators' tools and tests).
func (a *App) Approvals() *approvals.Service { return a.state.approvals }

// Start runs what works beside the gateway until ctx ends: the approvals
// sweep, Slack Socket Mode and the SIEM sinks.
func (a *App) Start(ctx context.Context) { a.state.runBackground(ctx, a.Config, a.Log) }

// Ready pings every connection. Readiness fails only when no connection is
// reachable: one database down must not take the gateway out of rotation
// for the others.
func (a *App) Ready(ctx context.Context) (bool, map[string]string) {
	detail := map[string]string{}
	up := 0
	names := make([]string, 0, len(a.conns))
	for n := range a.conns {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		if err := a.conns[n].Ping(ctx); err != nil {
			detail["connection:"+n] = "unreachable"
			continue
		}
		detail["connection:"+n] = "ok"
		up++
	}
	hash, loaded, lastErr := a.Policy.Status()
	detail["policy"] = hash + " loaded " + loaded.UTC().Format("2006-01-02T15:04:05Z")
	if lastErr != nil {
		// The previous policy stays in force; operators must still see that
		// their change was refused.
		detail["policy_reload_error"] = lastErr.Error()
	}
	return len(a.conns) == 0 || up > 0, detail
}

// WatchPolicy reloads the policy when its directory changes (if one is
// configured) and on SIGHUP, until ctx ends. A policy that fails to compile
// or fails its own tests is refused; the previous one stays in force.
func (a *App) WatchPolicy(ctx context.Context, hup <-chan os.Signal) {
	if a.Config.Policy.Dir != "" {
		go a.Policy.Watch(ctx)
	}
	last := a.Policy.Hash()
	tick := time.NewTicker(time.Second)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-hup:
			if err := a.Policy.Reload(ctx); err != nil {
				a.Log.Error("policy reload refused; the previous policy stays in force", zap.Error(err), zap.String("policy", last))
				continue
			}
		case <-tick.C:
		}
		// Every change of the policy in force is recorded, whichever
		// reload (SIGHUP or the directory watcher) made it.
		if h := a.Policy.Hash(); h != last {
			a.Log.Info("policy reloaded", zap.String("policy", h), zap.String("previous", last))
			a.recordPolicy(ctx, last)
			last = h
		}
	}
}

// Close releases the connections and closes the audit trail with a final
// checkpoint.
func (a *App) Close() {
	connectors.CloseAll(a.conns)
	a.state.close()
}

// NewLogger builds the operational logger: JSON or console on stderr.
func NewLogger(cfg config.Log) (*zap.Logger, error) {
	level, err := zapcore.ParseLevel(cfg.Level)
	if err != nil {
		return nil, fmt.Errorf("app: log level %q: %w", cfg.Level, err)
	}
	encCfg := zap.NewProductionEncoderConfig()
	encCfg.TimeKey = "ts"
	encCfg.EncodeTime = zapcore.ISO8601TimeEncoder
	var enc zapcore.Encoder
	if cfg.Format == "console" {
		encCfg.EncodeLevel = zapcore.CapitalColorLevelEncoder
		enc = zapcore.NewConsoleEncoder(encCfg)
	} else {
		enc = zapcore.NewJSONEncoder(encCfg)
	}
	core := zapcore.NewCore(enc, zapcore.Lock(os.Stderr), level)
	return zap.New(core), nil
}

// recordPolicy records a policy change; the watcher reloads on its own,
// so this is also called when the hash moved since the last look.
func (a *App) recordPolicy(ctx context.Context, before string) {
	if a.Policy.Hash() == before {
		return
	}
	ev, err := recorder.NewEvent(recorder.TypePolicyLoaded, recorder.LoadedData{Path: a.Config.Policy.Dir, Hash: a.Policy.Hash(), Version: mcp.Version})
	if err != nil {
		return
	}
	ev.Time, ev.Subject = time.Now().UTC(), "airlock"
	if _, err := a.state.rec.Append(ctx, ev); err != nil {
		a.Log.Error("policy change not recorded", zap.Error(err))
	}
}
