package drills_test

import (
	"strings"
	"testing"
	"time"

	"github.com/firedrill/firedrill/drills"
)

// basePlanHead is the start of a valid plan over the example estate; cases edit it. Its last
// line is 16; withBlock adds lines from line 17 on, before the tail.
const basePlanHead = `plan "p" {
  from     = "sangam"
  to       = "yatap"
  services = ["auth", "payments", "remittance"]

  step "lose" {
    action    = "nomad.stop_job"
    site      = "sangam"
    for_each  = ["auth", "payments", "remittance"]
    milestone = "disaster"
  }
  step "verify" {
    action    = "http.wait_healthy"
    site      = "yatap"
    milestone = "restored"
  }
`

// basePlanStart starts the services on the DR site and basePlanRollback returns them: a plan
// needs both. They come after whatever a case adds, so the case's line numbers stay put.
const (
	basePlanStart = `  step "start" {
    action   = "nomad.run_job"
    site     = "yatap"
    for_each = ["auth", "payments", "remittance"]
  }
`
	basePlanRollback = `  rollback {
    step "return" {
      action   = "nomad.run_job"
      site     = "sangam"
      for_each = ["auth", "payments", "remittance"]
    }
  }
`
)

// basePlan is the valid plan; its last line is 28.
const basePlan = basePlanHead + basePlanStart + basePlanRollback + "}\n"

// edit replaces old by new in basePlan, failing if old is not there.
func edit(t *testing.T, old, new string) string {
	t.Helper()
	if !strings.Contains(basePlan, old) {
		t.Fatalf("basePlan does not contain %q", old)
	}
	return strings.Replace(basePlan, old, new, 1)
}

// withBlock adds lines at the end of the head of the plan block, from line 17 on. Lines that
// declare their own rollback block replace the base's.
func withBlock(lines ...string) string {
	add := strings.Join(lines, "\n") + "\n"
	tail := basePlanStart + basePlanRollback
	if strings.Contains(add, "rollback {") {
		tail = basePlanStart
	}
	return basePlanHead + add + tail + "}\n"
}

