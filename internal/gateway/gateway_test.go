package gateway

import (
	"context"
	"errors"
	"reflect"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/airlockhq/airlock/connectors"
	"github.com/airlockhq/airlock/internal/config"
	"github.com/airlockhq/airlock/internal/identity"
	"github.com/airlockhq/airlock/recorder"
	"github.com/airlockhq/airlock/tools"
)

// recordingConn is a connection that classifies by a fixed action and
// counts executions, so tests can prove what never reached the backend.
type recordingConn struct {
	action   *connectors.Action
	classErr error
	executed atomic.Int32
}

func (c *recordingConn) Name() string              { return "db" }
func (c *recordingConn) Kind() string              { return "postgres" }
func (c *recordingConn) Labels() map[string]string { return map[string]string{"env": "dev"} }
func (c *recordingConn) Classify(context.Context, connectors.Operation) (*connectors.Action, error) {
	return c.action, c.classErr
}
func (c *recordingConn) Execute(_ context.Context, _ connectors.Operation, _ *connectors.Action, lim connectors.Limits) (*connectors.Result, error) {
	c.executed.Add(1)
	return &connectors.Result{Text: "ran", Rows: lim.MaxRows}, nil
}
func (c *recordingConn) Ping(context.Context) error { return nil }
func (c *recordingConn) Close() error               { return nil }

type authzFunc func(*Call) (Decision, error)

func (f authzFunc) Authorize(_ context.Context, c *Call) (Decision, error) { return f(c) }

// readOnlyRule allows what the classifier calls read-only and denies the
// rest with the classifier's reasons.
type readOnlyRule struct{}

func (readOnlyRule) Authorize(_ context.Context, c *Call) (Decision, error) {
	if c.Action.ReadOnly {
		return Decision{Allow: true, Reasons: []string{"read-only call"}, Policy: "test:read-only"}, nil
	}
	return Decision{Reasons: append([]string{"only read-only calls are allowed"}, c.Action.Reasons...), Policy: "test:read-only"}, nil
}

type failingSource struct{}

func (failingSource) Principal(context.Context) (identity.Principal, error) {
	return identity.Principal{}, identity.ErrNoIdentity
}

func newGW(t *testing.T, conn *recordingConn, authz Authorizer, src identity.Source) *Gateway {
	t.Helper()
	cfg := config.Defaults()
	cfg.Connections = []config.Connection{{Name: "db", Kind: "postgres", Limits: cfg.Limits}}
	if src == nil {
		p, _ := identity.Dev("alice@example.com")
		src = identity.Static{P: p}
	}
	g, err := New(Options{Config: cfg, Catalog: tools.Default(),
		Connections: map[string]connectors.Connection{"db": conn}, Identity: src, Authorizer: authz})
	if err != nil {
		t.Fatal(err)
	}
	return g
}

var readAction = &connectors.Action{ReadOnly: true, Risk: connectors.RiskLow, Flags: []string{}}
var writeAction = &connectors.Action{ReadOnly: false, Risk: connectors.RiskHigh, Flags: []string{"delete_without_where"},
	Reasons: []string{"statement 1 (delete) writes orders"}}

func query(sql string) *Call {
	return &Call{ToolName: "sql_query", Arguments: map[string]any{"connection": "db", "sql": sql}}
}

func TestPipelineOrderIsWrittenOnce(t *testing.T) {
	g := newGW(t, &recordingConn{action: readAction}, readOnlyRule{}, nil)
	got := strings.Join(g.Stages(), ",")
	if want := "authenticate,record,bind,resolve,classify,authorize,approve,mask,limit"; got != want {
		t.Fatalf("pipeline %s, want %s", got, want)
	}
}

