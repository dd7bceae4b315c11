package config

import (
	"fmt"
	"reflect"
	"regexp"
	"sort"
	"strconv"
	"strings"

	"go.yaml.in/yaml/v3"
)

// The file is decoded by walking the yaml.Node tree against the Go types
// ourselves instead of calling Node.Decode on the whole document: yaml.v3's
// errors carry a line but not the key, stop at the first struct, and say
// "cannot unmarshal !!str into int" where an operator needs
// "limits.max_rows: must be a whole number". Walking also records where each
// key was set, which validation uses to place its own errors.

var unmarshalerType = reflect.TypeFor[yaml.Unmarshaler]()

// decoder holds what one Parse learns about the file.
type decoder struct {
	file string
	// lines maps each key path the file sets to its line.
	lines map[string]int
}

func (d *decoder) fail(line int, key, format string, args ...any) error {
	return &Error{File: d.file, Line: line, Key: key, Msg: fmt.Sprintf(format, args...)}
}

// decode stores n into v, which must be addressable. Keys the file leaves out
// keep what v already holds, which is how the defaults survive.
func (d *decoder) decode(n *yaml.Node, v reflect.Value, key string) error {
	n = unalias(n)
	if n.Tag != "" && n.Tag != "!" && !strings.HasPrefix(n.ShortTag(), "!!") {
		return d.fail(n.Line, key, "custom YAML tag %s is not supported", n.Tag)
	}
	// "key:" with nothing after it means "not set", not "set to zero";
	// otherwise an empty "limits:" would wipe every default limit.
	if n.Kind == yaml.ScalarNode && n.ShortTag() == "!!null" {
		return nil
	}
	if v.CanAddr() && v.Addr().Type().Implements(unmarshalerType) {
		if err := v.Addr().Interface().(yaml.Unmarshaler).UnmarshalYAML(n); err != nil {
			return asError(err, d.file, n.Line, key)
		}
		return nil
	}
	switch v.Kind() {
	case reflect.Struct:
		return d.structure(n, v, key)
	case reflect.Slice:
		return d.list(n, v, key)
	case reflect.Map:
		return d.mapping(n, v, key)
	case reflect.String:
		if n.Kind != yaml.ScalarNode {
			return d.fail(n.Line, key, "must be a string, got %s", kindName(n))
		}
		v.SetString(n.Value)
		return nil
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		var i int64
		if n.Kind != yaml.ScalarNode || n.ShortTag() != "!!int" || n.Decode(&i) != nil {
			if _, err := strconv.ParseInt(n.Value, 10, 64); err == nil && n.Kind == yaml.ScalarNode {
				return d.fail(n.Line, key, "must be a whole number without quotes, got the string %q", n.Value)
			}
			return d.fail(n.Line, key, "must be a whole number, got %s", got(n))
		}
		if v.OverflowInt(i) {
			return d.fail(n.Line, key, "%d is out of range", i)
		}
		v.SetInt(i)
		return nil
	case reflect.Bool:
		var b bool
		if n.Kind != yaml.ScalarNode || n.ShortTag() != "!!bool" || n.Decode(&b) != nil {
			return d.fail(n.Line, key, "must be true or false, got %s", got(n))
		}
		v.SetBool(b)
		return nil
	}
	// Only reachable when someone adds a field of a new type: a bug here.
	return d.fail(n.Line, key, "internal error: no decoder for %s", v.Type())
}

func (d *decoder) structure(n *yaml.Node, v reflect.Value, key string) error {
	if n.Kind != yaml.MappingNode {
		return d.fail(n.Line, key, "must be a mapping of keys, got %s", kindName(n))
	}
	fields := yamlFields(v.Type())
	return d.pairs(n, key, func(name string, kn, vn *yaml.Node, child string) error {
		idx, ok := fields[name]
		if !ok {
			return d.fail(kn.Line, child, "unknown key %q%s", name, suggest(name, fields))
		}
		return d.decode(vn, v.Field(idx), child)
	})
}

func (d *decoder) list(n *yaml.Node, v reflect.Value, key string) error {
	if n.Kind != yaml.SequenceNode {
		return d.fail(n.Line, key, "must be a list, got %s", kindName(n))
	}
	// A list in the file replaces the default list; it is never appended to.
	out := reflect.MakeSlice(v.Type(), len(n.Content), len(n.Content))
	for i, en := range n.Content {
		child := fmt.Sprintf("%s[%d]", key, i)
		d.lines[child] = unalias(en).Line
		if err := d.decode(en, out.Index(i), child); err != nil {
			return err
		}
	}
	v.Set(out)
	return nil
}

