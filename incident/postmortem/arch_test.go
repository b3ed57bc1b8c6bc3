package postmortem_test

import (
	"os/exec"
	"strings"
	"testing"
)

// TestStandardLibraryOnly keeps the postmortem compiler as portable as the
// domain: it imports the standard library and package incident, nothing else.
func TestStandardLibraryOnly(t *testing.T) {
	t.Parallel()
	const module = "github.com/firebreakhq/firebreak"
	out, err := exec.Command("go", "list", "-deps", "-f", "{{.ImportPath}}", module+"/incident/postmortem").Output()
	if err != nil {
		t.Fatalf("go list -deps: %v", err)
	}
	for _, d := range strings.Fields(string(out)) {
		first, _, _ := strings.Cut(d, "/")
		if !strings.Contains(first, ".") {
			continue // standard library
		}
		if d != module+"/incident" && d != module+"/incident/postmortem" {
			t.Errorf("package postmortem imports %s: it may import only the standard library and incident", d)
		}
	}
}
