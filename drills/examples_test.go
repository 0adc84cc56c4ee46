package drills_test

import (
	"fmt"
	"os"
	"slices"
	"strings"
	"testing"

	"github.com/firedrill/firedrill/drills"
)

func TestExamplesAreValid(t *testing.T) {
	t.Parallel()
	cfg := exampleConfig(t)
	if len(cfg.Sites) != 3 || len(cfg.Services) != 3 || len(cfg.SHA256) != 64 || cfg.File != "firedrill.hcl" {
		t.Fatalf("ParseConfig(firedrill.hcl) = %+v", cfg)
	}
	p, diags := drills.ParsePlan(readExample(t, "plans/site-loss.hcl"), "plans/site-loss.hcl")
	if len(diags) > 0 {
		t.Fatalf("ParsePlan(site-loss.hcl) = %v, want no diagnostics", diags)
	}
	if diags := drills.ValidatePlan(cfg, p); len(diags) > 0 {
		t.Fatalf("ValidatePlan(site-loss.hcl) = %v, want no diagnostics", diags)
	}
	if p.Name != "sangam-site-loss" || p.From != "sangam" || p.To != "yatap" || len(p.Steps) != 4 || len(p.Rollback) != 2 {
		t.Errorf("ParsePlan(site-loss.hcl) = %+v", p)
	}
	if got := p.Steps[1].Timeout.String(); got != "2m0s" {
		t.Errorf("start-on-yatap timeout = %s, want 2m0s", got)
	}
	if got, want := p.Steps[3].Milestone, drills.MilestoneRestored; got != want {
		t.Errorf("verify milestone = %q, want %q", got, want)
	}
	auth := cfg.Service("auth")
	if auth.NomadJob != "auth" || auth.Checks[0].ExpectStatus != 200 || auth.Checks[0].Interval != drills.DefaultCheckInterval {
		t.Errorf("auth = %+v, check %+v", auth, auth.Checks[0])
	}
	if got := cfg.Site("yatap").Nomad.Namespace; got != drills.DefaultNomadNamespace {
		t.Errorf("yatap namespace = %q, want %q", got, drills.DefaultNomadNamespace)
	}
	if got := cfg.Service("payments").DependsOn; !slices.Equal(got, []string{"auth"}) {
		t.Errorf("payments depends_on = %v", got)
	}
}

// The Kakao case: a plan that fails payments over without auth, which payments logs in
// through, is exactly the plan that left KakaoPay down in 2022. It must be rejected.
func TestKakaoPlanWithoutAuthIsRejected(t *testing.T) {
	t.Parallel()
	cfg := exampleConfig(t)
	// Take auth out of services and out of every for_each.
	src := strings.ReplaceAll(string(readExample(t, "plans/site-loss.hcl")), `["auth", "payments", "remittance"]`, `["payments", "remittance"]`)
	if strings.Contains(src, `"auth"`) {
		t.Fatal("site-loss.hcl still names auth: update this test")
	}
	p, diags := drills.ParsePlan([]byte(src), "site-loss.hcl")
	if len(diags) > 0 {
		t.Fatalf("ParsePlan = %v", diags)
	}
	wantDiag(t, "ValidatePlan", drills.ValidatePlan(cfg, p),
		`site-loss.hcl:9:17: service "payments" depends on "auth", which this plan does not fail over: add "auth" to services`)
}

// TestREADMEPlansAreValid holds the README's plan examples (the ```hcl blocks that declare a
// plan) to the language: each parses and validates against the example estate.
func TestREADMEPlansAreValid(t *testing.T) {
	t.Parallel()
	src, err := os.ReadFile("../README.md")
	if err != nil {
		t.Fatal(err)
	}
	cfg := exampleConfig(t)
	blocks := strings.Split(string(src), "```hcl\n")
	n := 0
	for i, b := range blocks[1:] {
		block, _, _ := strings.Cut(b, "```")
		if !strings.HasPrefix(block, "plan ") {
			continue
		}
		n++
		name := fmt.Sprintf("README.md hcl block %d", i+1)
		p, diags := drills.ParsePlan([]byte(block), name)
		if len(diags) > 0 {
			t.Errorf("ParsePlan(%s) = %v", name, diags)
			continue
		}
		if diags := drills.ValidatePlan(cfg, p); len(diags) > 0 {
			t.Errorf("ValidatePlan(%s) = %v", name, diags)
		}
	}
	if n == 0 {
		t.Fatal("the README has no hcl block declaring a plan")
	}
}

// TestREADMEProfileIsValid holds the README's profile example to the profile language.
func TestREADMEProfileIsValid(t *testing.T) {
	t.Parallel()
	src, err := os.ReadFile("../README.md")
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for i, b := range strings.Split(string(src), "```hcl\n")[1:] {
		block, _, _ := strings.Cut(b, "```")
		if !strings.HasPrefix(block, "profile ") {
			continue
		}
		n++
		name := fmt.Sprintf("README.md hcl block %d", i+1)
		if _, hd := drills.ParseProfile(name, []byte(block)); len(hd) > 0 {
			t.Errorf("ParseProfile(%s) = %v", name, drills.DiagnosticsFromHCL(name, hd))
		}
	}
	if n == 0 {
		t.Fatal("the README has no hcl block declaring a profile")
	}
}
