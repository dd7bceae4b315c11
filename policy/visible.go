package policy

import (
	"context"
	"slices"
	"strconv"
	"strings"
	"sync"

	"go.uber.org/zap"

	"github.com/airlockhq/airlock/internal/identity"
)

// visCacheMax bounds the cache; past it the cache starts over rather than
// grow with every principal ever seen.
const visCacheMax = 10000

// visCache holds visibility answers for one snapshot, so a reload (new
// hash) starts with an empty cache by construction.
type visCache struct {
	mu sync.RWMutex
	m  map[string]bool
}

func (c *visCache) get(k string) (v, ok bool) {
	c.mu.RLock()
	v, ok = c.m[k]
	c.mu.RUnlock()
	return v, ok
}

func (c *visCache) put(k string, v bool) {
	c.mu.Lock()
	if c.m == nil || len(c.m) >= visCacheMax {
		c.m = make(map[string]bool)
	}
	c.m[k] = v
	c.mu.Unlock()
}

// Visible reports whether principal p may see tool t on connection c in
// tools/list: whether some call could ever be allowed or approved. Errors
// hide the tool.
func (e *Engine) Visible(ctx context.Context, p identity.Principal, t ToolRef, c ConnRef) bool {
	s := e.snap.Load()
	if s == nil {
		return false
	}
	k := visKey(p, t, c)
	if v, ok := s.vis.get(k); ok {
		return v
	}
	term, err := s.eval(ctx, s.visible, visibleValue(p, t, c))
	v := false
	if err == nil {
		v, err = asBool("visible", term)
	}
	if err != nil {
		s.log.Warn("policy visibility failed; hiding the tool", zap.Error(err),
			zap.String("policy", s.hash), zap.String("subject", p.Subject),
			zap.String("tool", t.Name), zap.String("connection", c.Name))
		if ctx.Err() != nil {
			return false // the caller's context, not the policy: do not cache
		}
	}
	s.vis.put(k, v)
	return v
}

// visKey covers everything in the visible input: a cache keyed on less
// would answer for one principal with another's result.
func visKey(p identity.Principal, t ToolRef, c ConnRef) string {
	var b strings.Builder
	b.Grow(256)
	// Length-prefixed, so no choice of names can make two inputs collide.
	w := func(s string) {
		b.WriteString(strconv.Itoa(len(s)))
		b.WriteByte(':')
		b.WriteString(s)
	}
	w(p.Subject)
	w(p.Email)
	w(p.Issuer)
	w(p.Client.Name)
	w(p.Client.Version)
	w(strconv.FormatBool(p.Verified))
	for _, g := range p.Groups {
		w(g)
	}
	b.WriteByte(1)
	w(t.Name)
	w(t.Family)
	w(c.Name)
	w(c.Kind)
	keys := make([]string, 0, len(c.Labels))
	for k := range c.Labels {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, k := range keys {
		w(k)
		w(c.Labels[k])
	}
	return b.String()
}
