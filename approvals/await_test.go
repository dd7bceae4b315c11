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

// fakeNotifier records announcements; fail makes Post fail.
type fakeNotifier struct {
	mu      sync.Mutex
	fail    error
	posts   []approvals.RequestView
	updates []approvals.RequestView
}

func (f *fakeNotifier) Post(_ context.Context, v approvals.RequestView) (string, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.fail != nil {
		return "", f.fail
	}
	f.posts = append(f.posts, v)
	return "C1/" + v.ID, nil
}

func (f *fakeNotifier) Update(_ context.Context, v approvals.RequestView) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.updates = append(f.updates, v)
	return nil
}

func (f *fakeNotifier) Where() string { return "#db-approvals in Slack" }

func (f *fakeNotifier) counts() (int, int) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return len(f.posts), len(f.updates)
}

func recv[T any](t *testing.T, c <-chan T, within time.Duration) T {
	t.Helper()
	select {
	case v := <-c:
		return v
	case <-time.After(within):
		t.Fatalf("nothing within %s", within)
	}
	var zero T
	return zero
}

func TestAwaitApprovedWhileHolding(t *testing.T) {
	each(t, func(t *testing.T, e *env) {
		n := &fakeNotifier{}
		s := e.service(n, func(o *approvals.Options) { o.Hold = 20 * time.Second })
		// The decision comes through another replica: seen by polling.
		other := approvals.New(e.open(), nil, e.opts())
		req := deleteReq("DELETE FROM orders")
		oc, ec, progress := awaitAsync(s, req)
		v := waitPending(t, other, alice.Subject)
		time.Sleep(150 * time.Millisecond) // a progress tick or two
		start := time.Now()
		if _, err := other.Decide(context.Background(), v.ID, bob, true, "looks right"); err != nil {
			t.Fatal(err)
		}
		o := recv(t, oc, 5*time.Second)
		if err := <-ec; err != nil || o.State != approvals.StateApproved || o.ID != v.ID || o.DecidedBy != bob.Email || o.Reason != "looks right" {
			t.Fatalf("Await = %+v, %v", o, err)
		}
		if d := time.Since(start); d > 2*time.Second {
			t.Fatalf("the held call saw the decision after %s", d)
		}
		msgs := progress.all()
		if len(msgs) < 2 || !strings.Contains(msgs[0], v.ID) || !strings.Contains(msgs[0], "#db-approvals in Slack") {
			t.Fatalf("progress: %q", msgs)
		}
		if posts, _ := n.counts(); posts != 1 {
			t.Fatalf("%d announcements", posts)
		}
		if got, _ := s.Status(context.Background(), v.ID); got.State != approvals.StateUsed {
			t.Fatalf("state %s after the held call ran, want used", got.State)
		}
		if len(e.events.of(approvals.EventRequested)) != 1 || len(e.events.of(approvals.EventDecided)) != 1 {
			t.Fatalf("events: %+v", e.events.all)
		}
	})
}

func TestAwaitTimeoutThenRetry(t *testing.T) {
	each(t, func(t *testing.T, e *env) {
		ctx := context.Background()
		n := &fakeNotifier{}
		s := e.service(n)
		req := deleteReq("DELETE FROM orders")
		start := time.Now()
		o, err := s.Await(ctx, req, nil)
		if err != nil || o.State != approvals.StatePending || o.ID == "" {
			t.Fatalf("Await = %+v, %v", o, err)
		}
		if d := time.Since(start); d < 300*time.Millisecond || d > 3*time.Second {
			t.Fatalf("held %s, want about the 300ms hold", d)
		}
		msg := o.Message("sql_query")
		for _, want := range []string{o.ID, "#db-approvals in Slack", "call sql_query again with exactly the same arguments", "approval_status"} {
			if !strings.Contains(msg, want) {
				t.Errorf("pending message lacks %q: %s", want, msg)
			}
		}
		// Still pending: the retry holds on the same request, no second post.
		if o2 := pending(t, s, req); o2.ID != o.ID {
			t.Fatalf("retry created %s, want %s", o2.ID, o.ID)
		}
		if posts, _ := n.counts(); posts != 1 {
			t.Fatalf("%d announcements for one request", posts)
		}
		if _, err := s.Decide(ctx, o.ID, bob, true, ""); err != nil {
			t.Fatal(err)
		}
		start = time.Now()
		got, err := s.Await(ctx, req, nil)
		if err != nil || got.State != approvals.StateApproved || got.ID != o.ID {
			t.Fatalf("retry after approval: %+v, %v", got, err)
		}
		if d := time.Since(start); d > 200*time.Millisecond {
			t.Fatalf("the approved retry took %s: it must run at once", d)
		}
		// The decision updated the announcement.
		deadline := time.Now().Add(2 * time.Second)
		for _, u := n.counts(); u == 0 && time.Now().Before(deadline); _, u = n.counts() {
			time.Sleep(10 * time.Millisecond)
		}
		if _, u := n.counts(); u != 1 || n.updates[0].State != approvals.StateApproved || n.updates[0].DecidedBy != bob.Email {
			t.Fatalf("updates: %+v", n.updates)
		}
	})
}

