package incident_test

import (
	"os/exec"
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
