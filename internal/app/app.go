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
	"github.com/airlockhq/airlock/mcp"
	"github.com/airlockhq/airlock/tools"
)

// Options are what the command line adds to the configuration.
type Options struct {
	// Fixtures serves the MCP conformance fixtures (conformance runs only).
	Fixtures bool
}

// App is a wired gateway.
type App struct {
	Config  *config.Config
	Log     *zap.Logger
	Gateway *gateway.Gateway
	MCP     *mcp.Server
	conns   map[string]connectors.Connection
}

// ErrNoIdentitySource is returned when nothing could establish who callers are.
var ErrNoIdentitySource = errors.New("no identity source: set identity.dev_identity or pass --dev-identity NAME for a demo " +
	"(development identities are recorded as unverified)")

// New opens the connections and builds the gateway.
func New(ctx context.Context, cfg *config.Config, opt Options, log *zap.Logger) (*App, error) {
	if log == nil {
		log = zap.NewNop()
	}
	if cfg.Identity.DevIdentity == "" {
		return nil, ErrNoIdentitySource
	}
	p, err := identity.Dev(cfg.Identity.DevIdentity)
	if err != nil {
		return nil, err
	}
	log.Warn("using a development identity: every call is made as this unverified subject",
		zap.String("subject", p.Subject))
	conns, err := connectors.Open(ctx, cfg.Connections)
	if err != nil {
		return nil, err
	}
	gw, err := gateway.New(gateway.Options{
		Config: cfg, Catalog: tools.Default(), Connections: conns,
		Identity: identity.Static{P: p}, Authorizer: gateway.ReadOnlyRule{}, Log: log,
	})
	if err != nil {
		connectors.CloseAll(conns)
		return nil, err
	}
	log.Info("gateway ready", zap.Strings("pipeline", gw.Stages()), zap.Strings("connections", gw.ConnectionNames()),
		zap.String("policy", gateway.ReadOnlyPolicy))
	return &App{Config: cfg, Log: log, Gateway: gw, MCP: mcp.New(gw, mcp.Options{Fixtures: opt.Fixtures}), conns: conns}, nil
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
	detail["policy"] = gateway.ReadOnlyPolicy
	return len(a.conns) == 0 || up > 0, detail
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
