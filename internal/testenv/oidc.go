package testenv

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	jose "github.com/go-jose/go-jose/v4"
	"github.com/zitadel/oidc/v3/example/server/exampleop"
	"github.com/zitadel/oidc/v3/example/server/storage"
	zoidc "github.com/zitadel/oidc/v3/pkg/oidc"
	"github.com/zitadel/oidc/v3/pkg/op"
	"golang.org/x/text/language"
)

// The device-flow client every test OP knows. storage.RegisterClients
// writes a package-global map, so it is registered once per process.
const (
	DeviceClientID     = "airlock-cli"
	DeviceClientSecret = "airlock-cli-secret"
	// GatewayScope is the scope the tests' gateways require.
	GatewayScope = "airlock"
	// NativeClientID is a public client for the authorization code flow
	// with PKCE, redirecting to any port of 127.0.0.1 (RFC 8252).
	NativeClientID = "airlock-cli-native"
)

var registerOnce sync.Once

// OP is a real OpenID provider (zitadel/oidc's example OP) serving on
// loopback for one test. It issues JWT access tokens for client
// credentials and the device flow, with "scope", "email" and "groups"
// claims, and can rotate its signing key.
type OP struct {
	issuer string
	st     *opStorage
	srv    *http.Server
}

// OPUser is a person who can log in at the OP.
type OPUser struct {
	Username, Password, Email string
	Groups                    []string
}

// OIDC starts a fresh OP for t and stops it when t ends. It knows the
// users alice (password alice-pw, groups dba and payments) and bob
// (bob-pw, no groups), the device client DeviceClientID and the native
// client NativeClientID.
func OIDC(t testing.TB) *OP {
	t.Helper()
	registerOnce.Do(func() {
		storage.RegisterClients(storage.DeviceClient(DeviceClientID, DeviceClientSecret),
			storage.NativeClient(NativeClientID, "http://127.0.0.1/callback"))
	})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("testenv: oidc: %v", err)
	}
	issuer := "http://" + ln.Addr().String()
	users := &userStore{users: map[string]*OPUser{}}
	st := &opStorage{Storage: storage.NewStorage(users), users: users, services: map[string]service{}}
	if err := st.RotateKeys(); err != nil {
		t.Fatalf("testenv: oidc: %v", err)
	}
	o := &OP{issuer: issuer, st: st}
	o.AddUser(OPUser{Username: "alice", Password: "alice-pw", Email: "alice@example.com", Groups: []string{"dba", "payments"}})
	o.AddUser(OPUser{Username: "bob", Password: "bob-pw", Email: "bob@example.com"})
	// The example OP logs through slog's default logger; tests read zap.
	handler := exampleop.SetupServer(issuer, st, slog.New(slog.DiscardHandler), false)
	o.srv = &http.Server{Handler: handler, ReadHeaderTimeout: 10 * time.Second}
	go func() { _ = o.srv.Serve(ln) }()
	t.Cleanup(func() { _ = o.srv.Close() })
	return o
}

// Issuer is the OP's issuer identifier (no trailing slash).
func (o *OP) Issuer() string { return o.issuer }

// AddUser adds (or replaces) a user who can log in with the device flow.
func (o *OP) AddUser(u OPUser) { o.st.users.add(u) }

// AddService registers a client-credentials client. Its tokens' audience
// is audience, or the client id when none is given (as many IdPs do).
func (o *OP) AddService(clientID, secret string, groups []string, audience ...string) {
	if len(audience) == 0 {
		audience = []string{clientID}
	}
	o.st.mu.Lock()
	defer o.st.mu.Unlock()
	o.st.services[clientID] = service{secret: secret, audience: audience, groups: groups}
}

// RotateKeys makes a new signing key current. The previous keys stay in
// the JWKS (as at real IdPs during a rotation) until DropOldKeys.
func (o *OP) RotateKeys() error { return o.st.RotateKeys() }

// DropOldKeys removes every key but the current one from the JWKS.
func (o *OP) DropOldKeys() {
	o.st.mu.Lock()
	defer o.st.mu.Unlock()
	o.st.keys = o.st.keys[len(o.st.keys)-1:]
}

// SigningKey returns the current signing key and its key id, for minting
// tokens the OP would never issue (expired, wrong audience, ...).
func (o *OP) SigningKey() (kid string, key *rsa.PrivateKey) {
	k := o.st.current()
	return k.id, k.key
}

// --- storage wrapper ------------------------------------------------------

type service struct {
	secret   string
	audience []string
	groups   []string
}

// opStorage wraps the example storage: JWT access tokens with scope,
// email and groups claims; client-credentials clients of our own; and a
// signing key that can rotate.
type opStorage struct {
	*storage.Storage
	users *userStore

	mu       sync.Mutex
	keys     []*signKey // last is current
	services map[string]service
}

type signKey struct {
	id  string
	key *rsa.PrivateKey
}

func (k *signKey) SignatureAlgorithm() jose.SignatureAlgorithm { return jose.RS256 }
func (k *signKey) Key() any                                    { return k.key }
func (k *signKey) ID() string                                  { return k.id }

type pubKey struct{ k *signKey }

func (p pubKey) ID() string                         { return p.k.id }
func (p pubKey) Algorithm() jose.SignatureAlgorithm { return jose.RS256 }
func (p pubKey) Use() string                        { return "sig" }
func (p pubKey) Key() any                           { return &p.k.key.PublicKey }

