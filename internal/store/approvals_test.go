package store_test

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/airlockhq/airlock/internal/store"
)

func apReq(hash string, now time.Time) store.ApprovalRequest {
	return store.ApprovalRequest{Kind: store.ApprovalKindCall, Subject: "alice", Email: "alice@example.com",
		Tool: "sql_query", Connection: "prod-db", ArgsHash: hash, ArgsText: "DELETE FROM t",
		Action: []byte(`{"read_only":false}`), Reasons: []string{"write"}, Approvers: []string{"group:dba"},
		ExpiresAt: now.Add(time.Hour)}
}

// The compare-and-set guarantees hold across store handles (replicas):
// one pending request per call, one decision, one use.
func TestApprovalsCompareAndSet(t *testing.T) {
	each(t, func(t *testing.T, st store.Store, dsn string) {
		ctx := context.Background()
		other, err := store.Open(ctx, st.Driver(), dsn)
		if err != nil {
			t.Fatal(err)
		}
		defer other.Close()
		stores := []store.Store{st, other}
		now := time.Now()
		run := func(n int, fn func(i int, s store.Store)) {
			var wg sync.WaitGroup
			for i := range n {
				wg.Add(1)
				go func() { defer wg.Done(); fn(i, stores[i%2]) }()
			}
			wg.Wait()
		}

		ids := make([]int64, 8)
		created := make([]bool, 8)
		run(8, func(i int, s store.Store) {
			r, c, err := s.CreateApproval(ctx, apReq("h1", now), now)
			if err != nil {
				t.Error(err)
			}
			ids[i], created[i] = r.ID, c
		})
		nc := 0
		for i := range ids {
			if ids[i] != ids[0] {
				t.Fatalf("concurrent creators got different requests: %v", ids)
			}
			if created[i] {
				nc++
			}
		}
		if nc != 1 {
			t.Fatalf("%d creators created", nc)
		}

		wins := make([]error, 6)
		run(6, func(i int, s store.Store) {
			_, _, wins[i] = s.DecideApproval(ctx, ids[0], store.ApprovalDecision{State: store.ApprovalApproved, At: now,
				By: "bob", Via: "cli", ValidUntil: now.Add(time.Minute)})
		})
		nw := 0
		for _, err := range wins {
			switch {
			case err == nil:
				nw++
			case !errors.Is(err, store.ErrStateChanged):
				t.Fatal(err)
			}
		}
		if nw != 1 {
			t.Fatalf("%d decisions won", nw)
		}

		used := make([]error, 8)
		run(8, func(i int, s store.Store) {
			_, used[i] = s.ConsumeApproval(ctx, store.ApprovalKey{Subject: "alice", Tool: "sql_query", Connection: "prod-db", ArgsHash: "h1"}, now, 0)
		})
		nu := 0
		for _, err := range used {
			switch {
			case err == nil:
				nu++
			case !errors.Is(err, store.ErrApprovalNotFound):
				t.Fatal(err)
			}
		}
		if nu != 1 {
			t.Fatalf("a once-only approval was used %d times", nu)
		}
		r, err := st.GetApproval(ctx, ids[0])
		if err != nil || r.State != store.ApprovalUsed || r.Uses != 1 || string(r.Action) != `{"read_only":false}` || r.Approvers[0] != "group:dba" {
			t.Fatalf("after use: %+v, %v", r, err)
		}
	})
}

func TestApprovalExpiryAndGrants(t *testing.T) {
	each(t, func(t *testing.T, st store.Store, _ string) {
		ctx := context.Background()
		now := time.Now()
		r, _, err := st.CreateApproval(ctx, apReq("h2", now), now)
		if err != nil {
			t.Fatal(err)
		}
		late := now.Add(2 * time.Hour)
		got, _, err := st.DecideApproval(ctx, r.ID, store.ApprovalDecision{State: store.ApprovalApproved, At: late, By: "bob"})
		if !errors.Is(err, store.ErrStateChanged) || got.State != store.ApprovalExpired {
			t.Fatalf("deciding after expiry: %+v, %v", got, err)
		}
		g := &store.Grant{Subject: "alice", Connection: "prod-db", Access: "write", GrantedBy: "bob", ExpiresAt: now.Add(time.Minute)}
		r2, _, _ := st.CreateApproval(ctx, apReq("h3", now), now)
		_, ng, err := st.DecideApproval(ctx, r2.ID, store.ApprovalDecision{State: store.ApprovalApproved, At: now, By: "bob", Grant: g})
		if err != nil || ng == nil || ng.RequestID != r2.ID {
			t.Fatalf("grant: %+v, %v", ng, err)
		}
		if gs, _ := st.ActiveGrants(ctx, "alice", now); len(gs) != 1 {
			t.Fatalf("active: %+v", gs)
		}
		if gs, _ := st.ActiveGrants(ctx, "alice", now.Add(2*time.Minute)); len(gs) != 0 {
			t.Fatalf("active after expiry: %+v", gs)
		}
		if _, err := st.RevokeGrant(ctx, ng.ID, "carol", "done", now); err != nil {
			t.Fatal(err)
		}
		if _, err := st.RevokeGrant(ctx, ng.ID, "carol", "again", now); !errors.Is(err, store.ErrStateChanged) {
			t.Fatalf("second revoke: %v", err)
		}
		if gs, _ := st.ActiveGrants(ctx, "alice", now); len(gs) != 0 {
			t.Fatalf("active after revoke: %+v", gs)
		}
	})
}