func TestParsePlanDiagnostics(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		src  func(t *testing.T) string
		want string
	}{
		{"no plan", func(*testing.T) string { return "# nothing\n" }, `p.hcl:1:1: the file declares no plan`},
		{"two plans", func(*testing.T) string { return basePlan + strings.Replace(basePlan, `"p"`, `"q"`, 1) },
			`p.hcl:30:1: only one plan per file: plan "p" is already declared at line 1`},
		{"unknown plan attribute", func(t *testing.T) string {
			return edit(t, `to       = "yatap"`, "to       = \"yatap\"\n  descripton = \"x\"")
		},
			`p.hcl:4:3: unsupported argument: an argument named "descripton" is not expected here; did you mean "description"?`},
		{"missing from", func(t *testing.T) string { return edit(t, `from     = "sangam"`, ``) },
			`p.hcl:1:1: plan "p": from is required`},
		{"missing services", func(t *testing.T) string {
			return edit(t, `services = ["auth", "payments", "remittance"]`, ``)
		}, `p.hcl:1:1: plan "p": services is required`},
		{"empty services", func(t *testing.T) string {
			return edit(t, `services = ["auth", "payments", "remittance"]`, `services = []`)
		}, `p.hcl:4:14: services: list at least one service`},
		{"unknown action with suggestion", func(t *testing.T) string { return edit(t, `"nomad.stop_job"`, `"nomad.stp_job"`) },
			`p.hcl:7:17: action: unknown action "nomad.stp_job"; did you mean "nomad.stop_job"?`},
		{"unknown action without suggestion", func(t *testing.T) string { return edit(t, `"nomad.stop_job"`, `"reboot"`) },
			`p.hcl:7:17: action: unknown action "reboot"; known actions: command, http.call, http.wait_healthy, manual, nomad.drain_site`},
		{"missing action", func(t *testing.T) string { return edit(t, `action    = "nomad.stop_job"`, ``) },
			`p.hcl:6:3: step "lose": action is required`},
		{"unknown parameter", func(t *testing.T) string {
			return edit(t, `milestone = "disaster"`, "milestone = \"disaster\"\n    prge = true")
		},
			`p.hcl:11:5: action "nomad.stop_job" has no parameter "prge"; did you mean "purge"? (its parameters: purge)`},
		{"parameter of an action without any", func(t *testing.T) string {
			return withBlock(`  step "w" {`, `    action = "nomad.wait_healthy"`, `    site = "yatap"`, `    force = true`, `  }`)
		}, `p.hcl:20:5: force: action "nomad.wait_healthy" takes no parameters`},
		{"bool parameter", func(t *testing.T) string {
			return edit(t, `milestone = "disaster"`, "milestone = \"disaster\"\n    purge = \"maybe\"")
		},
			`p.hcl:11:13: purge: must be true or false`},
		{"int parameter", func(t *testing.T) string {
			return withBlock(`  step "run" {`, `    action = "nomad.run_job"`, `    site = "yatap"`, `    for_each = ["auth"]`, `    count = 1.5`, `  }`)
		}, `p.hcl:21:13: count: must be a whole number, got 1.5`},
		{"string parameter", func(t *testing.T) string {
			return withBlock(`  step "run" {`, `    action = "nomad.run_job"`, `    site = "yatap"`, `    for_each = ["auth"]`, `    jobspec = ["a"]`, `  }`)
		}, `p.hcl:21:15: jobspec: must be a string`},
		{"duration parameter", func(t *testing.T) string {
			return edit(t, `milestone = "restored"`, "milestone = \"restored\"\n    interval = \"fast\"")
		},
			`p.hcl:16:16: interval: "fast" is not a duration`},
		{"bad milestone", func(t *testing.T) string { return edit(t, `"disaster"`, `"fire"`) },
			`p.hcl:10:17: milestone: "fire" is not one of "disaster", "restored"`},
		{"zero timeout", func(t *testing.T) string {
			return edit(t, `milestone = "restored"`, "milestone = \"restored\"\n    timeout = \"0s\"")
		},
			`p.hcl:16:15: timeout: must be greater than zero`},
		{"duplicate for_each", func(t *testing.T) string {
			return edit(t, `for_each  = ["auth", "payments", "remittance"]`, `for_each  = ["auth", "auth"]`)
		}, `p.hcl:9:17: for_each: "auth" is listed twice`},
		{"block in a step", func(t *testing.T) string {
			return edit(t, `milestone = "restored"`, "milestone = \"restored\"\n    retry {}")
		},
			`p.hcl:16:5: unexpected "retry" block`},
		{"two rollback blocks", func(*testing.T) string { return withBlock(`  rollback {}`, `  rollback {}`) },
			`p.hcl:18:3: only one rollback block is allowed`},
		{"no step", func(*testing.T) string {
			return "plan \"p\" {\n  from = \"sangam\"\n  to = \"yatap\"\n  services = [\"auth\"]\n}\n"
		}, `p.hcl:1:1: plan "p" has no step`},
		{"variable in for_each", func(t *testing.T) string {
			return edit(t, `for_each  = ["auth", "payments", "remittance"]`, `for_each  = plan.services`)
		}, `p.hcl:9:17: for_each: references such as "plan" are not allowed`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			_, diags := drills.ParsePlan([]byte(tt.src(t)), "p.hcl")
			wantDiag(t, "ParsePlan", diags, tt.want)
		})
	}
}

