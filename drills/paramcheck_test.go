package drills_test

import (
	"strings"
	"testing"

	"github.com/firedrill/firedrill/drills"
)

// TestParsePlanParamValues holds plan validation to what a drill would otherwise find out
// mid-drill: enums with a did-you-mean, ranges, zero durations, combinations, actions of the
// wrong effect, and the rollback a plan with a disaster step must have.
func TestParsePlanParamValues(t *testing.T) {
	t.Parallel()
	step := func(lines ...string) string { return withBlock(lines...) }
	tests := []struct {
		name string
		src  string
		want string
	}{
		{"drain mode typo", step(`  step "x" {`, `    action = "nomad.drain_site"`, `    site = "sangam"`, `    mode = "drian"`, `  }`),
			`p.hcl:20:12: mode: "drian" is not one of "drain", "ineligible"; did you mean "drain"?`},
		{"drain mode far from any", step(`  step "x" {`, `    action = "nomad.drain_site"`, `    site = "sangam"`, `    mode = "burn"`, `  }`),
			`p.hcl:20:12: mode: "burn" is not one of "drain", "ineligible"`},
		{"ineligible with deadline", step(`  step "x" {`, `    action = "nomad.drain_site"`, `    site = "sangam"`, `    mode = "ineligible"`, `    deadline = "1m"`, `  }`),
			`p.hcl:21:16: deadline: only a drain uses it, and mode = "ineligible" stops nothing`},
		{"ineligible with ignore_system_jobs", step(`  step "x" {`, `    action = "nomad.drain_site"`, `    site = "sangam"`, `    mode = "ineligible"`, `    ignore_system_jobs = true`, `  }`),
			`p.hcl:21:26: ignore_system_jobs: only a drain uses it`},
		{"scale negative", step(`  step "x" {`, `    action = "nomad.scale"`, `    site = "yatap"`, `    for_each = ["auth"]`, `    count = -1`, `  }`),
			`p.hcl:21:13: count: -1 is out of range: write a number from 0 to 10000`},
		{"run_job count zero", step(`  step "x" {`, `    action = "nomad.run_job"`, `    site = "yatap"`, `    for_each = ["auth"]`, `    count = 0`, `  }`),
			`p.hcl:21:13: count: 0 is out of range: write a number from 1 to 10000`},
		{"body on a GET", step(`  step "x" {`, `    action = "http.call"`, `    url = "https://gslb.example/switch"`, `    method = "get"`, `    body = "{}"`, `  }`),
			`p.hcl:21:12: body: a GET request sends no body: remove body or use method = "POST"`},
		{"expect_status not a status", step(`  step "x" {`, `    action = "http.call"`, `    url = "https://gslb.example/switch"`, `    expect_status = 20`, `  }`),
			`p.hcl:20:21: expect_status: 20 is out of range: write a number from 100 to 599`},
		{"method unknown", step(`  step "x" {`, `    action = "http.call"`, `    url = "https://gslb.example/switch"`, `    method = "PSOT"`, `  }`),
			`p.hcl:20:14: method: "PSOT" is not one of "GET", "HEAD", "POST", "PUT", "PATCH", "DELETE"; did you mean "POST"?`},
		{"interval zero", step(`  step "x" {`, `    action = "http.wait_healthy"`, `    site = "yatap"`, `    interval = "0s"`, `  }`),
			`p.hcl:20:16: interval: must be greater than zero`},
		{"bad duration", step(`  step "x" {`, `    action = "nomad.drain_site"`, `    site = "sangam"`, `    deadline = "5 minutes"`, `  }`),
			`p.hcl:20:16: deadline: `},
		{"max_output_bytes zero", step(`  step "x" {`, `    action = "command"`, `    command = "true"`, `    max_output_bytes = 0`, `  }`),
			`p.hcl:20:24: max_output_bytes: 0 is out of range`},
		{"start_job suggests run_job", step(`  step "x" {`, `    action = "nomad.start_job"`, `  }`),
			`p.hcl:18:14: action: unknown action "nomad.start_job"; did you mean "nomad.run_job"?`},
		{"stop_jbo suggests stop_job", step(`  step "x" {`, `    action = "nomad.stop_jbo"`, `  }`),
			`p.hcl:18:14: action: unknown action "nomad.stop_jbo"; did you mean "nomad.stop_job"?`},
		{"deregister suggests stop_job", step(`  step "x" {`, `    action = "nomad.deregister_job"`, `  }`),
			`did you mean "nomad.stop_job"?`},
		{"restore_site suggests undrain", step(`  step "x" {`, `    action = "nomad.restore_site"`, `  }`),
			`did you mean "nomad.undrain_site"?`},
		{"no rollback", strings.Replace(basePlan, basePlanRollback, "", 1),
			`p.hcl:10:17: milestone: step "lose" injects the disaster but plan "p" has no rollback: add a rollback { } block that returns the sites to normal, or rollback = "none" with rollback_reason = "..."`},
		{"rollback none without reason", strings.Replace(basePlan, basePlanRollback, "  rollback = \"none\"\n", 1),
			`p.hcl:22:14: rollback: say why the plan has no rollback: add rollback_reason = "..."`},
		{"rollback not none", strings.Replace(basePlan, basePlanRollback, "  rollback = \"nope\"\n  rollback_reason = \"x\"\n", 1),
			`p.hcl:22:14: rollback: "nope" is not one of "none"`},
		{"rollback none and a block", strings.Replace(basePlan, basePlanRollback, basePlanRollback+"  rollback = \"none\"\n  rollback_reason = \"x\"\n", 1),
			`p.hcl:29:14: rollback: the plan has a rollback block and says rollback = "none": keep one`},
		{"reason without none", strings.Replace(basePlan, basePlanRollback, basePlanRollback+"  rollback_reason = \"x\"\n", 1),
			`p.hcl:29:21: rollback_reason: only a plan with rollback = "none" gives one`},
		// The brace missing at line 12 loses the rest of the plan to the parser: the syntax
		// error is the whole report, not a line after "no rollback" at 10:17, "action is
		// required" and "argument not expected" at 13.
		{"syntax error first", strings.Replace(basePlan, `  step "verify" {`, `  step "verify"`, 1),
			`p.hcl:12:16: invalid block definition`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			_, diags := drills.ParsePlan([]byte(tt.src), "p.hcl")
			wantDiag(t, "ParsePlan", diags, tt.want)
		})
	}
}

