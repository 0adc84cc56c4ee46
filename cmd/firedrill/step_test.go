package main

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/firedrill/firedrill/drills"
	"github.com/firedrill/firedrill/orchestrator/control"
	"github.com/firedrill/firedrill/orchestrator/store"
)

// TestStepDoneRecordsWhoDecided: a manual step waits for a person; an SRE marks it done
// through the server, which records who (the token's user), and refuses a second decision and
// a viewer's.
func TestStepDoneRecordsWhoDecided(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	srv := startAPI(t, "")
	admin := srv.bootstrap(t, "root")
	alice := srv.person(t, admin, "alice", "sre")
	bob := srv.person(t, admin, "bob", "sre")
	vera := srv.person(t, admin, "vera", "viewer")

	// A run executing a manual step, as a replica records it.
	st := srv.st
	plan, err := st.PlanSave(ctx, store.PlanSaveParams{Name: "p", Source: []byte("plan")})
	if err != nil {
		t.Fatal(err)
	}
	run, err := st.RunInsert(ctx, &store.RunInsertParams{PlanID: plan.ID, PlanName: "p", RequestedBy: localPerson("test")})
	if err != nil {
		t.Fatal(err)
	}
	epoch, err := st.RunClaim(ctx, &store.RunClaimParams{RunID: run.ID, Owner: "test", LeaseFor: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := st.StepStart(ctx, &store.StepStartParams{RunID: run.ID, Epoch: epoch, Key: "call-van", Action: drills.ActionManual}); err != nil {
		t.Fatal(err)
	}

	view := decodeJSON[control.RunView](t, srv.cli(t, vera, "runs", "show", run.ID, "--json"))
	if len(view.Steps) != 1 || !view.Steps[0].AwaitingDecision {
		t.Errorf("runs show --json steps = %+v; want call-van awaiting a decision", view.Steps)
	}
	if res := srv.cli(t, vera, "runs", "show", run.ID); !strings.Contains(res.stdout, "awaits a decision") {
		t.Errorf("runs show does not say the step awaits a decision:\n%s", res.stdout)
	}
	if res := runCLI(t, ctx, srv.as(vera), "step", "done", run.ID, "call-van"); res.code != exitError || !strings.Contains(res.stderr, "step.decide") {
		t.Errorf("a viewer decides: exit %d, stderr %q; want forbidden", res.code, res.stderr)
	}
	res := runCLI(t, ctx, srv.as(alice), "step", "done", run.ID, "no-such-step")
	if res.code != exitError || !strings.Contains(res.stderr, "not found") {
		t.Errorf("step done on an unknown step: exit %d, stderr %q; want 1 and not found", res.code, res.stderr)
	}
	d := decodeJSON[control.DecisionView](t, srv.cli(t, alice, "step", "done", run.ID, "call-van", "--comment", "VAN operator confirmed", "--json"))
	if d.By.Name != "alice" || d.By.Kind != drills.ActorUser || d.By.Via != drills.ViaCLI || d.Decision != "done" || d.StepKey != "call-van" || d.Comment != "VAN operator confirmed" {
		t.Errorf("step done --json = %+v; want done by alice via cli, with the comment", d)
	}
	res = runCLI(t, ctx, srv.as(bob), "step", "failed", run.ID, "call-van")
	if res.code != exitError || !strings.Contains(res.stderr, "firedrill: ") {
		t.Errorf("second decision: exit %d, stderr %q; want refused", res.code, res.stderr)
	}
	if res := srv.cli(t, vera, "runs", "show", run.ID); !strings.Contains(res.stdout, "step call-van marked done by alice (via cli)") {
		t.Errorf("runs show does not show the decision:\n%s", res.stdout)
	}
}
