package drills_test

import (
	"reflect"
	"testing"
	"time"

	"github.com/firedrill/firedrill/drills"
)

func TestParseApprovalBlocks(t *testing.T) {
	t.Parallel()
	p, diags := drills.ParsePlan([]byte(withBlock(`  approval {`, `    roles  = ["sre", "compliance"]`, `    within = "4h"`, `  }`)), "p.hcl")
	if len(diags) > 0 {
		t.Fatalf("ParsePlan = %v, want no diagnostics", diags)
	}
	want := drills.ApprovalPolicy{Roles: []string{"sre", "compliance"}, Within: 4 * time.Hour}
	if !reflect.DeepEqual(p.Approval, want) {
		t.Errorf("plan approval = %+v, want %+v", p.Approval, want)
	}
	if p, _ := drills.ParsePlan([]byte(basePlan), "p.hcl"); p.Approval.Required() {
		t.Errorf("a plan without an approval block requires %+v", p.Approval)
	}

	estate := parseEstate(t, primary+"approval {\n  roles = [\"sre\"]\n}\n"+
		schedBlock("fired", `  start_within = "3h"`, `  approval {`, `    roles  = ["compliance"]`, `    within = "2h"`, `  }`)+
		schedBlock("windowed", `  approval { roles = ["sre", "compliance"] }`))
	if want := (drills.ApprovalPolicy{Roles: []string{"sre"}}); !reflect.DeepEqual(estate.DefaultApproval, want) {
		t.Errorf("estate default approval = %+v, want %+v", estate.DefaultApproval, want)
	}
	if got, want := estate.Schedule("fired").Approval, (drills.ApprovalPolicy{Roles: []string{"compliance"}, Within: 2 * time.Hour}); !reflect.DeepEqual(got, want) {
		t.Errorf("schedule approval = %+v, want %+v", got, want)
	}
	// Without within, a schedule's deadline stays its start window (Within zero).
	if got := estate.Schedule("windowed").Approval; got.Within != 0 || len(got.Roles) != 2 {
		t.Errorf("schedule approval without within = %+v, want two roles and no Within", got)
	}

	// The parsed policies combine as EffectiveApproval says: schedule, then plan, then estate.
	bare, _ := drills.ParsePlan([]byte(basePlan), "p.hcl")
	tests := []struct {
		name string
		plan *drills.Plan
		sch  *drills.Schedule
		want []string
	}{
		{"the estate's default", bare, nil, []string{"sre"}},
		{"the plan's own", p, nil, []string{"sre", "compliance"}},
		{"the schedule's", p, estate.Schedule("fired"), []string{"compliance"}},
	}
	for _, tt := range tests {
		if got := drills.EffectiveApproval(estate, tt.plan, tt.sch); !reflect.DeepEqual(got.Roles, tt.want) {
			t.Errorf("EffectiveApproval(%s) = %v, want %v", tt.name, got.Roles, tt.want)
		}
	}
}

func TestParseApprovalBlocksJSON(t *testing.T) {
	t.Parallel()
	estate, diags := drills.ParseEstate([]byte(`{"site": {"a": {"role": "primary", "nomad": {"address": "http://a:4646", "region": "r"}}},
		"approval": {"roles": ["sre", "compliance"], "within": "1d"}}`), "c.json")
	if len(diags) > 0 {
		t.Fatalf("ParseEstate = %v, want no diagnostics", diags)
	}
	if want := (drills.ApprovalPolicy{Roles: []string{"sre", "compliance"}, Within: 24 * time.Hour}); !reflect.DeepEqual(estate.DefaultApproval, want) {
		t.Errorf("estate default approval = %+v, want %+v", estate.DefaultApproval, want)
	}
	p, diags := drills.ParsePlan([]byte(`{"plan": {"p": {"from": "sangam", "to": "yatap", "services": ["auth"],
		"approval": {"roles": ["compliance"]}, "step": {"s": {"action": "wait", "duration": "1s"}}}}}`), "p.json")
	if len(diags) > 0 {
		t.Fatalf("ParsePlan = %v, want no diagnostics", diags)
	}
	if !reflect.DeepEqual(p.Approval.Roles, []string{"compliance"}) {
		t.Errorf("plan approval = %+v, want compliance", p.Approval)
	}
}