// TestParseEstateSyntaxErrorFirst: an estate with a syntax error reports only its syntax
// errors, not the blocks the parser lost to it.
func TestParseEstateSyntaxErrorFirst(t *testing.T) {
	t.Parallel()
	src := strings.Replace(string(readExample(t, "firedrill.hcl")), `service "payments" {`, `service "payments"`, 1)
	_, diags := drills.ParseEstate([]byte(src), "firedrill.hcl")
	if len(diags) == 0 || !strings.Contains(diags[0].String(), "invalid block definition") {
		t.Fatalf("ParseEstate = %v, want the syntax error first", diags)
	}
	for _, d := range diags {
		if strings.Contains(d.Msg, "unknown service") || strings.Contains(d.Msg, "depends_on") {
			t.Errorf("ParseEstate reports %s, a problem the syntax error caused", d)
		}
	}
}

// TestParsePlanRollbackNone: rollback = "none" with its reason is a plan without rollback
// steps, and the reason is kept for the record.
func TestParsePlanRollbackNone(t *testing.T) {
	t.Parallel()
	src := strings.Replace(basePlan, basePlanRollback, "  rollback        = \"none\"\n  rollback_reason = \"yatap becomes the primary for good\"\n", 1)
	p, diags := drills.ParsePlan([]byte(src), "p.hcl")
	if len(diags) > 0 {
		t.Fatalf("ParsePlan = %v", diags)
	}
	if len(p.Rollback) != 0 || p.NoRollbackReason != "yatap becomes the primary for good" {
		t.Errorf("Rollback = %v, NoRollbackReason = %q", p.Rollback, p.NoRollbackReason)
	}
	if diags := drills.ValidatePlan(exampleConfig(t), p); len(diags) > 0 {
		t.Errorf("ValidatePlan = %v, want none", diags)
	}
}

