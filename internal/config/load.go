package config

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"reflect"
	"strings"

	"go.yaml.in/yaml/v3"
)

// Load reads the configuration file at path; see Parse for the steps.
func Load(path string) (*Config, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("config: %w", err)
	}
	return Parse(path, data)
}

// Parse builds a Config from the contents of the file called name: the
// defaults, then data, then the AIRLOCK_* environment overrides, then
// validation, then secret resolution, so a Config that comes back is
// complete and every Secret holds its value. A relative file: secret is read
// from name's directory. Errors are *Error and name the file, line and key.
func Parse(name string, data []byte) (*Config, error) {
	cfg := Defaults()
	cfg.Path = name
	p := &parser{decoder: decoder{file: name, lines: map[string]int{}}, env: map[string]string{}}
	root, err := p.document(data)
	if err != nil {
		return nil, err
	}
	if root != nil {
		if err := p.decode(root, reflect.ValueOf(cfg).Elem(), ""); err != nil {
			return nil, err
		}
	}
	for i := range cfg.Connections {
		cfg.Connections[i].Line = p.lines[fmt.Sprintf("connections[%d]", i)]
	}
	p.applyEnv(cfg)
	cfg.inherit(p.given)
	if err := p.validate(cfg); err != nil {
		return nil, err
	}
	if err := p.resolveSecrets(cfg, filepath.Dir(name)); err != nil {
		return nil, err
	}
	if err := p.checkMasking(cfg); err != nil {
		return nil, err
	}
	cfg.resolvePaths(filepath.Dir(name))
	if err := p.checkState(cfg, filepath.Dir(name)); err != nil {
		return nil, err
	}
	return cfg, nil
}

// parser is one Parse: the decoder's record of what the file set, plus what
// the environment set.
type parser struct {
	decoder
	// env maps key paths set from the environment to the variable's name.
	env map[string]string
}

// document returns the top-level mapping, or nil for a file with no keys.
func (p *parser) document(data []byte) (*yaml.Node, error) {
	dec := yaml.NewDecoder(bytes.NewReader(data))
	var doc yaml.Node
	if err := dec.Decode(&doc); err != nil {
		if errors.Is(err, io.EOF) {
			return nil, nil
		}
		return nil, syntaxError(p.file, err)
	}
	var extra yaml.Node
	switch err := dec.Decode(&extra); {
	case errors.Is(err, io.EOF):
	case err != nil:
		return nil, syntaxError(p.file, err)
	case !isEmpty(&extra):
		// A second document would be silently ignored; say so instead.
		return nil, &Error{File: p.file, Line: extra.Line, Msg: "only one YAML document is allowed; remove the second \"---\""}
	}
	if isEmpty(&doc) {
		return nil, nil
	}
	root := unalias(doc.Content[0])
	if root.Kind != yaml.MappingNode {
		return nil, &Error{File: p.file, Line: root.Line, Msg: "the file must be a mapping of keys (listen: ..., connections: ...), got " + kindName(root)}
	}
	return root, nil
}

func isEmpty(doc *yaml.Node) bool {
	if len(doc.Content) == 0 {
		return true
	}
	n := doc.Content[0]
	return n.Kind == yaml.ScalarNode && n.ShortTag() == "!!null"
}

// envOverrides are the settings worth changing per deployment without
// editing the file. An empty variable is ignored: templating tools often
// produce VAR= for "not set", and applying it would break a good file.
var envOverrides = []struct {
	name, key string
	set       func(*Config, string)
}{
	{"AIRLOCK_LISTEN", "listen", func(c *Config, v string) { c.Listen = v }},
	{"AIRLOCK_RESOURCE", "resource", func(c *Config, v string) { c.Resource = v }},
	{"AIRLOCK_DEV_IDENTITY", "identity.dev_identity", func(c *Config, v string) { c.Identity.DevIdentity = v }},
	{"AIRLOCK_LOG_LEVEL", "log.level", func(c *Config, v string) { c.Log.Level = v }},
	{"AIRLOCK_LOG_FORMAT", "log.format", func(c *Config, v string) { c.Log.Format = v }},
}

// EnvVars lists the environment variables Load and Parse read, for help text.
func EnvVars() []string {
	out := make([]string, len(envOverrides))
	for i, o := range envOverrides {
		out[i] = o.name
	}
	return out
}

func (p *parser) applyEnv(c *Config) {
	for _, o := range envOverrides {
		if v := os.Getenv(o.name); v != "" {
			o.set(c, v)
			p.env[o.key] = o.name
		}
	}
}

// given reports whether the file or the environment set key.
func (p *parser) given(key string) bool {
	_, inFile := p.lines[key]
	_, inEnv := p.env[key]
	return inFile || inEnv
}

// errAt places a message on key: at the line that set it, or at the nearest
// enclosing key the file has (a missing key is reported where its parent
// is), or on the environment variable that set it.
func (p *parser) errAt(key, format string, args ...any) error {
	msg := fmt.Sprintf(format, args...)
	if name, ok := p.env[key]; ok {
		return &Error{File: p.file, Key: key, Msg: msg + " (set by environment variable " + name + ")"}
	}
	return &Error{File: p.file, Line: p.lineOf(key), Key: key, Msg: msg}
}

func (p *parser) lineOf(key string) int {
	for key != "" {
		if l, ok := p.lines[key]; ok {
			return l
		}
		i := strings.LastIndexAny(key, ".[")
		if i < 0 {
			return 0
		}
		key = key[:i]
	}
	return 0
}

var secretType = reflect.TypeFor[Secret]()

// resolveSecrets fills in every Secret in c, found by reflection so a new
// secret field is resolved (and its errors placed) without touching this.
func (p *parser) resolveSecrets(c *Config, dir string) error {
	return walkSecrets(reflect.ValueOf(c).Elem(), "", func(key string, s *Secret) error {
		if s.Ref == "" {
			return nil
		}
		v, err := resolveRef(s.Ref, dir)
		if err != nil {
			return p.errAt(key, "%v", err)
		}
		s.value = v
		return nil
	})
}

func walkSecrets(v reflect.Value, key string, fn func(string, *Secret) error) error {
	if v.Type() == secretType {
		return fn(key, v.Addr().Interface().(*Secret))
	}
	switch v.Kind() {
	case reflect.Struct:
		for i := range v.NumField() {
			if name := yamlName(v.Type().Field(i)); name != "" {
				if err := walkSecrets(v.Field(i), joinKey(key, name), fn); err != nil {
					return err
				}
			}
		}
	case reflect.Slice:
		for i := range v.Len() {
			if err := walkSecrets(v.Index(i), fmt.Sprintf("%s[%d]", key, i), fn); err != nil {
				return err
			}
		}
	case reflect.Pointer:
		if !v.IsNil() {
			return walkSecrets(v.Elem(), key, fn)
		}
	}
	return nil
}
