package oidc_test

import (
	"context"
	"errors"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	jose "github.com/go-jose/go-jose/v4"

	"github.com/airlockhq/airlock/internal/identity"
	"github.com/airlockhq/airlock/internal/identity/oidc"
	"github.com/airlockhq/airlock/internal/testenv"
)

const resource = "https://airlock.test/mcp"

func newVerifier(t testing.TB, op *testenv.OP, cfg oidc.IssuerConfig, opts ...oidc.Option) *oidc.Verifier {
	t.Helper()
	cfg.Issuer = op.Issuer()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	v, err := oidc.New(ctx, resource, []oidc.IssuerConfig{cfg}, opts...)
	if err != nil {
		t.Fatalf("oidc.New: %v", err)
	}
	return v
}

func tokenErr(t *testing.T, err error, kind error) *identity.TokenError {
	t.Helper()
	var te *identity.TokenError
	if !errors.As(err, &te) || !errors.Is(err, kind) {
		t.Fatalf("want a token error of kind %v, got %v", kind, err)
	}
	return te
}

func TestClientCredentialsTokenAccepted(t *testing.T) {
	op := testenv.OIDC(t)
	op.AddService("svc-agent", "svc-secret", []string{"agents"})
	v := newVerifier(t, op, oidc.IssuerConfig{Audiences: []string{"svc-agent"}})
	tok := op.ClientCredentialsToken(t, "svc-agent", "svc-secret", "airlock")
	p, info, err := v.Verify(context.Background(), tok)
	if err != nil {
		t.Fatalf("verify: %v", err)
	}
	if p.Subject != "svc-agent" || p.Issuer != op.Issuer() || !p.Verified || p.ClientID != "svc-agent" ||
		!slices.Equal(p.Groups, []string{"agents"}) {
		t.Fatalf("principal %+v", p)
	}
	if !slices.Contains(info.Scopes, "airlock") || info.Expiry.Before(time.Now()) || info.IssuedAt.IsZero() {
		t.Fatalf("token info %+v", info)
	}
}

func TestDeviceFlowTokenAcceptedWithRoleMap(t *testing.T) {
	op := testenv.OIDC(t)
	v := newVerifier(t, op, oidc.IssuerConfig{Audiences: []string{testenv.DeviceClientID},
		RoleMap: map[string][]string{"dba": {"dba", "approvers"}}})
	tok := op.DeviceFlowToken(t, "alice", "alice-pw", "openid", "email", "airlock")
	p, _, err := v.Verify(context.Background(), tok.AccessToken)
	if err != nil {
		t.Fatalf("verify: %v", err)
	}
	// "payments" is not in the role map, so it does not reach airlock.
	if p.Subject != "alice" || p.Email != "alice@example.com" || !slices.Equal(p.Groups, []string{"approvers", "dba"}) ||
		p.ClientID != testenv.DeviceClientID {
		t.Fatalf("principal %+v", p)
	}
}

func TestResourceIsTheDefaultAudience(t *testing.T) {
	op := testenv.OIDC(t)
	op.AddService("for-airlock", "s1", nil, resource)
	op.AddService("for-itself", "s2", nil)
	v := newVerifier(t, op, oidc.IssuerConfig{})
	if _, _, err := v.Verify(context.Background(), op.ClientCredentialsToken(t, "for-airlock", "s1")); err != nil {
		t.Fatalf("a token for our resource: %v", err)
	}
	_, _, err := v.Verify(context.Background(), op.ClientCredentialsToken(t, "for-itself", "s2"))
	if te := tokenErr(t, err, identity.ErrInvalidToken); te.Reason != "wrong audience" {
		t.Fatalf("reason %q", te.Reason)
	}
}

