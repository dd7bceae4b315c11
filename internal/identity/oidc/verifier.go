package oidc

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"sort"
	"strings"
	"time"

	gooidc "github.com/coreos/go-oidc/v3/oidc"
	jose "github.com/go-jose/go-jose/v4"

	"github.com/airlockhq/airlock/internal/identity"
)

// IssuerConfig is one trusted token issuer.
type IssuerConfig struct {
	// Issuer is the issuer identifier, exactly as the IdP writes it in
	// iss (trailing slash included or not).
	Issuer string
	// Audiences accepted from this issuer; empty means airlock's resource
	// URI only.
	Audiences []string
	// GroupsClaim and EmailClaim name the claims read for the principal
	// ("groups" and "email" when empty). A dotted name that is not itself
	// a claim is followed as a path, e.g. "realm_access.roles".
	GroupsClaim, EmailClaim string
	// RoleMap maps IdP groups to airlock groups. When set, only mapped
	// groups reach the principal.
	RoleMap map[string][]string
	// RequiredScopes must all be granted (scope or scp claim); a token
	// without them is refused with insufficient_scope.
	RequiredScopes []string
}

// TokenInfo is what a verified token says beyond the principal.
type TokenInfo struct {
	Scopes   []string
	IssuedAt time.Time
	Expiry   time.Time
	ClientID string
}

// Verifier verifies bearer tokens of the configured issuers.
type Verifier struct {
	resource string
	issuers  map[string]*issuer
	order    []string
	rev      identity.Revocations
	cache    *tokenCache
	cacheTTL time.Duration
	leeway   time.Duration
	now      func() time.Time
}

type issuer struct {
	cfg       IssuerConfig
	audiences []string
	verifier  *gooidc.IDTokenVerifier
	keys      *keySet
}

type settings struct {
	rev              identity.Revocations
	client           *http.Client
	leeway           time.Duration
	now              func() time.Time
	cacheSize        int
	cacheTTL         time.Duration
	minKeyRefresh    time.Duration
	discoveryTimeout time.Duration
}

// Option tunes a Verifier.
type Option func(*settings)

// WithRevocations consults r on every verified call.
func WithRevocations(r identity.Revocations) Option { return func(s *settings) { s.rev = r } }

// WithHTTPClient fetches discovery documents and keys with c.
func WithHTTPClient(c *http.Client) Option { return func(s *settings) { s.client = c } }

// WithLeeway sets the clock skew tolerated on exp, nbf and iat (30s).
func WithLeeway(d time.Duration) Option { return func(s *settings) { s.leeway = d } }

// WithClock replaces time.Now, for tests.
func WithClock(now func() time.Time) Option { return func(s *settings) { s.now = now } }

// WithCache bounds the verified-token cache (10000 tokens for at most 5m);
// size 0 turns it off.
func WithCache(size int, ttl time.Duration) Option {
	return func(s *settings) { s.cacheSize, s.cacheTTL = size, ttl }
}

// WithKeyRefreshInterval sets how often tokens with unknown key ids may
// cause a JWKS fetch: a burst of three, then one per interval (5s); 0
// fetches for every unknown key id.
func WithKeyRefreshInterval(d time.Duration) Option {
	return func(s *settings) { s.minKeyRefresh = d }
}

// WithDiscoveryTimeout bounds how long New retries discovery (30s).
func WithDiscoveryTimeout(d time.Duration) Option {
	return func(s *settings) { s.discoveryTimeout = d }
}

// maxTokenBytes refuses absurd tokens before hashing or parsing them.
const maxTokenBytes = 16 << 10

// New discovers every issuer and fetches its keys, retrying while the IdP
// is not reachable yet, so a gateway that starts serves verified calls or
// does not start at all. resource is airlock's canonical URI, the default
// audience.
func New(ctx context.Context, resource string, issuers []IssuerConfig, opts ...Option) (*Verifier, error) {
	s := settings{
		client: &http.Client{Timeout: 10 * time.Second}, leeway: 30 * time.Second, now: time.Now,
		cacheSize: 10000, cacheTTL: 5 * time.Minute, minKeyRefresh: 5 * time.Second,
		discoveryTimeout: 30 * time.Second,
	}
	for _, o := range opts {
		o(&s)
	}
	if len(issuers) == 0 {
		return nil, errors.New("oidc: no issuer configured")
	}
	v := &Verifier{resource: resource, issuers: map[string]*issuer{}, rev: s.rev,
		cacheTTL: s.cacheTTL, leeway: s.leeway, now: s.now}
	if s.cacheSize > 0 && s.cacheTTL > 0 {
		v.cache = newTokenCache(s.cacheSize)
	}
	for _, cfg := range issuers {
		if _, dup := v.issuers[cfg.Issuer]; dup {
			return nil, fmt.Errorf("oidc: issuer %s configured twice", cfg.Issuer)
		}
		iss, err := newIssuer(ctx, resource, cfg, s)
		if err != nil {
			return nil, err
		}
		v.issuers[cfg.Issuer] = iss
		v.order = append(v.order, cfg.Issuer)
	}
	return v, nil
}

