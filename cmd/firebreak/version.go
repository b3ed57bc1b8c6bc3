package main

import (
	"fmt"
	"runtime"
	"runtime/debug"

	"github.com/prometheus/client_golang/prometheus"
)

// Set by release builds: -ldflags "-X main.version=v0.1.0 -X main.commit=... -X main.date=...".
var (
	version = ""
	commit  = ""
	date    = ""
)

// buildInfo is what the binary knows about its own build.
type buildInfo struct {
	Version   string
	Commit    string
	Date      string
	GoVersion string
}

// currentBuild reports the release version, commit and build date: from
// -ldflags in release builds, else from the build information the Go
// toolchain records (the module version under go install, the VCS revision
// and time when built from a checkout).
func currentBuild() buildInfo {
	return resolveBuild(version, commit, date, debug.ReadBuildInfo)
}

func resolveBuild(v, c, d string, read func() (*debug.BuildInfo, bool)) buildInfo {
	b := buildInfo{Version: v, Commit: c, Date: d, GoVersion: runtime.Version()}
	if bi, ok := read(); ok {
		b.GoVersion = bi.GoVersion
		if b.Version == "" && bi.Main.Version != "" && bi.Main.Version != "(devel)" {
			b.Version = bi.Main.Version
		}
		modified := false
		for _, s := range bi.Settings {
			switch s.Key {
			case "vcs.revision":
				if b.Commit == "" {
					b.Commit = s.Value
				}
			case "vcs.time":
				if b.Date == "" {
					b.Date = s.Value
				}
			case "vcs.modified":
				modified = s.Value == "true"
			}
		}
		if modified && b.Commit != "" && c == "" {
			b.Commit += "-dirty"
		}
	}
	if b.Version == "" {
		b.Version = "dev"
	}
	if b.Commit == "" {
		b.Commit = "unknown"
	}
	if b.Date == "" {
		b.Date = "unknown"
	}
	return b
}

// String is the line `firebreak version` prints.
func (b buildInfo) String() string {
	return fmt.Sprintf("firebreak %s (commit %s, built %s, %s %s/%s)", b.Version, b.Commit, b.Date, b.GoVersion, runtime.GOOS, runtime.GOARCH)
}

// register adds firebreak_build_info{version,commit,goversion} 1, the
// Prometheus convention for joining a build's identity onto other series.
func (b buildInfo) register(reg prometheus.Registerer) {
	g := prometheus.NewGaugeVec(prometheus.GaugeOpts{
		Name: "firebreak_build_info",
		Help: "Always 1; the labels identify the running build.",
	}, []string{"version", "commit", "goversion"})
	g.WithLabelValues(b.Version, b.Commit, b.GoVersion).Set(1)
	reg.MustRegister(g)
}
