package recorder

import (
	"context"
	"path/filepath"
	"sort"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/airlockhq/airlock/internal/store"
	"github.com/airlockhq/airlock/internal/testenv"
)

// benchStore opens a store for a benchmark: SQLite in a temp dir, or a
// fresh PostgreSQL database of the shared test server.
func benchStore(b *testing.B, driver string, d store.Durability) store.Store {
	b.Helper()
	dsn := filepath.Join(b.TempDir(), "bench.db")
	if driver == "postgres" {
		dsn = testenv.Postgres(b).NewDatabase(b).AdminDSN
	}
	st, err := store.Open(context.Background(), driver, dsn, store.WithDurability(d), store.WithMaxConns(4))
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { st.Close() })
	return st
}

// benchAppend appends from 32 goroutines (16 per core here), the load a
// busy gateway puts on the recorder, and reports events per second.
func benchAppend(b *testing.B, driver string, d store.Durability) {
	st := &countingLog{AuditLog: benchStore(b, driver, d)}
	r := newRecorder(b, st, newKey(b), Options{CheckpointInterval: 10 * time.Second})
	in, _ := callEvents("bench", "alice@example.com", 1)
	b.SetParallelism(16)
	b.ReportAllocs()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		ctx := context.Background()
		for pb.Next() {
			if _, err := r.Append(ctx, in); err != nil {
				b.Error(err)
				return
			}
		}
	})
	b.StopTimer()
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "events/s")
	b.ReportMetric(float64(b.N)/float64(st.appends.Load()), "events/commit")
	if err := r.Close(); err != nil {
		b.Fatal(err)
	}
}

// countingLog counts transactions, to report the group commit's batch size.
type countingLog struct {
	store.AuditLog
	appends atomic.Int64
}

func (c *countingLog) Append(ctx context.Context, build func(store.Head) (store.Batch, error)) (store.Head, error) {
	c.appends.Add(1)
	return c.AuditLog.Append(ctx, build)
}

func BenchmarkAppendSQLite(b *testing.B)      { benchAppend(b, "sqlite", store.DurabilityProcess) }
func BenchmarkAppendSQLiteFsync(b *testing.B) { benchAppend(b, "sqlite", store.DurabilityFsync) }
func BenchmarkAppendPostgres(b *testing.B)    { benchAppend(b, "postgres", store.DurabilityProcess) }
func BenchmarkAppendPostgresFsync(b *testing.B) {
	benchAppend(b, "postgres", store.DurabilityFsync)
}

// BenchmarkRecordStage measures what recording adds to one tool call: the
// intent, durable before the call runs, and the result after it. serial
// is one caller alone (pure added latency); parallel is 8 concurrent
// callers sharing group commits; async-result enqueues the result instead
// of waiting for it (Recorder.Enqueue).
func BenchmarkRecordStage(b *testing.B) {
	for _, c := range []struct {
		name    string
		driver  string
		d       store.Durability
		callers int
		async   bool // the result is enqueued, not waited for
	}{
		{"sqlite/serial", "sqlite", store.DurabilityProcess, 1, false},
		{"sqlite/serial/async-result", "sqlite", store.DurabilityProcess, 1, true},
		{"sqlite/parallel", "sqlite", store.DurabilityProcess, 8, false},
		{"sqlite/parallel/async-result", "sqlite", store.DurabilityProcess, 8, true},
		{"sqlite-fsync/serial", "sqlite", store.DurabilityFsync, 1, false},
		{"sqlite-fsync/serial/async-result", "sqlite", store.DurabilityFsync, 1, true},
		{"postgres/serial", "postgres", store.DurabilityProcess, 1, false},
		{"postgres/serial/async-result", "postgres", store.DurabilityProcess, 1, true},
		{"postgres/parallel", "postgres", store.DurabilityProcess, 8, false},
	} {
		b.Run(c.name, func(b *testing.B) {
			st := benchStore(b, c.driver, c.d)
			r := newRecorder(b, st, newKey(b), Options{CheckpointInterval: 10 * time.Second})
			in, out := callEvents("bench", "alice@example.com", 1)
			lat := make([][]time.Duration, c.callers)
			var wg sync.WaitGroup
			b.ResetTimer()
			for w := range c.callers {
				wg.Add(1)
				go func() {
					defer wg.Done()
					ctx := context.Background()
					for i := w; i < b.N; i += c.callers {
						start := time.Now()
						if _, err := r.Append(ctx, in); err != nil {
							b.Error(err)
							return
						}
						// the call would run here
						var err error
						if c.async {
							err = r.Enqueue(out)
						} else {
							_, err = r.Append(ctx, out)
						}
						if err != nil {
							b.Error(err)
							return
						}
						lat[w] = append(lat[w], time.Since(start))
					}
				}()
			}
			wg.Wait()
			b.StopTimer()
			var all []time.Duration
			for _, l := range lat {
				all = append(all, l...)
			}
			sort.Slice(all, func(i, j int) bool { return all[i] < all[j] })
			if len(all) > 0 {
				b.ReportMetric(float64(all[len(all)/2].Nanoseconds())/1e3, "p50-µs/call")
				b.ReportMetric(float64(all[len(all)*99/100].Nanoseconds())/1e3, "p99-µs/call")
			}
			if err := r.Close(); err != nil {
				b.Fatal(err)
			}
		})
	}
}
