package policy

import (
	"encoding/json"
	"fmt"
	"maps"
	"reflect"
	"slices"
	"sync"
	"time"

	"github.com/open-policy-agent/opa/v1/ast"

	"github.com/airlockhq/airlock/connectors"
	"github.com/airlockhq/airlock/internal/identity"
)

// The converters below build the input as OPA values directly from the
// typed Input. Going through JSON or ast.InterfaceToValue on a map costs
// more than the evaluation itself with the default bundle.

func (in *Input) toValue() ast.Value { return in.toValueCached(nil) }

// toValueCached converts in, reusing the converted principal, tool and
// connection from c (nil: no cache); they repeat from call to call.
func (in *Input) toValueCached(c *valueCache) ast.Value {
	it := newInputTerms(in, c)
	return it.object()
}

// inputTerms converts an input's members on first use, so a decision
// found in the memo converts only what its key reads.
type inputTerms struct {
	in  *Input
	c   *valueCache
	now time.Time
	t   [nMembers]*ast.Term
}

func newInputTerms(in *Input, c *valueCache) inputTerms {
	now := in.Now
	if now.IsZero() {
		now = time.Now()
	}
	return inputTerms{in: in, c: c, now: now}
}

func (it *inputTerms) get(member int) *ast.Term {
	if t := it.t[member]; t != nil {
		return t
	}
	var t *ast.Term
	switch member {
	case mPrincipal:
		t = it.c.principal(it.in.Principal)
	case mTool:
		t = it.c.tool(it.in.Tool)
	case mConnection:
		t = it.c.conn(it.in.Connection)
	case mArguments:
		t = ast.NewTerm(anyMapValue(it.in.Arguments))
	case mAction:
		t = it.c.action(it.in.Action, it.in.ActionDetail)
	case mGrants:
		t = ast.NewTerm(grantsValue(inForce(it.in.Grants, it.now)))
	case mNow:
		t = ast.StringTerm(it.now.UTC().Format(time.RFC3339Nano))
	}
	it.t[member] = t
	return t
}

func (it *inputTerms) object() ast.Value {
	return ast.NewObject(
		ast.Item(kPrincipal, it.get(mPrincipal)),
		ast.Item(kTool, it.get(mTool)),
		ast.Item(kConnection, it.get(mConnection)),
		ast.Item(kArguments, it.get(mArguments)),
		ast.Item(kAction, it.get(mAction)),
		ast.Item(kGrants, it.get(mGrants)),
		ast.Item(kNow, it.get(mNow)),
	)
}

// inForce keeps the grants that have not expired at now. Policy sees only
// grants in force, whoever built the input (the gateway reads active
// grants already; `policy eval` takes whatever the file says), so rules
// need not compare times, and a decision that reads no clock can be
// memoised.
func inForce(gs []Grant, now time.Time) []Grant {
	expired := func(g Grant) bool { return !g.ExpiresAt.After(now) }
	if !slices.ContainsFunc(gs, expired) {
		return gs // the usual case: nothing to copy
	}
	return slices.DeleteFunc(slices.Clone(gs), expired)
}

// Member names of the input, as terms made once: made per call they were
// most of the conversion's allocations. Terms are never modified once
// built, so every input may share them.
var (
	kPrincipal     = ast.StringTerm("principal")
	kTool          = ast.StringTerm("tool")
	kConnection    = ast.StringTerm("connection")
	kArguments     = ast.StringTerm("arguments")
	kAction        = ast.StringTerm("action")
	kGrants        = ast.StringTerm("grants")
	kNow           = ast.StringTerm("now")
	kSubject       = ast.StringTerm("subject")
	kEmail         = ast.StringTerm("email")
	kGroups        = ast.StringTerm("groups")
	kIssuer        = ast.StringTerm("issuer")
	kClientID      = ast.StringTerm("client_id")
	kClient        = ast.StringTerm("client")
	kName          = ast.StringTerm("name")
	kVersion       = ast.StringTerm("version")
	kVerified      = ast.StringTerm("verified")
	kFamily        = ast.StringTerm("family")
	kKind          = ast.StringTerm("kind")
	kLabels        = ast.StringTerm("labels")
	kReadOnly      = ast.StringTerm("read_only")
	kRisk          = ast.StringTerm("risk")
	kFlags         = ast.StringTerm("flags")
	kStatements    = ast.StringTerm("statements")
	kReasons       = ast.StringTerm("reasons")
	kTablesRead    = ast.StringTerm("tables_read")
	kTablesWritten = ast.StringTerm("tables_written")
	kFunctions     = ast.StringTerm("functions")
	kHasWhere      = ast.StringTerm("has_where")
	kAccess        = ast.StringTerm("access")
	kExpiresAt     = ast.StringTerm("expires_at")
)

