package policy

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/open-policy-agent/opa/v1/ast"
	"github.com/open-policy-agent/opa/v1/metrics"
	"github.com/open-policy-agent/opa/v1/storage"
	"github.com/open-policy-agent/opa/v1/topdown"
)

// The decision and visible queries run through topdown directly rather
// than rego.PreparedEvalQuery: per call, rego allocates an evaluation
// context, option closures, a topdown query and a result set, and topdown
// its own virtual and base caches. A decision that meets a GC cycle takes
// several times the median, so the tail follows the bytes allocated per
// decision, and every per-call object that can be reused is.

// resultVar captures the queried document, as rego's own capture variable
// would.
var resultVar = ast.Var("result")

// preparedQuery is one query compiled against a snapshot's compiler, with
// the topdown queries that run it kept for reuse.
type preparedQuery struct {
	body    ast.Body
	qc      ast.QueryCompiler
	compile *ast.Compiler
	store   storage.Store
	txn     storage.Transaction
	consts  *virtualCache // the snapshot's constant documents, or nil
	pool    sync.Pool     // *queryRun
}

// prepareQuery compiles `ref = result` for the document ref, with the
// query compiler settings rego would use.
func prepareQuery(c *ast.Compiler, store storage.Store, txn storage.Transaction, ref ast.Ref) (*preparedQuery, error) {
	qc := c.QueryCompiler().
		WithContext(ast.NewQueryContext()).
		WithEnablePrintStatements(false).
		WithStrict(false)
	body, err := qc.Compile(ast.NewBody(ast.Equality.Expr(ast.NewTerm(ref), ast.NewTerm(resultVar))))
	if err != nil {
		return nil, err
	}
	return &preparedQuery{body: body, qc: qc, compile: c, store: store, txn: txn}, nil
}

// queryRun is a reusable evaluation: the configured query, and the
// result callback made once, as a closure made per call would be
// allocated with the variables it captures.
type queryRun struct {
	q       *topdown.Query
	out     *ast.Term
	n       int
	collect func(topdown.QueryResult) error
}

func (r *queryRun) onResult(qr topdown.QueryResult) error {
	if r.n == 0 {
		r.out = qr[resultVar]
	}
	r.n++
	return nil
}

func (p *preparedQuery) getRun() *queryRun {
	if r, ok := p.pool.Get().(*queryRun); ok {
		return r
	}
	r := &queryRun{q: topdown.NewQuery(p.body).
		WithQueryCompiler(p.qc).
		WithCompiler(p.compile).
		WithStore(p.store).
		WithTransaction(p.txn).
		WithMetrics(noMetrics).
		WithBaseCache(noBaseCache{})}
	r.collect = r.onResult
	return r
}

// run evaluates the query once; it returns the document (nil when
// undefined) and how many results there were.
func (p *preparedQuery) run(ctx context.Context, input ast.Value, cancel topdown.Cancel) (*ast.Term, int, error) {
	vc := getVirtualCache(p.consts)
	r := p.getRun()
	r.q.WithInput(ast.NewTerm(input)).
		WithCancel(cancel).
		WithVirtualCache(vc).
		// What topdown would set itself when left zero; a reused query
		// must not keep the time of its first evaluation.
		WithTime(time.Now())
	err := r.q.Iter(ctx, r.collect)
	out, n := r.out, r.n
	// Drop what belongs to this call before the run is reused.
	r.q.WithInput(nil).WithCancel(nil).WithVirtualCache(nil)
	r.out, r.n = nil, 0
	p.pool.Put(r)
	putVirtualCache(vc)
	return out, n, err
}

// noMetrics is shared by all evaluations: per-evaluation metrics would be
// allocated, filled and never read.
var noMetrics = metrics.NoOp()

// noBaseCache caches nothing. The base cache saves converting large data
// documents read from the store more than once per evaluation; this
// store is always empty (policies carry their data as rules), so the
// cache would only cost its allocation.
type noBaseCache struct{}

func (noBaseCache) Get(ast.Ref) ast.Value  { return nil }
func (noBaseCache) Put(ast.Ref, ast.Value) {}

// deadline is an evaluation's timeout: a timer that cancels the
// evaluation. One whose timer did not fire is reused; one that fired has
// a cancelled Cancel, which cannot be reset, and is dropped.
type deadline struct {
	cancel topdown.Cancel
	timer  *time.Timer
}

var deadlines sync.Pool

func startDeadline(d time.Duration) *deadline {
	if x, ok := deadlines.Get().(*deadline); ok {
		x.timer.Reset(d)
		return x
	}
	c := topdown.NewCancel()
	return &deadline{cancel: c, timer: time.AfterFunc(d, c.Cancel)}
}

// stop reports whether the deadline passed.
func (x *deadline) stop() (expired bool) {
	if x.timer.Stop() {
		deadlines.Put(x)
		return false
	}
	return x.cancel.Cancelled()
}

// eval runs one prepared query within the evaluation deadline and returns
// its single value. The deadline is a timer on an external cancel rather
// than a context: OPA would otherwise start a goroutine per evaluation to
// watch the context, which costs more than a default-bundle decision. The
// caller's context is checked before starting; an evaluation in progress is
// bounded by the deadline.
func (s *snapshot) eval(ctx context.Context, q *preparedQuery, input ast.Value) (*ast.Term, error) {
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("policy: evaluation: %w", err)
	}
	dl := startDeadline(s.timeout)
	t, n, err := q.run(ctx, input, dl.cancel)
	expired := dl.stop()
	if err != nil {
		if expired {
			return nil, fmt.Errorf("policy: evaluation timed out after %s: %w", s.timeout, err)
		}
		return nil, fmt.Errorf("policy: evaluation: %w", err)
	}
	if n == 0 || t == nil {
		return nil, ErrUndefined
	}
	if n > 1 {
		return nil, fmt.Errorf("policy: evaluation: %d results, want one", n)
	}
	return t, nil
}
