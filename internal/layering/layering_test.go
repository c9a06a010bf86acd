package layering

import (
	"go/build"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

const module = "github.com/softdiff/softdiff/"

// allowed lists, for each library package (relative to the module root),
// the module packages its non-test files may import: the direction of
// docs/design.md. Packages not listed (tools under */cmd, */internal) are
// not checked.
var allowed = map[string][]string{
	"soft":              {},
	"data":              {},
	"internal/simdgemm": {},
	"kernels":           {"soft", "internal/simdgemm"},
	"oracle":            {"soft", "data", "internal/simdgemm"},
	"hybrid":            {"soft"},
	"decode/draw":       {"soft"},
	"decode":            {"soft", "kernels", "hybrid", "decode/draw"},
	"examples/l2r":      {"soft", "decode"},
	"degrade":           {"soft", "decode"},
	"experiments/lab":   {},
	"experiments":       {"soft", "data", "kernels", "oracle", "hybrid", "decode", "decode/draw", "nn", "degrade", "experiments/lab"},
	"data/models":       {},
	"nn":                {"soft", "internal/simdgemm", "data/models"},
	"remote":            {"soft"},
	"cmd/softdiff":      {"soft", "decode", "oracle", "nn", "remote", "experiments", "experiments/lab"},
}

func TestImportDirection(t *testing.T) {
	root := filepath.Join("..", "..")
	for pkg, ok := range allowed {
		p, err := build.Default.ImportDir(filepath.Join(root, filepath.FromSlash(pkg)), 0)
		if err != nil {
			t.Fatalf("%s: %v", pkg, err)
		}
		for _, imp := range p.Imports {
			rel, isModule := strings.CutPrefix(imp, module)
			if !isModule {
				continue
			}
			if !slices.Contains(ok, rel) {
				t.Errorf("%s imports %s: against the dependency direction of docs/design.md (allowed: %v)", pkg, rel, ok)
			}
		}
	}
}
