package approvals_test

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/airlockhq/airlock/approvals"
)

func TestArgsHashIsCanonical(t *testing.T) {
	a := approvals.ArgsHash("sql_query", "prod-db", map[string]any{"sql": "DELETE FROM t", "params": []any{1.0, "x"}, "n": map[string]any{"b": 1.0, "a": 2.0}})
	b := approvals.ArgsHash("sql_query", "prod-db", map[string]any{"n": map[string]any{"a": 2.0, "b": 1.0}, "params": []any{1.0, "x"}, "sql": "DELETE FROM t"})
	if a != b || len(a) != 64 {
		t.Fatalf("same arguments in another order hash differently: %s %s", a, b)
	}
	for _, other := range []string{
		approvals.ArgsHash("sql_query", "prod-db", map[string]any{"sql": "DELETE FROM t ", "params": []any{1.0, "x"}, "n": map[string]any{"b": 1.0, "a": 2.0}}),
		approvals.ArgsHash("sql_query", "prod-db", map[string]any{"sql": "DELETE FROM t", "params": []any{"x", 1.0}, "n": map[string]any{"b": 1.0, "a": 2.0}}),
		approvals.ArgsHash("sql_query", "other-db", map[string]any{"sql": "DELETE FROM t", "params": []any{1.0, "x"}, "n": map[string]any{"b": 1.0, "a": 2.0}}),
		approvals.ArgsHash("sql_explain", "prod-db", map[string]any{"sql": "DELETE FROM t", "params": []any{1.0, "x"}, "n": map[string]any{"b": 1.0, "a": 2.0}}),
	} {
		if other == a {
			t.Fatal("a changed argument, tool or connection hashes the same")
		}
	}
}

func TestApprovalCoversTheExactCallOnly(t *testing.T) {
	each(t, func(t *testing.T, e *env) {
		ctx := context.Background()
		s := e.service(nil)
		req := deleteReq("DELETE FROM orders WHERE id = 1")
		o := pending(t, s, req)
		if _, err := s.Decide(ctx, o.ID, bob, true, "ok"); err != nil {
			t.Fatal(err)
		}
		// A changed argument, connection or subject is another call.
		changed := deleteReq("DELETE FROM orders WHERE id = 2")
		if o2 := pending(t, s, changed); o2.ID == o.ID {
			t.Fatalf("changed arguments reused %s", o.ID)
		}
		other := req
		other.Connection = "staging-db"
		other.ArgsHash = approvals.ArgsHash("sql_query", "staging-db", map[string]any{"connection": "staging-db", "sql": req.ArgsText})
		pending(t, s, other)
		dave := req
		dave.Subject, dave.Email = "dave-sub", "dave@example.com"
		pending(t, s, dave)
		// The exact call runs, once.
		got, err := s.Await(ctx, req, nil)
		if err != nil || got.State != approvals.StateApproved || got.ID != o.ID || got.DecidedBy != bob.Email || got.Reason != "ok" {
			t.Fatalf("exact call: %+v, %v", got, err)
		}
		if v, _ := s.Status(ctx, o.ID); v.State != approvals.StateUsed || v.Uses != 1 {
			t.Fatalf("after use: %+v", v)
		}
		again := pending(t, s, req)
		if again.ID == o.ID {
			t.Fatal("a used approval served a second call")
		}
	})
}

func TestConsumeWindow(t *testing.T) {
	each(t, func(t *testing.T, e *env) {
		ctx := context.Background()
		s := e.service(nil, func(o *approvals.Options) { o.Consume = approvals.ConsumeWindow; o.Window = time.Minute })
		req := deleteReq("UPDATE orders SET x = 1 WHERE id = 1")
		o := pending(t, s, req)
		if _, err := s.Decide(ctx, o.ID, bob, true, ""); err != nil {
			t.Fatal(err)
		}
		for i := range 3 {
			got, err := s.Await(ctx, req, nil)
			if err != nil || got.State != approvals.StateApproved || got.ID != o.ID {
				t.Fatalf("use %d within the window: %+v, %v", i+1, got, err)
			}
		}
		e.clock.Advance(61 * time.Second)
		if got := pending(t, s, req); got.ID == o.ID {
			t.Fatal("the approval served a call after its window")
		}
	})
}

