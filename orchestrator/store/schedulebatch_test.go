package store_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/firedrill/firedrill/drills"
	"github.com/firedrill/firedrill/orchestrator/store"
	"github.com/firedrill/firedrill/orchestrator/store/storetest"
)

// A batch decides each fire as ScheduleFire would: fires already decided keep their first
// decision, the others get their runs and events, the schedules move to their latest fire,
// and the audit chain covers every event.
func TestScheduleFireBatch(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		plan := scheduleSetup(t, s)
		feb := time.Date(2027, 2, 1, 3, 0, 0, 0, time.UTC)
		mar := feb.AddDate(0, 1, 0)
		apr := mar.AddDate(0, 1, 0)
		run := func(name string) *store.RunInsertParams {
			return &store.RunInsertParams{
				PlanID: plan.ID, PlanName: plan.Name, EstateSHA256: "e", FromSite: "sangam", ToSite: "yatap",
				RequestedBy: drills.Actor{Kind: drills.ActorSchedule, Name: name},
			}
		}
		first, err := s.ScheduleFire(ctx, &store.ScheduleFireParams{Schedule: "monthly", FireTime: feb, Decision: store.FireRun,
			DecidedBy: "a", NextFireTime: &mar, Run: run("monthly")})
		if err != nil {
			t.Fatal(err)
		}
		batch := []*store.ScheduleFireParams{
			// Already decided by "a": found, not repeated.
			{Schedule: "monthly", FireTime: feb, Decision: store.FireRun, DecidedBy: "b", NextFireTime: &mar, Run: run("monthly")},
			// A backlog of two on one schedule, out of order: the schedule ends at the later.
			{Schedule: "monthly", FireTime: apr, Decision: store.FireRun, DecidedBy: "b", Run: run("monthly")},
			{Schedule: "monthly", FireTime: mar, Decision: store.FireSkippedBlackout, Reason: "year-end", DecidedBy: "b", NextFireTime: &apr},
			{Schedule: "weekly", FireTime: feb, Decision: store.FireRun, DecidedBy: "b", NextFireTime: &mar, Run: run("weekly")},
		}
		res, err := s.ScheduleFireBatch(ctx, batch)
		if err != nil {
			t.Fatalf("ScheduleFireBatch: %v", err)
		}
		if len(res) != len(batch) {
			t.Fatalf("%d results for %d fires", len(res), len(batch))
		}
		if res[0].Created || res[0].Run == nil || res[0].Run.ID != first.Run.ID || res[0].Fire.DecidedBy != "a" {
			t.Errorf("already decided fire = %+v, want a's decision and run %s", res[0], first.Run.ID)
		}
		for i, want := range []string{store.FireRun, store.FireSkippedBlackout, store.FireRun} {
			r := res[i+1]
			if !r.Created || r.Fire.Decision != want || (r.Run != nil) != (want == store.FireRun) || r.Fire.DecidedBy != "b" {
				t.Errorf("fire %d = %+v (run %+v), want created, %s", i+1, r.Fire, r.Run, want)
			}
			if r.Run != nil && (r.Fire.RunID != r.Run.ID || r.Run.ScheduleName != batch[i+1].Schedule || !r.Run.FireTime.Equal(batch[i+1].FireTime)) {
				t.Errorf("fire %d: run %+v does not match the fire %+v", i+1, r.Run, r.Fire)
			}
		}
		monthly, err := s.ScheduleGet(ctx, "monthly")
		if err != nil {
			t.Fatal(err)
		}
		// April was decided last in time; it names no next fire, so March's stays.
		if !monthly.LastFireTime.Equal(apr) || !monthly.NextFireTime.Equal(apr) {
			t.Errorf("monthly after the batch: last %v next %v, want %v and %v", monthly.LastFireTime, monthly.NextFireTime, apr, apr)
		}
		weekly, err := s.ScheduleGet(ctx, "weekly")
		if err != nil {
			t.Fatal(err)
		}
		if !weekly.LastFireTime.Equal(feb) || !weekly.NextFireTime.Equal(mar) {
			t.Errorf("weekly after the batch: last %v next %v", weekly.LastFireTime, weekly.NextFireTime)
		}
		fires, err := s.ScheduleFireList(ctx, nil)
		if err != nil {
			t.Fatal(err)
		}
		if len(fires) != 4 {
			t.Errorf("%d fires recorded, want 4", len(fires))
		}
		for _, r := range []*store.ScheduleFireResult{res[1], res[3]} {
			evs, err := s.RunEventList(ctx, r.Run.ID)
			if err != nil {
				t.Fatal(err)
			}
			if len(evs) != 1 || evs[0].Seq != 1 || evs[0].Kind != store.EventRunCreated {
				t.Errorf("run %s events = %+v, want its run_created as 1", r.Run.ID, evs)
			}
		}
		rep, err := s.AuditVerify(ctx, &store.AuditVerifyParams{})
		if err != nil || rep.Problem != nil || rep.Rows != 3 {
			t.Errorf("AuditVerify = %+v, %v; want 3 rows (one run_created per run), no problem", rep, err)
		}
		// The same batch again decides nothing new.
		again, err := s.ScheduleFireBatch(ctx, batch)
		if err != nil {
			t.Fatal(err)
		}
		for i, r := range again {
			if r.Created || r.Fire.Decision != res[i].Fire.Decision || (r.Run != nil && r.Run.ID != res[i].Run.ID) {
				t.Errorf("again %d = %+v, want the first decision", i, r)
			}
		}
	})
}

