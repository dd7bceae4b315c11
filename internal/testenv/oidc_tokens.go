package testenv

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"strings"
	"testing"
	"time"

	jose "github.com/go-jose/go-jose/v4"
	"golang.org/x/oauth2"
	"golang.org/x/oauth2/clientcredentials"
)

// Endpoints are the OP's OAuth endpoints, from its discovery document.
type Endpoints struct {
	Token, DeviceAuthorization, JWKS string
}

// Endpoints reads the OP's discovery document.
func (o *OP) Endpoints(t testing.TB) Endpoints {
	t.Helper()
	resp, err := http.Get(o.issuer + "/.well-known/openid-configuration")
	if err != nil {
		t.Fatalf("testenv: oidc discovery: %v", err)
	}
	defer resp.Body.Close()
	var d struct {
		Token  string `json:"token_endpoint"`
		Device string `json:"device_authorization_endpoint"`
		JWKS   string `json:"jwks_uri"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&d); err != nil {
		t.Fatalf("testenv: oidc discovery: %v", err)
	}
	return Endpoints{Token: d.Token, DeviceAuthorization: d.Device, JWKS: d.JWKS}
}

// ClientCredentialsToken gets an access token for a service registered
// with AddService.
func (o *OP) ClientCredentialsToken(t testing.TB, clientID, secret string, scopes ...string) string {
	t.Helper()
	cfg := clientcredentials.Config{ClientID: clientID, ClientSecret: secret,
		TokenURL: o.Endpoints(t).Token, Scopes: scopes}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	tok, err := cfg.Token(ctx)
	if err != nil {
		t.Fatalf("testenv: client credentials for %s: %v", clientID, err)
	}
	return tok.AccessToken
}

// DeviceConfig is the OAuth configuration of the device client.
func (o *OP) DeviceConfig(t testing.TB, scopes ...string) *oauth2.Config {
	e := o.Endpoints(t)
	return &oauth2.Config{ClientID: DeviceClientID, ClientSecret: DeviceClientSecret, Scopes: scopes,
		Endpoint: oauth2.Endpoint{TokenURL: e.Token, DeviceAuthURL: e.DeviceAuthorization, AuthStyle: oauth2.AuthStyleInHeader}}
}

// DeviceFlowToken runs the whole device authorization grant headlessly:
// the device asks for a code, the user logs in and approves, the device
// polls for the token.
func (o *OP) DeviceFlowToken(t testing.TB, username, password string, scopes ...string) *oauth2.Token {
	t.Helper()
	cfg := o.DeviceConfig(t, scopes...)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	da, err := cfg.DeviceAuth(ctx)
	if err != nil {
		t.Fatalf("testenv: device authorization: %v", err)
	}
	o.ApproveDevice(t, da.UserCode, username, password)
	da.Interval = 1
	tok, err := cfg.DeviceAccessToken(ctx, da)
	if err != nil {
		t.Fatalf("testenv: device access token: %v", err)
	}
	return tok
}

// ApproveDevice plays the user at the OP's device pages: log in with
// the user code, then allow.
func (o *OP) ApproveDevice(t testing.TB, userCode, username, password string) {
	t.Helper()
	jar, _ := cookiejar.New(nil)
	c := &http.Client{Jar: jar, Timeout: 10 * time.Second}
	post := func(path string, form url.Values) string {
		resp, err := c.PostForm(o.issuer+path, form)
		if err != nil {
			t.Fatalf("testenv: device %s: %v", path, err)
		}
		defer resp.Body.Close()
		body, _ := io.ReadAll(resp.Body)
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("testenv: device %s: %s: %s", path, resp.Status, body)
		}
		return string(body)
	}
	post("/device/login", url.Values{"user_code": {userCode}, "username": {username}, "password": {password}})
	if body := post("/device/confirm", url.Values{"action": {"allowed"}}); !strings.Contains(body, "allowed") {
		t.Fatalf("testenv: device confirm: %s", body)
	}
}

// BrowserLogin plays a person's browser in the authorization code flow:
// it opens authURL, logs in at the OP's login page as username, and
// follows the redirects back to the client's redirect URI. It returns
// the status and body of that last response.
func (o *OP) BrowserLogin(t testing.TB, authURL, username, password string) (int, string) {
	t.Helper()
	jar, _ := cookiejar.New(nil)
	c := &http.Client{Jar: jar, Timeout: 10 * time.Second}
	resp, err := c.Get(authURL)
	if err != nil {
		t.Fatalf("testenv: browser: authorize: %v", err)
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	id := resp.Request.URL.Query().Get("authRequestID")
	if resp.StatusCode != http.StatusOK || id == "" {
		t.Fatalf("testenv: browser: authorize ended at %s (%s), not the login page", resp.Request.URL, resp.Status)
	}
	resp, err = c.PostForm(o.issuer+"/login/username", url.Values{"id": {id}, "username": {username}, "password": {password}})
	if err != nil {
		t.Fatalf("testenv: browser: login: %v", err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(body)
}

// Claims returns the claims of a valid access token of this OP for sub
// and aud, valid for five minutes from now; tests change them to forge.
func (o *OP) Claims(sub string, aud ...string) map[string]any {
	now := time.Now()
	jti := make([]byte, 8)
	_, _ = rand.Read(jti)
	return map[string]any{
		"iss": o.issuer, "sub": sub, "aud": aud, "jti": fmt.Sprintf("%x", jti),
		"iat": now.Unix(), "nbf": now.Unix(), "exp": now.Add(5 * time.Minute).Unix(),
	}
}

// Sign signs claims with the OP's current key, as the OP itself would.
func (o *OP) Sign(t testing.TB, claims map[string]any) string {
	kid, key := o.SigningKey()
	return SignToken(t, jose.RS256, key, kid, claims)
}

// SignToken signs claims with any key and algorithm go-jose supports.
func SignToken(t testing.TB, alg jose.SignatureAlgorithm, key any, kid string, claims map[string]any) string {
	t.Helper()
	opts := (&jose.SignerOptions{}).WithType("JWT")
	if kid != "" {
		opts = opts.WithHeader(jose.HeaderKey("kid"), kid)
	}
	signer, err := jose.NewSigner(jose.SigningKey{Algorithm: alg, Key: key}, opts)
	if err != nil {
		t.Fatalf("testenv: signer: %v", err)
	}
	payload, err := json.Marshal(claims)
	if err != nil {
		t.Fatal(err)
	}
	jws, err := signer.Sign(payload)
	if err != nil {
		t.Fatalf("testenv: sign: %v", err)
	}
	raw, err := jws.CompactSerialize()
	if err != nil {
		t.Fatal(err)
	}
	return raw
}

func b64(v any) string {
	b, _ := json.Marshal(v)
	return base64.RawURLEncoding.EncodeToString(b)
}

// UnsignedToken is claims with alg "none" and an empty signature.
func UnsignedToken(claims map[string]any) string {
	return b64(map[string]any{"alg": "none", "typ": "JWT"}) + "." + b64(claims) + "."
}

// HS256WithPublicKey is the classic algorithm confusion attack: claims
// MACed with HS256 using the OP's public key (PEM, as published) as the
// secret, under the OP's key id.
func (o *OP) HS256WithPublicKey(t testing.TB, claims map[string]any) string {
	t.Helper()
	kid, key := o.SigningKey()
	der, err := x509.MarshalPKIXPublicKey(&key.PublicKey)
	if err != nil {
		t.Fatal(err)
	}
	secret := pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der})
	signing := b64(map[string]any{"alg": "HS256", "typ": "JWT", "kid": kid}) + "." + b64(claims)
	mac := hmac.New(sha256.New, secret)
	mac.Write([]byte(signing))
	return signing + "." + base64.RawURLEncoding.EncodeToString(mac.Sum(nil))
}

// Tamper replaces the payload of a signed token with claims, keeping the
// header and the (now wrong) signature.
func Tamper(token string, claims map[string]any) string {
	parts := strings.SplitN(token, ".", 3)
	if len(parts) != 3 {
		return token
	}
	return parts[0] + "." + b64(claims) + "." + parts[2]
}

// NewRSAKey returns a fresh RSA key no OP knows.
func NewRSAKey(t testing.TB) *rsa.PrivateKey {
	t.Helper()
	k, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	return k
}
