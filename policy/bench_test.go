package policy

import (
	"context"
	"slices"
	"testing"
	"time"
)

func BenchmarkDecide(b *testing.B) {
	e := newEngine(b, Options{})
	ctx := context.Background()
	in := selectInput()
	b.ReportAllocs()
	for b.Loop() {
		if _, err := e.Decide(ctx, in); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkDecideLatency records each decision's duration and reports the
// percentiles the gateway's latency budget is written against.
func BenchmarkDecideLatency(b *testing.B) {
	e := newEngine(b, Options{})
	ctx := context.Background()
	in := selectInput()
	for range 1000 { // warm caches and the allocator
		_, _ = e.Decide(ctx, in)
	}
	durs := make([]time.Duration, 0, 1<<16)
	for b.Loop() {
		t0 := time.Now()
		if _, err := e.Decide(ctx, in); err != nil {
			b.Fatal(err)
		}
		durs = append(durs, time.Since(t0))
	}
	slices.Sort(durs)
	pct := func(p float64) float64 { return float64(durs[int(p*float64(len(durs)-1))].Nanoseconds()) }
	b.ReportMetric(pct(0.50), "p50-ns")
	b.ReportMetric(pct(0.99), "p99-ns")
}

func BenchmarkDecideApproval(b *testing.B) {
	e := newEngine(b, Options{})
	ctx := context.Background()
	in := deleteAllInput()
	b.ReportAllocs()
	for b.Loop() {
		if _, err := e.Decide(ctx, in); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkVisibleCached(b *testing.B) {
	e := newEngine(b, Options{})
	ctx := context.Background()
	e.Visible(ctx, alice, sqlQ, prodDB)
	b.ReportAllocs()
	for b.Loop() {
		if !e.Visible(ctx, alice, sqlQ, prodDB) {
			b.Fatal("not visible")
		}
	}
}
