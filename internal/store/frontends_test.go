package store_test

import (
	"go/ast"
	"go/parser"
	"go/token"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestFrontEndsOpenNoTransaction holds the line between the front ends and
// the store: the API, the dashboard and the command line call operations
// (operations.go), each owning its transaction, and never open one
// themselves, so that group commit and retries stay inside the store.
// Their tests may seed data in transactions of their own.
func TestFrontEndsOpenNoTransaction(t *testing.T) {
	for _, dir := range []string{"../httpapi", "../dashboard", "../track", "../web", "../../cmd/advocate"} {
		files, err := filepath.Glob(filepath.Join(dir, "*.go"))
		if err != nil || len(files) == 0 {
			t.Fatalf("%s: no Go files (%v)", dir, err)
		}
		for _, path := range files {
			if strings.HasSuffix(path, "_test.go") {
				continue
			}
			src, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			fset := token.NewFileSet()
			f, err := parser.ParseFile(fset, path, src, 0)
			if err != nil {
				t.Fatal(err)
			}
			ast.Inspect(f, func(n ast.Node) bool {
				if sel, ok := n.(*ast.SelectorExpr); ok && (sel.Sel.Name == "InTx" || (sel.Sel.Name == "Tx" && isStore(sel.X))) {
					t.Errorf("%s: %s opens or handles a store transaction; call an operation of the store instead",
						fset.Position(sel.Pos()), sel.Sel.Name)
				}
				return true
			})
		}
	}
}

func isStore(x ast.Expr) bool {
	id, ok := x.(*ast.Ident)
	return ok && id.Name == "store"
}
