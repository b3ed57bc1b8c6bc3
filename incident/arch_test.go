package incident_test

import (
	"go/parser"
	"go/token"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// deps lists the packages pkg imports, directly or not.
func deps(t *testing.T, pkg string) []string {
	t.Helper()
	out, err := exec.Command("go", "list", "-deps", "-f", "{{.ImportPath}}", pkg).Output()
	if err != nil {
		t.Fatalf("go list -deps %s: %v", pkg, err)
	}
	return strings.Fields(string(out))
}

// TestDependencyRule keeps the domain free of vendor SDKs and storage, and
// keeps the Slack transport away from the store and the integrations.
func TestDependencyRule(t *testing.T) {
	const module = "github.com/firebreakhq/firebreak"
	for _, d := range deps(t, module+"/incident") {
		first, _, _ := strings.Cut(d, "/")
		if strings.Contains(first, ".") && d != module+"/incident" {
			t.Errorf("package incident imports %s: the domain may import only the standard library", d)
		}
	}
	for _, transport := range []string{"bot", "web"} {
		for _, d := range deps(t, module+"/"+transport) {
			for _, forbidden := range []string{module + "/incident/gormstore", module + "/integrations/", "gorm.io/", "github.com/riverqueue/"} {
				if strings.HasPrefix(d, forbidden) {
					t.Errorf("package %s imports %s: the transport must reach storage and integrations only through incident's interfaces", transport, d)
				}
			}
		}
	}
	for _, d := range deps(t, module+"/incident/metrics") {
		first, _, _ := strings.Cut(d, "/")
		if strings.Contains(first, ".") && !strings.HasPrefix(d, module+"/incident") {
			t.Errorf("package incident/metrics imports %s: the metrics maths may import only the standard library and the domain", d)
		}
	}
}

// isFake reports whether an import path is one of the test kits: the
// providers' HTTP fakes (slackfake, pdfake, ghfake...), the in-memory store
// and queue (incidenttest), the Postgres test database (pgtest) and the
// postmortem kit.
func isFake(path string) bool {
	last := path[strings.LastIndex(path, "/")+1:]
	return strings.HasSuffix(last, "fake") || strings.HasSuffix(last, "test") || last == "memstore"
}

// TestFakesOnlyInTests keeps the fakes out of production code: only tests,
// other fakes and the demo (cmd/firebreak/demo*.go) may import them.
func TestFakesOnlyInTests(t *testing.T) {
	const module = "github.com/firebreakhq/firebreak"
	out, err := exec.Command("go", "list", "-f", "{{.ImportPath}}\t{{.Dir}}\t{{join .GoFiles \" \"}}", module+"/...").Output()
	if err != nil {
		t.Fatalf("go list: %v", err)
	}
	checked := 0
	for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		parts := strings.SplitN(line, "\t", 3)
		if len(parts) < 3 || isFake(parts[0]) {
			continue
		}
		pkg, dir := parts[0], parts[1]
		for _, name := range strings.Fields(parts[2]) {
			f, err := parser.ParseFile(token.NewFileSet(), filepath.Join(dir, name), nil, parser.ImportsOnly)
			if err != nil {
				t.Fatalf("parse %s: %v", name, err)
			}
			checked++
			demo := pkg == module+"/cmd/firebreak" && strings.HasPrefix(name, "demo")
			for _, imp := range f.Imports {
				path := strings.Trim(imp.Path.Value, `"`)
				if strings.HasPrefix(path, module+"/") && isFake(path) && !demo {
					t.Errorf("%s/%s imports %s: fakes are for tests and the demo only", pkg, name, path)
				}
			}
		}
	}
	if checked < 50 {
		t.Fatalf("checked only %d production files; the listing is broken", checked)
	}
}