func TestBadTokensAreRefused(t *testing.T) {
	op := testenv.OIDC(t)
	other := testenv.OIDC(t)
	v := newVerifier(t, op, oidc.IssuerConfig{}, oidc.WithKeyRefreshInterval(0))
	kid, _ := op.SigningKey()
	claims := func(change func(c map[string]any)) map[string]any {
		c := op.Claims("mallory", resource)
		if change != nil {
			change(c)
		}
		return c
	}
	good := op.Sign(t, claims(nil))
	if _, _, err := v.Verify(context.Background(), good); err != nil {
		t.Fatalf("the control token is refused: %v", err)
	}
	hour := time.Hour
	for _, tc := range []struct {
		name, token, reason string
	}{
		{"expired", op.Sign(t, claims(func(c map[string]any) {
			c["exp"], c["iat"], c["nbf"] = time.Now().Add(-hour).Unix(), time.Now().Add(-2*hour).Unix(), time.Now().Add(-2*hour).Unix()
		})), "expired"},
		{"not yet valid", op.Sign(t, claims(func(c map[string]any) { c["nbf"] = time.Now().Add(10 * time.Minute).Unix() })), "not yet valid"},
		{"issued in the future", op.Sign(t, claims(func(c map[string]any) { c["iat"] = time.Now().Add(10 * time.Minute).Unix() })), "issued in the future"},
		{"no expiry", op.Sign(t, claims(func(c map[string]any) { delete(c, "exp") })), "no expiry"},
		{"no subject", op.Sign(t, claims(func(c map[string]any) { delete(c, "sub") })), "no subject"},
		{"wrong audience", op.Sign(t, claims(func(c map[string]any) { c["aud"] = []string{"https://other.test/mcp"} })), "wrong audience"},
		{"wrong issuer", op.Sign(t, claims(func(c map[string]any) { c["iss"] = "https://idp.evil.test" })), "untrusted issuer"},
		{"another real issuer", other.Sign(t, other.Claims("mallory", resource)), "untrusted issuer"},
		{"another issuer's key, our iss", func() string {
			okid, okey := other.SigningKey()
			return testenv.SignToken(t, jose.RS256, okey, okid, claims(nil))
		}(), "unknown signing key"},
		{"unknown key", testenv.SignToken(t, jose.RS256, testenv.NewRSAKey(t), "no-such-kid", claims(nil)), "unknown signing key"},
		{"our kid, another key", testenv.SignToken(t, jose.RS256, testenv.NewRSAKey(t), kid, claims(nil)), "bad signature"},
		{"alg none", testenv.UnsignedToken(claims(nil)), "signing algorithm not accepted"},
		{"HS256 with the public key", op.HS256WithPublicKey(t, claims(nil)), "signing algorithm not accepted"},
		{"tampered payload", testenv.Tamper(good, claims(func(c map[string]any) { c["sub"] = "admin" })), "bad signature"},
		{"garbage", "not.a.token", "malformed token"},
		{"empty", "", "no token"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p, _, err := v.Verify(context.Background(), tc.token)
			if err == nil {
				t.Fatalf("accepted as %+v", p)
			}
			if te := tokenErr(t, err, identity.ErrInvalidToken); te.Reason != tc.reason {
				t.Fatalf("reason %q, want %q (%v)", te.Reason, tc.reason, err)
			}
			if tc.token != "" && strings.Contains(err.Error(), tc.token) {
				t.Fatal("the error carries the token")
			}
		})
	}
}

func TestInsufficientScope(t *testing.T) {
	op := testenv.OIDC(t)
	op.AddService("svc", "s", nil)
	v := newVerifier(t, op, oidc.IssuerConfig{Audiences: []string{"svc"}, RequiredScopes: []string{"airlock"}})
	_, _, err := v.Verify(context.Background(), op.ClientCredentialsToken(t, "svc", "s", "other"))
	if te := tokenErr(t, err, identity.ErrInsufficientScope); !slices.Equal(te.Scopes, []string{"airlock"}) {
		t.Fatalf("scopes %v", te.Scopes)
	}
	if _, _, err := v.Verify(context.Background(), op.ClientCredentialsToken(t, "svc", "s", "airlock")); err != nil {
		t.Fatalf("a token with the scope: %v", err)
	}
	if got := v.Scopes(); !slices.Equal(got, []string{"airlock"}) {
		t.Fatalf("Scopes() = %v", got)
	}
}

func TestKeyRotationIsFollowed(t *testing.T) {
	op := testenv.OIDC(t)
	op.AddService("svc", "s", nil)
	v := newVerifier(t, op, oidc.IssuerConfig{Audiences: []string{"svc"}}, oidc.WithCache(0, 0))
	before := op.ClientCredentialsToken(t, "svc", "s")
	if _, _, err := v.Verify(context.Background(), before); err != nil {
		t.Fatal(err)
	}
	if err := op.RotateKeys(); err != nil {
		t.Fatal(err)
	}
	op.DropOldKeys()
	after := op.ClientCredentialsToken(t, "svc", "s")
	if _, _, err := v.Verify(context.Background(), after); err != nil {
		t.Fatalf("a token signed with the new key: %v", err)
	}
	// The refetched key set no longer holds the old key.
	_, _, err := v.Verify(context.Background(), before)
	tokenErr(t, err, identity.ErrInvalidToken)
}