func TestParseApprovalDiagnostics(t *testing.T) {
	t.Parallel()
	block := func(lines ...string) string { return withBlock(lines...) }
	// Plan blocks start on line 17; estate blocks (after primary) on line 8; a schedule's
	// extra lines on line 12.
	tests := []struct {
		name, file, src, want string
	}{
		{"plan: unknown role", "plan", block(`  approval { roles = ["sre", "complience"] }`),
			`p.hcl:17:30: roles: unknown role "complience" (one of "admin", "auditor", "compliance", "sre", "viewer"); did you mean "compliance"?`},
		{"plan: unknown role far from any", "plan", block(`  approval { roles = ["dba"] }`),
			`p.hcl:17:23: roles: unknown role "dba" (one of "admin", "auditor", "compliance", "sre", "viewer")`},
		{"plan: two blocks", "plan", block(`  approval { roles = ["sre"] }`, `  approval { roles = ["compliance"] }`),
			`p.hcl:18:3: plan "p": only one approval block is allowed`},
		{"plan: no roles attribute", "plan", block(`  approval { within = "1h" }`), `p.hcl:17:3: approval: roles is required`},
		{"plan: empty roles", "plan", block(`  approval { roles = [] }`), `p.hcl:17:22: roles: must name at least one role`},
		{"plan: role twice", "plan", block(`  approval { roles = ["sre", "sre"] }`), `p.hcl:17:30: roles: "sre" is listed twice`},
		{"plan: roles not a list", "plan", block(`  approval { roles = "sre" }`), `p.hcl:17:22: roles: must be a list of strings`},
		{"plan: zero within", "plan", block(`  approval {`, `    roles  = ["sre"]`, `    within = "0s"`, `  }`),
			`p.hcl:19:14: within: must be greater than zero`},
		{"plan: bad within", "plan", block(`  approval {`, `    roles  = ["sre"]`, `    within = "tomorrow"`, `  }`),
			`p.hcl:19:14: within: "tomorrow" is not a duration`},
		{"plan: negative within", "plan", block(`  approval {`, `    roles  = ["sre"]`, `    within = "-1h"`, `  }`),
			`p.hcl:19:14: within: "-1h" is negative`},
		{"plan: unknown attribute", "plan", block(`  approval {`, `    roles = ["sre"]`, `    quorum = 2`, `  }`),
			`p.hcl:19:5: unsupported argument: an argument named "quorum" is not expected here`},
		{"plan: labelled block", "plan", block(`  approval "x" { roles = ["sre"] }`), `p.hcl:17:12: extraneous label for approval`},

		{"estate: unknown role", "estate", "approval { roles = [\"SRE\"] }\n",
			`c.hcl:8:21: roles: unknown role "SRE" (one of "admin", "auditor", "compliance", "sre", "viewer")`},
		{"estate: two blocks", "estate", "approval { roles = [\"sre\"] }\napproval { roles = [\"sre\"] }\n",
			`c.hcl:9:1: the estate: only one approval block is allowed`},
		{"estate: empty role", "estate", "approval { roles = [\"\"] }\n", `c.hcl:8:21: roles: a role must not be empty`},
		{"estate: zero within", "estate", "approval {\n  roles  = [\"sre\"]\n  within = \"0h\"\n}\n",
			`c.hcl:10:12: within: must be greater than zero`},

		{"schedule: unknown role", "estate", schedBlock("s", `  approval { roles = ["approver"] }`),
			`c.hcl:12:23: roles: unknown role "approver"`},
		{"schedule: within beyond its start window", "estate", schedBlock("s", `  approval {`, `    roles  = ["sre"]`, `    within = "2h"`, `  }`),
			`c.hcl:14:14: within: 2h is longer than the schedule's start_within (1h): a fire's approvals must come before its run must start`},
		{"schedule: bad within", "estate", schedBlock("s", `  approval {`, `    roles  = ["sre"]`, `    within = "soon"`, `  }`),
			`c.hcl:14:14: within: "soon" is not a duration`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			if tt.file == "plan" {
				_, diags := drills.ParsePlan([]byte(tt.src), "p.hcl")
				wantDiag(t, "ParsePlan", diags, tt.want)
				return
			}
			_, diags := drills.ParseEstate([]byte(primary+tt.src), "c.hcl")
			wantDiag(t, "ParseEstate", diags, tt.want)
		})
	}
}