func TestReadRunsWriteIsRefusedBeforeTheBackend(t *testing.T) {
	conn := &recordingConn{action: readAction}
	g := newGW(t, conn, readOnlyRule{}, nil)
	c := query("SELECT 1")
	res, err := g.Handle(context.Background(), c)
	if err != nil || res.Text != "ran" || conn.executed.Load() != 1 {
		t.Fatalf("read: %v %v executed=%d", res, err, conn.executed.Load())
	}
	if c.Principal.Verified || c.Principal.Subject != "alice@example.com" || c.Decision.Policy != "test:read-only" {
		t.Fatalf("call not bound as expected: %+v %+v", c.Principal, c.Decision)
	}

	conn.action = writeAction
	_, err = g.Handle(context.Background(), query("DELETE FROM orders"))
	var r *Refusal
	if !errors.As(err, &r) || r.Kind != RefusedDenied || !strings.Contains(r.Message, "writes orders") {
		t.Fatalf("write: %v", err)
	}
	if conn.executed.Load() != 1 {
		t.Fatal("a denied write reached the backend")
	}
}

func TestFailClosed(t *testing.T) {
	for _, tc := range []struct {
		name  string
		conn  *recordingConn
		authz Authorizer
		src   identity.Source
		kind  RefusalKind
		want  string
	}{
		{"no identity", &recordingConn{action: readAction}, readOnlyRule{}, failingSource{}, RefusedIdentity, "no identity"},
		{"classification fails", &recordingConn{classErr: errors.New("syntax error at end of input")}, readOnlyRule{}, nil,
			RefusedInvalid, "could not be understood, so it was not run: syntax error"},
		{"policy errors", &recordingConn{action: readAction},
			authzFunc(func(*Call) (Decision, error) { return Decision{Allow: true}, errors.New("boom") }), nil,
			RefusedDenied, "policy could not be evaluated"},
		{"approval without a channel", &recordingConn{action: writeAction},
			authzFunc(func(*Call) (Decision, error) {
				return Decision{RequireApproval: true, Reasons: []string{"writes need approval"}}, nil
			}), nil, RefusedApproval, "needs approval (writes need approval), and no approval channel is configured"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			g := newGW(t, tc.conn, tc.authz, tc.src)
			_, err := g.Handle(context.Background(), query("SELECT 1"))
			var r *Refusal
			if !errors.As(err, &r) || r.Kind != tc.kind || !strings.Contains(r.Message, tc.want) {
				t.Fatalf("got %v, want %s refusal with %q", err, tc.kind, tc.want)
			}
			if tc.conn.executed.Load() != 0 {
				t.Fatal("the backend ran a refused call")
			}
		})
	}
}

func TestLimitsComeFromArgumentsDecisionAndConfig(t *testing.T) {
	conn := &recordingConn{action: readAction}
	cap := 0
	g := newGW(t, conn, authzFunc(func(*Call) (Decision, error) { return Decision{Allow: true, MaxRows: cap}, nil }), nil)
	for _, tc := range []struct {
		maxRows any
		cap     int
		want    int
	}{
		{nil, 0, 1000},    // configured default
		{25.0, 0, 25},     // caller's choice
		{1e6, 0, 10000},   // bounded by the ceiling
		{500.0, 100, 100}, // the decision lowers it
		{50.0, 100, 50},   // never raises it
	} {
		cap = tc.cap
		c := query("SELECT 1")
		if tc.maxRows != nil {
			c.Arguments["max_rows"] = tc.maxRows
		}
		res, err := g.Handle(context.Background(), c)
		if err != nil || res.Rows != tc.want {
			t.Errorf("max_rows %v cap %d: got %v %v, want %d", tc.maxRows, tc.cap, res, err, tc.want)
		}
	}
}

func TestUnknownToolIsAProtocolError(t *testing.T) {
	g := newGW(t, &recordingConn{action: readAction}, readOnlyRule{}, nil)
	if _, err := g.Handle(context.Background(), &Call{ToolName: "drop_database"}); !errors.Is(err, ErrUnknownTool) {
		t.Fatalf("got %v", err)
	}
}

type failingRecorder struct{ enqueued int }

func (f *failingRecorder) Write(context.Context, recorder.Event) error {
	return errors.New("disk full")
}
func (f *failingRecorder) Enqueue(recorder.Event) error { f.enqueued++; return nil }