// countingClient counts requests to the JWKS.
func countingClient(n *atomic.Int64) *http.Client {
	return &http.Client{Timeout: 10 * time.Second, Transport: roundTrip(func(r *http.Request) (*http.Response, error) {
		if strings.Contains(r.URL.Path, "keys") {
			n.Add(1)
		}
		return http.DefaultTransport.RoundTrip(r)
	})}
}

type roundTrip func(*http.Request) (*http.Response, error)

func (f roundTrip) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }

func TestForgedKeyIDsCannotFloodTheIdP(t *testing.T) {
	op := testenv.OIDC(t)
	var fetches atomic.Int64
	v := newVerifier(t, op, oidc.IssuerConfig{}, oidc.WithHTTPClient(countingClient(&fetches)),
		oidc.WithKeyRefreshInterval(time.Hour))
	start := fetches.Load()
	kid, _ := op.SigningKey()
	stranger := testenv.NewRSAKey(t)
	for range 20 {
		// Known key id, wrong signature: never a fetch.
		_, _, _ = v.Verify(context.Background(), testenv.SignToken(t, jose.RS256, stranger, kid, op.Claims("m", resource)))
	}
	if got := fetches.Load() - start; got != 0 {
		t.Fatalf("tampered tokens caused %d JWKS fetches", got)
	}
	for i := range 20 {
		_, _, _ = v.Verify(context.Background(), testenv.SignToken(t, jose.RS256, stranger, "kid-"+string(rune('a'+i)), op.Claims("m", resource)))
	}
	if got := fetches.Load() - start; got != 3 {
		t.Fatalf("20 unknown key ids caused %d JWKS fetches, want the burst of 3", got)
	}
}

func TestRevocationBitesOnTheNextCallEvenWhenCached(t *testing.T) {
	op := testenv.OIDC(t)
	rev := &identity.MemoryRevocations{}
	v := newVerifier(t, op, oidc.IssuerConfig{}, oidc.WithRevocations(rev))
	old := op.Claims("carol", resource)
	old["iat"] = time.Now().Add(-time.Minute).Unix()
	tok := op.Sign(t, old)
	for range 2 { // the second one is a cache hit
		if _, _, err := v.Verify(context.Background(), tok); err != nil {
			t.Fatal(err)
		}
	}
	rev.Revoke("carol", "laptop stolen", time.Now().Add(-30*time.Second))
	_, _, err := v.Verify(context.Background(), tok)
	tokenErr(t, err, identity.ErrInvalidToken)
	if !errors.Is(err, identity.ErrRevoked) || !strings.Contains(err.Error(), "laptop stolen") {
		t.Fatalf("err %v", err)
	}
	rev.Unrevoke("carol")
	if _, _, err := v.Verify(context.Background(), tok); !errors.Is(err, identity.ErrRevoked) {
		t.Fatalf("a token issued before the revocation came back after un-revoke: %v", err)
	}
	if _, _, err := v.Verify(context.Background(), op.Sign(t, op.Claims("carol", resource))); err != nil {
		t.Fatalf("a new token after un-revoke: %v", err)
	}
}

type brokenRevocations struct{}

func (brokenRevocations) IsRevoked(context.Context, string, time.Time) (bool, string, error) {
	return false, "", errors.New("store unreachable")
}

func TestRevocationStoreErrorFailsClosed(t *testing.T) {
	op := testenv.OIDC(t)
	v := newVerifier(t, op, oidc.IssuerConfig{}, oidc.WithRevocations(brokenRevocations{}))
	_, _, err := v.Verify(context.Background(), op.Sign(t, op.Claims("dave", resource)))
	var te *identity.TokenError
	if err == nil || errors.As(err, &te) || !strings.Contains(err.Error(), "store unreachable") {
		t.Fatalf("want an outage error, got %v", err)
	}
}

func TestCacheEntryEndsWithTheToken(t *testing.T) {
	op := testenv.OIDC(t)
	now := time.Now()
	var offset atomic.Int64
	clock := func() time.Time { return now.Add(time.Duration(offset.Load())) }
	v := newVerifier(t, op, oidc.IssuerConfig{}, oidc.WithClock(clock), oidc.WithLeeway(0))
	c := op.Claims("erin", resource)
	c["exp"] = now.Add(time.Minute).Unix()
	tok := op.Sign(t, c)
	if _, _, err := v.Verify(context.Background(), tok); err != nil {
		t.Fatal(err)
	}
	offset.Store(int64(2 * time.Minute))
	_, _, err := v.Verify(context.Background(), tok)
	if te := tokenErr(t, err, identity.ErrInvalidToken); te.Reason != "expired" {
		t.Fatalf("reason %q", te.Reason)
	}
}

