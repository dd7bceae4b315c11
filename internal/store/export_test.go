package store

import (
	"testing"
	"time"
)

// EpochSuffix names the epoch file beside a SQLite database.
const EpochSuffix = epochSuffix

// SetCacheMaxAge sets the read cache's safety bound of the SQLite stores
// opened until the test ends; 0 opens them without the read cache.
func SetCacheMaxAge(t testing.TB, d time.Duration) {
	old := cacheMaxAge
	cacheMaxAge = d
	t.Cleanup(func() { cacheMaxAge = old })
}