// TestValidatePlanStartsOnDR: every service of the plan must be started on the DR site by a
// step; checks that pass because it already ran there prove nothing.
func TestValidatePlanStartsOnDR(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		src  string
		want []string
	}{
		{"nothing starts", strings.Replace(basePlan, basePlanStart, "", 1), []string{
			`p.hcl:4:14: services: no step starts "auth" on the DR site "yatap"`,
			`p.hcl:4:14: services: no step starts "payments" on the DR site "yatap"`,
			`p.hcl:4:14: services: no step starts "remittance" on the DR site "yatap"`,
		}},
		{"one left out", strings.Replace(basePlan, `for_each = ["auth", "payments", "remittance"]
  }
  rollback`, `for_each = ["auth", "payments"]
  }
  rollback`, 1), []string{
			`p.hcl:4:14: services: no step starts "remittance" on the DR site "yatap", so the drill would not fail it over: add it to the for_each of a nomad.run_job step on site "yatap"`,
		}},
		{"started on the wrong site", strings.Replace(basePlan, "site     = \"yatap\"\n    for_each = [\"auth\", \"payments\", \"remittance\"]\n  }\n  rollback",
			"site     = \"sangam\"\n    for_each = [\"auth\", \"payments\", \"remittance\"]\n  }\n  rollback", 1), []string{
			`"auth" on the DR site`, `"payments" on the DR site`, `"remittance" on the DR site`,
		}},
		{"scaled to zero is no start", withBlock(`  step "grow" {`, `    action = "nomad.scale"`, `    site = "yatap"`, `    for_each = ["auth"]`, `    count = 0`, `  }`), nil},
		{"scaled up starts", strings.Replace(basePlan, basePlanStart, `  step "grow" {
    action   = "nomad.scale"
    site     = "yatap"
    for_each = ["auth", "payments", "remittance"]
    count    = 3
  }
`, 1), nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			p, diags := drills.ParsePlan([]byte(tt.src), "p.hcl")
			if len(diags) > 0 {
				t.Fatalf("ParsePlan = %v", diags)
			}
			diags = drills.ValidatePlan(exampleConfig(t), p)
			if len(diags) != len(tt.want) {
				t.Fatalf("ValidatePlan = %d diagnostics:\n%v\nwant %d", len(diags), diags, len(tt.want))
			}
			for i, w := range tt.want {
				if !strings.Contains(diags[i].String(), w) {
					t.Errorf("ValidatePlan[%d] = %s, want it to contain %q", i, diags[i], w)
				}
			}
		})
	}
}

// TestSuggestActionNeverOpposite: for every action of start or stop effect, a name written
// with the opposite verb is never answered with it.
func TestSuggestActionNeverOpposite(t *testing.T) {
	t.Parallel()
	tests := []struct{ name, want string }{
		{"nomad.start_job", drills.ActionNomadRunJob},
		{"nomad.start_jobs", drills.ActionNomadRunJob},
		{"nomad.stop_jobs", drills.ActionNomadStopJob},
		{"nomad.kill_job", drills.ActionNomadStopJob},
		{"nomad.undrain", drills.ActionNomadUndrainSite},
		{"nomad.drain", drills.ActionNomadDrainSite},
		{"nomad.enable_site", drills.ActionNomadUndrainSite},
		{"nomad.disable_site", ""},
		{"postgres.promte", drills.ActionPostgresPromote},
		{"sleep", drills.ActionWait},
		{"nomad.start_site", ""},
	}
	for _, tt := range tests {
		if got := drills.SuggestAction(tt.name); got != tt.want {
			t.Errorf("SuggestAction(%q) = %q, want %q", tt.name, got, tt.want)
		}
	}
}