func (d *decoder) mapping(n *yaml.Node, v reflect.Value, key string) error {
	if n.Kind != yaml.MappingNode {
		return d.fail(n.Line, key, "must be a mapping of keys, got %s", kindName(n))
	}
	if v.Type().Key().Kind() != reflect.String {
		return d.fail(n.Line, key, "internal error: no decoder for %s", v.Type())
	}
	out := reflect.MakeMapWithSize(v.Type(), len(n.Content)/2)
	err := d.pairs(n, key, func(name string, kn, vn *yaml.Node, child string) error {
		if name == "" {
			return d.fail(kn.Line, child, "keys must not be empty")
		}
		if vn := unalias(vn); vn.Kind == yaml.ScalarNode && vn.ShortTag() == "!!null" {
			return d.fail(vn.Line, child, "must have a value")
		}
		ev := reflect.New(v.Type().Elem()).Elem()
		if err := d.decode(vn, ev, child); err != nil {
			return err
		}
		out.SetMapIndex(reflect.ValueOf(name).Convert(v.Type().Key()), ev)
		return nil
	})
	if err != nil {
		return err
	}
	v.Set(out)
	return nil
}

// pairs walks a mapping's keys in file order, refusing duplicates (which
// yaml.v3 accepts silently into a Node) and merge keys.
func (d *decoder) pairs(n *yaml.Node, key string, each func(name string, kn, vn *yaml.Node, child string) error) error {
	seen := map[string]int{}
	for i := 0; i+1 < len(n.Content); i += 2 {
		kn, vn := unalias(n.Content[i]), n.Content[i+1]
		if kn.Kind != yaml.ScalarNode {
			return d.fail(kn.Line, key, "keys must be plain names, got %s", kindName(kn))
		}
		name := kn.Value
		child := joinKey(key, name)
		if name == "<<" && kn.ShortTag() == "!!merge" {
			return d.fail(kn.Line, key, "YAML merge keys (<<) are not supported; write the keys out")
		}
		if first, dup := seen[name]; dup {
			return d.fail(kn.Line, child, "key %q is given twice (first on line %d)", name, first)
		}
		seen[name] = kn.Line
		d.lines[child] = kn.Line
		if err := each(name, kn, vn, child); err != nil {
			return err
		}
	}
	return nil
}

var plainKey = regexp.MustCompile(`^[A-Za-z0-9_-]+$`)

// joinKey extends a dotted key path; odd names are bracketed so the path
// stays unambiguous ("labels[\"a.b\"]").
func joinKey(parent, name string) string {
	if !plainKey.MatchString(name) {
		return fmt.Sprintf("%s[%q]", parent, name)
	}
	if parent == "" {
		return name
	}
	return parent + "." + name
}

// yamlFields maps yaml key names to field indexes.
func yamlFields(t reflect.Type) map[string]int {
	out := map[string]int{}
	for i := range t.NumField() {
		if name := yamlName(t.Field(i)); name != "" {
			out[name] = i
		}
	}
	return out
}

// yamlName is the key a field is written as, "" if it is not in the file.
func yamlName(f reflect.StructField) string {
	if !f.IsExported() {
		return ""
	}
	name, _, _ := strings.Cut(f.Tag.Get("yaml"), ",")
	if name == "-" || name == "" {
		return ""
	}
	return name
}

// suggest names the nearest known key, or lists them when none is near.
func suggest(name string, fields map[string]int) string {
	known := make([]string, 0, len(fields))
	for k := range fields {
		known = append(known, k)
	}
	sort.Strings(known)
	best, bestDist := "", 3
	for _, k := range known {
		if dist := editDistance(name, k); dist < bestDist {
			best, bestDist = k, dist
		}
	}
	if best != "" {
		return fmt.Sprintf(" (did you mean %q?)", best)
	}
	return "; known keys here: " + strings.Join(known, ", ")
}

func editDistance(a, b string) int {
	prev := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur := make([]int, len(b)+1)
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev = cur
	}
	return prev[len(b)]
}

func unalias(n *yaml.Node) *yaml.Node {
	for n.Kind == yaml.AliasNode && n.Alias != nil {
		n = n.Alias
	}
	return n
}

// kindName describes a node for messages without quoting its text, which
// could be a credential typed into the wrong key.
func kindName(n *yaml.Node) string {
	n = unalias(n)
	switch n.Kind {
	case yaml.MappingNode:
		return "a mapping"
	case yaml.SequenceNode:
		return "a list"
	case yaml.ScalarNode:
		switch n.ShortTag() {
		case "!!int", "!!float":
			return "a number"
		case "!!bool":
			return "a boolean"
		case "!!null":
			return "nothing"
		}
		return "a string"
	}
	return "an unexpected node"
}

// got quotes a short scalar for messages about fields that never hold
// secrets, where seeing the value is what makes the message useful.
func got(n *yaml.Node) string {
	n = unalias(n)
	if n.Kind == yaml.ScalarNode && n.ShortTag() != "!!null" && len(n.Value) <= 40 {
		return fmt.Sprintf("%q", n.Value)
	}
	return kindName(n)
}
