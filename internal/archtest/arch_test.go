package archtest

import (
	"bytes"
	"encoding/json"
	"go/parser"
	"go/token"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

const module = "github.com/airlockhq/airlock"

type pkg struct {
	ImportPath   string
	Dir          string
	Name         string
	GoFiles      []string
	Imports      []string
	Deps         []string
	TestImports  []string
	XTestImports []string
}

func listPackages(t *testing.T) []pkg {
	t.Helper()
	cmd := exec.Command("go", "list", "-json", module+"/...")
	cmd.Dir = "../.."
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	if err := cmd.Run(); err != nil {
		t.Fatalf("go list: %v: %s", err, errb.String())
	}
	var pkgs []pkg
	dec := json.NewDecoder(&out)
	for dec.More() {
		var p pkg
		if err := dec.Decode(&p); err != nil {
			t.Fatal(err)
		}
		pkgs = append(pkgs, p)
	}
	if len(pkgs) < 10 {
		t.Fatalf("go list found only %d packages", len(pkgs))
	}
	return pkgs
}

// leaves must never depend on the pipeline or the protocol layer: they are
// reused by both and would otherwise form cycles of responsibility.
var leaves = []string{"connectors", "policy", "approvals", "recorder", "tools",
	"internal/mask", "internal/identity", "internal/config", "internal/store"}

var upper = []string{module + "/internal/gateway", module + "/mcp", module + "/internal/app"}

func isLeaf(path string) bool {
	rel := strings.TrimPrefix(path, module+"/")
	for _, l := range leaves {
		if rel == l || strings.HasPrefix(rel, l+"/") {
			return true
		}
	}
	return false
}

func TestLeafPackagesDoNotImportGatewayOrMCP(t *testing.T) {
	checked := 0
	for _, p := range listPackages(t) {
		if !isLeaf(p.ImportPath) {
			continue
		}
		checked++
		for _, d := range p.Deps {
			for _, u := range upper {
				if d == u {
					t.Errorf("%s depends on %s", p.ImportPath, u)
				}
			}
		}
	}
	if checked < 4 {
		t.Fatalf("checked only %d leaf packages", checked)
	}
}

func TestOnlyMCPImportsMCPGo(t *testing.T) {
	for _, p := range listPackages(t) {
		for _, imp := range p.Imports {
			if strings.HasPrefix(imp, "github.com/mark3labs/mcp-go") && p.ImportPath != module+"/mcp" {
				t.Errorf("%s imports %s; only package mcp may", p.ImportPath, imp)
			}
		}
	}
}

func TestEveryPackageHasDocGo(t *testing.T) {
	for _, p := range listPackages(t) {
		if len(p.GoFiles) == 0 {
			continue // test-only packages
		}
		f := filepath.Join(p.Dir, "doc.go")
		if _, err := os.Stat(f); err != nil {
			t.Errorf("%s has no doc.go", p.ImportPath)
			continue
		}
		parsed, err := parser.ParseFile(token.NewFileSet(), f, nil, parser.ParseComments|parser.PackageClauseOnly)
		if err != nil {
			t.Errorf("%s: %v", f, err)
			continue
		}
		doc := ""
		if parsed.Doc != nil {
			doc = parsed.Doc.Text()
		}
		want := "Package " + p.Name + " "
		if p.Name == "main" {
			want = "Command "
		}
		if !strings.HasPrefix(doc, want) || len(doc) < 80 {
			t.Errorf("%s: doc.go must start with %q and say what the package owns; got %q", p.ImportPath, want, doc)
		}
	}
}

// TestDetectsViolations proves the checks can fail: a leaf that imports the
// gateway is caught by the same logic.
func TestDetectsViolations(t *testing.T) {
	if !isLeaf(module+"/connectors/postgres") || isLeaf(module+"/internal/gateway") || isLeaf(module+"/mcp") {
		t.Fatal("leaf classification is wrong")
	}
}
