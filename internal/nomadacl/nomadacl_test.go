package nomadacl_test

import (
	"testing"

	"github.com/firedrill/firedrill/internal/nomadacl"
)

func TestSetAllows(t *testing.T) {
	t.Parallel()
	parse := func(t *testing.T, rules ...string) nomadacl.Set {
		t.Helper()
		var s nomadacl.Set
		for _, r := range rules {
			p, err := nomadacl.Parse(r)
			if err != nil {
				t.Fatalf("Parse(%q) = %v", r, err)
			}
			s = append(s, p)
		}
		return s
	}
	tests := []struct {
		name      string
		rules     []string
		ns, cap   string
		wantNS    bool
		nodeWrite bool
		wantNode  bool
	}{
		{"read policy reads", []string{`namespace "default" { policy = "read" }`}, "default", nomadacl.CapReadJob, true, false, false},
		{"read policy cannot submit", []string{`namespace "default" { policy = "read" }`}, "default", nomadacl.CapSubmitJob, false, false, false},
		{"write submits", []string{`namespace "default" { policy = "write" }`}, "default", nomadacl.CapSubmitJob, true, false, false},
		{"capability list", []string{`namespace "default" { capabilities = ["submit-job"] }`}, "default", nomadacl.CapSubmitJob, true, false, false},
		{"other namespace", []string{`namespace "payments" { policy = "write" }`}, "default", nomadacl.CapReadJob, false, false, false},
		{"glob", []string{`namespace "*" { policy = "write" }`}, "default", nomadacl.CapSubmitJob, true, false, false},
		{"deny wins over another policy", []string{`namespace "default" { policy = "write" }`, `namespace "default" { policy = "deny" }`}, "default", nomadacl.CapReadJob, false, false, false},
		{"node read", []string{`node { policy = "read" }`}, "default", nomadacl.CapReadJob, false, false, true},
		{"node read is no node write", []string{`node { policy = "read" }`}, "default", nomadacl.CapReadJob, false, true, false},
		{"node write", []string{`node { policy = "read" }`, `node { policy = "write" }`}, "default", nomadacl.CapReadJob, false, true, true},
		{"other blocks ignored", []string{`agent { policy = "read" }` + "\n" + `node { policy = "write" }`}, "default", nomadacl.CapReadJob, false, true, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			s := parse(t, tt.rules...)
			if got := s.AllowsNamespace(tt.ns, tt.cap); got != tt.wantNS {
				t.Errorf("AllowsNamespace(%q, %q) = %v, want %v", tt.ns, tt.cap, got, tt.wantNS)
			}
			if got := s.AllowsNode(tt.nodeWrite); got != tt.wantNode {
				t.Errorf("AllowsNode(%v) = %v, want %v", tt.nodeWrite, got, tt.wantNode)
			}
		})
	}
}

func TestParseRefuses(t *testing.T) {
	t.Parallel()
	for _, rules := range []string{`namespace "default" { policy = "admin" }`, `node { policy = "all" }`, `namespace {`} {
		if _, err := nomadacl.Parse(rules); err == nil {
			t.Errorf("Parse(%q) = nil error, want one", rules)
		}
	}
}
