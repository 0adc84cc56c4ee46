package main

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/firedrill/firedrill/drills"
	"github.com/firedrill/firedrill/internal/clock/clocktest"
	"github.com/firedrill/firedrill/orchestrator/scheduler"
	"github.com/firedrill/firedrill/orchestrator/store"
	"github.com/firedrill/firedrill/orchestrator/store/storetest"
)

// TestReadinessChecks walks /readyz's checks on PostgreSQL: the scheduler lease must have a
// holder, this replica's run leases must be renewed, and the database must answer; each
// failure names its check and nothing of the database's address.
func TestReadinessChecks(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	clk := clocktest.New(time.Date(2027, 1, 4, 9, 0, 0, 0, time.UTC))
	st := storetest.PostgresOn(t, clk)
	const owner = "replica-r"
	ready := readiness(st, clk, owner, true)
	expect := func(what, want string) {
		t.Helper()
		err := ready(ctx)
		switch {
		case want == "" && err != nil:
			t.Errorf("%s: not ready: %v", what, err)
		case want != "" && (err == nil || !strings.Contains(err.Error(), want)):
			t.Errorf("%s: readiness = %v; want an error containing %q", what, err, want)
		}
	}
	expect("no scheduler lease yet", "scheduler lease: no replica has taken it yet")
	_, held, err := st.LeaseAcquire(ctx, &store.LeaseParams{Name: scheduler.LeaseName, Owner: "replica-s", TTL: time.Minute})
	if err != nil || !held {
		t.Fatalf("LeaseAcquire = %v, %v", held, err)
	}
	expect("scheduler lease held", "")

	plan, err := st.PlanSave(ctx, store.PlanSaveParams{Name: "p", File: "p.hcl", Source: []byte(`plan "p" {}`)})
	if err != nil {
		t.Fatal(err)
	}
	run, err := st.RunInsert(ctx, &store.RunInsertParams{PlanID: plan.ID, PlanName: plan.Name, EstateSHA256: "abc", FromSite: "a", ToSite: "b",
		RequestedBy: drills.Actor{Kind: drills.ActorSystem, Name: "test"}})
	if err != nil {
		t.Fatal(err)
	}
	runEpoch, err := st.RunClaim(ctx, &store.RunClaimParams{RunID: run.ID, Owner: owner, LeaseFor: 30 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	if err := st.RunStateSet(ctx, &store.RunStateSetParams{RunID: run.ID, Epoch: runEpoch, State: drills.RunRunning}); err != nil {
		t.Fatal(err)
	}
	expect("a run whose lease is renewed", "")

	clk.Advance(45 * time.Second) // the run's lease lapsed; the scheduler's still holds
	expect("a run whose lease lapsed", "run leases: 1 run(s) held by this replica have a lease that expired")
	if err := readiness(st, clk, "replica-other", true)(ctx); err != nil {
		t.Errorf("another replica's readiness looks at its own runs only: %v", err)
	}

	clk.Advance(30 * time.Second) // the scheduler lease's holder stopped renewing it
	if err := readiness(st, clk, "replica-other", true)(ctx); err == nil || !strings.Contains(err.Error(), "scheduler lease: no holder since") {
		t.Errorf("lapsed scheduler lease: readiness = %v", err)
	}
	if err := readiness(st, clk, "replica-other", false)(ctx); err != nil {
		t.Errorf("without schedules the scheduler lease does not matter: %v", err)
	}

	_ = st.Close()
	err = ready(ctx)
	if err == nil || err.Error() != "database: unreachable" {
		t.Errorf("closed database: readiness = %v; want only \"database: unreachable\"", err)
	}
}
