package oidc

import (
	"crypto/sha256"
	"slices"
	"sync"
	"time"

	"github.com/airlockhq/airlock/internal/identity"
)

// tokenCache remembers verified tokens by the SHA-256 of the token, so a
// token is checked cryptographically once and then looked up. Only the
// digest is kept, never the token. Entries live until the earlier of the
// token's expiry and the cache TTL, so a key withdrawn by the IdP stops
// being honoured within the TTL.
type tokenCache struct {
	mu  sync.RWMutex
	m   map[[sha256.Size]byte]cacheEntry
	max int
}

type cacheEntry struct {
	p     identity.Principal
	info  TokenInfo
	until time.Time
	// need are the scopes the token lacks; the insufficient-scope answer
	// is cached too, since it is as stable as the token.
	need []string
}

func newTokenCache(max int) *tokenCache {
	return &tokenCache{m: make(map[[sha256.Size]byte]cacheEntry), max: max}
}

func (c *tokenCache) get(key [sha256.Size]byte, now time.Time) (cacheEntry, bool) {
	if c == nil {
		return cacheEntry{}, false
	}
	c.mu.RLock()
	e, ok := c.m[key]
	c.mu.RUnlock()
	if !ok || !now.Before(e.until) {
		return cacheEntry{}, false
	}
	// Callers may change what they get; the cached copy must not move.
	e.p.Groups = slices.Clone(e.p.Groups)
	e.info.Scopes = slices.Clone(e.info.Scopes)
	return e, true
}

func (c *tokenCache) put(key [sha256.Size]byte, e cacheEntry, now time.Time) {
	if c == nil || c.max <= 0 {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.m) >= c.max {
		for k, old := range c.m {
			if !now.Before(old.until) {
				delete(c.m, k)
			}
		}
		// Still full: drop an arbitrary tenth. A dropped token is merely
		// verified again on its next use.
		drop := len(c.m) - c.max + 1 + c.max/10
		for k := range c.m {
			if drop <= 0 {
				break
			}
			delete(c.m, k)
			drop--
		}
	}
	c.m[key] = e
}
