package incident

import (
	"encoding/json"
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"io/fs"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"
	"testing"
)

// PayloadKinds lists the kinds whose events carry a payload, for the
// external tests.
func PayloadKinds() []EventKind {
	var out []EventKind
	for k, decode := range eventKinds {
		if decode != nil {
			out = append(out, k)
		}
	}
	return out
}

// sourceFiles parses the non-test Go files of this package and the packages
// under it.
func sourceFiles(t *testing.T) []*ast.File {
	t.Helper()
	var files []*ast.File
	fset := token.NewFileSet()
	err := filepath.WalkDir(".", func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() && d.Name() == "testdata" {
			return filepath.SkipDir
		}
		if d.IsDir() || !strings.HasSuffix(path, ".go") || strings.HasSuffix(path, "_test.go") {
			return nil
		}
		f, err := parser.ParseFile(fset, path, nil, 0)
		if err != nil {
			return err
		}
		files = append(files, f)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return files
}

// typeName is the name of a type expression without its package: Foo for
// Foo and incident.Foo.
func typeName(e ast.Expr) string {
	switch e := e.(type) {
	case *ast.Ident:
		return e.Name
	case *ast.SelectorExpr:
		return e.Sel.Name
	}
	return ""
}

// TestEveryEventKindIsInTheTable finds every EventKind constant declared in
// the domain and its feature packages and requires it in eventKinds, so a
// new kind says whether it has a payload.
func TestEveryEventKindIsInTheTable(t *testing.T) {
	found := 0
	for _, f := range sourceFiles(t) {
		for _, decl := range f.Decls {
			gd, ok := decl.(*ast.GenDecl)
			if !ok || gd.Tok != token.CONST {
				continue
			}
			for _, spec := range gd.Specs {
				vs := spec.(*ast.ValueSpec)
				if vs.Type == nil || typeName(vs.Type) != "EventKind" {
					continue
				}
				for i, name := range vs.Names {
					lit, ok := vs.Values[i].(*ast.BasicLit)
					if !ok {
						continue
					}
					kind, _ := strconv.Unquote(lit.Value)
					found++
					if _, ok := eventKinds[EventKind(kind)]; !ok {
						t.Errorf("%s (%q) is not in eventKinds: add it, with its payload's decoder or nil", name.Name, kind)
					}
				}
			}
		}
	}
	if found < len(eventKinds) {
		t.Errorf("found %d EventKind constants, fewer than the %d kinds in eventKinds", found, len(eventKinds))
	}
}

// TestPayloadsMatchTheirKinds checks the table both ways: each payload
// decodes to the struct whose kind it is listed under.
func TestPayloadsMatchTheirKinds(t *testing.T) {
	for kind, decode := range eventKinds {
		if decode == nil {
			continue
		}
		p, err := decode([]byte("{}"))
		if err != nil {
			t.Errorf("%s: decode {}: %v", kind, err)
			continue
		}
		if p.eventKind() != kind {
			t.Errorf("%s decodes to %T, the payload of %s", kind, p, p.eventKind())
		}
	}
}

// TestEventWritersUseTheirKindsPayload reads every TimelineEvent literal in
// the domain and its feature packages: one that sets details sets them for a
// kind with a payload, as a payload of that kind.
func TestEventWritersUseTheirKindsPayload(t *testing.T) {
	kinds := map[string]EventKind{}
	payloads := map[string]EventKind{}
	for kind, decode := range eventKinds {
		if decode != nil {
			p, _ := decode([]byte("{}"))
			payloads[typeString(p)] = kind
		}
	}
	files := sourceFiles(t)
	for _, f := range files {
		for _, decl := range f.Decls {
			gd, ok := decl.(*ast.GenDecl)
			if !ok || gd.Tok != token.CONST {
				continue
			}
			for _, spec := range gd.Specs {
				vs := spec.(*ast.ValueSpec)
				for i, name := range vs.Names {
					if i < len(vs.Values) {
						if lit, ok := vs.Values[i].(*ast.BasicLit); ok && vs.Type != nil && typeName(vs.Type) == "EventKind" {
							k, _ := strconv.Unquote(lit.Value)
							kinds[name.Name] = EventKind(k)
						}
					}
				}
			}
		}
	}
	checked := 0
	for _, f := range files {
		ast.Inspect(f, func(n ast.Node) bool {
			cl, ok := n.(*ast.CompositeLit)
			if !ok || cl.Type == nil || typeName(cl.Type) != "TimelineEvent" {
				return true
			}
			var kindExpr, payload ast.Expr
			for _, el := range cl.Elts {
				kv, ok := el.(*ast.KeyValueExpr)
				if !ok {
					continue
				}
				switch kv.Key.(*ast.Ident).Name {
				case "Kind":
					kindExpr = kv.Value
				case "Payload":
					payload = kv.Value
				}
			}
			if kindExpr == nil || payload == nil {
				return true
			}
			kind, ok := kinds[typeName(kindExpr)]
			if !ok {
				return true // a variable: checked when stored
			}
			checked++
			if eventKinds[kind] == nil {
				t.Errorf("a %s event sets details, but %s has no payload in eventKinds", kind, kind)
			}
			if pl, ok := payload.(*ast.CompositeLit); ok {
				if got, ok := payloads[typeName(pl.Type)]; ok && got != kind {
					t.Errorf("a %s event carries %s, the payload of %s", kind, typeName(pl.Type), got)
				}
			}
			return true
		})
	}
	if checked == 0 {
		t.Error("no TimelineEvent literal with details found")
	}
}

func typeString(p EventData) string {
	return strings.TrimPrefix(fmt.Sprintf("%T", p), "incident.")
}

// TestPayloadsStoreFlatStrings keeps every payload a flat object of strings,
// the shape rows were stored in and the API's "data" promises: each field,
// set, is stored as a string under its own key.
func TestPayloadsStoreFlatStrings(t *testing.T) {
	for kind, decode := range eventKinds {
		if decode == nil {
			continue
		}
		zero, _ := decode([]byte("{}"))
		v := reflect.New(reflect.TypeOf(zero)).Elem()
		for i := 0; i < v.NumField(); i++ {
			switch f := v.Field(i); f.Kind() {
			case reflect.String:
				f.SetString("x")
			case reflect.Int, reflect.Int64:
				f.SetInt(1)
			case reflect.Bool:
				f.SetBool(true)
			default:
				t.Errorf("%s: field %s is a %s: a payload holds strings, numbers and flags", kind, v.Type().Field(i).Name, f.Kind())
			}
		}
		b, err := json.Marshal(v.Interface())
		if err != nil {
			t.Errorf("%s: %v", kind, err)
			continue
		}
		var m map[string]string
		if err := json.Unmarshal(b, &m); err != nil {
			t.Errorf("%s is not stored as a flat object of strings: %s", kind, b)
			continue
		}
		if len(m) != v.NumField() {
			t.Errorf("%s stores %d keys for %d fields: %s", kind, len(m), v.NumField(), b)
		}
		back, err := decode(b)
		if err != nil || back != v.Interface() {
			t.Errorf("%s does not read back what it stored: %s -> %#v (%v)", kind, b, back, err)
		}
	}
}
