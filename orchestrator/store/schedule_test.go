package store_test

import (
	"context"
	"encoding/json"
	"errors"
	"reflect"
	"sync"
	"testing"
	"time"

	"github.com/firedrill/firedrill/drills"
	"github.com/firedrill/firedrill/orchestrator/store"
	"github.com/firedrill/firedrill/orchestrator/store/storetest"
)

func scheduleSetup(t *testing.T, s *store.Store) *store.PlanRecord {
	t.Helper()
	ctx := context.Background()
	plan, err := s.PlanSave(ctx, store.PlanSaveParams{Name: "site-loss", File: "plans/site-loss.hcl", Source: []byte(`plan "site-loss" {}`)})
	if err != nil {
		t.Fatalf("PlanSave: %v", err)
	}
	anchor := time.Date(2027, 1, 1, 0, 0, 0, 0, time.UTC)
	if err := s.ScheduleSync(ctx, []store.ScheduleDef{
		{Name: "monthly", PlanName: "site-loss", PlanFile: "plans/site-loss.hcl", Spec: json.RawMessage(`{"cron":"0 3 1 * *"}`), Anchor: &anchor},
		{Name: "weekly", PlanName: "site-loss", PlanFile: "plans/site-loss.hcl"},
	}); err != nil {
		t.Fatalf("ScheduleSync: %v", err)
	}
	return plan
}

func TestScheduleSyncPauseResume(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		scheduleSetup(t, s)
		got, err := s.ScheduleGet(ctx, "monthly")
		if err != nil {
			t.Fatal(err)
		}
		if got.PlanName != "site-loss" || string(got.Spec) == "" || got.Paused || got.NextFireTime == nil || got.LastFireTime != nil {
			t.Fatalf("ScheduleGet(monthly) = %+v", got)
		}
		if _, err := s.ScheduleGet(ctx, "nope"); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("ScheduleGet(nope) = %v, want ErrNotFound", err)
		}
		p, err := s.SchedulePause(ctx, &store.SchedulePauseParams{Name: "monthly", By: person("alice"), Reason: "quarter-end freeze"})
		if err != nil {
			t.Fatal(err)
		}
		if !p.Paused || p.PausedBy != person("alice") || p.PausedReason != "quarter-end freeze" || p.PausedAt == nil {
			t.Fatalf("SchedulePause = %+v", p)
		}
		if _, err := s.SchedulePause(ctx, &store.SchedulePauseParams{Name: "nope", By: person("alice")}); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("SchedulePause(nope) = %v, want ErrNotFound", err)
		}
		// A sync with a new definition keeps the pause; a schedule left out is orphaned.
		if err := s.ScheduleSync(ctx, []store.ScheduleDef{{Name: "monthly", PlanName: "site-loss", Spec: json.RawMessage(`{"cron":"0 4 1 * *"}`)}}); err != nil {
			t.Fatal(err)
		}
		list, err := s.ScheduleList(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if len(list) != 2 || list[0].Name != "monthly" || list[1].Name != "weekly" {
			t.Fatalf("ScheduleList = %+v", list)
		}
		if !list[0].Paused || list[0].PausedBy != person("alice") || list[0].Orphaned {
			t.Errorf("monthly after sync = %+v, want still paused by alice", list[0])
		}
		var spec map[string]string
		if err := json.Unmarshal(list[0].Spec, &spec); err != nil || spec["cron"] != "0 4 1 * *" {
			t.Errorf("monthly spec = %s, want the new definition", list[0].Spec)
		}
		if !list[1].Orphaned || !list[1].Paused || list[1].PausedBy != store.ScheduleOrphanedBy {
			t.Errorf("weekly after sync without it = %+v, want orphaned", list[1])
		}
		if _, err := s.ScheduleResume(ctx, &store.SchedulePauseParams{Name: "weekly", By: person("bob")}); !errors.Is(err, store.ErrOrphaned) {
			t.Error("ScheduleResume of an orphaned schedule succeeded")
		}
		r, err := s.ScheduleResume(ctx, &store.SchedulePauseParams{Name: "monthly", By: person("bob")})
		if err != nil {
			t.Fatal(err)
		}
		if r.Paused || r.PausedBy != person("bob") || r.PausedReason != store.ScheduleResumedReason {
			t.Fatalf("ScheduleResume = %+v", r)
		}
		// Defined again: the orphan pause is lifted.
		if err := s.ScheduleSync(ctx, []store.ScheduleDef{{Name: "monthly", PlanName: "site-loss"}, {Name: "weekly", PlanName: "site-loss"}}); err != nil {
			t.Fatal(err)
		}
		w, err := s.ScheduleGet(ctx, "weekly")
		if err != nil {
			t.Fatal(err)
		}
		if w.Paused || w.Orphaned {
			t.Errorf("weekly defined again = %+v, want active", w)
		}
		if err := s.ScheduleSync(ctx, []store.ScheduleDef{{Name: "x"}, {Name: "x"}}); err == nil {
			t.Error("ScheduleSync with a duplicate name succeeded")
		}
	})
}

