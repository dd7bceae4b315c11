package policy

import (
	"context"
	"errors"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/open-policy-agent/opa/v1/ast"
	"go.uber.org/zap"

	// Time-window helpers (lib.within_hours) need zone data, and minimal
	// container images have none.
	_ "time/tzdata"
)

// Queries the engine prepares at load.
const (
	DecisionQuery = "data.airlock.authz.decision"
	VisibleQuery  = "data.airlock.authz.visible"
)

// DefaultEvalTimeout bounds one evaluation when Options.EvalTimeout is zero.
const DefaultEvalTimeout = 100 * time.Millisecond

// Options configure an Engine.
type Options struct {
	// Dir holds operator .rego files (recursively; hidden entries skipped),
	// loaded with the default bundle. Empty: the default bundle alone.
	Dir string
	// ReplaceDefault drops the default airlock.authz rules; airlock.lib stays.
	ReplaceDefault bool
	// EvalTimeout bounds each evaluation; default DefaultEvalTimeout.
	EvalTimeout time.Duration
	// PollInterval is how often Watch looks at Dir; default one second.
	PollInterval time.Duration
	// Log receives load and reload outcomes; default zap.NewNop.
	Log *zap.Logger
}

// Engine evaluates decisions against one immutable policy snapshot, which
// Reload replaces atomically: an evaluation never sees half a reload.
type Engine struct {
	mu   sync.Mutex // serialises loads; never held while evaluating
	opts Options
	snap atomic.Pointer[snapshot]

	stMu    sync.Mutex
	lastErr error

	values valueCache
}

// New loads the policy described by opts.
func New(ctx context.Context, opts Options) (*Engine, error) {
	e := &Engine{}
	if err := e.Load(ctx, opts); err != nil {
		return nil, err
	}
	return e, nil
}

// Load (re)configures the engine and loads the policy. On error the
// previous options and snapshot, if any, stay in force.
func (e *Engine) Load(ctx context.Context, opts Options) error {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.load(ctx, opts.withDefaults(), true)
}

// Reload re-reads the policy directory. A policy that does not parse or
// compile, or whose own tests fail, is rejected: the current snapshot stays,
// and the error is returned and kept for LastError and Status.
func (e *Engine) Reload(ctx context.Context) error {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.load(ctx, e.opts.withDefaults(), false)
}

func (o Options) withDefaults() Options {
	if o.EvalTimeout <= 0 {
		o.EvalTimeout = DefaultEvalTimeout
	}
	if o.PollInterval <= 0 {
		o.PollInterval = time.Second
	}
	if o.Log == nil {
		o.Log = zap.NewNop()
	}
	return o
}

// load builds and swaps in a snapshot; unless force, files that hash like
// the running version change nothing. Callers hold e.mu.
func (e *Engine) load(ctx context.Context, opts Options, force bool) error {
	s, err := e.build(ctx, opts, force)
	if err != nil {
		e.setErr(err)
		fields := []zap.Field{zap.Error(err), zap.String("dir", opts.Dir)}
		if cur := e.snap.Load(); cur != nil {
			fields = append(fields, zap.String("policy", cur.hash))
		}
		opts.Log.Error("policy rejected; the previous policy stays in force", fields...)
		return err
	}
	e.opts = opts
	e.setErr(nil)
	if s == nil {
		return nil
	}
	prev := e.snap.Swap(s)
	fields := []zap.Field{zap.String("policy", s.hash), zap.Int("files", len(s.files)),
		zap.String("dir", opts.Dir), zap.Bool("replace_default", opts.ReplaceDefault)}
	if prev != nil {
		fields = append(fields, zap.String("previous", prev.hash))
	}
	opts.Log.Info("policy loaded", fields...)
	return nil
}

// build returns the new snapshot, or nil when nothing changed.
func (e *Engine) build(ctx context.Context, opts Options, force bool) (*snapshot, error) {
	srcs, err := loadSources(opts.Dir, opts.ReplaceDefault)
	if err != nil {
		return nil, err
	}
	hash := bundleHash(srcs)
	if cur := e.snap.Load(); !force && cur != nil && cur.hash == hash {
		return nil, nil
	}
	return compileSnapshot(ctx, srcs, hash, opts)
}

func (e *Engine) setErr(err error) {
	e.stMu.Lock()
	e.lastErr = err
	e.stMu.Unlock()
}

// LastError is the error of the most recent load, nil when it succeeded.
func (e *Engine) LastError() error {
	e.stMu.Lock()
	defer e.stMu.Unlock()
	return e.lastErr
}

// Status reports the policy in force and the outcome of the last load, for
// readiness detail.
func (e *Engine) Status() (hash string, loadedAt time.Time, lastErr error) {
	if s := e.snap.Load(); s != nil {
		hash, loadedAt = s.hash, s.loadedAt
	}
	return hash, loadedAt, e.LastError()
}

// Hash is the bundle hash of the policy in force.
func (e *Engine) Hash() string {
	if s := e.snap.Load(); s != nil {
		return s.hash
	}
	return ""
}

// ErrUndefined is returned when the policy produces no decision at all.
var ErrUndefined = errors.New("policy: the policy produced no decision (is data.airlock.authz.decision defined?)")

// Decide evaluates the decision for in. Any failure is an error: the caller
// must deny (DecideOrDeny does).
func (e *Engine) Decide(ctx context.Context, in Input) (Decision, error) {
	s := e.snap.Load()
	if s == nil {
		return deny(""), errors.New("policy: no policy loaded")
	}
	it := newInputTerms(&in, &e.values)
	var key int
	var vals []ast.Value
	if s.memo != nil {
		key, vals = s.memo.key(&it)
		if d, ok := s.memo.get(key, vals); ok {
			return d, nil
		}
	}
	t, err := s.eval(ctx, s.decision, it.object())
	if err != nil {
		return deny(s.hash), err
	}
	d, err := decodeDecision(t)
	if err != nil {
		return deny(s.hash), err
	}
	d.Policy = s.hash
	if s.memo != nil {
		s.memo.put(key, vals, d)
	}
	return d, nil
}

// DecideOrDeny is Decide for callers that must never allow on error: a
// failure comes back as a denial whose reason says the policy failed.
func (e *Engine) DecideOrDeny(ctx context.Context, in Input) Decision {
	d, err := e.Decide(ctx, in)
	if err != nil {
		return deny(d.Policy, "policy evaluation failed: "+short(err))
	}
	return d
}

// short keeps the first line of an error, without the policy: prefix, for
// a reason an agent reads; the full error belongs in the logs.
func short(err error) string {
	msg := strings.TrimPrefix(err.Error(), "policy: ")
	if i := strings.IndexByte(msg, '\n'); i >= 0 {
		msg = msg[:i]
	}
	if len(msg) > 200 {
		msg = msg[:200] + "..."
	}
	return msg
}