// valueCacheMax bounds each map of a valueCache; past it the map starts
// over rather than grow with every principal ever seen.
const valueCacheMax = 4096

// valueCache keeps converted input parts. OPA values are immutable once
// built (lazy key sorting is guarded by a sync.Once), so concurrent
// evaluations may share them. Entries are checked field by field, so a
// changed principal or connection is converted afresh, never misread.
type valueCache struct {
	mu         sync.RWMutex
	tools      map[ToolRef]*ast.Term
	conns      map[string]connEntry
	principals map[string]principalEntry
	actions    map[string]*ast.Term // by appendActionKey
}

type connEntry struct {
	ref ConnRef
	t   *ast.Term
}

type principalEntry struct {
	p identity.Principal
	t *ast.Term
}

func (c *valueCache) tool(t ToolRef) *ast.Term {
	if c == nil {
		return ast.NewTerm(toolValue(t))
	}
	c.mu.RLock()
	v, ok := c.tools[t]
	c.mu.RUnlock()
	if ok {
		return v
	}
	v = ast.NewTerm(toolValue(t))
	c.mu.Lock()
	if c.tools == nil || len(c.tools) >= valueCacheMax {
		c.tools = make(map[ToolRef]*ast.Term)
	}
	c.tools[t] = v
	c.mu.Unlock()
	return v
}

func (c *valueCache) conn(r ConnRef) *ast.Term {
	if c == nil {
		return ast.NewTerm(connValue(r))
	}
	c.mu.RLock()
	e, ok := c.conns[r.Name]
	c.mu.RUnlock()
	if ok && e.ref.Kind == r.Kind && maps.Equal(e.ref.Labels, r.Labels) {
		return e.t
	}
	e = connEntry{ref: ConnRef{Name: r.Name, Kind: r.Kind, Labels: maps.Clone(r.Labels)}, t: ast.NewTerm(connValue(r))}
	c.mu.Lock()
	if c.conns == nil || len(c.conns) >= valueCacheMax {
		c.conns = make(map[string]connEntry)
	}
	c.conns[r.Name] = e
	c.mu.Unlock()
	return e.t
}

func (c *valueCache) principal(p identity.Principal) *ast.Term {
	if c == nil {
		return ast.NewTerm(principalValue(p))
	}
	c.mu.RLock()
	e, ok := c.principals[p.Subject]
	c.mu.RUnlock()
	if ok && samePrincipal(e.p, p) {
		return e.t
	}
	e = principalEntry{p: p, t: ast.NewTerm(principalValue(p))}
	e.p.Groups = slices.Clone(p.Groups)
	c.mu.Lock()
	if c.principals == nil || len(c.principals) >= valueCacheMax {
		c.principals = make(map[string]principalEntry)
	}
	c.principals[p.Subject] = e
	c.mu.Unlock()
	return e.t
}

// samePrincipal compares every member; nil and empty groups are alike,
// as they are once converted.
func samePrincipal(a, b identity.Principal) bool {
	return a.Subject == b.Subject && a.Email == b.Email && a.Issuer == b.Issuer && a.ClientID == b.ClientID &&
		a.Client == b.Client && a.Verified == b.Verified && slices.Equal(a.Groups, b.Groups)
}

// visibleValue is the reduced input of the visible rule.
func visibleValue(p identity.Principal, t ToolRef, c ConnRef) ast.Value {
	return ast.NewObject(
		ast.Item(kPrincipal, ast.NewTerm(principalValue(p))),
		ast.Item(kTool, ast.NewTerm(toolValue(t))),
		ast.Item(kConnection, ast.NewTerm(connValue(c))),
	)
}

// str uses OPA's interned terms where there is one (the empty string, and
// common words OPA interns itself), so those convert without allocating.
func str(s string) *ast.Term { return ast.InternedTerm(s) }

func strArray(ss []string) *ast.Term {
	if len(ss) == 0 {
		return ast.InternedEmptyArray
	}
	ts := make([]*ast.Term, len(ss))
	for i, s := range ss {
		ts[i] = str(s)
	}
	return ast.ArrayTerm(ts...)
}

func principalValue(p identity.Principal) ast.Value {
	return ast.NewObject(
		ast.Item(kSubject, str(p.Subject)),
		ast.Item(kEmail, str(p.Email)),
		ast.Item(kGroups, strArray(p.Groups)),
		ast.Item(kIssuer, str(p.Issuer)),
		ast.Item(kClientID, str(p.ClientID)),
		ast.Item(kClient, ast.ObjectTerm(
			ast.Item(kName, str(p.Client.Name)),
			ast.Item(kVersion, str(p.Client.Version)),
		)),
		ast.Item(kVerified, ast.InternedTerm(p.Verified)),
	)
}

