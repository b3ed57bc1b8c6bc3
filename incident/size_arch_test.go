package incident_test

import (
	"go/ast"
	"go/parser"
	"go/token"
	"io/fs"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// Limits that keep every part small enough to hold in one's head: a type
// declares at most 30 methods and an interface lists at most 12 (an
// embedded interface counts as one line). A type or interface that grows
// past them is a feature asking for its own type.
const (
	maxMethodsPerType      = 30
	maxMembersPerInterface = 12
)

func TestTypesAndInterfacesStaySmall(t *testing.T) {
	t.Parallel()
	methods := map[string]int{}
	var offenders []string
	root := ".."
	err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			if name := d.Name(); path != root && (name == "tools" || name == "testdata" || strings.HasPrefix(name, ".")) {
				return filepath.SkipDir
			}
			return nil
		}
		if !strings.HasSuffix(path, ".go") || strings.HasSuffix(path, "_test.go") {
			return nil
		}
		file, err := parser.ParseFile(token.NewFileSet(), path, nil, 0)
		if err != nil {
			return err
		}
		pkg := filepath.Dir(path)
		for _, decl := range file.Decls {
			switch decl := decl.(type) {
			case *ast.FuncDecl:
				if name := receiverName(decl); name != "" {
					methods[pkg+"."+name]++
				}
			case *ast.GenDecl:
				for _, spec := range decl.Specs {
					ts, ok := spec.(*ast.TypeSpec)
					if !ok {
						continue
					}
					if it, ok := ts.Type.(*ast.InterfaceType); ok && len(it.Methods.List) > maxMembersPerInterface {
						offenders = append(offenders, pkg+"."+ts.Name.Name+": an interface of more than 12")
					}
				}
			}
		}
		return nil
	})
	require.NoError(t, err)
	require.NotEmpty(t, methods)
	for name, n := range methods {
		if n > maxMethodsPerType {
			offenders = append(offenders, name+": more than 30 methods")
		}
	}
	require.Empty(t, offenders, "split these by responsibility")
}

func receiverName(fn *ast.FuncDecl) string {
	if fn.Recv == nil || len(fn.Recv.List) == 0 {
		return ""
	}
	typ := fn.Recv.List[0].Type
	if star, ok := typ.(*ast.StarExpr); ok {
		typ = star.X
	}
	switch x := typ.(type) {
	case *ast.Ident:
		return x.Name
	case *ast.IndexExpr:
		if id, ok := x.X.(*ast.Ident); ok {
			return id.Name
		}
	}
	return ""
}
