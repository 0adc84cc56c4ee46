// Package version says which firedrill this is: the version and the commit it was built from,
// read from the module's build information (vcs.revision, vcs.modified) unless the build set
// them with -ldflags:
//
//	go build -ldflags "-X github.com/firedrill/firedrill/internal/version.version=v1.2.0 \
//	    -X github.com/firedrill/firedrill/internal/version.commit=$(git rev-parse HEAD)" ./cmd/firedrill
//
// It performs no I/O.
package version

import (
	"runtime/debug"
)

// Set by -ldflags -X; empty means "read the build information".
var (
	version string
	commit  string
)

// Info is a build's identity.
type Info struct {
	// Version is the module version ("v1.2.0", "(devel)" for a build from a checkout).
	Version string
	// Commit is the VCS revision, "unknown" when the build recorded none; with a "+dirty"
	// suffix when the working tree had uncommitted changes (vcs.modified).
	Commit string
}

// Get returns this binary's Info.
func Get() Info {
	bi, _ := debug.ReadBuildInfo()
	return infoOf(bi, version, commit)
}

// infoOf is Get over given build information and -ldflags values.
func infoOf(bi *debug.BuildInfo, ldVersion, ldCommit string) Info {
	in := Info{Version: "(devel)", Commit: "unknown"}
	if bi != nil {
		if v := bi.Main.Version; v != "" {
			in.Version = v
		}
		var rev string
		modified := false
		for _, s := range bi.Settings {
			switch s.Key {
			case "vcs.revision":
				rev = s.Value
			case "vcs.modified":
				modified = s.Value == "true"
			}
		}
		if rev != "" {
			in.Commit = rev
			if modified {
				in.Commit += "+dirty"
			}
		}
	}
	if ldVersion != "" {
		in.Version = ldVersion
	}
	if ldCommit != "" {
		in.Commit = ldCommit
	}
	return in
}
