package tools

import (
	"slices"
	"strings"
	"testing"

	"github.com/goreleaser/goreleaser/v2/pkg/config"
)

// TestGoreleaserConfigParses loads ../.goreleaser.yaml with goreleaser's own
// strict loader (unknown keys are errors) and checks what a release must
// produce: linux and darwin binaries on amd64 and arm64, and a multi-arch
// image. Nothing is built or published.
func TestGoreleaserConfigParses(t *testing.T) {
	p, err := config.Load("../.goreleaser.yaml")
	if err != nil {
		t.Fatalf("goreleaser config: %v", err)
	}
	if p.Version != 2 {
		t.Fatalf("version: %d, want 2", p.Version)
	}
	if len(p.Builds) != 1 {
		t.Fatalf("builds: %d, want 1", len(p.Builds))
	}
	b := p.Builds[0]
	if b.Main != "./cmd/firebreak" || b.Binary != "firebreak" {
		t.Errorf("build: main %q binary %q", b.Main, b.Binary)
	}
	for _, os := range []string{"linux", "darwin"} {
		if !slices.Contains(b.Goos, os) {
			t.Errorf("goos lacks %s", os)
		}
	}
	for _, arch := range []string{"amd64", "arm64"} {
		if !slices.Contains(b.Goarch, arch) {
			t.Errorf("goarch lacks %s", arch)
		}
	}
	if !slices.ContainsFunc(b.Ldflags, func(s string) bool { return containsAll(s, "main.version=", "main.commit=", "main.date=") }) {
		t.Errorf("ldflags do not set version, commit and date: %q", b.Ldflags)
	}
	if len(p.Kos) != 1 {
		t.Fatalf("kos: %d, want 1", len(p.Kos))
	}
	ko := p.Kos[0]
	if !slices.Contains(ko.Repositories, "ghcr.io/firebreakhq/firebreak") {
		t.Errorf("image repositories: %q", ko.Repositories)
	}
	for _, pl := range []string{"linux/amd64", "linux/arm64"} {
		if !slices.Contains(ko.Platforms, pl) {
			t.Errorf("image platforms lack %s", pl)
		}
	}
	for _, l := range []string{"org.opencontainers.image.source", "org.opencontainers.image.licenses", "org.opencontainers.image.version", "org.opencontainers.image.revision"} {
		if ko.Labels[l] == "" {
			t.Errorf("image label %s is missing", l)
		}
	}
	if _, err := config.LoadReader(strings.NewReader("version: 2\nbuilds:\n  - mian: ./cmd/firebreak\n")); err == nil {
		t.Error("the loader accepted an unknown key; this test would not catch a broken config")
	}
	if len(p.Archives) == 0 || !slices.ContainsFunc(p.Archives[0].Files, func(f config.File) bool { return f.Source == "LICENSE" }) {
		t.Errorf("archives do not carry the LICENSE")
	}
}

func containsAll(s string, parts ...string) bool {
	for _, p := range parts {
		if !strings.Contains(s, p) {
			return false
		}
	}
	return true
}
