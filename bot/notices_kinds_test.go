package bot

import (
	"go/ast"
	"go/parser"
	"go/token"
	"io/fs"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/firebreakhq/firebreak/incident"
)

// declaredNoticeKinds reads the notice kinds declared in package incident
// and its feature packages: every constant of type NoticeKind, by name.
func declaredNoticeKinds(t *testing.T) map[string]incident.NoticeKind {
	t.Helper()
	kinds := map[string]incident.NoticeKind{}
	err := filepath.WalkDir(filepath.Join("..", "incident"), func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || !strings.HasSuffix(path, ".go") || strings.HasSuffix(path, "_test.go") {
			return err
		}
		file, err := parser.ParseFile(token.NewFileSet(), path, nil, 0)
		if err != nil {
			return err
		}
		for _, decl := range file.Decls {
			gen, ok := decl.(*ast.GenDecl)
			if !ok || gen.Tok != token.CONST {
				continue
			}
			for _, spec := range gen.Specs {
				vs := spec.(*ast.ValueSpec)
				if !isNoticeKindType(vs.Type) {
					continue
				}
				for i, name := range vs.Names {
					lit, ok := vs.Values[i].(*ast.BasicLit)
					require.True(t, ok, "%s: %s is a string literal", path, name.Name)
					value, err := strconv.Unquote(lit.Value)
					require.NoError(t, err)
					kinds[name.Name] = incident.NoticeKind(value)
				}
			}
		}
		return nil
	})
	require.NoError(t, err)
	return kinds
}

func isNoticeKindType(e ast.Expr) bool {
	switch e := e.(type) {
	case *ast.Ident:
		return e.Name == "NoticeKind"
	case *ast.SelectorExpr:
		return e.Sel.Name == "NoticeKind"
	}
	return false
}

// A new notice kind cannot be forgotten: every kind declared in the domain
// has a wording function.
func TestEveryDeclaredNoticeKindHasAWording(t *testing.T) {
	t.Parallel()
	kinds := declaredNoticeKinds(t)
	require.Greater(t, len(kinds), 50, "the notice kinds are found")
	for name, kind := range kinds {
		require.NotNil(t, noticeWordings[kind], "%s (%q) has no wording in bot/notices_*.go", name, kind)
	}
	declared := map[incident.NoticeKind]bool{}
	for _, kind := range kinds {
		declared[kind] = true
	}
	for kind := range noticeWordings {
		require.True(t, declared[kind], "%q is worded but not declared in package incident", kind)
	}
}
