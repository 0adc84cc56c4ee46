package drills_test

import (
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/firedrill/firedrill/drills"
)

// planWith is the example site-loss plan with extra blocks and step attributes spliced in.
// Blocks without a rollback get the plan's usual one, after them.
func planWith(stepAttrs, blocks string) string {
	if !strings.Contains(blocks, "rollback {") {
		blocks += `
  rollback {
    step "return" {
      action = "nomad.undrain_site"
      site   = "sangam"
    }
  }`
	}
	return `plan "p" {
  from     = "sangam"
  to       = "yatap"
  services = ["auth", "payments", "remittance"]
  step "lose" {
    action    = "nomad.drain_site"
    site      = "sangam"
    milestone = "disaster"
  }
  step "start" {
    action   = "nomad.run_job"
    site     = "yatap"
    for_each = ["auth", "payments", "remittance"]
` + stepAttrs + `
  }
  step "verify" {
    action    = "http.wait_healthy"
    site      = "yatap"
    milestone = "restored"
  }
` + blocks + `
}
`
}

func TestStopWhenCleanupParallelParse(t *testing.T) {
	t.Parallel()
	src := planWith(`    parallel = true
    budget   = "30s"`, `
  probe "pay" {
    url  = "{ingress}/payments/healthz"
    site = "yatap"
  }
  stop_when {
    probe_failures   = 5
    probe_grace      = "2m"
    step_over_budget = true
    rto_budget       = "2h"
  }
  rollback {
    step "back" {
      action = "nomad.undrain_site"
      site   = "sangam"
    }
  }
  cleanup {
    step "tidy" {
      action   = "wait"
      duration = "1s"
    }
  }`)
	p, diags := drills.ParsePlan([]byte(src), "p.hcl")
	if len(diags) > 0 {
		t.Fatalf("ParsePlan = %v", diags)
	}
	if diags := drills.ValidatePlan(exampleConfig(t), p); len(diags) > 0 {
		t.Fatalf("ValidatePlan = %v", diags)
	}
	sc := p.StopWhen
	want := drills.StopConditions{ProbeFailures: 5, ProbeGrace: 2 * time.Minute, StepOverBudget: true, RTOBudget: 2 * time.Hour}
	if sc == nil || sc.ProbeFailures != want.ProbeFailures || sc.ProbeGrace != want.ProbeGrace || sc.StepOverBudget != want.StepOverBudget ||
		sc.RTOBudget != want.RTOBudget || sc.MaxReplicationLag != 0 {
		t.Errorf("StopWhen = %+v, want %+v", sc, want)
	}
	if st := p.Steps[1]; !st.Parallel || st.Budget != 30*time.Second {
		t.Errorf("step start: parallel %v budget %s, want true 30s", st.Parallel, st.Budget)
	}
	if len(p.Cleanup) != 1 || p.Cleanup[0].Name != "tidy" {
		t.Errorf("Cleanup = %v, want the tidy step", p.Cleanup)
	}
	insts, err := p.ExpandCleanup(exampleConfig(t))
	if err != nil || len(insts) != 1 || insts[0].Key != "tidy" {
		t.Errorf("ExpandCleanup = %v, %v", insts, err)
	}
	if got := p.Sites(); !slices.Equal(got, []string{"sangam", "yatap"}) {
		t.Errorf("Sites() = %v", got)
	}
}

func TestStopWhenCleanupParallelErrors(t *testing.T) {
	t.Parallel()
	cfg := exampleConfig(t)
	tests := []struct {
		name, attrs, blocks, want string
	}{
		{"parallel without for_each", "", `
  step "x" {
    action   = "wait"
    duration = "1s"
    parallel = true
  }`, `p.hcl:25:16: parallel: only a step with for_each runs its instances in parallel`},
		{"budget not under timeout", `    timeout = "1m"
    budget  = "1m"`, "", `budget: 1m is not shorter than the step's timeout 1m`},
		{"budget on rollback", "", `
  rollback {
    step "back" {
      action = "nomad.undrain_site"
      site   = "sangam"
      budget = "1m"
    }
  }`, `budget: rollback steps have no budget`},
		{"milestone in cleanup", "", `
  cleanup {
    step "c" {
      action    = "wait"
      duration  = "1s"
      milestone = "restored"
    }
  }`, `milestone: cleanup steps cannot be milestones`},
		{"probe_failures without probe", "", `
  stop_when {
    probe_failures = 3
  }`, `p.hcl:23:22: probe_failures: the plan declares no probe`},
		{"probe_failures zero", "", `
  stop_when {
    probe_failures = 0
  }`, `probe_failures: 0 is not a number of polls`},
		{"probe_grace alone", "", `
  probe "pay" {
    url = "http://gslb.example/pay"
  }
  stop_when {
    probe_grace = "1m"
  }`, `probe_grace: it only delays probe_failures, which is not set`},
		{"lag without shared database", "", `
  stop_when {
    max_replication_lag = "10s"
  }`, `max_replication_lag: sites "sangam" and "yatap" share no postgres database`},
		{"step_over_budget without budgets", "", `
  stop_when {
    step_over_budget = true
  }`, `step_over_budget: no step sets a budget`},
		{"empty stop_when", "", `
  stop_when {
  }`, `stop_when: set at least one condition`},
		{"two cleanups", "", `
  cleanup {
  }
  cleanup {
  }`, `only one cleanup block is allowed`},
		{"rto_budget zero", "", `
  stop_when {
    rto_budget = "0s"
  }`, `rto_budget: must be greater than zero`},
		{"duplicate name in cleanup", "", `
  cleanup {
    step "lose" {
      action   = "wait"
      duration = "1s"
    }
  }`, `step names must be unique, rollback and cleanup included`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			p, diags := drills.ParsePlan([]byte(planWith(tt.attrs, tt.blocks)), "p.hcl")
			if p != nil {
				diags = append(diags, drills.ValidatePlan(cfg, p)...)
			}
			wantDiag(t, tt.name, diags, tt.want)
		})
	}
}

func TestParallelWaits(t *testing.T) {
	t.Parallel()
	cfg := exampleConfig(t)
	cfg.Services = append(cfg.Services, &drills.Service{Name: "notices"})
	start := &drills.Step{Name: "start", Action: drills.ActionNomadRunJob, ForEach: []string{"remittance", "auth", "payments", "notices"}, Parallel: true}
	stop := &drills.Step{Name: "stop", Action: drills.ActionNomadStopJob, ForEach: start.ForEach, Parallel: true}
	tests := []struct {
		step *drills.Step
		want map[string]string
	}{
		{start, map[string]string{"auth": "", "payments": "auth", "remittance": "auth payments", "notices": ""}},
		{stop, map[string]string{"auth": "payments remittance", "payments": "remittance", "remittance": "", "notices": ""}},
	}
	for _, tt := range tests {
		p := &drills.Plan{Steps: []*drills.Step{tt.step}}
		insts, err := p.Expand(cfg)
		if err != nil {
			t.Fatal(err)
		}
		got := drills.ParallelWaits(cfg, insts)
		for svc, want := range tt.want {
			key := tt.step.Name + "[" + svc + "]"
			var names []string
			for _, k := range got[key] {
				names = append(names, strings.TrimSuffix(strings.TrimPrefix(k, tt.step.Name+"["), "]"))
			}
			slices.Sort(names)
			if strings.Join(names, " ") != want {
				t.Errorf("ParallelWaits(%s)[%s] = %v, want %q", tt.step.Name, key, names, want)
			}
		}
	}
}
