package oidc

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"sync"
	"time"

	jose "github.com/go-jose/go-jose/v4"
)

// allowedAlgs are the asymmetric JWS algorithms accepted. "none" and the
// HMAC family are absent on purpose: with HS256 a public key would become
// the shared secret.
var allowedAlgs = []jose.SignatureAlgorithm{
	jose.RS256, jose.RS384, jose.RS512,
	jose.PS256, jose.PS384, jose.PS512,
	jose.ES256, jose.ES384, jose.ES512,
	jose.EdDSA,
}

func allowedAlgNames() []string {
	out := make([]string, len(allowedAlgs))
	for i, a := range allowedAlgs {
		out[i] = string(a)
	}
	return out
}

// Why a signature did not verify; carried past go-oidc (which flattens the
// key set's error into text) in the per-call state.
var (
	errUnknownKey   = errors.New("signed with an unknown key")
	errBadSignature = errors.New("signature does not verify")
)

// callState travels in the context of one verification: the JWS already
// parsed (so the key set does not parse it again) and the key set's
// verdict.
type callState struct {
	jws  *jose.JSONWebSignature
	fail error
}

type callStateKey struct{}

// keySet is an issuer's JWKS with lazy, throttled refresh. It implements
// go-oidc's KeySet.
type keySet struct {
	url    string
	client *http.Client
	// minRefresh is the least time between two fetches caused by tokens;
	// a token with an unknown key id inside that window is refused.
	minRefresh time.Duration
	now        func() time.Time

	mu   sync.RWMutex
	keys []jose.JSONWebKey

	fetchMu sync.Mutex // one fetch at a time; guards the budget below
	// budget is a token bucket of fetches: a few at once (a rotation soon
	// after start), then one per minRefresh.
	budget     float64
	lastRefill time.Time
}

// refreshBurst is how many token-caused fetches may happen back to back.
const refreshBurst = 3

// allowFetch spends one fetch from the budget; fetchMu must be held.
func (k *keySet) allowFetch() bool {
	if k.minRefresh <= 0 {
		return true
	}
	now := k.now()
	if k.lastRefill.IsZero() {
		k.budget, k.lastRefill = refreshBurst, now
	}
	k.budget = min(refreshBurst, k.budget+float64(now.Sub(k.lastRefill))/float64(k.minRefresh))
	k.lastRefill = now
	if k.budget < 1 {
		return false
	}
	k.budget--
	return true
}

// VerifySignature implements go-oidc's KeySet.
func (k *keySet) VerifySignature(ctx context.Context, raw string) ([]byte, error) {
	st, _ := ctx.Value(callStateKey{}).(*callState)
	if st == nil {
		st = &callState{}
	}
	jws := st.jws
	if jws == nil {
		var err error
		if jws, err = jose.ParseSignedCompact(raw, allowedAlgs); err != nil {
			st.fail = errBadSignature
			return nil, fmt.Errorf("oidc: keys: %w", err)
		}
	}
	if len(jws.Signatures) != 1 {
		st.fail = errBadSignature
		return nil, errBadSignature
	}
	kid := jws.Signatures[0].Header.KeyID

	k.mu.RLock()
	keys := k.keys
	k.mu.RUnlock()
	payload, known := verifyWith(jws, keys, kid)
	if payload != nil {
		return payload, nil
	}
	if known {
		// The key is ours and the signature is wrong: a tampered token.
		// Fetching again would not change the answer.
		st.fail = errBadSignature
		return nil, errBadSignature
	}
	keys, err := k.refresh(ctx, kid)
	if err != nil {
		st.fail = err
		return nil, err
	}
	payload, known = verifyWith(jws, keys, kid)
	switch {
	case payload != nil:
		return payload, nil
	case known:
		st.fail = errBadSignature
		return nil, errBadSignature
	}
	st.fail = errUnknownKey
	return nil, errUnknownKey
}

// verifyWith tries the keys that match kid (all signing keys when the
// token names none). known reports whether a key with that id exists.
func verifyWith(jws *jose.JSONWebSignature, keys []jose.JSONWebKey, kid string) (payload []byte, known bool) {
	for i := range keys {
		key := &keys[i]
		if key.Use == "enc" || (kid != "" && key.KeyID != kid) {
			continue
		}
		known = kid != ""
		if p, err := jws.Verify(key); err == nil {
			return p, true
		}
	}
	return nil, known
}

// refresh fetches the JWKS for a token signed with key kid, unless the
// fetch budget is spent, and returns the keys to try. A refused fetch
// returns the cached keys, so the caller reports an unknown key.
func (k *keySet) refresh(ctx context.Context, kid string) ([]jose.JSONWebKey, error) {
	k.fetchMu.Lock()
	defer k.fetchMu.Unlock()
	k.mu.RLock()
	keys := k.keys
	k.mu.RUnlock()
	// Someone else may have fetched while this call waited for the lock.
	for _, key := range keys {
		if kid != "" && key.KeyID == kid {
			return keys, nil
		}
	}
	if !k.allowFetch() {
		return keys, nil
	}
	return k.load(ctx)
}

// load fetches the JWKS and makes it current; fetchMu must be held.
func (k *keySet) load(ctx context.Context) ([]jose.JSONWebKey, error) {
	fresh, err := k.fetch(ctx)
	if err != nil {
		return nil, err
	}
	k.mu.Lock()
	k.keys = fresh
	k.mu.Unlock()
	return fresh, nil
}

// maxJWKSBytes bounds a JWKS document; real ones are a few kilobytes.
const maxJWKSBytes = 1 << 20

func (k *keySet) fetch(ctx context.Context) ([]jose.JSONWebKey, error) {
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, k.url, nil)
	if err != nil {
		return nil, fmt.Errorf("oidc: jwks: %w", err)
	}
	req.Header.Set("Accept", "application/json")
	resp, err := k.client.Do(req)
	if err != nil {
		return nil, fmt.Errorf("oidc: jwks: fetch %s: %w", k.url, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxJWKSBytes))
	if err != nil {
		return nil, fmt.Errorf("oidc: jwks: read %s: %w", k.url, err)
	}
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("oidc: jwks: %s answered %s", k.url, resp.Status)
	}
	var doc struct {
		Keys []json.RawMessage `json:"keys"`
	}
	if err := json.Unmarshal(body, &doc); err != nil {
		return nil, fmt.Errorf("oidc: jwks: decode %s: %w", k.url, err)
	}
	keys := make([]jose.JSONWebKey, 0, len(doc.Keys))
	for _, raw := range doc.Keys {
		var key jose.JSONWebKey
		// One key of a type we do not know must not hide the others.
		if err := key.UnmarshalJSON(raw); err != nil || !key.Valid() || !key.IsPublic() {
			continue
		}
		if key.Algorithm != "" && !algAllowed(key.Algorithm) {
			continue
		}
		keys = append(keys, key)
	}
	if len(keys) == 0 {
		return nil, fmt.Errorf("oidc: jwks: %s holds no usable signing key", k.url)
	}
	return keys, nil
}

func algAllowed(alg string) bool {
	for _, a := range allowedAlgs {
		if string(a) == alg {
			return true
		}
	}
	return false
}