// TestNothingRunsUnrecorded: when the intent cannot be written durably, the
// call is refused and the backend never sees it.
func TestNothingRunsUnrecorded(t *testing.T) {
	conn := &recordingConn{action: readAction}
	cfg := config.Defaults()
	cfg.Connections = []config.Connection{{Name: "db", Kind: "postgres", Limits: cfg.Limits}}
	p, _ := identity.Dev("alice@example.com")
	rec := &failingRecorder{}
	g, err := New(Options{Config: cfg, Catalog: tools.Default(), Connections: map[string]connectors.Connection{"db": conn},
		Identity: identity.Static{P: p}, Authorizer: readOnlyRule{}, Recorder: rec})
	if err != nil {
		t.Fatal(err)
	}
	_, err = g.Handle(context.Background(), query("SELECT 1"))
	var r *Refusal
	if !errors.As(err, &r) || !strings.Contains(r.Message, "could not be recorded") {
		t.Fatalf("got %v", err)
	}
	if conn.executed.Load() != 0 {
		t.Fatal("an unrecorded call ran")
	}
	if rec.enqueued == 0 {
		t.Fatal("the refusal was not handed to the recorder")
	}
}

// TestCallIDsSortByTimeAndStayUnguessable: ids of later calls sort after
// earlier ones (the audit index grows at its end), and ids made in the
// same millisecond still differ in their random part.
func TestCallIDsSortByTimeAndStayUnguessable(t *testing.T) {
	first := NewCallID()
	time.Sleep(2 * time.Millisecond)
	second := NewCallID()
	if !(first < second) {
		t.Fatalf("call id %s made later sorts before %s", second, first)
	}
	seen := map[string]bool{}
	for range 1000 {
		id := NewCallID()
		if len(id) != len("call_")+30 || seen[id] {
			t.Fatalf("call id %q: wrong length or repeated", id)
		}
		seen[id] = true
	}
}

// capturingRecorder keeps the events it is handed.
type capturingRecorder struct{ evs []recorder.Event }

func (r *capturingRecorder) Write(_ context.Context, ev recorder.Event) error {
	r.evs = append(r.evs, ev)
	return nil
}
func (r *capturingRecorder) Enqueue(ev recorder.Event) error { r.evs = append(r.evs, ev); return nil }

// TestIntentNamesTheCaller: the intent records who the call was decided
// for beyond the subject (the token's issuer and client, the groups, the
// client software and transport), so a call without a session still says
// which agent made it.
func TestIntentNamesTheCaller(t *testing.T) {
	conn := &recordingConn{action: readAction}
	cfg := config.Defaults()
	cfg.Connections = []config.Connection{{Name: "db", Kind: "postgres", Limits: cfg.Limits}}
	p := identity.Principal{Subject: "svc-reporting", Issuer: "https://idp.example.com/", ClientID: "reporting-agent",
		Groups: []string{"agents"}, Verified: true}
	rec := &capturingRecorder{}
	g, err := New(Options{Config: cfg, Catalog: tools.Default(), Connections: map[string]connectors.Connection{"db": conn},
		Identity: identity.Static{P: p}, Authorizer: readOnlyRule{}, Recorder: rec})
	if err != nil {
		t.Fatal(err)
	}
	c := query("SELECT 1")
	c.Transport, c.Client = "http", identity.Client{Name: "claude-code", Version: "2.1.0"}
	if _, err := g.Handle(context.Background(), c); err != nil {
		t.Fatal(err)
	}
	var intent *recorder.IntentData
	for _, ev := range rec.evs {
		if ev.Type == recorder.TypeCallIntent {
			intent = &recorder.IntentData{}
			if err := ev.Decode(intent); err != nil {
				t.Fatal(err)
			}
		}
	}
	want := recorder.CallerData{Issuer: "https://idp.example.com/", ClientID: "reporting-agent", Groups: []string{"agents"},
		ClientName: "claude-code", ClientVersion: "2.1.0", Transport: "http"}
	if intent == nil || intent.Caller == nil || !reflect.DeepEqual(*intent.Caller, want) {
		t.Fatalf("intent caller = %+v, want %+v", intent, want)
	}
}
