package policy

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/open-policy-agent/opa/v1/ast"
	"github.com/open-policy-agent/opa/v1/rego"
	"github.com/open-policy-agent/opa/v1/storage/inmem"
	"github.com/open-policy-agent/opa/v1/tester"
	"github.com/open-policy-agent/opa/v1/topdown"
)

// testTimeout bounds one Rego test.
const testTimeout = 10 * time.Second

// runTestModules runs every test_ rule among mods and returns the results
// in file order.
func runTestModules(ctx context.Context, mods map[string]*ast.Module) ([]*tester.Result, error) {
	ch, err := tester.NewRunner().
		SetModules(mods).
		SetStore(inmem.New()).
		SetDefaultRegoVersion(ast.RegoV1).
		SetTimeout(testTimeout).
		RunTests(ctx, nil)
	if err != nil {
		return nil, err
	}
	var out []*tester.Result
	for r := range ch {
		out = append(out, r)
	}
	sort.SliceStable(out, func(i, j int) bool {
		a, b := out[i].Location, out[j].Location
		if a == nil || b == nil {
			return b != nil
		}
		if a.File != b.File {
			return a.File < b.File
		}
		return a.Row < b.Row
	})
	return out, nil
}

// RunTests runs the Rego tests of the default bundle (or only airlock.lib
// when replaceDefault) and of the .rego files under dir, reporting to w the
// way `opa test` does. Errors in a test count as failures; err is for
// policies that do not load.
func RunTests(ctx context.Context, dir string, replaceDefault bool, w io.Writer, verbose bool) (passed, failed int, err error) {
	srcs, err := loadSources(dir, replaceDefault)
	if err != nil {
		return 0, 0, err
	}
	mods, err := parseSources(srcs)
	if err != nil {
		return 0, 0, err
	}
	results, err := runTestModules(ctx, mods)
	if err != nil {
		return 0, 0, fmt.Errorf("policy: test: %w", err)
	}
	ch := make(chan *tester.Result, len(results))
	for _, r := range results {
		switch {
		case r.Skip:
		case r.Pass():
			passed++
		default:
			failed++
		}
		ch <- r
	}
	close(ch)
	if w != nil {
		if err := (tester.PrettyReporter{Output: w, Verbose: verbose, FailureLine: true}).Report(ch); err != nil {
			return passed, failed, fmt.Errorf("policy: test: report: %w", err)
		}
	}
	return passed, failed, nil
}

// parseInputJSON reads a policy input document, as written by hand or by
// Input.MarshalJSON, through the Input type: rules rely on every member
// being present with its type (see default/access.rego), and a file must
// be decided exactly as the same call through the gateway would be. A
// missing "now" means now.
func parseInputJSON(b []byte) (ast.Value, error) {
	var in Input
	if err := json.Unmarshal(b, &in); err != nil {
		return nil, fmt.Errorf("policy: input: %w", err)
	}
	return in.toValue(), nil
}

// EvalFile decides the input document inputJSON (`airlock policy eval`).
func EvalFile(ctx context.Context, e *Engine, inputJSON []byte) (Decision, error) {
	s := e.snap.Load()
	if s == nil {
		return deny(""), errors.New("policy: no policy loaded")
	}
	in, err := parseInputJSON(inputJSON)
	if err != nil {
		return deny(s.hash), err
	}
	t, err := s.eval(ctx, s.decision, in)
	if err != nil {
		return deny(s.hash), err
	}
	d, err := decodeDecision(t)
	if err != nil {
		return deny(s.hash), err
	}
	d.Policy = s.hash
	return d, nil
}

// explainRules are the documents that make up a decision, in the order
// they take effect.
var explainRules = []string{"deny", "approval", "allowed_by", "allow", "max_rows", "timeout_ms", "mask_response"}