func TestRefusals(t *testing.T) {
	each(t, func(t *testing.T, e *env) {
		ctx := context.Background()
		s := e.service(nil)
		o := pending(t, s, deleteReq("DELETE FROM orders"))
		aliceInDBA := alice
		aliceInDBA.Groups = []string{"dba"}
		aliceByEmail := approvals.Approver{Subject: "someone-else", Email: "ALICE@Example.com", Groups: []string{"dba"}, Via: approvals.ViaSlack}
		for _, c := range []struct {
			name string
			a    approvals.Approver
			want error
		}{
			{"self by subject", aliceInDBA, approvals.ErrSelfApproval},
			{"self by email in another case", aliceByEmail, approvals.ErrSelfApproval},
			{"not in the approver group", dave, approvals.ErrNotApprover},
			{"in the default group only", approvals.Approver{Subject: "sre-only", Groups: []string{"sre"}}, approvals.ErrNotApprover},
			{"no identity", approvals.Approver{Groups: []string{"dba"}}, approvals.ErrUnknownApprover},
		} {
			_, err := s.Decide(ctx, o.ID, c.a, true, "")
			var re *approvals.RuleError
			if !errors.Is(err, c.want) || !errors.As(err, &re) || re.ID != o.ID {
				t.Errorf("%s: err = %v, want %v", c.name, err, c.want)
			}
		}
		if n := len(e.events.of(approvals.EventRefused)); n != 5 {
			t.Errorf("%d refusals recorded, want 5", n)
		}
		if v, _ := s.Status(ctx, o.ID); v.State != approvals.StatePending {
			t.Fatalf("after refusals the request is %s", v.State)
		}
		// The policy named no approvers: the configured groups decide.
		noApprovers := deleteReq("DELETE FROM orders WHERE id = 3")
		noApprovers.Approvers = nil
		o2 := pending(t, s, noApprovers)
		if _, err := s.Decide(ctx, o2.ID, bob, true, ""); !errors.Is(err, approvals.ErrNotApprover) {
			t.Fatalf("dba for a request of the default group sre: %v", err)
		}
		if _, err := s.Decide(ctx, o2.ID, carol, true, ""); err != nil {
			t.Fatalf("sre member: %v", err)
		}
		// A named user is an approver too.
		named := deleteReq("DELETE FROM orders WHERE id = 4")
		named.Approvers = []string{"user:DAVE@example.com"}
		o3 := pending(t, s, named)
		if _, err := s.Decide(ctx, o3.ID, dave, false, "no"); err != nil {
			t.Fatalf("named user: %v", err)
		}
		// No approvers anywhere: nobody may decide (fail closed).
		s2 := e.service(nil, func(o *approvals.Options) { o.ApproverGroups = nil })
		none := deleteReq("DELETE FROM orders WHERE id = 5")
		none.Approvers = nil
		o4 := pending(t, s2, none)
		if _, err := s2.Decide(ctx, o4.ID, carol, true, ""); !errors.Is(err, approvals.ErrNoApprovers) {
			t.Fatalf("no approver groups: %v", err)
		}
		if _, err := s.Decide(ctx, "APR-999999", bob, true, ""); !errors.Is(err, approvals.ErrNotFound) {
			t.Fatalf("unknown id: %v", err)
		}
	})
}

