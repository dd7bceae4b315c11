package policy

import (
	"context"
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"
	"time"

	"github.com/airlockhq/airlock/connectors"
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
			timeDecisions(b, e, func(in *Input) { in.Now = in.Now.Add(time.Millisecond) }, in)
		})
	}
}

// BenchmarkDecideStream is a stream of calls as several agents make them:
// 40 call shapes (8 principals, 5 tables, reads and writes, two
// connections) in a shuffled order, each with its own parameter values
// and time, so the memo misses once per shape and hits after that. It
// reports the stream's p50 and p99, and how many decisions missed.
func BenchmarkDecideStream(b *testing.B) {
	var shapes []Input
	for p := range 8 {
		for t, table := range []string{"public.orders", "public.customers", "public.items", "public.invoices", "public.users"} {
			pr := alice
			pr.Subject = fmt.Sprintf("agent-%d@example.com", p)
			in := selectInput()
			in.Principal = pr
			in.Action = &connectors.Action{ReadOnly: true, Risk: connectors.RiskLow, Flags: []string{},
				Statements: []connectors.Statement{stmt("select", true, table)}}
			if (p+t)%4 == 0 {
				in.Action = &connectors.Action{Risk: connectors.RiskMedium, Flags: []string{},
					Statements: []connectors.Statement{stmt("update", false, table)}}
			}
			if p%2 == 1 {
				in.Connection = devDB
			}
			shapes = append(shapes, in)
		}
	}
	e := newEngine(b, Options{})
	rng := rand.New(rand.NewPCG(1, 2))
	var in Input
	n := timeDecisions(b, e, func(in *Input) {
		*in = shapes[rng.IntN(len(shapes))]
		in.Arguments = map[string]any{"sql": "SELECT ...", "params": []any{rng.IntN(1 << 20)}}
		in.Now = testNow.Add(time.Duration(rng.IntN(1<<20)) * time.Millisecond)
	}, in)
	m := e.snap.Load().memo
	m.mu.RLock()
	misses := m.n // nothing was evicted: far fewer shapes than memoMax
	m.mu.RUnlock()
	b.ReportMetric(float64(misses)/float64(n)*100, "miss-%")
}

// timeDecisions decides in, changed by next before each decision, until
// the benchmark ends; it reports the p50 and p99 and returns how many
// decisions it timed.
func timeDecisions(b *testing.B, e *Engine, next func(*Input), in Input) int {
	ctx := context.Background()
	durs := make([]time.Duration, 0, 1<<16)
	for b.Loop() {
		next(&in)
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
	return len(durs)
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