func TestValidatePlanDiagnostics(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		src  func(t *testing.T) string
		cfg  func(cfg *drills.Estate)
		want string
	}{
		{"unknown from", func(t *testing.T) string { return edit(t, `"sangam"`, `"sangm"`) }, nil,
			`p.hcl:2:14: from: unknown site "sangm"; did you mean "sangam"?`},
		{"unknown to", func(t *testing.T) string { return edit(t, `to       = "yatap"`, `to       = "jeju"`) }, nil,
			`p.hcl:3:14: to: unknown site "jeju"; sites: sangam, yatap, busan`},
		{"from equals to", func(t *testing.T) string { return edit(t, `to       = "yatap"`, `to       = "sangam"`) }, nil,
			`p.hcl:3:14: to: the plan fails over from "sangam" to itself`},
		{"unknown service", func(t *testing.T) string {
			return edit(t, `services = ["auth", "payments", "remittance"]`, `services = ["auth", "payments", "remittance", "paymnts"]`)
		}, nil, `p.hcl:4:14: services: unknown service "paymnts"; did you mean "payments"?`},
		{"transitive dependency", func(t *testing.T) string {
			s := edit(t, `services = ["auth", "payments", "remittance"]`, `services = ["remittance", "payments"]`)
			return strings.ReplaceAll(s, `["auth", "payments", "remittance"]`, `["payments", "remittance"]`)
		}, nil, `p.hcl:4:14: service "payments" depends on "auth", which this plan does not fail over: add "auth" to services`},
		{"dependency through a service", func(t *testing.T) string {
			s := edit(t, `services = ["auth", "payments", "remittance"]`, `services = ["remittance", "auth"]`)
			return strings.ReplaceAll(s, `["auth", "payments", "remittance"]`, `["auth", "remittance"]`)
		}, nil, `p.hcl:4:14: service "remittance" depends on "payments", which this plan does not fail over: add "payments" to services`},
		{"unknown step site", func(t *testing.T) string { return edit(t, `site      = "yatap"`, `site      = "yatp"`) }, nil,
			`p.hcl:14:17: site: unknown site "yatp"`},
		{"site required", func(t *testing.T) string { return edit(t, `site      = "yatap"`, ``) }, nil,
			`p.hcl:12:3: step "verify": action "http.wait_healthy" needs a site: set site`},
		{"for_each required", func(t *testing.T) string {
			return edit(t, `for_each  = ["auth", "payments", "remittance"]`, ``)
		}, nil, `p.hcl:6:3: step "lose": action "nomad.stop_job" needs for_each`},
		{"for_each outside the plan", func(t *testing.T) string {
			s := edit(t, `services = ["auth", "payments", "remittance"]`, `services = ["auth"]`)
			s = strings.ReplaceAll(s, `for_each = ["auth", "payments", "remittance"]`, `for_each = ["auth"]`)
			return strings.Replace(s, `["auth", "payments", "remittance"]`, `["auth", "payments"]`, 1)
		}, nil, `p.hcl:9:17: for_each: service "payments" is not in the plan's services`},
		{"for_each unknown service", func(t *testing.T) string {
			return edit(t, `["auth", "payments", "remittance"]`+"\n    milestone", `["auth", "payments", "remittance", "x"]`+"\n    milestone")
		}, nil, `p.hcl:9:17: for_each: unknown service "x"`},
		{"duplicate step name", func(*testing.T) string {
			return withBlock(`  rollback {`, `    step "lose" {`, `      action = "nomad.run_job"`, `      site = "sangam"`, `      for_each = ["auth"]`, `    }`, `  }`)
		}, nil, `p.hcl:18:5: step "lose" is already declared at line 6`},
		{"milestone in rollback", func(*testing.T) string {
			return withBlock(`  rollback {`, `    step "back" {`, `      action = "nomad.run_job"`, `      site = "sangam"`, `      for_each = ["auth"]`, `      milestone = "restored"`, `    }`, `  }`)
		}, nil, `p.hcl:22:19: milestone: rollback steps cannot be milestones`},
		{"missing restored", func(t *testing.T) string { return edit(t, `milestone = "restored"`, ``) }, nil,
			`p.hcl:1:1: plan has no step with milestone = "restored": the drill's RTO could not be measured`},
		{"missing disaster", func(t *testing.T) string { return edit(t, `milestone = "disaster"`, ``) }, nil,
			`p.hcl:1:1: plan has no step with milestone = "disaster"`},
		{"two disasters", func(*testing.T) string {
			return withBlock(`  step "lose-again" {`, `    action = "nomad.stop_job"`, `    site = "sangam"`, `    for_each = ["auth"]`, `    milestone = "disaster"`, `  }`)
		}, nil, `p.hcl:21:17: milestone: step "lose" is already the "disaster" milestone`},
		{"restored before disaster", func(t *testing.T) string {
			s := edit(t, `milestone = "restored"`, `milestone = "disaster"`)
			return strings.Replace(s, `milestone = "disaster"`, `milestone = "restored"`, 1)
		}, nil, `p.hcl:10:17: milestone: the "restored" step "lose" comes before the "disaster" step "verify"`},
		{"http wait without checks", func(t *testing.T) string { return basePlan }, func(cfg *drills.Estate) {
			cfg.Service("payments").Checks = nil
		}, `p.hcl:12:3: step "verify": service "payments" has no check`},
		{"ingress placeholder without ingress", func(t *testing.T) string { return basePlan }, func(cfg *drills.Estate) {
			cfg.Site("yatap").Ingress = ""
			cfg.Service("payments").Checks[0].URL = "https://pay.example/h"
			cfg.Service("remittance").Checks[0].URL = "https://{site}.example/h"
		}, `p.hcl:14:17: site: site "yatap" has no ingress, but the check of service "auth" uses {ingress}`},
		{"valid", func(*testing.T) string { return basePlan }, nil, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			cfg := exampleConfig(t)
			if tt.cfg != nil {
				tt.cfg(cfg)
			}
			p, diags := drills.ParsePlan([]byte(tt.src(t)), "p.hcl")
			if len(diags) > 0 {
				t.Fatalf("ParsePlan = %v", diags)
			}
			diags = drills.ValidatePlan(cfg, p)
			if tt.want == "" {
				if len(diags) > 0 {
					t.Errorf("ValidatePlan = %v, want none", diags)
				}
				return
			}
			wantDiag(t, "ValidatePlan", diags, tt.want)
		})
	}
}