func newIssuer(ctx context.Context, resource string, cfg IssuerConfig, s settings) (*issuer, error) {
	if cfg.GroupsClaim == "" {
		cfg.GroupsClaim = "groups"
	}
	if cfg.EmailClaim == "" {
		cfg.EmailClaim = "email"
	}
	aud := cfg.Audiences
	if len(aud) == 0 {
		if resource == "" {
			return nil, fmt.Errorf("oidc: issuer %s: no audience to accept: set the resource URI or the issuer's audiences", cfg.Issuer)
		}
		aud = []string{resource}
	}
	prov, err := discover(ctx, cfg.Issuer, s)
	if err != nil {
		return nil, err
	}
	var meta struct {
		JWKSURI string `json:"jwks_uri"`
	}
	if err := prov.Claims(&meta); err != nil || meta.JWKSURI == "" {
		return nil, fmt.Errorf("oidc: issuer %s: discovery document has no jwks_uri", cfg.Issuer)
	}
	ks := &keySet{url: meta.JWKSURI, client: s.client, minRefresh: s.minKeyRefresh, now: s.now}
	// Fetching now proves the keys are reachable and keeps the first call
	// fast; a failure here stops the start rather than every call.
	ks.fetchMu.Lock()
	_, err = ks.load(ctx)
	ks.fetchMu.Unlock()
	if err != nil {
		return nil, fmt.Errorf("oidc: issuer %s: %w", cfg.Issuer, err)
	}
	return &issuer{
		cfg:       cfg,
		audiences: aud,
		keys:      ks,
		verifier: gooidc.NewVerifier(cfg.Issuer, ks, &gooidc.Config{
			// Audience and time checks are ours: several audiences may be
			// accepted, and go-oidc's nbf leeway is five minutes.
			SkipClientIDCheck:    true,
			SkipExpiryCheck:      true,
			SupportedSigningAlgs: allowedAlgNames(),
		}),
	}, nil
}

// discover fetches the issuer's discovery document, retrying with backoff
// while the IdP is unreachable; an issuer mismatch is a configuration
// error and is not retried.
func discover(ctx context.Context, iss string, s settings) (*gooidc.Provider, error) {
	ctx, cancel := context.WithTimeout(ctx, s.discoveryTimeout)
	defer cancel()
	ctx = gooidc.ClientContext(ctx, s.client)
	backoff := 200 * time.Millisecond
	for {
		prov, err := gooidc.NewProvider(ctx, iss)
		if err == nil {
			return prov, nil
		}
		if strings.Contains(err.Error(), "did not match") {
			return nil, fmt.Errorf("oidc: issuer %s: %w (the issuer must be written exactly as the IdP's discovery document and tokens write it)", iss, err)
		}
		select {
		case <-ctx.Done():
			return nil, fmt.Errorf("oidc: issuer %s: discovery: %w", iss, err)
		case <-time.After(backoff):
		}
		backoff = min(backoff*2, 2*time.Second)
	}
}

// Issuers lists the trusted issuers, in configuration order.
func (v *Verifier) Issuers() []string { return slices.Clone(v.order) }

// Scopes lists every scope some issuer requires, for protected resource
// metadata and WWW-Authenticate.
func (v *Verifier) Scopes() []string {
	var out []string
	for _, iss := range v.issuers {
		out = append(out, iss.cfg.RequiredScopes...)
	}
	sort.Strings(out)
	return slices.Compact(out)
}

func invalid(reason string, err error) error {
	return &identity.TokenError{Kind: identity.ErrInvalidToken, Reason: reason, Err: err}
}

// Verify checks raw and returns its principal. Refused tokens give a
// *identity.TokenError (invalid token or insufficient scope); any other
// error means the answer could not be established (keys unreachable,
// revocation store down) and the call must be refused all the same.
func (v *Verifier) Verify(ctx context.Context, raw string) (identity.Principal, TokenInfo, error) {
	if raw == "" {
		return identity.Principal{}, TokenInfo{}, invalid("no token", nil)
	}
	if len(raw) > maxTokenBytes {
		return identity.Principal{}, TokenInfo{}, invalid("token too large", nil)
	}
	now := v.now()
	key := sha256.Sum256([]byte(raw))
	e, ok := v.cache.get(key, now)
	if !ok {
		var err error
		if e, err = v.verify(ctx, raw, now); err != nil {
			return identity.Principal{}, TokenInfo{}, err
		}
		v.cache.put(key, e, now)
	}
	// Revocation is never cached: it must bite on the very next call.
	if v.rev != nil {
		revoked, reason, err := v.rev.IsRevoked(ctx, e.p.Subject, e.info.IssuedAt)
		if err != nil {
			return identity.Principal{}, TokenInfo{}, fmt.Errorf("oidc: verify: revocation check: %w", err)
		}
		if revoked {
			return identity.Principal{}, TokenInfo{}, &identity.TokenError{Kind: identity.ErrInvalidToken,
				Reason: "subject revoked", Err: fmt.Errorf("%w: %s", identity.ErrRevoked, reason)}
		}
	}
	if len(e.need) > 0 {
		return identity.Principal{}, TokenInfo{}, &identity.TokenError{Kind: identity.ErrInsufficientScope,
			Reason: "missing scope " + strings.Join(e.need, " "), Scopes: e.need}
	}
	return e.p, e.info, nil
}

