package version

import (
	"runtime/debug"
	"testing"
)

func TestInfoOf(t *testing.T) {
	t.Parallel()
	bi := &debug.BuildInfo{Main: debug.Module{Version: "v1.2.0"}, Settings: []debug.BuildSetting{
		{Key: "vcs.revision", Value: "abc123"}, {Key: "vcs.modified", Value: "true"},
	}}
	tests := []struct {
		name     string
		bi       *debug.BuildInfo
		ldV, ldC string
		want     Info
	}{
		{"no build info", nil, "", "", Info{Version: "(devel)", Commit: "unknown"}},
		{"vcs, dirty", bi, "", "", Info{Version: "v1.2.0", Commit: "abc123+dirty"}},
		{"clean", &debug.BuildInfo{Main: debug.Module{Version: "(devel)"}, Settings: []debug.BuildSetting{{Key: "vcs.revision", Value: "def"}, {Key: "vcs.modified", Value: "false"}}}, "", "",
			Info{Version: "(devel)", Commit: "def"}},
		{"ldflags win", bi, "v9", "fff", Info{Version: "v9", Commit: "fff"}},
	}
	for _, tt := range tests {
		if got := infoOf(tt.bi, tt.ldV, tt.ldC); got != tt.want {
			t.Errorf("%s: infoOf = %+v, want %+v", tt.name, got, tt.want)
		}
	}
}