// A batch fenced by a lease its decider does not hold records nothing; nor does one naming an
// unknown schedule.
func TestScheduleFireBatchAllOrNothing(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		scheduleSetup(t, s)
		if _, _, err := s.LeaseAcquire(ctx, &store.LeaseParams{Name: "scheduler", Owner: "other", TTL: time.Minute}); err != nil {
			t.Fatal(err)
		}
		feb := time.Date(2027, 2, 1, 3, 0, 0, 0, time.UTC)
		fenced := []*store.ScheduleFireParams{
			{Schedule: "monthly", FireTime: feb, Decision: store.FireSkippedPaused, DecidedBy: "me", Lease: "scheduler", LeaseEpoch: 1},
			{Schedule: "weekly", FireTime: feb, Decision: store.FireSkippedPaused, DecidedBy: "me", Lease: "scheduler", LeaseEpoch: 1},
		}
		if _, err := s.ScheduleFireBatch(ctx, fenced); !errors.Is(err, store.ErrLeaseLost) {
			t.Errorf("batch under another's lease = %v, want ErrLeaseLost", err)
		}
		unknown := []*store.ScheduleFireParams{
			{Schedule: "monthly", FireTime: feb, Decision: store.FireSkippedPaused, DecidedBy: "me"},
			{Schedule: "nope", FireTime: feb, Decision: store.FireSkippedPaused, DecidedBy: "me"},
		}
		if _, err := s.ScheduleFireBatch(ctx, unknown); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("batch with an unknown schedule = %v, want ErrNotFound", err)
		}
		mixed := []*store.ScheduleFireParams{
			{Schedule: "monthly", FireTime: feb, Decision: store.FireSkippedPaused, DecidedBy: "me"},
			{Schedule: "weekly", FireTime: feb, Decision: store.FireSkippedPaused, DecidedBy: "you"},
		}
		if _, err := s.ScheduleFireBatch(ctx, mixed); err == nil {
			t.Error("batch of two deciders accepted")
		}
		fires, err := s.ScheduleFireList(ctx, nil)
		if err != nil {
			t.Fatal(err)
		}
		if len(fires) != 0 {
			t.Errorf("refused batches recorded %d fires", len(fires))
		}
	})
}
