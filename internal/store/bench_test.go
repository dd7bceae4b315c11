package store_test

import (
	"context"
	"path/filepath"
	"testing"
	"time"

	"github.com/airlockhq/airlock/internal/store"
)

// BenchmarkSQLiteAppendOne is one record per transaction: the floor under
// the recorder's per-call latency.
func BenchmarkSQLiteAppendOne(b *testing.B) {
	st, err := store.Open(context.Background(), "sqlite", filepath.Join(b.TempDir(), "b.db"))
	if err != nil {
		b.Fatal(err)
	}
	defer st.Close()
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		_, err := st.Append(ctx, func(h store.Head) (store.Batch, error) {
			r := rec(h.Seq+1, "call.intent", "s", "c")
			r.PrevHash = h.Hash
			return store.Batch{Records: []store.Record{r}}, nil
		})
		if err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkRevocationRead is the revocation check every gateway call
// makes, for a subject that is not revoked: from the cache, and from the
// database as it is read without one.
func BenchmarkRevocationRead(b *testing.B) {
	for _, c := range []struct {
		name   string
		maxAge time.Duration
	}{{"cached", time.Second}, {"uncached", 0}} {
		b.Run(c.name, func(b *testing.B) {
			store.SetCacheMaxAge(b, c.maxAge)
			st, err := store.Open(context.Background(), "sqlite", filepath.Join(b.TempDir(), "b.db"))
			if err != nil {
				b.Fatal(err)
			}
			defer st.Close()
			ctx := context.Background()
			if err := st.Revoke(ctx, "mallory", "stolen", "sec", time.Now()); err != nil {
				b.Fatal(err)
			}
			b.ReportAllocs()
			for b.Loop() {
				if _, ok, err := st.Revocation(ctx, "alice"); ok || err != nil {
					b.Fatal(ok, err)
				}
			}
		})
	}
}
