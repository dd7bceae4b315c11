package policy

import (
	"context"
	"slices"
	"testing"
	"time"
)

// BenchmarkDecide is one decision of the default bundle on a realistic
// read: "memo" is a call whose shape was decided before (other parameter
// values, other time), "evaluated" runs the rules every time, as for a
// call shape never seen.
func BenchmarkDecide(b *testing.B) {
	for _, memo := range []bool{true, false} {
		b.Run(memoName(memo), func(b *testing.B) {
			e := engineFor(b, memo)
			ctx := context.Background()
			in := selectInput()
			b.ReportAllocs()
			for b.Loop() {
				in.Now = in.Now.Add(time.Millisecond)
				if _, err := e.Decide(ctx, in); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkDecideLatency records each decision's duration and reports the
// percentiles the gateway's latency budget is written against.
func BenchmarkDecideLatency(b *testing.B) {
	for _, memo := range []bool{true, false} {
		b.Run(memoName(memo), func(b *testing.B) {
			e := engineFor(b, memo)
			ctx := context.Background()
			in := selectInput()
			for range 1000 { // warm caches and the allocator
				_, _ = e.Decide(ctx, in)
			}
			durs := make([]time.Duration, 0, 1<<16)
			for b.Loop() {
				in.Now = in.Now.Add(time.Millisecond)
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
		})
	}
}

func memoName(memo bool) string {
	if memo {
		return "memo"
	}
	return "evaluated"
}

// engineFor loads the default bundle, without its memo when memo is false.
func engineFor(b *testing.B, memo bool) *Engine {
	e := newEngine(b, Options{})
	if !memo {
		e.snap.Load().memo = nil
	}
	return e
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
