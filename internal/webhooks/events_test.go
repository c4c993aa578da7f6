package webhooks

import (
	"go/ast"
	"go/parser"
	"go/token"
	"io/fs"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
)

// TestEventTypesListed reads every non-test Go file of the repository for
// the event types written to the outbox (the type argument of AddEvent or
// addDispatchedEvent, the type of an OutboxEvent) and fails when one is
// not in EventTypes: a new event must be listed to be subscribed to. A type given by a
// variable counts the string literals assigned to it in the same
// function; any other expression fails, to be read by a person.
func TestEventTypesListed(t *testing.T) {
	written := map[string]string{} // type → where
	fset := token.NewFileSet()
	err := filepath.WalkDir("../..", func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() && (d.Name() == "node_modules" || strings.HasPrefix(d.Name(), ".")) && path != "../.." {
			return filepath.SkipDir
		}
		if d.IsDir() || !strings.HasSuffix(path, ".go") || strings.HasSuffix(path, "_test.go") {
			return nil
		}
		f, err := parser.ParseFile(fset, path, nil, 0)
		if err != nil {
			return err
		}
		for _, decl := range f.Decls {
			fn, ok := decl.(*ast.FuncDecl)
			if !ok || fn.Body == nil {
				continue
			}
			elided := map[ast.Node]bool{} // OutboxEvent literals in a []OutboxEvent{…}
			ast.Inspect(fn.Body, func(n ast.Node) bool {
				var typ ast.Expr
				switch n := n.(type) {
				case *ast.CallExpr:
					if sel, ok := n.Fun.(*ast.SelectorExpr); ok && (sel.Sel.Name == "AddEvent" || sel.Sel.Name == "addDispatchedEvent") && len(n.Args) == 4 {
						typ = n.Args[2]
					}
				case *ast.CompositeLit:
					if at, ok := n.Type.(*ast.ArrayType); ok && name(at.Elt) == "OutboxEvent" {
						for _, el := range n.Elts {
							elided[el] = true
						}
					}
					if (name(n.Type) == "OutboxEvent" || elided[n]) && len(n.Elts) > 0 {
						typ = n.Elts[0]
						for _, el := range n.Elts {
							if kv, ok := el.(*ast.KeyValueExpr); ok && name(kv.Key) == "Type" {
								typ = kv.Value
							}
						}
					}
				}
				if typ == nil {
					return true
				}
				where := fset.Position(typ.Pos()).String()
				lits := literals(fn.Body, typ)
				if len(lits) == 0 {
					t.Errorf("%s: cannot read the event type %T here; make it a string literal", where, typ)
				}
				for _, l := range lits {
					written[l] = where
				}
				return true
			})
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(written) < 10 {
		t.Fatalf("found %d event types written, want the outbox's: the search is broken", len(written))
	}
	for typ, where := range written {
		if !slices.ContainsFunc(EventTypes, func(e EventType) bool { return e.Type == typ }) {
			t.Errorf("%s writes event type %q, which EventTypes does not list", where, typ)
		}
	}
	for _, e := range EventTypes {
		if _, ok := written[e.Type]; !ok {
			t.Errorf("EventTypes lists %q, which nothing writes", e.Type)
		}
	}
}

// name is the name of an identifier or of a qualified one (pkg.Name).
func name(e ast.Expr) string {
	switch e := e.(type) {
	case *ast.Ident:
		return e.Name
	case *ast.SelectorExpr:
		return e.Sel.Name
	}
	return ""
}

// literals returns the strings expr may hold: itself if it is a string
// literal, or each string literal assigned to it in body if it is a
// variable.
func literals(body *ast.BlockStmt, expr ast.Expr) []string {
	str := func(e ast.Expr) (string, bool) {
		lit, ok := e.(*ast.BasicLit)
		if !ok || lit.Kind != token.STRING {
			return "", false
		}
		s, err := strconv.Unquote(lit.Value)
		return s, err == nil
	}
	if s, ok := str(expr); ok {
		return []string{s}
	}
	id, ok := expr.(*ast.Ident)
	if !ok {
		return nil
	}
	var out []string
	ast.Inspect(body, func(n ast.Node) bool {
		if as, ok := n.(*ast.AssignStmt); ok && len(as.Lhs) == len(as.Rhs) {
			for i, l := range as.Lhs {
				if name(l) == id.Name {
					if s, ok := str(as.Rhs[i]); ok {
						out = append(out, s)
					}
				}
			}
		}
		return true
	})
	return out
}

func TestEventTypesDescribed(t *testing.T) {
	seen := map[string]bool{}
	for _, e := range EventTypes {
		if seen[e.Type] || e.Description == "" || !strings.HasSuffix(e.Description, ".") || KnownEvent(e.Type) == (e.Type == TestEventType) {
			t.Errorf("%+v: want a type listed once with a one-sentence description", e)
		}
		seen[e.Type] = true
	}
	for _, typ := range []string{"*", "reward.created"} {
		if !KnownEvent(typ) {
			t.Errorf("KnownEvent(%q) = false", typ)
		}
	}
	for _, typ := range []string{"", "reward", "reward.*", "Reward.Created", "payout.paid", TestEventType} {
		if KnownEvent(typ) {
			t.Errorf("KnownEvent(%q) = true", typ)
		}
	}
}