func TestDiscoveryFailures(t *testing.T) {
	op := testenv.OIDC(t)
	ctx := context.Background()
	_, err := oidc.New(ctx, resource, []oidc.IssuerConfig{{Issuer: op.Issuer() + "/"}}, oidc.WithDiscoveryTimeout(5*time.Second))
	if err == nil || !strings.Contains(err.Error(), "exactly") {
		t.Fatalf("issuer with a stray slash: %v", err)
	}
	start := time.Now()
	_, err = oidc.New(ctx, resource, []oidc.IssuerConfig{{Issuer: "http://127.0.0.1:1"}}, oidc.WithDiscoveryTimeout(time.Second))
	if err == nil || time.Since(start) > 10*time.Second {
		t.Fatalf("unreachable issuer: %v after %s", err, time.Since(start))
	}
	if _, err := oidc.New(ctx, "", []oidc.IssuerConfig{{Issuer: op.Issuer()}}); err == nil || !strings.Contains(err.Error(), "audience") {
		t.Fatalf("no resource and no audiences: %v", err)
	}
}

func TestTokenSourceReadsTheFileOnEveryCall(t *testing.T) {
	op := testenv.OIDC(t)
	v := newVerifier(t, op, oidc.IssuerConfig{})
	path := filepath.Join(t.TempDir(), "token")
	write := func(sub string) {
		if err := os.WriteFile(path, []byte(op.Sign(t, op.Claims(sub, resource))+"\n"), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	src := oidc.TokenSource{V: v, Read: oidc.FileToken(path)}
	write("frank")
	if p, err := src.Principal(context.Background()); err != nil || p.Subject != "frank" {
		t.Fatalf("%+v %v", p, err)
	}
	write("grace")
	if p, err := src.Principal(context.Background()); err != nil || p.Subject != "grace" {
		t.Fatalf("%+v %v", p, err)
	}
	if err := os.WriteFile(path, []byte(testenv.UnsignedToken(op.Claims("frank", resource))), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := src.Principal(context.Background()); !errors.Is(err, identity.ErrInvalidToken) {
		t.Fatalf("a bad token in the file: %v", err)
	}
}

func TestSeveralIssuers(t *testing.T) {
	people, workloads := testenv.OIDC(t), testenv.OIDC(t)
	workloads.AddService("etl-agent", "s", []string{"batch"})
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	v, err := oidc.New(ctx, resource, []oidc.IssuerConfig{
		{Issuer: people.Issuer(), Audiences: []string{testenv.DeviceClientID}, RoleMap: map[string][]string{"dba": {"dba"}}},
		{Issuer: workloads.Issuer(), Audiences: []string{"etl-agent"}, RequiredScopes: []string{"airlock"}},
	})
	if err != nil {
		t.Fatal(err)
	}
	if got := v.Issuers(); len(got) != 2 || got[0] != people.Issuer() {
		t.Fatalf("Issuers() = %v", got)
	}
	p, _, err := v.Verify(ctx, people.DeviceFlowToken(t, "alice", "alice-pw", "openid").AccessToken)
	if err != nil || p.Issuer != people.Issuer() || !slices.Equal(p.Groups, []string{"dba"}) {
		t.Fatalf("person: %+v %v", p, err)
	}
	p, _, err = v.Verify(ctx, workloads.ClientCredentialsToken(t, "etl-agent", "s", "airlock"))
	if err != nil || p.Issuer != workloads.Issuer() || p.Subject != "etl-agent" || !slices.Equal(p.Groups, []string{"batch"}) {
		t.Fatalf("workload: %+v %v", p, err)
	}
	// Each issuer's rules stay its own: the people issuer requires no
	// scope, the workload one does.
	_, _, err = v.Verify(ctx, workloads.ClientCredentialsToken(t, "etl-agent", "s"))
	tokenErr(t, err, identity.ErrInsufficientScope)
	// A token of one issuer signed with the other's key is refused.
	kid, key := workloads.SigningKey()
	forged := testenv.SignToken(t, jose.RS256, key, kid, people.Claims("alice", testenv.DeviceClientID))
	_, _, err = v.Verify(ctx, forged)
	tokenErr(t, err, identity.ErrInvalidToken)
}