// TestParsePlanRollbackNoneJSON: HCL's JSON form says rollback = "none" as a "rollback"
// string property, told from the rollback block (an object of steps) by its value; the
// native and JSON forms of one plan parse to the same plan and report the same problems.
func TestParsePlanRollbackNoneJSON(t *testing.T) {
	t.Parallel()
	const steps = `"step": {
    "lose": {"action": "nomad.stop_job", "site": "sangam", "for_each": ["auth", "payments", "remittance"], "milestone": "disaster"},
    "start": {"action": "nomad.run_job", "site": "yatap", "for_each": ["auth", "payments", "remittance"]},
    "verify": {"action": "http.wait_healthy", "site": "yatap", "milestone": "restored"}
  }`
	jsonPlan := func(rollback string) string {
		return `{"plan": {"p": {
  "from": "sangam", "to": "yatap", "services": ["auth", "payments", "remittance"],
  ` + steps + rollback + `
}}}`
	}
	const reason = "yatap becomes the primary for good"
	tests := []struct {
		name      string
		src       string
		wantError string // "" when the plan parses and validates
		wantSteps int
	}{
		{"none with a reason", jsonPlan(`, "rollback": "none", "rollback_reason": "` + reason + `"`), "", 0},
		{"the block", jsonPlan(`, "rollback": {"step": {"back": {"action": "nomad.run_job", "site": "sangam", "for_each": ["auth"]}}}`), "", 1},
		{"the block as an array", jsonPlan(`, "rollback": [{"step": {"back": {"action": "nomad.run_job", "site": "sangam", "for_each": ["auth"]}}}]`), "", 1},
		{"none without a reason", jsonPlan(`, "rollback": "none"`),
			`p.json:7:18: rollback: say why the plan has no rollback: add rollback_reason = "..."`, 0},
		{"not none", jsonPlan(`, "rollback": "nope", "rollback_reason": "x"`),
			`p.json:7:18: rollback: "nope" is not one of "none"`, 0},
		{"a number", jsonPlan(`, "rollback": 0, "rollback_reason": "x"`),
			`p.json:7:18: rollback: "0" is not one of "none"`, 0},
		{"reason without none", jsonPlan(`, "rollback": {"step": {"back": {"action": "nomad.run_job", "site": "sangam", "for_each": ["auth"]}}}, "rollback_reason": "x"`),
			`p.json:7:126: rollback_reason: only a plan with rollback = "none" gives one`, 0},
		{"no rollback", jsonPlan(``),
			`p.json:4:121: milestone: step "lose" injects the disaster but plan "p" has no rollback`, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			p, diags := drills.ParsePlan([]byte(tt.src), "p.json")
			if tt.wantError != "" {
				wantDiag(t, "ParsePlan", diags, tt.wantError)
				return
			}
			if len(diags) > 0 {
				t.Fatalf("ParsePlan(%s) = %v, want no problem", tt.name, diags)
			}
			if diags := drills.ValidatePlan(exampleConfig(t), p); len(diags) > 0 {
				t.Fatalf("ValidatePlan(%s) = %v, want none", tt.name, diags)
			}
			wantReason := ""
			if tt.wantSteps == 0 {
				wantReason = reason
			}
			if len(p.Rollback) != tt.wantSteps || p.NoRollbackReason != wantReason {
				t.Errorf("ParsePlan(%s): %d rollback steps, NoRollbackReason %q; want %d, %q", tt.name, len(p.Rollback), p.NoRollbackReason, tt.wantSteps, wantReason)
			}
		})
	}

	// The same plan in native syntax parses to the same plan.
	native := strings.Replace(basePlan, basePlanRollback, "  rollback        = \"none\"\n  rollback_reason = \""+reason+"\"\n", 1)
	hp, diags := drills.ParsePlan([]byte(native), "p.hcl")
	if len(diags) > 0 {
		t.Fatalf("ParsePlan(native) = %v", diags)
	}
	jp, diags := drills.ParsePlan([]byte(jsonPlan(`, "rollback": "none", "rollback_reason": "`+reason+`"`)), "p.json")
	if len(diags) > 0 {
		t.Fatalf("ParsePlan(json) = %v", diags)
	}
	if hp.NoRollbackReason != jp.NoRollbackReason || len(hp.Rollback) != len(jp.Rollback) {
		t.Errorf("native: %d rollback steps, reason %q; JSON: %d, %q", len(hp.Rollback), hp.NoRollbackReason, len(jp.Rollback), jp.NoRollbackReason)
	}
}