func TestScheduleFireOnce(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		plan := scheduleSetup(t, s)
		fire := time.Date(2027, 2, 1, 3, 0, 0, 0, time.UTC)
		next := time.Date(2027, 3, 1, 3, 0, 0, 0, time.UTC)
		deadline := fire.Add(time.Hour)
		params := func(by string) *store.ScheduleFireParams {
			return &store.ScheduleFireParams{
				Schedule: "monthly", FireTime: fire, Decision: store.FireRun, DecidedBy: by, NextFireTime: &next,
				Run: &store.RunInsertParams{
					PlanID: plan.ID, PlanName: plan.Name, EstateSHA256: "e", FromSite: "sangam", ToSite: "yatap",
					RequestedBy: drills.Actor{Kind: drills.ActorSchedule, Name: "monthly"}, State: drills.RunAwaitingApproval,
					ApprovalRoles: []string{"sre", "compliance"}, ApprovalDeadline: &deadline,
				},
			}
		}
		// Concurrent deciders of the same fire: one creates, the others find its decision.
		const n = 5
		results := make([]*store.ScheduleFireResult, n)
		errs := make([]error, n)
		var wg sync.WaitGroup
		for i := range n {
			wg.Go(func() { results[i], errs[i] = s.ScheduleFire(ctx, params(string(rune('a'+i)))) })
		}
		wg.Wait()
		created := 0
		var runID string
		for i := range n {
			if errs[i] != nil {
				t.Fatalf("ScheduleFire: %v", errs[i])
			}
			if results[i].Created {
				created++
			}
			if results[i].Run == nil {
				t.Fatalf("ScheduleFire result %d has no run", i)
			}
			if runID == "" {
				runID = results[i].Run.ID
			} else if results[i].Run.ID != runID {
				t.Fatalf("two runs for one fire: %s and %s", runID, results[i].Run.ID)
			}
		}
		if created != 1 {
			t.Fatalf("%d deciders created the fire, want 1", created)
		}
		run, err := s.RunGet(ctx, runID)
		if err != nil {
			t.Fatal(err)
		}
		if run.ScheduleName != "monthly" || run.FireTime == nil || !run.FireTime.Equal(fire) ||
			run.State != drills.RunAwaitingApproval || !reflect.DeepEqual(run.ApprovalRoles, []string{"sre", "compliance"}) ||
			run.ApprovalDeadline == nil || !run.ApprovalDeadline.Equal(deadline) {
			t.Fatalf("fired run = %+v", run)
		}
		sched, err := s.ScheduleGet(ctx, "monthly")
		if err != nil {
			t.Fatal(err)
		}
		if sched.LastFireTime == nil || !sched.LastFireTime.Equal(fire) || sched.NextFireTime == nil || !sched.NextFireTime.Equal(next) {
			t.Fatalf("schedule after fire = %+v", sched)
		}
		// An older fire decided late does not move last_fire_time back.
		old := fire.AddDate(0, -1, 0)
		res, err := s.ScheduleFire(ctx, &store.ScheduleFireParams{Schedule: "monthly", FireTime: old, Decision: store.FireSkippedBlackout, Reason: "new-year"})
		if err != nil || !res.Created || res.Run != nil || res.Fire.Reason != "new-year" {
			t.Fatalf("ScheduleFire(skip) = %+v, %v", res, err)
		}
		sched, _ = s.ScheduleGet(ctx, "monthly")
		if !sched.LastFireTime.Equal(fire) {
			t.Errorf("last fire moved back to %v", sched.LastFireTime)
		}
		fires, err := s.ScheduleFireList(ctx, &store.ScheduleFireListParams{Schedule: "monthly"})
		if err != nil {
			t.Fatal(err)
		}
		if len(fires) != 2 || !fires[0].FireTime.Equal(old) || fires[1].RunID != runID || fires[1].Decision != store.FireRun {
			t.Fatalf("ScheduleFireList = %+v", fires)
		}
		fires, _ = s.ScheduleFireList(ctx, &store.ScheduleFireListParams{Schedule: "monthly", From: fire})
		if len(fires) != 1 {
			t.Fatalf("ScheduleFireList from %v = %d fires, want 1", fire, len(fires))
		}
		// Bad input changes nothing.
		bad := []*store.ScheduleFireParams{
			{Schedule: "monthly", FireTime: next, Decision: "maybe"},
			{Schedule: "monthly", FireTime: next, Decision: store.FireRun},
			{Schedule: "monthly", FireTime: next, Decision: store.FireSkippedPaused, Run: params("x").Run},
		}
		for _, p := range bad {
			if _, err := s.ScheduleFire(ctx, p); err == nil {
				t.Errorf("ScheduleFire(%s) succeeded", p.Decision)
			}
		}
		if _, err := s.ScheduleFire(ctx, &store.ScheduleFireParams{Schedule: "nope", FireTime: next, Decision: store.FireSkippedPaused}); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("ScheduleFire(unknown schedule) = %v, want ErrNotFound", err)
		}
	})
}

func TestLastPassedRuns(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		plan := scheduleSetup(t, s)
		finish := func(state drills.RunState, at time.Time, met bool) {
			t.Helper()
			run, err := s.RunInsert(ctx, &store.RunInsertParams{PlanID: plan.ID, PlanName: plan.Name, RequestedBy: tester})
			if err != nil {
				t.Fatal(err)
			}
			epoch := claimRunning(t, s, run.ID)
			if err := s.RunFinish(ctx, &store.RunFinishParams{RunID: run.ID, Epoch: epoch, State: state, At: at,
				Measurements: []store.MeasurementInput{{Service: "auth", RTOMet: met}, {Service: "payments", RTOMet: true}}}); err != nil {
				t.Fatal(err)
			}
		}
		jan := time.Date(2027, 1, 10, 0, 0, 0, 0, time.UTC)
		finish(drills.RunSucceeded, jan, true)
		finish(drills.RunSucceeded, jan.AddDate(0, 1, 0), false) // auth missed its RTO
		finish(drills.RunFailed, jan.AddDate(0, 2, 0), true)     // failed run: does not count
		got, err := s.LastPassedRuns(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if !got["auth"].Equal(jan) || !got["payments"].Equal(jan.AddDate(0, 1, 0)) || len(got) != 2 {
			t.Fatalf("LastPassedRuns = %v", got)
		}
	})
}
