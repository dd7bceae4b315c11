package app

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"go.uber.org/zap"

	"github.com/airlockhq/airlock/internal/config"
	"github.com/airlockhq/airlock/internal/identity"
	"github.com/airlockhq/airlock/internal/identity/oidc"
	"github.com/airlockhq/airlock/mcp"
)

// ErrIdentityConfig marks identity settings that contradict each other or
// the transport; nothing was started.
var ErrIdentityConfig = errors.New("identity configuration")

// TokenEnv is the environment variable that carries the stdio transport's
// bearer token.
const TokenEnv = "AIRLOCK_TOKEN"

// identitySetup decides who callers are, per transport:
//
//   - HTTP with identity.oidc: every request carries a bearer token checked
//     by the middleware; the gateway's own source refuses, so a request that
//     somehow bypassed the middleware has no identity at all. A development
//     identity alongside is refused: it must never become the fallback for
//     a missing token.
//   - stdio with a token (AIRLOCK_TOKEN or identity.token_file): the token is
//     verified at start and again on every call.
//   - otherwise the development identity, marked unverified.
func identitySetup(ctx context.Context, cfg *config.Config, opt Options, log *zap.Logger) (identity.Source, *mcp.AuthConfig, error) {
	id := cfg.Identity
	dev := id.DevIdentity
	if opt.Stdio {
		read, from := stdioToken(cfg)
		switch {
		case read != nil && dev != "":
			return nil, nil, fmt.Errorf("%w: both a token (%s) and a development identity are set; use one", ErrIdentityConfig, from)
		case read != nil && len(id.OIDC) == 0:
			return nil, nil, fmt.Errorf("%w: %s is set but identity.oidc lists no issuer to verify it against", ErrIdentityConfig, from)
		case read != nil:
			v, err := newVerifier(ctx, cfg, opt)
			if err != nil {
				return nil, nil, err
			}
			src := oidc.TokenSource{V: v, Read: read}
			p, err := src.Principal(ctx)
			if err != nil {
				return nil, nil, fmt.Errorf("app: the stdio token (%s): %w", from, err)
			}
			log.Info("stdio calls are made with a verified token; it is checked again on every call",
				zap.String("subject", p.Subject), zap.String("issuer", p.Issuer), zap.String("token_from", from))
			return src, nil, nil
		case dev == "" && len(id.OIDC) > 0:
			return nil, nil, fmt.Errorf("%w: identity.oidc is configured but the stdio transport has no token: set %s or identity.token_file",
				ErrIdentityConfig, TokenEnv)
		}
		return devSource(dev, log)
	}
	if len(id.OIDC) == 0 {
		return devSource(dev, log)
	}
	if dev != "" {
		return nil, nil, fmt.Errorf("%w: identity.dev_identity (or --dev-identity) is set together with identity.oidc: over HTTP every call "+
			"must carry a verified token, and a development identity is never the fallback for a missing one; remove one of them", ErrIdentityConfig)
	}
	v, err := newVerifier(ctx, cfg, opt)
	if err != nil {
		return nil, nil, err
	}
	log.Info("HTTP calls need a bearer token", zap.Strings("issuers", v.Issuers()), zap.String("resource", cfg.Resource),
		zap.Strings("required_scopes", v.Scopes()), zap.Bool("revocation_checked", opt.Revocations != nil))
	auth := &mcp.AuthConfig{Verifier: tokenVerifier{v}, Resource: cfg.Resource,
		AuthorizationServers: v.Issuers(), Scopes: v.Scopes()}
	return refuseSource{}, auth, nil
}

func devSource(name string, log *zap.Logger) (identity.Source, *mcp.AuthConfig, error) {
	if name == "" {
		return nil, nil, ErrNoIdentitySource
	}
	p, err := identity.Dev(name)
	if err != nil {
		return nil, nil, err
	}
	log.Warn("using a development identity: every call is made as this unverified subject",
		zap.String("subject", p.Subject))
	return identity.Static{P: p}, nil, nil
}

// stdioToken returns a reader of the stdio token and where it comes from,
// or nil when there is none.
func stdioToken(cfg *config.Config) (func() (string, error), string) {
	if tok := os.Getenv(TokenEnv); tok != "" {
		return oidc.StaticToken(tok), TokenEnv
	}
	path := cfg.Identity.TokenFile
	if path == "" {
		return nil, ""
	}
	// Relative to the configuration file, like every other path in it.
	if !filepath.IsAbs(path) && cfg.Path != "" {
		if st, err := os.Stat(cfg.Path); err == nil && !st.IsDir() {
			path = filepath.Join(filepath.Dir(cfg.Path), path)
		}
	}
	return oidc.FileToken(path), "identity.token_file " + path
}

func newVerifier(ctx context.Context, cfg *config.Config, opt Options) (*oidc.Verifier, error) {
	issuers := make([]oidc.IssuerConfig, len(cfg.Identity.OIDC))
	for i, o := range cfg.Identity.OIDC {
		issuers[i] = oidc.IssuerConfig{Issuer: o.Issuer, Audiences: o.Audiences, GroupsClaim: o.GroupsClaim,
			EmailClaim: o.EmailClaim, RoleMap: o.RoleMap, RequiredScopes: o.RequiredScopes}
	}
	opts := []oidc.Option{}
	if opt.Revocations != nil {
		opts = append(opts, oidc.WithRevocations(opt.Revocations))
	}
	v, err := oidc.New(ctx, cfg.Resource, issuers, opts...)
	if err != nil {
		return nil, fmt.Errorf("app: %w", err)
	}
	return v, nil
}

// tokenVerifier adapts the OIDC verifier to the transport's interface.
type tokenVerifier struct{ v *oidc.Verifier }

func (t tokenVerifier) Verify(ctx context.Context, tok string) (identity.Principal, error) {
	p, _, err := t.v.Verify(ctx, tok)
	return p, err
}

// refuseSource is the gateway's identity source when the transport
// verifies tokens: a call that reaches the gateway without a verified
// principal in its context has no identity.
type refuseSource struct{}

func (refuseSource) Principal(context.Context) (identity.Principal, error) {
	return identity.Principal{}, fmt.Errorf("%w (this gateway requires a bearer token on every HTTP request)", identity.ErrNoIdentity)
}
