package policy

import (
	"sync"

	"github.com/open-policy-agent/opa/v1/ast"
	"github.com/open-policy-agent/opa/v1/topdown"
)

// virtualCache is topdown.VirtualCache, the per-evaluation memo of rule
// and function results, built to be reused: OPA's own allocates a hash map
// per level of every cached path, about a fifth of a decision's
// allocations, and drops it all after one evaluation. This one keeps its
// nodes in a slice and its children in slices, which survive a reset.
//
// A node's children are searched linearly: a level holds the few rules a
// decision touches in one package, and the keys are mostly strings, which
// compare faster than they hash.
type virtualCache struct {
	nodes  []vcNode
	frames []int32 // root node of each frame; the last is the active one
	// consts answers what the evaluation's own frame has not cached. Only
	// the outermost frame consults it: a `with` frame may have replaced
	// what a constant document was computed from.
	consts *virtualCache
}

type vcNode struct {
	key       *ast.Term
	value     *ast.Term
	undefined bool
	children  []int32
}

var _ topdown.VirtualCache = (*virtualCache)(nil)

var virtualCaches = sync.Pool{New: func() any { return new(virtualCache) }}

// getVirtualCache returns an empty cache backed by consts (may be nil), a
// read-only cache of the snapshot's constant documents.
func getVirtualCache(consts *virtualCache) *virtualCache {
	c := virtualCaches.Get().(*virtualCache)
	c.consts = consts
	c.Push()
	return c
}

// putVirtualCache clears c, so a pooled cache holds no term of a finished
// evaluation (nor the snapshot it came from), and pools it.
func putVirtualCache(c *virtualCache) {
	for i := range c.nodes {
		n := &c.nodes[i]
		n.key, n.value, n.undefined = nil, nil, false
		n.children = n.children[:0]
	}
	c.nodes = c.nodes[:0]
	c.frames = c.frames[:0]
	c.consts = nil
	virtualCaches.Put(c)
}

// node appends a node, reusing the children slice a previous evaluation
// left in that position.
func (c *virtualCache) node(key *ast.Term) int32 {
	i := len(c.nodes)
	if i < cap(c.nodes) {
		c.nodes = c.nodes[:i+1]
	} else {
		c.nodes = append(c.nodes, vcNode{})
	}
	c.nodes[i].key = key
	return int32(i)
}

func (c *virtualCache) Push() { c.frames = append(c.frames, c.node(nil)) }

func (c *virtualCache) Pop() { c.frames = c.frames[:len(c.frames)-1] }

func (c *virtualCache) child(n int32, key *ast.Term) int32 {
	children := c.nodes[n].children
	// Path elements are strings but for function arguments; comparing
	// them as strings skips ast.ValueEqual's interface comparison.
	if s, ok := key.Value.(ast.String); ok {
		for _, ch := range children {
			if ks, ok := c.nodes[ch].key.Value.(ast.String); ok && ks == s {
				return ch
			}
		}
		return -1
	}
	for _, ch := range children {
		if c.nodes[ch].key.Equal(key) {
			return ch
		}
	}
	return -1
}

// Get follows OPA's contract: (nil, true) is a cached undefined, (t, false)
// a cached value, (nil, false) nothing cached.
func (c *virtualCache) Get(ref ast.Ref) (*ast.Term, bool) {
	if v, undefined, ok := c.lookup(ref); ok {
		return v, undefined
	}
	if c.consts != nil && len(c.frames) == 1 {
		v, undefined, _ := c.consts.lookup(ref)
		return v, undefined
	}
	return nil, false
}

// lookup reports whether the active frame holds a value or an undefined
// for ref.
func (c *virtualCache) lookup(ref ast.Ref) (v *ast.Term, undefined, ok bool) {
	n := c.frames[len(c.frames)-1]
	for _, k := range ref {
		if n = c.child(n, k); n < 0 {
			return nil, false, false
		}
	}
	nd := &c.nodes[n]
	if nd.undefined {
		return nil, true, true
	}
	return nd.value, false, nd.value != nil
}

// Put records value for ref, or that ref is undefined when value is nil.
// ref's slice may be reused by the caller, so only its terms are kept.
func (c *virtualCache) Put(ref ast.Ref, value *ast.Term) {
	n := c.frames[len(c.frames)-1]
	for _, k := range ref {
		ch := c.child(n, k)
		if ch < 0 {
			ch = c.node(k)
			c.nodes[n].children = append(c.nodes[n].children, ch)
		}
		n = ch
	}
	if value != nil {
		c.nodes[n].value = value
	} else {
		c.nodes[n].undefined = true
	}
}

// Keys lists the refs with a cached value in the active frame.
func (c *virtualCache) Keys() []ast.Ref {
	var keys []ast.Ref
	var walk func(n int32, prefix ast.Ref)
	walk = func(n int32, prefix ast.Ref) {
		for _, ch := range c.nodes[n].children {
			ref := append(prefix[:len(prefix):len(prefix)], c.nodes[ch].key)
			if c.nodes[ch].value != nil {
				keys = append(keys, ref)
			}
			walk(ch, ref)
		}
	}
	walk(c.frames[len(c.frames)-1], nil)
	return keys
}
