package sdk_test

import (
	"go/ast"
	"go/parser"
	"go/token"
	"os"
	"strconv"
	"strings"
	"testing"
)

// hostSideImports are the packages whose types must not appear in what
// package sdk exports: generated protobuf code and the go-plugin/gRPC
// plumbing belong to sdk/internal/... and sdk/pluginhost.
var hostSideImports = []string{
	"github.com/dpc-go/dpc/proto/",
	"github.com/hashicorp/go-plugin",
	"google.golang.org/grpc",
	"github.com/dpc-go/dpc/sdk/internal/",
}

// TestAuthorAPIHasNoWireTypes: a plugin author reads `go doc sdk` and sees
// only the plugin API. It fails if an exported declaration of package sdk
// (a function, a method of an exported type, a struct field, an interface
// method, a typed var) names a type of a host-side package.
func TestAuthorAPIHasNoWireTypes(t *testing.T) {
	t.Parallel()
	fset := token.NewFileSet()
	entries, err := os.ReadDir(".")
	if err != nil {
		t.Fatal(err)
	}
	files := map[string]*ast.File{}
	for _, e := range entries {
		if n := e.Name(); strings.HasSuffix(n, ".go") && !strings.HasSuffix(n, "_test.go") {
			f, err := parser.ParseFile(fset, n, nil, 0)
			if err != nil {
				t.Fatal(err)
			}
			files[n] = f
		}
	}
	if len(files) == 0 {
		t.Fatal("no Go files of package sdk")
	}
	for name, f := range files {
		banned := map[string]string{} // local import name -> path
		for _, imp := range f.Imports {
			path, _ := strconv.Unquote(imp.Path.Value)
			for _, p := range hostSideImports {
				if strings.HasPrefix(path, p) {
					local := path[strings.LastIndex(path, "/")+1:]
					if imp.Name != nil {
						local = imp.Name.Name
					}
					banned[local] = path
				}
			}
		}
		check := func(where string, n ast.Node) {
			if n == nil {
				return
			}
			ast.Inspect(n, func(n ast.Node) bool {
				sel, ok := n.(*ast.SelectorExpr)
				if !ok {
					return true
				}
				if id, ok := sel.X.(*ast.Ident); ok {
					if path, bad := banned[id.Name]; bad {
						t.Errorf("%s: %s names %s.%s from %s", fset.Position(n.Pos()), where, id.Name, sel.Sel.Name, path)
					}
				}
				return true
			})
		}
		for _, d := range f.Decls {
			switch d := d.(type) {
			case *ast.FuncDecl:
				if !d.Name.IsExported() || (d.Recv != nil && !exportedReceiver(d.Recv)) {
					continue
				}
				check(name+": func "+d.Name.Name, d.Type)
			case *ast.GenDecl:
				for _, s := range d.Specs {
					switch s := s.(type) {
					case *ast.TypeSpec:
						if s.Name.IsExported() {
							check(name+": type "+s.Name.Name, exportedParts(s.Type))
						}
					case *ast.ValueSpec:
						for i, n := range s.Names {
							if !n.IsExported() {
								continue
							}
							check(name+": "+n.Name, s.Type)
							// An untyped var takes the type of its value.
							if i < len(s.Values) {
								if lit, ok := s.Values[i].(*ast.CompositeLit); ok {
									check(name+": "+n.Name, lit.Type)
								}
							}
						}
					}
				}
			}
		}
	}
}

func exportedReceiver(recv *ast.FieldList) bool {
	t := recv.List[0].Type
	if st, ok := t.(*ast.StarExpr); ok {
		t = st.X
	}
	if ix, ok := t.(*ast.IndexExpr); ok {
		t = ix.X
	}
	id, ok := t.(*ast.Ident)
	return ok && id.IsExported()
}

// exportedParts is a type expression without its unexported struct fields
// and interface methods, which the author never sees.
func exportedParts(e ast.Expr) ast.Node {
	var fields *ast.FieldList
	switch t := e.(type) {
	case *ast.StructType:
		fields = t.Fields
	case *ast.InterfaceType:
		fields = t.Methods
	default:
		return e
	}
	out := &ast.FieldList{}
	for _, f := range fields.List {
		if len(f.Names) == 0 || f.Names[0].IsExported() {
			out.List = append(out.List, f)
		}
	}
	return out
}
