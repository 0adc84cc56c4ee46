package drills_test

import (
	"fmt"
	"time"

	"github.com/firedrill/firedrill/drills"
)

func ExampleParsePlan() {
	estate := []byte(`
site "sangam" {
  role = "primary"
  nomad {
    address = "https://nomad.sangam.example:4646"
    region  = "kr-sangam"
  }
}
site "yatap" {
  role = "dr"
  nomad {
    address = "https://nomad.yatap.example:4646"
    region  = "kr-yatap"
  }
}
service "auth" {
  criticality = "core"
  rto         = "30m"
  rpo         = "0s"
  check "http" { url = "https://auth.{site}.example/healthz" }
}
service "payments" {
  criticality = "core"
  rto         = "1h"
  rpo         = "5s"
  depends_on  = ["auth"]
  check "http" { url = "https://pay.{site}.example/healthz" }
}
`)
	plan := []byte(`
plan "sangam-site-loss" {
  from     = "sangam"
  to       = "yatap"
  services = ["payments"]

  step "lose-sangam" {
    action    = "nomad.stop_job"
    site      = "sangam"
    for_each  = ["payments"]
    milestone = "disaster"
  }
  step "start" {
    action   = "nomad.run_job"
    site     = "yatap"
    for_each = ["payments"]
  }
  step "verify" {
    action    = "http.wait_healthy"
    site      = "yatap"
    milestone = "restored"
  }
  rollback = "none"
  rollback_reason = "the on-call team fails back by hand after the drill"
}
`)
	cfg, diags := drills.ParseEstate(estate, "firedrill.hcl")
	if diags.HasErrors() {
		fmt.Println(diags)
		return
	}
	p, diags := drills.ParsePlan(plan, "plans/site-loss.hcl")
	if diags.HasErrors() {
		fmt.Println(diags)
		return
	}
	// The plan parses, but fails payments over without the auth it logs in through.
	fmt.Println(drills.ValidatePlan(cfg, p))

	// Added to services and to the steps, auth is started first.
	p.Services = []string{"payments", "auth"}
	for _, st := range p.Steps {
		if st.ForEach != nil {
			st.ForEach = p.Services
		}
	}
	fmt.Println(len(drills.ValidatePlan(cfg, p)), "problems")
	insts, _ := p.Expand(cfg)
	for _, in := range insts {
		fmt.Println(in.Key)
	}
	// Output:
	// plans/site-loss.hcl:5:14: service "payments" depends on "auth", which this plan does not fail over: add "auth" to services
	// 0 problems
	// lose-sangam[payments]
	// lose-sangam[auth]
	// start[auth]
	// start[payments]
	// verify
}

func ExampleEffectiveApproval() {
	estate, diags := drills.ParseEstate([]byte(`
site "sangam" {
  role = "primary"
  nomad {
    address = "https://nomad.sangam.example:4646"
    region  = "kr-sangam"
  }
}
# Every run that touches production waits for an SRE and a compliance officer.
approval {
  roles = ["sre", "compliance"]
}
`), "firedrill.hcl")
	if diags.HasErrors() {
		fmt.Println(diags)
		return
	}
	plan := func(approval string) *drills.Plan {
		p, diags := drills.ParsePlan([]byte(`
plan "dns-switch" {
  from     = "sangam"
  to       = "yatap"
  services = ["auth"]
  `+approval+`
  step "switch" {
    action   = "wait"
    duration = "1s"
  }
}
`), "plans/dns-switch.hcl")
		if diags.HasErrors() {
			fmt.Println(diags)
		}
		return p
	}
	for _, p := range []*drills.Plan{
		plan(""), // no block of its own: the estate's default
		plan(`approval {
    roles  = ["compliance"]
    within = "4h"
  }`),
	} {
		a := drills.EffectiveApproval(estate, p, nil)
		fmt.Println(a.Roles, a.Within)
	}
	// Output:
	// [sre compliance] 0s
	// [compliance] 4h0m0s
}

// ExampleEvaluateCompliance is the Kakao lesson: payments was failed over in 2026, auth, which
// it depends on, never was, so the drill does not show payments can run on the DR site.
func ExampleEvaluateCompliance() {
	profile, diags := drills.ParseProfile("yearly.hcl", []byte(`
profile "yearly" {
  title     = { en = "Yearly drills" }
  regulator = { en = "The regulator" }
  languages = ["en"]
  source    = "an example"
  sections  = ["summary", "services"]
  frequency {
    months = 12
    source = "art. 24"
  }
  clause "deps" {
    title         = { en = "Dependencies failed over" }
    source        = "art. 23"
    requirement   = { en = "A service's dependencies fail over with it." }
    evidence      = ["dependencies_covered"]
    does_not_show = { en = "Dependencies outside the estate." }
  }
}`))
	if diags.HasErrors() {
		fmt.Println(diags)
		return
	}
	period, _ := drills.ParsePeriod("2026", nil)
	rto, rpo := 20*time.Minute, 300*time.Millisecond
	result := drills.EvaluateCompliance(drills.ComplianceInput{
		Profile: profile, Period: period, Now: period.End.Add(24 * time.Hour),
		Services: []drills.ServiceFacts{
			{Name: "auth", Criticality: "core", RTOObjective: 30 * time.Minute, RPOObjective: time.Second},
			{Name: "payments", Criticality: "core", DependsOn: []string{"auth"}, RTOObjective: time.Hour, RPOObjective: 5 * time.Second},
		},
		Drills: []drills.DrillFacts{{
			RunID: "7f3a", At: period.Start.AddDate(0, 3, 17), State: drills.RunSucceeded,
			Services: []drills.DrillService{{
				Objectives: drills.ServiceObjectives{Service: "payments", RTO: drills.EvidenceMet, RPO: drills.EvidenceMet},
				RTO:        &rto, RPO: &rpo,
			}},
		}},
	})
	fmt.Println("estate:", result.Status)
	for _, s := range result.Services {
		fmt.Printf("%s: %s\n", s.Service, s.Status)
		for _, r := range s.Reasons {
			fmt.Printf("  [%s] %s\n", r.Clause, r.Text("en"))
		}
	}
	// Output:
	// estate: non_compliant
	// auth: non_compliant
	//   [] auth was not drilled in 2026: a drill is required at least every 12 months
	// payments: at_risk
	//   [deps] payments was drilled, but auth, which it depends on, was never failed over in 2026: the drill does not show payments can run on the DR site
}
