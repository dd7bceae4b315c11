package store_test

import (
	"context"
	"path/filepath"
	"testing"

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
