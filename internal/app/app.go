package app

import (
	"context"
	"errors"
	"fmt"
	"os"
	"sort"

	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"

	"github.com/airlockhq/airlock/connectors"
	_ "github.com/airlockhq/airlock/connectors/postgres" // registers kind postgres
	"github.com/airlockhq/airlock/internal/config"
	"github.com/airlockhq/airlock/internal/gateway"
	"github.com/airlockhq/airlock/internal/identity"
	"github.com/airlockhq/airlock/internal/mask"
	"github.com/airlockhq/airlock/mcp"
	"github.com/airlockhq/airlock/policy"
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
}

// ErrNoIdentitySource is returned when nothing could establish who callers are.
var ErrNoIdentitySource = errors.New("no identity source: configure identity.oidc (verified tokens), " +
	"or set identity.dev_identity or pass --dev-identity NAME for a demo (development identities are recorded as unverified)")

// New opens the connections and builds the gateway.
func New(ctx context.Context, cfg *config.Config, opt Options, log *zap.Logger) (*App, error) {
	if log == nil {
		log = zap.NewNop()
	}
	idsrc, auth, err := identitySetup(ctx, cfg, opt, log)
	if err != nil {
		return nil, err
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
	conns, err := connectors.Open(ctx, cfg.Connections)
	if err != nil {
		return nil, err
	}
	gw, err := gateway.New(gateway.Options{
		Config: cfg, Catalog: tools.Default(), Connections: conns,
		Identity: idsrc, Authorizer: gateway.PolicyAuthorizer{Engine: engine},
		Visibility: engine, Masker: masker, Log: log,
	})
	if err != nil {
		connectors.CloseAll(conns)
		return nil, err
	}
	log.Info("gateway ready", zap.Strings("pipeline", gw.Stages()), zap.Strings("connections", gw.ConnectionNames()),
		zap.String("policy", engine.Hash()), zap.String("policy_dir", cfg.Policy.Dir))
	return &App{Config: cfg, Log: log, Gateway: gw, Policy: engine,
		MCP: mcp.New(gw, mcp.Options{Fixtures: opt.Fixtures, Auth: auth}), conns: conns}, nil
}

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
	for {
		select {
		case <-ctx.Done():
			return
		case <-hup:
			before := a.Policy.Hash()
			if err := a.Policy.Reload(ctx); err != nil {
				a.Log.Error("policy reload refused; the previous policy stays in force", zap.Error(err), zap.String("policy", before))
				continue
			}
			a.Log.Info("policy reloaded", zap.String("policy", a.Policy.Hash()), zap.String("previous", before))
		}
	}
}

// Close releases the connections.
func (a *App) Close() { connectors.CloseAll(a.conns) }

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