func (v *Verifier) verify(ctx context.Context, raw string, now time.Time) (cacheEntry, error) {
	issName, ok := peekIssuer(raw)
	if !ok {
		return cacheEntry{}, invalid("malformed token", nil)
	}
	iss, ok := v.issuers[issName]
	if !ok {
		return cacheEntry{}, invalid("untrusted issuer", fmt.Errorf("issuer %q is not configured", issName))
	}
	jws, err := jose.ParseSignedCompact(raw, allowedAlgs)
	if err != nil {
		if alg := peekAlg(raw); alg != "" && !algAllowed(alg) {
			return cacheEntry{}, invalid("signing algorithm not accepted", fmt.Errorf("alg %q", alg))
		}
		return cacheEntry{}, invalid("malformed token", err)
	}
	st := &callState{jws: jws}
	tok, err := iss.verifier.Verify(context.WithValue(ctx, callStateKey{}, st), raw)
	if err != nil {
		switch {
		case errors.Is(st.fail, errUnknownKey):
			return cacheEntry{}, invalid("unknown signing key", err)
		case errors.Is(st.fail, errBadSignature):
			return cacheEntry{}, invalid("bad signature", err)
		case st.fail != nil:
			// The keys could not be fetched: not the caller's fault.
			return cacheEntry{}, fmt.Errorf("oidc: verify: %w", st.fail)
		}
		return cacheEntry{}, invalid("rejected", err)
	}
	var payload json.RawMessage
	if err := tok.Claims(&payload); err != nil {
		return cacheEntry{}, invalid("malformed claims", err)
	}
	c, err := parseClaims(payload)
	if err != nil {
		return cacheEntry{}, invalid("malformed claims", err)
	}
	if err := v.checkTimes(c, now); err != nil {
		return cacheEntry{}, err
	}
	if c.Subject == "" {
		return cacheEntry{}, invalid("no subject", nil)
	}
	if !slices.ContainsFunc(c.Audience, func(a string) bool { return slices.Contains(iss.audiences, a) }) {
		return cacheEntry{}, invalid("wrong audience", fmt.Errorf("token audience %q, accepted %q", []string(c.Audience), iss.audiences))
	}
	granted := c.scopes()
	var need []string
	for _, s := range iss.cfg.RequiredScopes {
		if !slices.Contains(granted, s) {
			need = append(need, s)
		}
	}
	p := iss.principal(c)
	exp := c.Expiry.time()
	until := now.Add(v.cacheTTL)
	if exp.Before(until) {
		until = exp
	}
	return cacheEntry{p: p, need: need, until: until, info: TokenInfo{
		Scopes: granted, IssuedAt: optTime(c.IssuedAt), Expiry: exp, ClientID: p.ClientID,
	}}, nil
}

// checkTimes applies exp, nbf and iat with the leeway. A token without exp
// is refused: it would be valid forever.
func (v *Verifier) checkTimes(c *claims, now time.Time) error {
	if c.Expiry == nil {
		return invalid("no expiry", nil)
	}
	if exp := c.Expiry.time(); !now.Before(exp.Add(v.leeway)) {
		return invalid("expired", fmt.Errorf("expired at %s", exp.Format(time.RFC3339)))
	}
	if c.NotBefore != nil {
		if nbf := c.NotBefore.time(); now.Add(v.leeway).Before(nbf) {
			return invalid("not yet valid", fmt.Errorf("valid from %s", nbf.Format(time.RFC3339)))
		}
	}
	if c.IssuedAt != nil {
		if iat := c.IssuedAt.time(); now.Add(v.leeway).Before(iat) {
			return invalid("issued in the future", fmt.Errorf("issued at %s", iat.Format(time.RFC3339)))
		}
	}
	return nil
}

// peekAlg reads the alg of a token's header, for the refusal message.
func peekAlg(raw string) string {
	head, _, ok := strings.Cut(raw, ".")
	if !ok {
		return ""
	}
	b, err := base64.RawURLEncoding.DecodeString(head)
	if err != nil {
		return ""
	}
	var h struct {
		Alg string `json:"alg"`
	}
	if json.Unmarshal(b, &h) != nil {
		return ""
	}
	return h.Alg
}