func (s *opStorage) RotateKeys() error {
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		return err
	}
	id := make([]byte, 8)
	_, _ = rand.Read(id)
	s.mu.Lock()
	defer s.mu.Unlock()
	s.keys = append(s.keys, &signKey{id: fmt.Sprintf("k%x", id), key: key})
	return nil
}

func (s *opStorage) current() *signKey {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.keys[len(s.keys)-1]
}

// SigningKey implements op.Storage.
func (s *opStorage) SigningKey(context.Context) (op.SigningKey, error) { return s.current(), nil }

// SignatureAlgorithms implements op.Storage.
func (s *opStorage) SignatureAlgorithms(context.Context) ([]jose.SignatureAlgorithm, error) {
	return []jose.SignatureAlgorithm{jose.RS256}, nil
}

// KeySet implements op.Storage: every key not yet dropped.
func (s *opStorage) KeySet(context.Context) ([]op.Key, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]op.Key, len(s.keys))
	for i, k := range s.keys {
		out[i] = pubKey{k}
	}
	return out, nil
}

// jwtClient makes a client issue JWT access tokens with the given grants.
type jwtClient struct {
	op.Client
	grants []zoidc.GrantType
}

func (c jwtClient) AccessTokenType() op.AccessTokenType { return op.AccessTokenTypeJWT }
func (c jwtClient) GrantTypes() []zoidc.GrantType       { return c.grants }

// IsScopeAllowed lets clients ask for the gateway's scope, which the
// authorization endpoint would otherwise drop as unknown.
func (c jwtClient) IsScopeAllowed(scope string) bool {
	return scope == GatewayScope || c.Client.IsScopeAllowed(scope)
}

// GetClientByClientID implements op.Storage; the device client may also
// refresh its tokens.
func (s *opStorage) GetClientByClientID(ctx context.Context, id string) (op.Client, error) {
	c, err := s.Storage.GetClientByClientID(ctx, id)
	if err != nil {
		return nil, err
	}
	return jwtClient{Client: c, grants: slices.Concat(c.GrantTypes(), []zoidc.GrantType{zoidc.GrantTypeRefreshToken})}, nil
}

// deviceRefresh names the client of a device-flow refresh token, which
// the example storage forgets (it records the client of code-flow grants
// only), so the OP would refuse every refresh with invalid_grant.
type deviceRefresh struct{ op.RefreshTokenRequest }

func (r deviceRefresh) GetClientID() string { return DeviceClientID }

// TokenRequestByRefreshToken implements op.Storage.
func (s *opStorage) TokenRequestByRefreshToken(ctx context.Context, token string) (op.RefreshTokenRequest, error) {
	r, err := s.Storage.TokenRequestByRefreshToken(ctx, token)
	if err != nil || r.GetClientID() != "" {
		return r, err
	}
	return deviceRefresh{r}, nil
}

// ClientCredentials implements op.ClientCredentialsStorage.
func (s *opStorage) ClientCredentials(_ context.Context, id, secret string) (op.Client, error) {
	s.mu.Lock()
	svc, ok := s.services[id]
	s.mu.Unlock()
	if !ok || svc.secret != secret {
		return nil, errors.New("wrong client id or secret")
	}
	return jwtClient{Client: storage.WebClient(id, secret), grants: []zoidc.GrantType{zoidc.GrantTypeClientCredentials}}, nil
}

// ClientCredentialsTokenRequest implements op.ClientCredentialsStorage.
func (s *opStorage) ClientCredentialsTokenRequest(_ context.Context, id string, scopes []string) (op.TokenRequest, error) {
	s.mu.Lock()
	svc, ok := s.services[id]
	s.mu.Unlock()
	if !ok {
		return nil, errors.New("wrong client id")
	}
	return &zoidc.JWTTokenRequest{Subject: id, Audience: svc.audience, Scopes: scopes}, nil
}

// GetPrivateClaimsFromRequest implements op.CanGetPrivateClaimsFromRequest:
// the claims a resource server reads from an access token.
func (s *opStorage) GetPrivateClaimsFromRequest(_ context.Context, req op.TokenRequest, _ []string) (map[string]any, error) {
	claims := map[string]any{"scope": strings.Join(req.GetScopes(), " ")}
	if u := s.users.get(req.GetSubject()); u != nil {
		claims["email"] = u.Email
		claims["groups"] = u.Groups
		return claims, nil
	}
	s.mu.Lock()
	svc, ok := s.services[req.GetSubject()]
	s.mu.Unlock()
	if ok && svc.groups != nil {
		claims["groups"] = svc.groups
	}
	return claims, nil
}

// userStore is a storage.UserStore whose IDs are the user names: the
// device flow stores the name as the subject and looks it up by ID.
type userStore struct {
	mu    sync.Mutex
	users map[string]*OPUser
}

func (u *userStore) add(user OPUser) {
	u.mu.Lock()
	defer u.mu.Unlock()
	u.users[user.Username] = &user
}

func (u *userStore) get(name string) *OPUser {
	u.mu.Lock()
	defer u.mu.Unlock()
	return u.users[name]
}

func (u *userStore) GetUserByID(id string) *storage.User { return u.GetUserByUsername(id) }

func (u *userStore) GetUserByUsername(name string) *storage.User {
	user := u.get(name)
	if user == nil {
		return nil
	}
	return &storage.User{ID: user.Username, Username: user.Username, Password: user.Password,
		Email: user.Email, EmailVerified: true, FirstName: user.Username, LastName: "Test",
		PreferredLanguage: language.English}
}

func (u *userStore) ExampleClientID() string { return "service" }
