package policy

import (
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"sort"
	"strings"

	"github.com/open-policy-agent/opa/v1/ast"
)

//go:embed default/*.rego
var defaultFS embed.FS

// defaultPrefix names embedded modules so they cannot collide with an
// operator's files, whatever the policy directory is called.
const defaultPrefix = "airlock:"

// source is one .rego file as loaded.
type source struct {
	path     string // module file name: airlock:default/x.rego, or the path on disk
	src      []byte
	test     bool // *_test.rego
	operator bool // from Options.Dir
}

func isTestFile(name string) bool { return strings.HasSuffix(name, "_test.rego") }

// isLibFile says which embedded files survive replace_default: the
// airlock.lib helpers and their tests.
func isLibFile(name string) bool {
	b := path.Base(name)
	return b == "lib.rego" || b == "lib_test.rego"
}

// loadSources reads the embedded bundle (all of it, or only airlock.lib when
// replacing) and every .rego file under dir, sorted by path.
func loadSources(dir string, replaceDefault bool) ([]source, error) {
	var out []source
	ents, err := defaultFS.ReadDir("default")
	if err != nil {
		return nil, fmt.Errorf("policy: load: embedded bundle: %w", err)
	}
	for _, ent := range ents {
		name := "default/" + ent.Name()
		if replaceDefault && !isLibFile(name) {
			continue
		}
		b, err := defaultFS.ReadFile(name)
		if err != nil {
			return nil, fmt.Errorf("policy: load: embedded bundle: %w", err)
		}
		out = append(out, source{path: defaultPrefix + name, src: b, test: isTestFile(name)})
	}
	if dir != "" {
		ops, err := dirSources(dir)
		if err != nil {
			return nil, err
		}
		out = append(out, ops...)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].path < out[j].path })
	return out, nil
}

// dirSources reads the operator's .rego files, recursively, skipping hidden
// files and directories (editors and Kubernetes ConfigMap mounts keep
// their scratch and ..data links there).
func dirSources(dir string) ([]source, error) {
	st, err := os.Stat(dir)
	if err != nil {
		return nil, fmt.Errorf("policy: load: %w", err)
	}
	if !st.IsDir() {
		return nil, fmt.Errorf("policy: load: %s is not a directory", dir)
	}
	var out []source
	err = filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if p != dir && strings.HasPrefix(d.Name(), ".") {
			if d.IsDir() {
				return filepath.SkipDir
			}
			return nil
		}
		if d.IsDir() || !strings.HasSuffix(d.Name(), ".rego") {
			return nil
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		out = append(out, source{path: p, src: b, test: isTestFile(d.Name()), operator: true})
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("policy: load: %w", err)
	}
	return out, nil
}

// bundleHash identifies a policy version: SHA-256 over the sorted (path,
// content) pairs, length-prefixed so no two file sets encode alike.
func bundleHash(srcs []source) string {
	h := sha256.New()
	for _, s := range srcs {
		fmt.Fprintf(h, "%d:%s\n%d:", len(s.path), s.path, len(s.src))
		h.Write(s.src)
	}
	return "sha256:" + hex.EncodeToString(h.Sum(nil))[:16]
}

// parseSources parses every source as Rego v1. Files without a package
// (empty, or comments only) are skipped: an empty policy file is not an
// error, it just adds nothing.
func parseSources(srcs []source) (map[string]*ast.Module, error) {
	mods := make(map[string]*ast.Module, len(srcs))
	var errs []error
	for _, s := range srcs {
		if strings.TrimSpace(stripComments(string(s.src))) == "" {
			continue
		}
		m, err := ast.ParseModuleWithOpts(s.path, string(s.src), ast.ParserOptions{RegoVersion: ast.RegoV1})
		if err != nil {
			errs = append(errs, err)
			continue
		}
		if m != nil {
			mods[s.path] = m
		}
	}
	if len(errs) > 0 {
		return nil, fmt.Errorf("policy: load: %w", errors.Join(errs...))
	}
	return mods, nil
}

func stripComments(s string) string {
	var b strings.Builder
	for line := range strings.SplitSeq(s, "\n") {
		if t := strings.TrimSpace(line); t != "" && !strings.HasPrefix(t, "#") {
			b.WriteString(t)
		}
	}
	return b.String()
}
