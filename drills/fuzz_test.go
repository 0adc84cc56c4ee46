package drills_test

import (
	"reflect"
	"testing"

	"github.com/firedrill/firedrill/drills"
)

// checkDiagPositions is the property every parse keeps, whatever the input: diagnostics name
// the caller's file and, when they have a position, a real line.
func checkDiagPositions(t *testing.T, call, filename string, diags drills.Diagnostics) {
	t.Helper()
	for _, d := range diags {
		if d.Pos.File != filename || d.Pos.Line < 0 || (d.Pos.Line > 0 && d.Pos.Column < 1) {
			t.Fatalf("%s: diagnostic %q has position %+v, want file %q and line >= 1", call, d, d.Pos, filename)
		}
		if d.Msg == "" {
			t.Fatalf("%s: diagnostic at %v has no message", call, d.Pos)
		}
	}
}

func fuzzName(json bool) string {
	if json {
		return "fuzz.json"
	}
	return "fuzz.hcl"
}

func FuzzParsePlan(f *testing.F) {
	f.Add(readExample(f, "plans/site-loss.hcl"), false)
	f.Add([]byte(basePlan), false)
	f.Add([]byte(`{"plan": {"p": {"from": "sangam", "to": "yatap", "services": ["auth"], "step": {"s": {"action": "nomad.run_job", "count": 2}}}}}`), true)
	f.Add([]byte(withBlock(`  approval {`, `    roles  = ["sre", "compliance"]`, `    within = "24h"`, `  }`)), false)
	cfg, diags := drills.ParseEstate(readExample(f, "firedrill.hcl"), "firedrill.hcl")
	if len(diags) > 0 {
		f.Fatal(diags)
	}
	f.Fuzz(func(t *testing.T, src []byte, json bool) {
		name := fuzzName(json)
		p, diags := drills.ParsePlan(src, name)
		checkDiagPositions(t, "ParsePlan", name, diags)
		if p == nil {
			if !diags.HasErrors() {
				t.Fatal("ParsePlan returned no plan and no error")
			}
			return
		}
		// Validation must survive even a plan with errors, since the CLI may show both.
		v1 := drills.ValidatePlan(cfg, p)
		checkDiagPositions(t, "ValidatePlan", name, v1)
		if diags.HasErrors() {
			return
		}
		if v2 := drills.ValidatePlan(cfg, p); !reflect.DeepEqual(v1, v2) {
			t.Fatalf("ValidatePlan is not deterministic:\n%v\nthen\n%v", v1, v2)
		}
		if _, again := drills.ParsePlan(src, name); !reflect.DeepEqual(diags, again) {
			t.Fatalf("ParsePlan is not deterministic")
		}
		if !v1.HasErrors() {
			if _, err := p.Expand(cfg); err != nil {
				t.Fatalf("Expand of a valid plan: %v", err)
			}
			if _, err := p.ExpandRollback(cfg); err != nil {
				t.Fatalf("ExpandRollback of a valid plan: %v", err)
			}
		}
	})
}

func FuzzParseEstate(f *testing.F) {
	f.Add(readExample(f, "firedrill.hcl"), false)
	f.Add([]byte(primary+svc("x", `  depends_on = ["y"]`, `  check "http" { url = "{ingress}/h" }`, `  canary {`, `    database = "l"`, `    table = "t"`, `  }`)+svc("y", `  depends_on = ["x"]`)), false)
	f.Add([]byte(`{"site": {"a": {"role": "primary", "nomad": {"address": "http://a:4646", "region": "r"}}}, "service": {"x": {"criticality": "core", "rto": "1d", "rpo": "0s"}}}`), true)
	f.Add([]byte(primary+"approval {\n  roles  = [\"sre\", \"compliance\"]\n  within = \"24h\"\n}\n"), false)
	f.Add([]byte(`{"approval": {"roles": ["compliance"], "within": "1d"}}`), true)
	plan := readExample(f, "plans/site-loss.hcl")
	f.Fuzz(func(t *testing.T, src []byte, json bool) {
		name := fuzzName(json)
		cfg, diags := drills.ParseEstate(src, name)
		checkDiagPositions(t, "ParseConfig", name, diags)
		if cfg == nil {
			if !diags.HasErrors() {
				t.Fatal("ParseConfig returned no config and no error")
			}
			return
		}
		if diags.HasErrors() {
			return
		}
		// A valid estate has no cycle, so every ordering and recovery computation succeeds.
		names := make([]string, len(cfg.Services))
		for i, s := range cfg.Services {
			names[i] = s.Name
		}
		order, err := drills.TopoOrder(cfg, names)
		if err != nil || len(order) != len(names) {
			t.Fatalf("TopoOrder of a valid estate = %v, %v", order, err)
		}
		pos := map[string]int{}
		for i, n := range order {
			pos[n] = i
		}
		for _, s := range cfg.Services {
			for _, d := range s.DependsOn {
				if pos[d] > pos[s.Name] {
					t.Fatalf("TopoOrder = %v puts %s before its dependency %s", order, s.Name, d)
				}
			}
		}
		p, pd := drills.ParsePlan(plan, "site-loss.hcl")
		if pd.HasErrors() {
			t.Fatal(pd)
		}
		v1 := drills.ValidatePlan(cfg, p)
		for _, d := range v1 {
			if d.Pos.File != "site-loss.hcl" {
				t.Fatalf("ValidatePlan diagnostic %q not in the plan file", d)
			}
		}
		if v2 := drills.ValidatePlan(cfg, p); !reflect.DeepEqual(v1, v2) {
			t.Fatalf("ValidatePlan is not deterministic")
		}
		if _, again := drills.ParseEstate(src, name); !reflect.DeepEqual(diags, again) {
			t.Fatalf("ParseConfig is not deterministic")
		}
	})
}
