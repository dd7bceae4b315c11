package oidc

import (
	"crypto/sha256"
	"fmt"
	"testing"
	"time"

	"github.com/airlockhq/airlock/internal/identity"
)

func TestTokenCacheIsBounded(t *testing.T) {
	c := newTokenCache(10)
	now := time.Now()
	key := func(i int) [sha256.Size]byte { return sha256.Sum256([]byte(fmt.Sprint(i))) }
	// Five entries that are already over, then enough live ones to fill up.
	for i := range 5 {
		c.put(key(i), cacheEntry{until: now.Add(-time.Second)}, now)
	}
	for i := 5; i < 40; i++ {
		c.put(key(i), cacheEntry{p: identity.Principal{Subject: fmt.Sprint(i)}, until: now.Add(time.Minute)}, now)
		if len(c.m) > 10 {
			t.Fatalf("%d entries in a cache of 10", len(c.m))
		}
	}
	if _, ok := c.get(key(39), now); !ok {
		t.Fatal("the newest entry is missing")
	}
	if _, ok := c.get(key(39), now.Add(2*time.Minute)); ok {
		t.Fatal("an entry outlived its time")
	}
	e, _ := c.get(key(39), now)
	e.p.Groups = append(e.p.Groups, "admin")
	if again, _ := c.get(key(39), now); len(again.p.Groups) != 0 {
		t.Fatal("a caller changed the cached principal")
	}
}
