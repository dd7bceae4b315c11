package approvals_test

import (
	"context"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/airlockhq/airlock/approvals"
	"github.com/airlockhq/airlock/connectors"
	"github.com/airlockhq/airlock/internal/store"
	"github.com/airlockhq/airlock/internal/testenv"
)

func TestMain(m *testing.M) { os.Exit(testenv.Main(m)) }

type backend struct {
	driver string
	dsn    func(t *testing.T) string
}

var backends = []backend{
	{"sqlite", func(t *testing.T) string { return filepath.Join(t.TempDir(), "airlock.db") }},
	{"postgres", func(t *testing.T) string { return testenv.Postgres(t).NewDatabase(t).AdminDSN }},
}

// env is one test's store, clock and event log; open gives further store
// handles on the same database (another replica, or after a restart).
type env struct {
	t      *testing.T
	st     store.Store
	open   func() store.Store
	clock  *clock
	events *events
}

// each runs fn against a fresh database of every backend.
func each(t *testing.T, fn func(t *testing.T, e *env)) {
	for _, b := range backends {
		t.Run(b.driver, func(t *testing.T) {
			dsn := b.dsn(t)
			open := func() store.Store {
				st, err := store.Open(context.Background(), b.driver, dsn)
				if err != nil {
					t.Fatal(err)
				}
				t.Cleanup(func() { st.Close() })
				return st
			}
			fn(t, &env{t: t, st: open(), open: open, clock: &clock{}, events: &events{}})
		})
	}
}

// clock is real time plus an offset tests move forward, so timers still
// run while expiry is tested without sleeping for an hour.
type clock struct{ off atomic.Int64 }

func (c *clock) Now() time.Time          { return time.Now().Add(time.Duration(c.off.Load())) }
func (c *clock) Advance(d time.Duration) { c.off.Add(int64(d)) }

type event struct {
	Kind    approvals.EventKind
	Payload any
}

type events struct {
	mu  sync.Mutex
	all []event
}

func (e *events) add(_ context.Context, k approvals.EventKind, p any) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.all = append(e.all, event{k, p})
}

func (e *events) of(k approvals.EventKind) []event {
	e.mu.Lock()
	defer e.mu.Unlock()
	var out []event
	for _, x := range e.all {
		if x.Kind == k {
			out = append(out, x)
		}
	}
	return out
}

// opts are fast test options: a short hold, quick polling.
func (e *env) opts() approvals.Options {
	return approvals.Options{Hold: 300 * time.Millisecond, PollEvery: 20 * time.Millisecond, ProgressEvery: 100 * time.Millisecond,
		ApproverGroups: []string{"sre"}, Now: e.clock.Now, OnEvent: e.events.add}
}

func (e *env) service(n approvals.Notifier, mod ...func(*approvals.Options)) *approvals.Service {
	o := e.opts()
	for _, f := range mod {
		f(&o)
	}
	s := approvals.New(e.st, n, o)
	e.t.Cleanup(s.Close)
	return s
}

var (
	alice = approvals.Approver{Subject: "alice-sub", Email: "alice@example.com", Groups: []string{"dev"}, Via: approvals.ViaCLI}
	bob   = approvals.Approver{Subject: "bob-sub", Email: "bob@example.com", Groups: []string{"dba"}, Via: approvals.ViaCLI}
	carol = approvals.Approver{Subject: "carol-sub", Email: "carol@example.com", Groups: []string{"dba", "sre"}, Via: approvals.ViaCLI}
	dave  = approvals.Approver{Subject: "dave-sub", Email: "dave@example.com", Groups: []string{"dev"}, Via: approvals.ViaCLI}
)

// deleteReq is alice's call that needs a dba's approval.
func deleteReq(sql string) approvals.Request {
	args := map[string]any{"connection": "prod-db", "sql": sql}
	return approvals.Request{Subject: alice.Subject, Email: alice.Email, Groups: alice.Groups, ClientName: "claude-code",
		Tool: "sql_query", Connection: "prod-db", ConnectionLabels: map[string]string{"env": "prod"},
		ArgsHash: approvals.ArgsHash("sql_query", "prod-db", args), ArgsText: sql,
		Action: &connectors.Action{Risk: connectors.RiskHigh, Flags: []string{"delete_without_where"},
			Statements: []connectors.Statement{{Kind: "delete", TablesWritten: []string{"public.orders"}}}},
		Reasons: []string{"writes to prod need approval"}, Approvers: []string{"group:dba"}}
}

// pending creates a request by a hold that times out (s has a short one).
func pending(t *testing.T, s *approvals.Service, req approvals.Request) approvals.Outcome {
	t.Helper()
	o, err := s.Await(context.Background(), req, nil)
	if err != nil || o.State != approvals.StatePending || o.ID == "" {
		t.Fatalf("Await = %+v, %v; want a pending request", o, err)
	}
	return o
}

// awaitAsync runs Await in the background.
func awaitAsync(s *approvals.Service, req approvals.Request) (<-chan approvals.Outcome, <-chan error, *progressLog) {
	oc, ec := make(chan approvals.Outcome, 1), make(chan error, 1)
	p := &progressLog{}
	go func() {
		o, err := s.Await(context.Background(), req, p.add)
		oc <- o
		ec <- err
	}()
	return oc, ec, p
}

type progressLog struct {
	mu   sync.Mutex
	msgs []string
}

func (p *progressLog) add(m string) { p.mu.Lock(); p.msgs = append(p.msgs, m); p.mu.Unlock() }
func (p *progressLog) all() []string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]string(nil), p.msgs...)
}

// waitPending waits until a pending request of subject exists.
func waitPending(t *testing.T, s *approvals.Service, subject string) approvals.RequestView {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for time.Now().Before(deadline) {
		vs, err := s.List(context.Background(), approvals.Filter{States: []string{approvals.StatePending}, Subject: subject})
		if err != nil {
			t.Fatal(err)
		}
		if len(vs) > 0 {
			return vs[0]
		}
		time.Sleep(10 * time.Millisecond)
	}
	t.Fatalf("no pending request of %s", subject)
	return approvals.RequestView{}
}
