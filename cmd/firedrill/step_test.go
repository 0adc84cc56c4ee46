package main

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/firedrill/firedrill/drills"
	"github.com/firedrill/firedrill/orchestrator/store"
	"github.com/firedrill/firedrill/orchestrator/store/storetest"
)

func TestStepDoneRecordsWhoDecided(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	dsn := storetest.NewDatabase(t)
	st, err := store.Open(ctx, store.Config{DatabaseURL: dsn})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	if _, err := st.MigrateUp(ctx); err != nil {
		t.Fatal(err)
	}
	plan, err := st.PlanSave(ctx, store.PlanSaveParams{Name: "p", Source: []byte("plan")})
	if err != nil {
		t.Fatal(err)
	}
	run, err := st.RunInsert(ctx, &store.RunInsertParams{PlanID: plan.ID, PlanName: "p", RequestedBy: localPerson("test")})
	if err != nil {
		t.Fatal(err)
	}
	epoch, err := st.RunClaim(ctx, &store.RunClaimParams{RunID: run.ID, Owner: "test", LeaseFor: time.Minute})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := st.StepStart(ctx, &store.StepStartParams{RunID: run.ID, Epoch: epoch, Key: "call-van", Action: drills.ActionManual}); err != nil {
		t.Fatal(err)
	}
	env := map[string]string{"FIREDRILL_DATABASE_URL": dsn}

	res := runCLI(t, ctx, env, "step", "done", run.ID, "no-such-step", "--by", "alice")
	if res.code != exitError || !strings.Contains(res.stderr, "not found") {
		t.Errorf("step done on an unknown step: exit %d, stderr %q; want 1 and not found", res.code, res.stderr)
	}
	res = runCLI(t, ctx, env, "step", "done", run.ID, "call-van", "--by", "alice", "--comment", "VAN operator confirmed", "--json")
	if res.code != exitOK {
		t.Fatalf("step done: exit %d, stderr %s", res.code, res.stderr)
	}
	var out map[string]any
	if err := json.Unmarshal([]byte(res.stdout), &out); err != nil {
		t.Fatalf("step done --json: %v\n%s", err, res.stdout)
	}
	if out["decided_by"] != "alice" || out["decision"] != "done" || out["step_key"] != "call-van" {
		t.Errorf("step done --json = %v", out)
	}
	res = runCLI(t, ctx, env, "step", "failed", run.ID, "call-van", "--by", "bob")
	if res.code != exitError || !strings.Contains(res.stderr, "already decided") {
		t.Errorf("second decision: exit %d, stderr %q; want refused", res.code, res.stderr)
	}
}
