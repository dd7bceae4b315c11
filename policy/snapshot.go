package policy

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/open-policy-agent/opa/v1/ast"
	"github.com/open-policy-agent/opa/v1/rego"
	"github.com/open-policy-agent/opa/v1/storage"
	"github.com/open-policy-agent/opa/v1/storage/inmem"
	"go.uber.org/zap"
)

// snapshot is one loaded policy version with its prepared queries.
type snapshot struct {
	hash     string
	loadedAt time.Time
	files    []string
	compiler *ast.Compiler
	store    storage.Store
	txn      storage.Transaction // one read transaction for all evaluations
	decision *preparedQuery
	visible  *preparedQuery
	timeout  time.Duration
	log      *zap.Logger
	vis      visCache
	memo     *memo // nil: every decision is evaluated
}

// compileSnapshot parses, compiles and tests srcs and prepares the queries.
func compileSnapshot(ctx context.Context, srcs []source, hash string, opts Options) (*snapshot, error) {
	all, err := parseSources(srcs)
	if err != nil {
		return nil, err
	}
	evalMods := make(map[string]*ast.Module, len(all))
	var files []string
	hasOperatorTests := false
	for _, s := range srcs {
		files = append(files, s.path)
		if _, ok := all[s.path]; !ok {
			continue
		}
		if s.test {
			hasOperatorTests = hasOperatorTests || s.operator
			continue
		}
		evalMods[s.path] = all[s.path]
	}
	c := ast.NewCompiler().WithDefaultRegoVersion(ast.RegoV1)
	if c.Compile(evalMods); c.Failed() {
		return nil, fmt.Errorf("policy: load: %w", c.Errors)
	}
	if hasOperatorTests {
		// Only the operator's tests gate a reload: the default bundle's
		// tests are the shipped behaviour, which an extension may change
		// on purpose (`airlock policy test` still runs them all).
		results, err := runTestModules(ctx, all)
		if err != nil {
			return nil, fmt.Errorf("policy: load: tests: %w", err)
		}
		var failed []string
		for _, r := range results {
			if r.Location == nil || strings.HasPrefix(r.Location.File, defaultPrefix) || r.Pass() || r.Skip {
				continue
			}
			msg := r.Package + "." + r.Name
			if r.Error != nil {
				msg += ": " + r.Error.Error()
			}
			failed = append(failed, msg)
		}
		if len(failed) > 0 {
			sort.Strings(failed)
			return nil, fmt.Errorf("policy: load: %d policy test(s) failed: %s", len(failed), strings.Join(failed, "; "))
		}
	}
	if len(c.GetRules(ast.MustParseRef(DecisionQuery))) == 0 {
		opts.Log.Warn("policy defines no data.airlock.authz.decision; every call will be denied",
			zap.String("policy", hash))
	}
	store := inmem.New()
	s := &snapshot{hash: hash, loadedAt: time.Now(), files: files, compiler: c, store: store, timeout: opts.EvalTimeout, log: opts.Log}
	// The store stays empty (policies carry their data as rules), so one
	// read transaction, never closed, serves every evaluation of this
	// snapshot instead of one opened and closed per call.
	if s.txn, err = store.NewTransaction(ctx); err != nil {
		return nil, fmt.Errorf("policy: load: %w", err)
	}
	if s.decision, err = prepareQuery(c, store, s.txn, ast.MustParseRef(DecisionQuery)); err != nil {
		return nil, fmt.Errorf("policy: load: prepare decision: %w", err)
	}
	if s.visible, err = prepareQuery(c, store, s.txn, ast.MustParseRef(VisibleQuery)); err != nil {
		return nil, fmt.Errorf("policy: load: prepare visible: %w", err)
	}
	s.decision.consts = s.constDocs(ctx)
	s.visible.consts = s.decision.consts
	s.memo = newMemo(c, ast.MustParseRef(DecisionQuery))
	return s, nil
}

// keepTerm hands results back as OPA terms: decoding them directly is
// cheaper than OPA's JSON conversion followed by ours.
func keepTerm(t *ast.Term, _ *rego.EvalContext) (any, error) { return t, nil }
