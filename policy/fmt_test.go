package policy

import (
	"bytes"
	"testing"

	"github.com/open-policy-agent/opa/v1/ast"
	"github.com/open-policy-agent/opa/v1/format"
)

// TestDefaultBundleFormatted keeps the shipped Rego in `opa fmt` form, so
// operators copying from it start from the canonical style.
func TestDefaultBundleFormatted(t *testing.T) {
	srcs, err := loadSources("", false)
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range srcs {
		got, err := format.SourceWithOpts(s.path, s.src, format.Opts{RegoVersion: ast.RegoV1})
		if err != nil {
			t.Errorf("%s: %v", s.path, err)
			continue
		}
		if !bytes.Equal(got, s.src) {
			t.Errorf("%s is not formatted (opa fmt):\n%s", s.path, got)
		}
	}
}
