package version

import (
	"runtime"
	"runtime/debug"
	"testing"
)

func TestInfoOf(t *testing.T) {
	t.Parallel()
	bi := &debug.BuildInfo{GoVersion: "go1.26.8", Main: debug.Module{Version: "v1.2.0"}, Settings: []debug.BuildSetting{
		{Key: "vcs.revision", Value: "abc123"}, {Key: "vcs.modified", Value: "true"}, {Key: "vcs.time", Value: "2026-11-30T08:00:00Z"},
	}}
	tests := []struct {
		name string
		bi   *debug.BuildInfo
		ld   ldflags
		want Info
	}{
		{"no build info", nil, ldflags{}, Info{Version: "(devel)", Commit: "unknown", BuildDate: "unknown", GoVersion: runtime.Version()}},
		{"vcs, dirty", bi, ldflags{}, Info{Version: "v1.2.0", Commit: "abc123+dirty", BuildDate: "2026-11-30T08:00:00Z", GoVersion: "go1.26.8"}},
		{"clean", &debug.BuildInfo{GoVersion: "go1.26.8", Main: debug.Module{Version: "(devel)"}, Settings: []debug.BuildSetting{{Key: "vcs.revision", Value: "def"}, {Key: "vcs.modified", Value: "false"}}}, ldflags{},
			Info{Version: "(devel)", Commit: "def", BuildDate: "unknown", GoVersion: "go1.26.8"}},
		{"ldflags win", bi, ldflags{version: "v9", commit: "fff", buildDate: "2026-12-01T09:00:00Z"},
			Info{Version: "v9", Commit: "fff", BuildDate: "2026-12-01T09:00:00Z", GoVersion: "go1.26.8"}},
	}
	for _, tt := range tests {
		if got := infoOf(tt.bi, tt.ld); got != tt.want {
			t.Errorf("%s: infoOf = %+v, want %+v", tt.name, got, tt.want)
		}
	}
}