// Explain prints, for inputJSON, every entry of the deny, approval and
// allowed_by sets, the obligations, the rules that fired (file:line) and
// the decision (`airlock policy explain`).
func Explain(ctx context.Context, e *Engine, inputJSON []byte, w io.Writer) error {
	s := e.snap.Load()
	if s == nil {
		return errors.New("policy: no policy loaded")
	}
	in, err := parseInputJSON(inputJSON)
	if err != nil {
		return err
	}
	tr := &firedTracer{seen: map[string]bool{}}
	fmt.Fprintf(w, "policy %s (%d files)\n", s.hash, len(s.files))
	for _, name := range explainRules {
		v, err := s.explainEval(ctx, "data.airlock.authz."+name, in, tr)
		switch {
		case err != nil:
			fmt.Fprintf(w, "%s: error: %v\n", name, err)
		case v == nil:
			fmt.Fprintf(w, "%s: undefined\n", name)
		default:
			printDoc(w, name, v)
		}
	}
	t, err := s.explainEval(ctx, DecisionQuery, in, tr)
	if err != nil {
		return err
	}
	if t == nil {
		return ErrUndefined
	}
	d, err := decodeDecision(t)
	if err != nil {
		return err
	}
	d.Policy = s.hash
	d.Fired = tr.fired()
	fmt.Fprintln(w, "rules fired:")
	for _, f := range d.Fired {
		fmt.Fprintf(w, "  %s\n", f)
	}
	b, err := json.MarshalIndent(d, "", "  ")
	if err != nil {
		return err
	}
	fmt.Fprintf(w, "decision: %s\n", outcome(d))
	_, err = fmt.Fprintf(w, "%s\n", b)
	return err
}

func outcome(d Decision) string {
	switch {
	case d.RequireApproval:
		return "require approval"
	case d.Allow:
		return "allow"
	}
	return "deny"
}

// explainEval evaluates q traced; a nil term means undefined. Explain is a
// command-line tool, so the query is prepared each time.
func (s *snapshot) explainEval(ctx context.Context, q string, in ast.Value, tr *firedTracer) (*ast.Term, error) {
	ctx, cancel := context.WithTimeout(ctx, 10*s.timeout)
	defer cancel()
	rs, err := rego.New(
		rego.Query(q),
		rego.Compiler(s.compiler),
		rego.Store(s.store),
		rego.ParsedInput(in),
		rego.QueryTracer(tr),
		rego.GenerateJSON(keepTerm),
	).Eval(ctx)
	if err != nil {
		return nil, err
	}
	if len(rs) == 0 || len(rs[0].Expressions) == 0 {
		return nil, nil
	}
	t, _ := rs[0].Expressions[0].Value.(*ast.Term)
	return t, nil
}

func printDoc(w io.Writer, name string, t *ast.Term) {
	set, ok := t.Value.(ast.Set)
	if !ok {
		fmt.Fprintf(w, "%s: %v\n", name, t)
		return
	}
	if set.Len() == 0 {
		fmt.Fprintf(w, "%s: (none)\n", name)
		return
	}
	fmt.Fprintf(w, "%s:\n", name)
	set.Foreach(func(e *ast.Term) {
		if obj, ok := e.Value.(ast.Object); ok {
			if r, ok := obj.Get(ast.InternedTerm("reason")).Value.(ast.String); ok {
				fmt.Fprintf(w, "  - %s (approvers: %v)\n", string(r), obj.Get(ast.InternedTerm("approvers")))
				return
			}
		}
		if s, ok := e.Value.(ast.String); ok {
			fmt.Fprintf(w, "  - %s\n", string(s))
			return
		}
		fmt.Fprintf(w, "  - %v\n", e)
	})
}

// firedTracer records the decisive rules (set entries and obligations of
// airlock.authz) whose bodies succeeded.
type firedTracer struct {
	seen  map[string]bool
	order []string
}

var authzPath = ast.MustParseRef("data.airlock.authz")

func (t *firedTracer) Enabled() bool               { return true }
func (t *firedTracer) Config() topdown.TraceConfig { return topdown.TraceConfig{} }

func (t *firedTracer) TraceEvent(ev topdown.Event) {
	if ev.Op != topdown.ExitOp {
		return
	}
	r, ok := ev.Node.(*ast.Rule)
	if !ok || r.Module == nil || !r.Module.Package.Path.Equal(authzPath) {
		return
	}
	name := r.Head.Ref()[0].Value.String()
	if !slices.Contains(explainRules, name) {
		return
	}
	id := name
	if r.Default {
		id = "default " + name
	}
	if loc := r.Location; loc != nil {
		id = fmt.Sprintf("%s:%d %s", strings.TrimPrefix(loc.File, defaultPrefix), loc.Row, id)
	}
	if !t.seen[id] {
		t.seen[id] = true
		t.order = append(t.order, id)
	}
}

func (t *firedTracer) fired() []string {
	out := slices.Clone(t.order)
	sort.Strings(out)
	return out
}
