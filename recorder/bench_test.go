package recorder

import (
	"context"
	"path/filepath"
	"sort"
	"sync"
	"sync/atomic"
	"syscall"
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
// busy gateway puts on the recorder, and reports events per second. With
// a journal, the clock stops once every event is in the store (Close
// drains the journal), not when the writes return.
func benchAppend(b *testing.B, driver string, d store.Durability, journal bool) {
	st := &countingLog{AuditLog: benchStore(b, driver, d)}
	opt := Options{CheckpointInterval: 10 * time.Second}
	if journal {
		opt.Journal, opt.JournalFsync = b.TempDir(), d == store.DurabilityFsync
	}
	r := newRecorder(b, st, newKey(b), opt)
	in, _ := callEvents("bench", "alice@example.com", 1)
	b.SetParallelism(16)
	b.ReportAllocs()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		ctx := context.Background()
		for pb.Next() {
			if err := r.Write(ctx, in); err != nil {
				b.Error(err)
				return
			}
		}
	})
	if err := r.Close(); err != nil {
		b.Fatal(err)
	}
	b.StopTimer()
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "events/s")
	b.ReportMetric(float64(b.N)/float64(st.appends.Load()), "events/commit")
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

func BenchmarkAppend(b *testing.B) {
	for _, c := range []struct {
		name    string
		driver  string
		d       store.Durability
		journal bool
	}{
		{"sqlite/journal", "sqlite", store.DurabilityProcess, true},
		{"sqlite/direct", "sqlite", store.DurabilityProcess, false},
		{"sqlite-fsync/journal", "sqlite", store.DurabilityFsync, true},
		{"sqlite-fsync/direct", "sqlite", store.DurabilityFsync, false},
		{"postgres/direct", "postgres", store.DurabilityProcess, false},
		{"postgres/journal", "postgres", store.DurabilityProcess, true},
		{"postgres-fsync/direct", "postgres", store.DurabilityFsync, false},
	} {
		b.Run(c.name, func(b *testing.B) { benchAppend(b, c.driver, c.d, c.journal) })
	}
}

// BenchmarkRecordStage measures what recording adds to one tool call, as
// the gateway records it: the intent, durable before the call runs
// (Write), and the result after it (Enqueue). journal is the default for
// SQLite (a write to the journal; the store is written in batches beside
// the calls), direct commits the intent to the store first. serial is one
// caller alone (pure added latency); parallel is 8 concurrent callers.
// cpu-µs/call is the process's CPU time per call, including the batched
// store writes and the final drain: the cost the latency leaves out.
func BenchmarkRecordStage(b *testing.B) {
	for _, c := range []struct {
		name    string
		driver  string
		d       store.Durability
		callers int
		journal bool
	}{
		{"sqlite/journal/serial", "sqlite", store.DurabilityProcess, 1, true},
		{"sqlite/journal/parallel", "sqlite", store.DurabilityProcess, 8, true},
		{"sqlite/direct/serial", "sqlite", store.DurabilityProcess, 1, false},
		{"sqlite/direct/parallel", "sqlite", store.DurabilityProcess, 8, false},
		{"sqlite-fsync/journal/serial", "sqlite", store.DurabilityFsync, 1, true},
		{"sqlite-fsync/direct/serial", "sqlite", store.DurabilityFsync, 1, false},
		{"postgres/direct/serial", "postgres", store.DurabilityProcess, 1, false},
		{"postgres/direct/parallel", "postgres", store.DurabilityProcess, 8, false},
		{"postgres/journal/serial", "postgres", store.DurabilityProcess, 1, true},
	} {
		b.Run(c.name, func(b *testing.B) {
			st := benchStore(b, c.driver, c.d)
			opt := Options{CheckpointInterval: 10 * time.Second}
			if c.journal {
				opt.Journal, opt.JournalFsync = b.TempDir(), c.d == store.DurabilityFsync
			}
			r := newRecorder(b, st, newKey(b), opt)
			in, out := callEvents("bench", "alice@example.com", 1)
			lat := make([][]time.Duration, c.callers)
			var wg sync.WaitGroup
			cpu0 := cpuTime()
			b.ResetTimer()
			for w := range c.callers {
				wg.Add(1)
				go func() {
					defer wg.Done()
					ctx := context.Background()
					for i := w; i < b.N; i += c.callers {
						start := time.Now()
						if err := r.Write(ctx, in); err != nil {
							b.Error(err)
							return
						}
						// the call would run here
						if err := r.Enqueue(out); err != nil {
							b.Error(err)
							return
						}
						lat[w] = append(lat[w], time.Since(start))
					}
				}()
			}
			wg.Wait()
			if err := r.Close(); err != nil {
				b.Fatal(err)
			}
			b.StopTimer()
			b.ReportMetric(float64((cpuTime()-cpu0).Microseconds())/float64(b.N), "cpu-µs/call")
			var all []time.Duration
			for _, l := range lat {
				all = append(all, l...)
			}
			sort.Slice(all, func(i, j int) bool { return all[i] < all[j] })
			if len(all) > 0 {
				b.ReportMetric(float64(all[len(all)/2].Nanoseconds())/1e3, "p50-µs/call")
				b.ReportMetric(float64(all[len(all)*99/100].Nanoseconds())/1e3, "p99-µs/call")
			}
		})
	}
}

// cpuTime is the process's user and system CPU time so far.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
