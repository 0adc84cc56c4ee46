package scheduler_test

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/firedrill/firedrill/drills"
	"github.com/firedrill/firedrill/internal/clock/clocktest"
	"github.com/firedrill/firedrill/orchestrator/scheduler"
	"github.com/firedrill/firedrill/orchestrator/store"
	"github.com/firedrill/firedrill/orchestrator/store/storetest"
)

// TestCoDueFireOnce: 700 schedules due at one instant (several batches, recorded
// concurrently) on two replicas ticking at once: each fire is decided once, paused schedules
// are skipped, a schedule whose plan does not load fails alone and the others are not held
// back, OnFire hears of every run once, and the audit chain verifies.
func TestCoDueFireOnce(t *testing.T) {
	t.Parallel()
	const n = 700
	var b strings.Builder
	for i := range n {
		plan := "plans/failover.hcl"
		if i == 123 {
			plan = "plans/missing.hcl"
		}
		fmt.Fprintf(&b, "schedule \"co%03d\" {\n  plan = %q\n  cron = \"0 9 * * *\"\n  time_zone = \"UTC\"\n}\n", i, plan)
	}
	cfg, src := estate(t, b.String())
	start := time.Date(2027, 1, 1, 8, 0, 0, 0, time.UTC)
	clk := clocktest.New(start)
	dsn := storetest.NewDatabase(t)
	stores := []*store.Store{openStore(t, dsn, clk, true), openStore(t, dsn, clk, false)}
	var mu sync.Mutex
	heard := map[string]int{}
	var scheds []*scheduler.Scheduler
	for i, st := range stores {
		scheds = append(scheds, newScheduler(t, scheduler.Config{
			Store: st, Estate: cfg, EstateSource: src, Clock: clk, Owner: fmt.Sprintf("replica-%d", i+1),
			LeaseFor: 5 * time.Minute,
			OnFire: func(_ context.Context, run *store.Run) {
				mu.Lock()
				defer mu.Unlock()
				heard[run.ScheduleName]++
			},
		}))
	}
	ctx := context.Background()
	for _, s := range scheds {
		tick(t, s) // sync and anchor at 09:00
	}
	for _, name := range []string{"co010", "co500"} {
		if _, err := stores[0].SchedulePause(ctx, &store.SchedulePauseParams{Name: name, By: drills.Actor{Kind: drills.ActorUser, Name: "kim"}, Reason: "maintenance"}); err != nil {
			t.Fatal(err)
		}
	}
	clk.Set(time.Date(2027, 1, 1, 9, 0, 0, 0, time.UTC))
	errs := make([]error, len(scheds))
	var wg sync.WaitGroup
	for i, s := range scheds {
		wg.Go(func() { errs[i] = s.Tick(ctx) })
	}
	wg.Wait()
	failedPlan := 0
	for _, err := range errs {
		if err == nil {
			continue
		}
		if !strings.Contains(err.Error(), "co123") || strings.Count(err.Error(), "schedule co") != 1 {
			t.Errorf("Tick: %v, want only co123's plan to fail", err)
		}
		failedPlan++
	}
	if failedPlan != 1 {
		t.Errorf("%d replicas reported co123's plan, want the one deciding", failedPlan)
	}
	all, err := stores[0].ScheduleFireList(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	byName := map[string]*store.FireRecord{}
	for _, f := range all {
		if byName[f.Schedule] != nil {
			t.Errorf("schedule %s fired twice", f.Schedule)
		}
		byName[f.Schedule] = f
	}
	if len(byName) != n-1 || byName["co123"] != nil {
		t.Fatalf("%d schedules fired (co123: %v), want %d, all but co123", len(byName), byName["co123"], n-1)
	}
	for name, f := range byName {
		want := store.FireRun
		if name == "co010" || name == "co500" {
			want = store.FireSkippedPaused
		}
		if f.Decision != want || (f.RunID != "") != (want == store.FireRun) {
			t.Errorf("%s: decision %s run %q, want %s", name, f.Decision, f.RunID, want)
		}
		if want == store.FireRun && heard[name] != 1 {
			t.Errorf("%s: OnFire heard its run %d times, want once", name, heard[name])
		}
	}
	if len(heard) != n-3 {
		t.Errorf("OnFire heard of %d schedules' runs, want %d", len(heard), n-3)
	}
	// The next pass decides nothing more (co123 still cannot load its plan).
	for _, s := range scheds {
		_ = s.Tick(ctx)
	}
	again, err := stores[0].ScheduleFireList(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(again) != len(all) {
		t.Errorf("a second pass decided %d more fires", len(again)-len(all))
	}
	rep, err := stores[0].AuditVerify(ctx, &store.AuditVerifyParams{})
	if err != nil || rep.Problem != nil {
		t.Errorf("AuditVerify = %+v, %v", rep, err)
	}
}