func TestParsePlanParams(t *testing.T) {
	t.Parallel()
	src := withBlock(`  step "run" {`, `    action = "nomad.run_job"`, `    site = "yatap"`, `    for_each = ["auth"]`,
		`    count = 3`, `    jobspec = "jobs/{service}.json"`, `    timeout = "1d"`, `  }`)
	src = strings.Replace(src, `milestone = "restored"`, "milestone = \"restored\"\n    interval = \"250ms\"", 1)
	p, diags := drills.ParsePlan([]byte(src), "p.hcl")
	if len(diags) > 0 {
		t.Fatalf("ParsePlan = %v", diags)
	}
	run := p.Steps[2]
	if n, ok := run.Int("count"); !ok || n != 3 {
		t.Errorf("count = %d, %v, want 3", n, ok)
	}
	if got := run.String("jobspec"); got != "jobs/{service}.json" {
		t.Errorf("jobspec = %q", got)
	}
	if run.Timeout != 24*time.Hour {
		t.Errorf("timeout = %v, want 24h", run.Timeout)
	}
	if got, want := run.ParamPos["count"], (drills.Pos{File: "p.hcl", Line: 22, Column: 13}); got != want {
		t.Errorf("ParamPos[count] = %v, want %v", got, want)
	}
	if got := p.Steps[1].Duration("interval"); got != 250*time.Millisecond {
		t.Errorf("interval = %v, want 250ms", got)
	}
	if len(p.Steps[0].Params) != 0 || p.Steps[0].Params == nil {
		t.Errorf("lose params = %#v, want an empty map", p.Steps[0].Params)
	}
}

func TestParsePlanJSON(t *testing.T) {
	t.Parallel()
	src := `{"plan": {"p": {
  "from": "sangam", "to": "yatap", "services": ["auth", "payments", "remittance"],
  "step": {
    "lose": {"action": "nomad.stop_job", "site": "sangam", "for_each": ["auth", "payments", "remittance"], "milestone": "disaster"},
    "verify": {"action": "http.wait_healthy", "site": "yatap", "milestone": "restored", "interval": "1s"},
    "start": {"action": "nomad.run_job", "site": "yatap", "for_each": ["auth", "payments", "remittance"]}
  },
  "rollback": {"step": {"back": {"action": "nomad.run_job", "site": "sangam", "for_each": ["auth", "payments", "remittance"]}}}
}}}`
	p, diags := drills.ParsePlan([]byte(src), "p.json")
	if len(diags) > 0 {
		t.Fatalf("ParsePlan(json) = %v", diags)
	}
	if diags := drills.ValidatePlan(exampleConfig(t), p); len(diags) > 0 {
		t.Fatalf("ValidatePlan(json) = %v", diags)
	}
	if len(p.Steps) != 3 || p.Steps[0].Name != "lose" || p.Steps[1].Duration("interval") != time.Second || len(p.Rollback) != 1 {
		t.Errorf("ParsePlan(json) steps = %+v", p.Steps)
	}
}

func TestParsePlanParticipants(t *testing.T) {
	t.Parallel()
	head := "plan \"p\" {\n  from = \"sangam\"\n  to = \"yatap\"\n  services = [\"auth\"]\n  step \"s\" {\n    action = \"manual\"\n    instructions = \"x\"\n  }\n"
	plan, diags := drills.ParsePlan([]byte(head+"  participant \"kim\" {\n    role = \"incident commander\"\n  }\n  participant \"lee\" {\n    role = \"dba\"\n  }\n}\n"), "p.hcl")
	if diags.HasErrors() {
		t.Fatalf("ParsePlan: %v", diags)
	}
	if len(plan.Participants) != 2 || plan.Participants[0].Name != "kim" || plan.Participants[0].Role != "incident commander" ||
		plan.Participant("lee") == nil || plan.Participant("lee").Role != "dba" || plan.Participant("park") != nil {
		t.Fatalf("Participants = %+v", plan.Participants)
	}
	tests := []struct {
		name, body, want string
	}{
		{"no role", "  participant \"kim\" {\n  }\n", `p.hcl:9:`},
		{"empty role", "  participant \"kim\" {\n    role = \"\"\n  }\n", "role: must not be empty"},
		{"twice", "  participant \"kim\" {\n    role = \"a\"\n  }\n  participant \"kim\" {\n    role = \"b\"\n  }\n", `participant "kim" is already declared at line 9`},
		{"bad name", "  participant \"-x\" {\n    role = \"a\"\n  }\n", `participant name "-x"`},
		{"unknown attribute", "  participant \"kim\" {\n    role = \"a\"\n    email = \"k@x\"\n  }\n", `email`},
	}
	for _, tt := range tests {
		_, diags := drills.ParsePlan([]byte(head+tt.body+"}\n"), "p.hcl")
		if !diags.HasErrors() || !strings.Contains(diags.Error(), tt.want) {
			t.Errorf("%s: ParsePlan = %v, want an error containing %q", tt.name, diags, tt.want)
		}
	}
}
