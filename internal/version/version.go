// Package version says which firedrill this is: the version, the commit it was built from,
// when it was built and by which Go, read from the module's build information (vcs.revision,
// vcs.modified, vcs.time) unless the build set them with -ldflags, as the release build
// (scripts/build-release.sh) does:
//
//	go build -trimpath -ldflags "-X github.com/firedrill/firedrill/internal/version.version=v1.2.0 \
//	    -X github.com/firedrill/firedrill/internal/version.commit=$(git rev-parse HEAD) \
//	    -X github.com/firedrill/firedrill/internal/version.buildDate=2026-12-01T09:00:00Z" ./cmd/firedrill
//
// It performs no I/O.
package version

import (
	"runtime"
	"runtime/debug"
)

// Set by -ldflags -X; empty means "read the build information".
var (
	version   string
	commit    string
	buildDate string
)

// Info is a build's identity.
type Info struct {
	// Version is the module version ("v1.2.0", "(devel)" for a build from a checkout).
	Version string
	// Commit is the VCS revision, "unknown" when the build recorded none; with a "+dirty"
	// suffix when the working tree had uncommitted changes (vcs.modified).
	Commit string
	// BuildDate is when the binary was built (RFC 3339, UTC) as the release build stamps it;
	// else the commit's time (vcs.time), else "unknown".
	BuildDate string
	// GoVersion is the Go toolchain that built the binary ("go1.26.8").
	GoVersion string
}

// Get returns this binary's Info.
func Get() Info {
	bi, _ := debug.ReadBuildInfo()
	return infoOf(bi, ldflags{version: version, commit: commit, buildDate: buildDate})
}

// ldflags are the values a build set with -X; empty ones were not set.
type ldflags struct{ version, commit, buildDate string }

// infoOf is Get over given build information and -ldflags values.
func infoOf(bi *debug.BuildInfo, ld ldflags) Info {
	in := Info{Version: "(devel)", Commit: "unknown", BuildDate: "unknown", GoVersion: runtime.Version()}
	if bi != nil {
		if v := bi.Main.Version; v != "" {
			in.Version = v
		}
		if bi.GoVersion != "" {
			in.GoVersion = bi.GoVersion
		}
		var rev string
		modified := false
		for _, s := range bi.Settings {
			switch s.Key {
			case "vcs.revision":
				rev = s.Value
			case "vcs.modified":
				modified = s.Value == "true"
			case "vcs.time":
				in.BuildDate = s.Value
			}
		}
		if rev != "" {
			in.Commit = rev
			if modified {
				in.Commit += "+dirty"
			}
		}
	}
	if ld.version != "" {
		in.Version = ld.version
	}
	if ld.commit != "" {
		in.Commit = ld.commit
	}
	if ld.buildDate != "" {
		in.BuildDate = ld.buildDate
	}
	return in
}
