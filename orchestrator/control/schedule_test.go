package control_test

import (
	"context"
	"encoding/json"
	"path/filepath"
	"testing"
	"time"

	"github.com/firedrill/firedrill/drills"
	"github.com/firedrill/firedrill/orchestrator/control"
	"github.com/firedrill/firedrill/orchestrator/scheduler"
	"github.com/firedrill/firedrill/orchestrator/store"
)

// A schedule the estate declares and no scheduler has recorded yet reads as the estate
// declares it, and can be paused before its first fire: pausing records it, and the scheduler
// that later starts keeps the pause and skips the fire.
func TestPauseAScheduleNotYetRecorded(t *testing.T) {
	t.Parallel()
	f := setup(t)
	ctx := context.Background()
	kim, _ := f.person("kim", drills.RoleCompliance)
	vic, _ := f.person("vic", drills.RoleViewer)

	d, err := f.ctl.ScheduleGet(ctx, vic, "nightly")
	if err != nil || d.Schedule.Recorded || !d.Schedule.InEstate || d.Schedule.NextFireLoc != "2027-01-05 02:00 KST" ||
		len(d.NextFires) != 5 || len(d.RecentFires) != 0 {
		t.Fatalf("ScheduleGet of a schedule not recorded = %+v, %v; want the estate's view with its next fires", d, err)
	}
	// A schedule an older estate declared, recorded and not orphaned yet: pausing nightly
	// leaves it as it is.
	if err := f.st.ScheduleSync(ctx, []store.ScheduleDef{{Name: "legacy", PlanName: "old-plan", PlanFile: "plans/old.hcl"}}); err != nil {
		t.Fatal(err)
	}

	v, err := f.ctl.SchedulePause(ctx, kim, &control.SchedulePauseParams{Name: "nightly", Reason: "DR site maintenance"})
	if err != nil || !v.Recorded || !v.InEstate || !v.Paused || v.PausedBy == nil || *v.PausedBy != kim.Actor ||
		v.PausedReason != "DR site maintenance" || v.NextFire != nil || v.State() != "paused by kim" {
		t.Fatalf("SchedulePause of a schedule not recorded = %+v, %v; want it recorded and paused by kim", v, err)
	}
	legacy, err := f.st.ScheduleGet(ctx, "legacy")
	if err != nil || legacy.Paused || legacy.PlanName != "old-plan" {
		t.Errorf("the other recorded schedule after the pause = %+v, %v; want it untouched", legacy, err)
	}
	ops := f.operations(&store.OperationListParams{Operation: string(control.OpSchedulePause), Outcome: store.OutcomeOK})
	var detail struct {
		Recorded bool `json:"recorded"`
	}
	if len(ops) != 1 || ops[0].Actor != kim.Actor || ops[0].Target != "nightly" || json.Unmarshal(ops[0].Detail, &detail) != nil || !detail.Recorded {
		t.Errorf("recorded pause = %+v; want kim's, saying it recorded the schedule", ops)
	}
	// Pausing again finds it recorded.
	if _, err := f.ctl.SchedulePause(ctx, kim, &control.SchedulePauseParams{Name: "nightly", Reason: "longer"}); err != nil {
		t.Fatal(err)
	}

	// The scheduler that starts later anchors the schedule from its own now, keeps the pause
	// and records the fire as skipped.
	s, err := scheduler.New(scheduler.Config{
		Store: f.st, Estate: f.estate, EstateSource: f.src, EstateFile: estatePath, Clock: f.clk, Owner: "test",
		Tick: time.Minute, LeaseFor: time.Hour,
		LoadPlan: func(path string) (*drills.Plan, []byte, error) {
			p, diags := drills.ParsePlan([]byte(f.planSrc), filepath.Join("testdata", path))
			return p, []byte(f.planSrc), diags.Err()
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Tick(ctx); err != nil {
		t.Fatal(err)
	}
	f.clk.Set(time.Date(2027, 1, 5, 2, 0, 0, 0, time.FixedZone("KST", 9*3600)))
	if err := s.Tick(ctx); err != nil {
		t.Fatal(err)
	}
	d, err = f.ctl.ScheduleGet(ctx, vic, "nightly")
	if err != nil || !d.Schedule.Paused || d.Schedule.PlanName != "auth-failover" || len(d.RecentFires) != 1 ||
		d.RecentFires[0].Decision != store.FireSkippedPaused || d.RecentFires[0].Local != "2027-01-05 02:00 KST" {
		t.Errorf("ScheduleGet after the scheduler's first fire = %+v, %v; want that fire skipped as paused", d, err)
	}
	if runs, err := f.ctl.RunListGet(ctx, vic, &control.RunListParams{Schedule: "nightly"}); err != nil || len(runs.Runs) != 0 {
		t.Errorf("runs of the paused schedule = %+v, %v; want none", runs, err)
	}

	wantCategory(t, "pausing a schedule nobody declares", func() error {
		_, err := f.ctl.SchedulePause(ctx, kim, &control.SchedulePauseParams{Name: "nope", Reason: "x"})
		return err
	}(), control.CategoryNotFound)
}

// Resuming a schedule not yet recorded records it, active: the same answer as for a recorded
// schedule that is not paused.
func TestResumeAScheduleNotYetRecorded(t *testing.T) {
	t.Parallel()
	f := setup(t)
	ctx := context.Background()
	kim, _ := f.person("kim", drills.RoleCompliance)
	v, err := f.ctl.ScheduleResume(ctx, kim, &control.SchedulePauseParams{Name: "nightly"})
	if err != nil || !v.Recorded || v.Paused || v.State() != "active" || v.NextFireLoc != "2027-01-05 02:00 KST" {
		t.Fatalf("ScheduleResume of a schedule not recorded = %+v, %v; want it recorded and active", v, err)
	}
}