func TestAwaitClientCancelLeavesRequestPending(t *testing.T) {
	each(t, func(t *testing.T, e *env) {
		s := e.service(nil, func(o *approvals.Options) { o.Hold = 20 * time.Second })
		ctx, cancel := context.WithCancel(context.Background())
		type res struct {
			o   approvals.Outcome
			err error
		}
		rc := make(chan res, 1)
		go func() { o, err := s.Await(ctx, deleteReq("DELETE FROM orders"), nil); rc <- res{o, err} }()
		v := waitPending(t, s, alice.Subject)
		cancel()
		r := recv(t, rc, 2*time.Second)
		if !errors.Is(r.err, context.Canceled) || r.o.State != approvals.StatePending || r.o.ID != v.ID {
			t.Fatalf("cancelled hold: %+v, %v", r.o, r.err)
		}
		if got, _ := s.Status(context.Background(), v.ID); got.State != approvals.StatePending {
			t.Fatalf("the client's cancel changed the request to %s", got.State)
		}
	})
}

func TestAwaitDenied(t *testing.T) {
	each(t, func(t *testing.T, e *env) {
		s := e.service(nil, func(o *approvals.Options) { o.Hold = 20 * time.Second; o.DenialMemory = time.Minute })
		req := deleteReq("DELETE FROM orders")
		oc, ec, _ := awaitAsync(s, req)
		v := waitPending(t, s, alice.Subject)
		if _, err := s.Decide(context.Background(), v.ID, carol, false, "not during the freeze"); err != nil {
			t.Fatal(err)
		}
		o := recv(t, oc, 3*time.Second)
		if err := <-ec; err != nil || o.State != approvals.StateDenied || o.DecidedBy != carol.Email || o.Reason != "not during the freeze" {
			t.Fatalf("Await = %+v, %v", o, err)
		}
		if msg := o.Message("sql_query"); !strings.Contains(msg, "denied by carol@example.com") || !strings.Contains(msg, "not during the freeze") {
			t.Fatalf("message: %s", msg)
		}
		// A retry right away gets the denial, not a new request.
		again, err := s.Await(context.Background(), req, nil)
		if err != nil || again.State != approvals.StateDenied || again.ID != v.ID {
			t.Fatalf("retry: %+v, %v", again, err)
		}
		e.clock.Advance(2 * time.Minute)
		s2 := e.service(nil, func(o *approvals.Options) { o.DenialMemory = time.Minute })
		if o := pending(t, s2, req); o.ID == v.ID {
			t.Fatal("after the denial memory the call should ask anew")
		}
	})
}

func TestCancelSubject(t *testing.T) {
	each(t, func(t *testing.T, e *env) {
		ctx := context.Background()
		s := e.service(nil, func(o *approvals.Options) { o.Hold = 20 * time.Second })
		// One approved but unused, one held.
		approved := pending(t, e.service(nil), deleteReq("DELETE FROM a"))
		if _, err := s.Decide(ctx, approved.ID, bob, true, ""); err != nil {
			t.Fatal(err)
		}
		oc, ec, _ := awaitAsync(s, deleteReq("DELETE FROM b"))
		waitPending(t, s, alice.Subject)
		n, err := s.CancelSubject(ctx, alice.Subject)
		if err != nil || n != 2 {
			t.Fatalf("CancelSubject = %d, %v", n, err)
		}
		if o := recv(t, oc, 3*time.Second); o.State != approvals.StateCancelled || <-ec != nil {
			t.Fatalf("held call: %+v", o)
		}
		if v, _ := s.Status(ctx, approved.ID); v.State != approvals.StateCancelled || v.DecidedBy != bob.Email {
			t.Fatalf("approved request after cancel: %+v", v)
		}
	})
}

func TestNotifierDownFailsClosed(t *testing.T) {
	each(t, func(t *testing.T, e *env) {
		ctx := context.Background()
		n := &fakeNotifier{fail: errors.New("slack: 500 Internal Server Error after 3 attempts")}
		s := e.service(n)
		req := deleteReq("DELETE FROM orders")
		o, err := s.Await(ctx, req, nil)
		if err == nil || !strings.Contains(err.Error(), "could not be sent to approvers") || !strings.Contains(err.Error(), "airlock approvals approve "+o.ID) {
			t.Fatalf("Await with Slack down = %+v, %v; want a clear error", o, err)
		}
		vs, err := s.List(ctx, approvals.Filter{States: []string{approvals.StatePending}})
		if err != nil || len(vs) != 1 || vs[0].ID != o.ID {
			t.Fatalf("the request is not listable: %+v, %v", vs, err)
		}
		// Slack is back: a later retry announces it.
		n.mu.Lock()
		n.fail = nil
		n.mu.Unlock()
		e.clock.Advance(time.Minute)
		if o2 := pending(t, s, req); o2.ID != o.ID {
			t.Fatalf("retry made %s", o2.ID)
		}
		if posts, _ := n.counts(); posts != 1 {
			t.Fatalf("%d announcements after recovery", posts)
		}
	})
}