func toolValue(t ToolRef) ast.Value {
	return ast.NewObject(
		ast.Item(kName, str(t.Name)),
		ast.Item(kFamily, str(t.Family)),
	)
}

func connValue(c ConnRef) ast.Value {
	labels := make([][2]*ast.Term, 0, len(c.Labels))
	for k, v := range c.Labels {
		labels = append(labels, ast.Item(str(k), str(v)))
	}
	return ast.NewObject(
		ast.Item(kName, str(c.Name)),
		ast.Item(kKind, str(c.Kind)),
		ast.Item(kLabels, ast.ObjectTerm(labels...)),
	)
}

func actionValue(a *connectors.Action, detail map[string]any) ast.Value {
	if a == nil && len(detail) == 0 {
		return ast.Null{}
	}
	// One NewObject over all members: inserting them one by one grows the
	// object's map and key slice as it goes. The members connectors.Action
	// encodes are skipped in detail, so no key comes twice.
	var buf [12][2]*ast.Term // on the stack unless detail is large
	items := buf[:0]
	for k, v := range detail {
		if !actionKeys[k] {
			items = append(items, ast.Item(str(k), ast.NewTerm(anyValue(v))))
		}
	}
	if a == nil {
		return ast.NewObject(items...)
	}
	flags := a.Flags
	if flags == nil {
		flags = []string{}
	}
	items = append(items,
		ast.Item(kReadOnly, ast.InternedTerm(a.ReadOnly)),
		ast.Item(kRisk, str(string(a.Risk))),
		ast.Item(kFlags, strArray(flags)))
	if len(a.Statements) > 0 {
		sts := make([]*ast.Term, len(a.Statements))
		for i, s := range a.Statements {
			sts[i] = ast.ObjectTerm(
				ast.Item(kKind, str(s.Kind)),
				ast.Item(kReadOnly, ast.InternedTerm(s.ReadOnly)),
				ast.Item(kTablesRead, strArray(s.TablesRead)),
				ast.Item(kTablesWritten, strArray(s.TablesWritten)),
				ast.Item(kFunctions, strArray(s.Functions)),
				ast.Item(kHasWhere, ast.InternedTerm(s.HasWhere)),
			)
		}
		items = append(items, ast.Item(kStatements, ast.ArrayTerm(sts...)))
	}
	if len(a.Reasons) > 0 {
		items = append(items, ast.Item(kReasons, strArray(a.Reasons)))
	}
	return ast.NewObject(items...)
}

func grantsValue(gs []Grant) ast.Value {
	if len(gs) == 0 {
		return ast.InternedEmptyArrayValue
	}
	ts := make([]*ast.Term, len(gs))
	for i, g := range gs {
		ts[i] = ast.ObjectTerm(
			ast.Item(kConnection, str(g.Connection)),
			ast.Item(kAccess, str(g.Access)),
			ast.Item(kExpiresAt, str(g.ExpiresAt.UTC().Format(time.RFC3339Nano))),
		)
	}
	return ast.NewArray(ts...)
}

func anyMapValue(m map[string]any) ast.Value {
	var buf [8][2]*ast.Term // on the stack unless m is large
	items := buf[:0]
	for k, v := range m {
		items = append(items, ast.Item(str(k), ast.NewTerm(anyValue(v))))
	}
	return ast.NewObject(items...)
}

// anyValue converts the JSON-shaped values arguments hold; anything else
// goes through OPA's reflective converter.
func anyValue(v any) ast.Value {
	switch x := v.(type) {
	case nil:
		return ast.Null{}
	case string:
		return ast.String(x)
	case bool:
		return ast.Boolean(x)
	case float64:
		return ast.FloatNumberTerm(x).Value
	case int:
		return ast.Number(fmt.Sprint(x))
	case int64:
		return ast.Number(fmt.Sprint(x))
	case json.Number:
		return ast.Number(x)
	case []string:
		return strArray(x).Value
	case []any:
		ts := make([]*ast.Term, len(x))
		for i, e := range x {
			ts[i] = ast.NewTerm(anyValue(e))
		}
		return ast.NewArray(ts...)
	case map[string]any:
		return anyMapValue(x)
	case map[string]string:
		items := make([][2]*ast.Term, 0, len(x))
		for k, s := range x {
			items = append(items, ast.Item(str(k), str(s)))
		}
		return ast.NewObject(items...)
	}
	if val, err := ast.InterfaceToValue(v); err == nil {
		return val
	}
	// Unconvertible values still reach policy, as their type name, so a
	// rule can see something is there rather than nothing.
	return ast.String(reflect.TypeOf(v).String())
}
