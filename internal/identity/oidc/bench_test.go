package oidc_test

import (
	"context"
	"slices"
	"testing"
	"time"

	"github.com/airlockhq/airlock/internal/identity"
	"github.com/airlockhq/airlock/internal/identity/oidc"
	"github.com/airlockhq/airlock/internal/testenv"
)

// benchVerify measures what token verification adds to one call with a
// warm JWKS, and reports the median, which is what the latency target
// (50µs at p50) is about, next to Go's mean ns/op.
func benchVerify(b *testing.B, opts ...oidc.Option) {
	op := testenv.OIDC(b)
	rev := &identity.MemoryRevocations{}
	rev.Revoke("someone-else", "test", time.Now())
	v := newVerifier(b, op, oidc.IssuerConfig{RoleMap: map[string][]string{"dba": {"dba"}}},
		append(opts, oidc.WithRevocations(rev))...)
	c := op.Claims("alice", resource)
	c["groups"], c["email"], c["scope"] = []string{"dba", "payments"}, "alice@example.com", "openid airlock"
	tok := op.Sign(b, c)
	ctx := context.Background()
	if _, _, err := v.Verify(ctx, tok); err != nil { // warms keys and cache
		b.Fatal(err)
	}
	times := make([]time.Duration, 0, b.N)
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		start := time.Now()
		if _, _, err := v.Verify(ctx, tok); err != nil {
			b.Fatal(err)
		}
		times = append(times, time.Since(start))
	}
	b.StopTimer()
	slices.Sort(times)
	b.ReportMetric(float64(times[len(times)/2].Nanoseconds())/1e3, "p50-µs")
	b.ReportMetric(float64(times[len(times)*99/100].Nanoseconds())/1e3, "p99-µs")
}

// BenchmarkVerifyWarm is the normal path: the token was verified before
// and is found in the cache; the revocation check still runs.
func BenchmarkVerifyWarm(b *testing.B) { benchVerify(b) }

// BenchmarkVerifyUncached is the full check of every call (signature,
// claims, mapping) with the keys already fetched.
func BenchmarkVerifyUncached(b *testing.B) { benchVerify(b, oidc.WithCache(0, 0)) }
