package store_test

import (
	"context"
	"testing"
	"time"

	"github.com/airlockhq/airlock/internal/store"
)

func TestRevocations(t *testing.T) {
	each(t, func(t *testing.T, s store.Store, _ string) {
		ctx := context.Background()
		if _, ok, err := s.Revocation(ctx, "mallory"); ok || err != nil {
			t.Fatalf("before: %v %v", ok, err)
		}
		at := time.Now().Truncate(time.Microsecond).UTC()
		if err := s.Revoke(ctx, "mallory", "laptop stolen", "sec-oncall", at); err != nil {
			t.Fatal(err)
		}
		r, ok, err := s.Revocation(ctx, "mallory")
		if err != nil || !ok || !r.Active || r.Reason != "laptop stolen" || !r.RevokedAt.Equal(at) {
			t.Fatalf("after revoke: %+v %v %v", r, ok, err)
		}
		lifted, err := s.Unrevoke(ctx, "mallory", "sec-oncall", at.Add(time.Minute))
		if err != nil || !lifted {
			t.Fatalf("unrevoke: %v %v", lifted, err)
		}
		if again, _ := s.Unrevoke(ctx, "mallory", "x", at); again {
			t.Fatal("lifted twice")
		}
		r, _, _ = s.Revocation(ctx, "mallory")
		if r.Active || r.LiftedAt.IsZero() || !r.RevokedAt.Equal(at) {
			t.Fatalf("after unrevoke: %+v", r)
		}
		// Revoking again makes it active once more.
		if err := s.Revoke(ctx, "mallory", "again", "sec", at.Add(2*time.Minute)); err != nil {
			t.Fatal(err)
		}
		list, err := s.ListRevocations(ctx)
		if err != nil || len(list) != 1 || !list[0].Active || list[0].Reason != "again" {
			t.Fatalf("list: %+v %v", list, err)
		}
	})
}