func TestExpiredCannotBeApproved(t *testing.T) {
	each(t, func(t *testing.T, e *env) {
		ctx := context.Background()
		s := e.service(nil, func(o *approvals.Options) { o.RequestTTL = time.Minute })
		o := pending(t, s, deleteReq("DELETE FROM orders"))
		e.clock.Advance(2 * time.Minute)
		if _, err := s.Decide(ctx, o.ID, bob, true, ""); !errors.Is(err, approvals.ErrExpired) {
			t.Fatalf("approving an expired request: %v", err)
		}
		if v, _ := s.Status(ctx, o.ID); v.State != approvals.StateExpired {
			t.Fatalf("state %s, want expired", v.State)
		}
		if _, err := s.Decide(ctx, o.ID, bob, true, ""); !errors.Is(err, approvals.ErrExpired) {
			t.Fatalf("second attempt: %v", err)
		}
		// The same call asks anew.
		if o2 := pending(t, s, deleteReq("DELETE FROM orders")); o2.ID == o.ID {
			t.Fatal("an expired request was reused")
		}
	})
}

func TestConcurrentDecisionsOneWins(t *testing.T) {
	each(t, func(t *testing.T, e *env) {
		ctx := context.Background()
		// Two services on two store handles: two replicas.
		s1 := e.service(nil)
		s2 := approvals.New(e.open(), nil, e.opts())
		for i := range 5 {
			o := pending(t, s1, deleteReq("DELETE FROM orders WHERE id = "+string(rune('a'+i))))
			var wg sync.WaitGroup
			errs := make([]error, 2)
			wg.Add(2)
			go func() { defer wg.Done(); _, errs[0] = s1.Decide(ctx, o.ID, bob, true, "") }()
			go func() { defer wg.Done(); _, errs[1] = s2.Decide(ctx, o.ID, carol, false, "") }()
			wg.Wait()
			won := 0
			for _, err := range errs {
				switch {
				case err == nil:
					won++
				case !errors.Is(err, approvals.ErrNotPending):
					t.Fatalf("loser: %v", err)
				}
			}
			if won != 1 {
				t.Fatalf("round %d: %d decisions won (%v)", i, won, errs)
			}
		}
		if n := len(e.events.of(approvals.EventDecided)); n != 5 {
			t.Fatalf("%d decisions recorded, want 5", n)
		}
	})
}

func TestReplayedDecisionIsNotASecondDecision(t *testing.T) {
	each(t, func(t *testing.T, e *env) {
		ctx := context.Background()
		s := e.service(nil)
		o := pending(t, s, deleteReq("DELETE FROM orders"))
		if _, err := s.Decide(ctx, o.ID, bob, true, "fine"); err != nil {
			t.Fatal(err)
		}
		_, err := s.Decide(ctx, o.ID, bob, true, "fine")
		if !errors.Is(err, approvals.ErrNotPending) || !strings.Contains(approvals.Explain(err), bob.Email) {
			t.Fatalf("replay: %v", err)
		}
		if n := len(e.events.of(approvals.EventDecided)); n != 1 {
			t.Fatalf("%d decisions recorded", n)
		}
		if n := len(e.events.of(approvals.EventRefused)); n != 0 {
			t.Fatalf("a replay was recorded as a refusal")
		}
	})
}

func TestStateSurvivesRestart(t *testing.T) {
	each(t, func(t *testing.T, e *env) {
		ctx := context.Background()
		s := e.service(nil)
		req := deleteReq("DELETE FROM orders")
		o := pending(t, s, req)
		s.Close()
		// A new process: new store handle, new service.
		st := e.open()
		s2 := approvals.New(st, nil, e.opts())
		vs, err := s2.List(ctx, approvals.Filter{States: []string{approvals.StatePending}})
		if err != nil || len(vs) != 1 || vs[0].ID != o.ID || vs[0].ArgsText != req.ArgsText || vs[0].Action == nil ||
			vs[0].Action.Statements[0].TablesWritten[0] != "public.orders" || vs[0].ConnectionLabels["env"] != "prod" {
			t.Fatalf("after restart: %+v, %v", vs, err)
		}
		if _, err := s2.Decide(ctx, o.ID, bob, true, ""); err != nil {
			t.Fatal(err)
		}
		if got, err := s2.Await(ctx, req, nil); err != nil || got.State != approvals.StateApproved {
			t.Fatalf("retry after restart: %+v, %v", got, err)
		}
	})
}
