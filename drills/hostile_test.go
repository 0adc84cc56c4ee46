package drills_test

import (
	"testing"

	"github.com/firedrill/firedrill/drills"
)

// Inputs that have panicked HCL consumers elsewhere: expressions a literal-only language
// still has to evaluate safely, and JSON shapes HCL accepts in surprising ways.
func TestHostileInputs(t *testing.T) {
	t.Parallel()
	plans := []struct{ name, src string }{
		{"p.hcl", withBlock(`  step "x" {`, `    action = "nomad.run_job"`, `    for_each = [for s in ["auth"]: s]`, `    site = "yatap"`, `    count = null`, `  }`)},
		{"p.hcl", withBlock(`  step "x" {`, `    action = "nomad.run_job"`, `    for_each = [null]`, `    site = ["yatap"][*]`, `    jobspec = "${"a"}"`, `  }`)},
		{"p.hcl", withBlock(`  step "x" {`, `    action = "nomad.run_job"`, `    for_each = {a = "b"}`, `    count = 1e400`, `    site = <<EOT`, `yatap`, `EOT`, `  }`)},
		{"p.hcl", withBlock(`  step "x" {`, `    action = "nomad.run_job"`, `    for_each = ["auth"]`, `    count = -9223372036854775809`, `    site = true ? "a" : s`, `  }`)},
		{"p.hcl", `plan {}`},
		{"p.hcl", `plan "a" "b" {}`},
		{"p.hcl", "plan \"\" {\n step \"\" {}\n}"},
		{"p.json", `{"plan": {"p": {"step": {"s": {"action": null, "for_each": [null], "count": {"a": 1}}}}}}`},
		{"p.json", `{"plan": [{"p": {"rollback": [{"step": {"s": {}}}, {}]}}]}`},
		{"p.json", `{}`},
		{"p.json", `[]`},
		{"p.json", `{"plan": {"p": {"services": "${x}"}}}`},
		{"p.hcl", ""},
		{"p.hcl", "\x00\xff"},
	}
	cfg := exampleConfig(t)
	for _, tt := range plans {
		p, diags := drills.ParsePlan([]byte(tt.src), tt.name)
		if p != nil {
			diags = append(diags, drills.ValidatePlan(cfg, p)...)
			_, _ = p.Expand(cfg)
		}
		if !diags.HasErrors() {
			t.Errorf("ParsePlan(%q) = no errors, want some", tt.src)
		}
		for _, d := range diags {
			if d.Pos.File != tt.name {
				t.Errorf("ParsePlan(%q): diagnostic %q is not in %s", tt.src, d, tt.name)
			}
		}
	}
	configs := []struct{ name, src string }{
		{"c.json", `{"site": {"a": {"nomad": [{"address": "http://x", "region": "r"}, {"region": null}]}}, "service": {"x": {"check": {"http": {"url": null}}, "canary": {"interval": "0"}}}}`},
		{"c.json", `{"service": {"x": {"depends_on": ["x", "y"], "rto": 3}, "y": {"depends_on": ["x"]}}}`},
		{"c.hcl", "site \"a\" {\n  nomad {\n    address = \"http://[::1\"\n  }\n}"},
	}
	for _, tt := range configs {
		_, diags := drills.ParseEstate([]byte(tt.src), tt.name)
		if !diags.HasErrors() {
			t.Errorf("ParseConfig(%q) = no errors, want some", tt.src)
		}
		for _, d := range diags {
			if d.Pos.File != tt.name || d.Pos.Line < 1 {
				t.Errorf("ParseConfig(%q): diagnostic %q is not in %s", tt.src, d, tt.name)
			}
		}
	}
}
