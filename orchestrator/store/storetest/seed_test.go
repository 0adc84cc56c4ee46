package storetest_test

import (
	"context"
	"encoding/json"
	"testing"
	"time"

	"github.com/firedrill/firedrill/drills"
	"github.com/firedrill/firedrill/orchestrator/store"
	"github.com/firedrill/firedrill/orchestrator/store/storetest"
)

// TestSeed checks that the store reads seeded rows as its own: every run with its steps,
// measurements and a gapless timeline, in valid states with valid JSON.
func TestSeed(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	dsn := storetest.NewDatabase(t)
	s, err := store.Open(ctx, store.Config{DatabaseURL: dsn})
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	t.Cleanup(func() { _ = s.Close() })
	if _, err := s.MigrateUp(ctx); err != nil {
		t.Fatalf("MigrateUp: %v", err)
	}
	const runs, steps, meas = 203, 6, 2
	st, err := storetest.Seed(ctx, dsn, &storetest.SeedParams{Runs: runs, StepsPerRun: steps, MeasurementsPerRun: meas, ChunkRuns: 50})
	if err != nil {
		t.Fatalf("Seed: %v", err)
	}
	approved := int64(runs+3) / 4
	if st.Runs != runs || st.Steps != runs*steps || st.Measurements != runs*meas || st.Approvals != 2*approved ||
		st.Events != runs*(2*steps+6)+3*approved {
		t.Errorf("Seed stats = %+v, want %d runs, %d steps, %d measurements, %d approvals, %d events",
			st, runs, runs*steps, runs*meas, 2*approved, runs*(2*steps+6)+3*approved)
	}

	page, err := s.RunList(ctx, &store.RunListParams{Limit: store.MaxRunListLimit})
	if err != nil {
		t.Fatalf("RunList: %v", err)
	}
	list := page.Runs
	if len(list) != runs {
		t.Fatalf("RunList returned %d runs, want %d", len(list), runs)
	}
	if got, want := list[0].ID, storetest.SeedRunID(runs-1); got != want {
		t.Errorf("newest run = %s, want %s", got, want)
	}
	if got := list[0].CreatedAt; !got.Equal(storetest.SeedNewest) {
		t.Errorf("newest run created at %s, want %s", got, storetest.SeedNewest)
	}
	states := map[drills.RunState]int{}
	for _, r := range list {
		states[r.State]++
		if !r.State.IsTerminal() || r.StartedAt == nil || r.EndedAt == nil || r.LeaseExpiresAt != nil {
			t.Errorf("run %s: state %s, started %v, ended %v, lease until %v; want a finished run without a lease",
				r.ID, r.State, r.StartedAt, r.EndedAt, r.LeaseExpiresAt)
		}
	}
	for _, want := range []drills.RunState{drills.RunSucceeded, drills.RunFailed, drills.RunAborted} {
		if states[want] == 0 {
			t.Errorf("no %s run among %v", want, states)
		}
	}

	for _, i := range []int{0, 95, 97, 100, runs - 1} {
		id := storetest.SeedRunID(i)
		run, err := s.RunGet(ctx, id)
		if err != nil {
			t.Fatalf("RunGet(%s): %v", id, err)
		}
		srs, err := s.StepResultList(ctx, id)
		if err != nil {
			t.Fatalf("StepResultList(%s): %v", id, err)
		}
		if len(srs) != steps {
			t.Errorf("run %d has %d step results, want %d", i, len(srs), steps)
		}
		for j, sr := range srs {
			if sr.Seq != j+1 || !json.Valid(sr.Evidence) || sr.EndedAt == nil || sr.State == drills.StepRunning {
				t.Errorf("run %d step %d: seq %d, state %s, ended %v, evidence %s", i, j, sr.Seq, sr.State, sr.EndedAt, sr.Evidence)
			}
		}
		if last := srs[len(srs)-1].State; (run.State == drills.RunSucceeded) != (last == drills.StepSucceeded) {
			t.Errorf("run %d is %s but its last step is %s", i, run.State, last)
		}
		ms, err := s.MeasurementList(ctx, id)
		if err != nil {
			t.Fatalf("MeasurementList(%s): %v", id, err)
		}
		if len(ms) != meas {
			t.Errorf("run %d has %d measurements, want %d", i, len(ms), meas)
		}
		evs, err := s.RunEventList(ctx, id)
		if err != nil {
			t.Fatalf("RunEventList(%s): %v", id, err)
		}
		if want := storetest.SeedRunEvents(i, steps); len(evs) != want {
			t.Errorf("run %d has %d events, want %d", i, len(evs), want)
		}
		aps, err := s.ApprovalList(ctx, id)
		if err != nil {
			t.Fatalf("ApprovalList(%s): %v", id, err)
		}
		if want := map[bool]int{true: 2}[i%4 == 0]; len(aps) != want {
			t.Errorf("run %d has %d approvals, want %d", i, len(aps), want)
		}
		if i%4 == 0 {
			if run.RequestedBy.Kind != drills.ActorSchedule || len(run.ApprovalRoles) != 2 {
				t.Errorf("run %d: requested by %+v, approval roles %v; want a schedule and two roles", i, run.RequestedBy, run.ApprovalRoles)
			}
			if missing := store.MissingApprovals(run, aps); len(missing) != 0 {
				t.Errorf("MissingApprovals(run %d) = %v, want none", i, missing)
			}
		} else if run.RequestedBy.Kind != drills.ActorUser || run.RequestedBy.Name == "" {
			t.Errorf("run %d: requested by %+v, want a user", i, run.RequestedBy)
		}
		for j, ev := range evs {
			if ev.Seq != j+1 || !json.Valid(ev.Data) || ev.At.Before(run.CreatedAt) || ev.At.After(*run.EndedAt) ||
				(j > 0 && ev.At.Before(evs[j-1].At)) {
				t.Errorf("run %d event %d: seq %d at %s (run %s..%s), data %s", i, j, ev.Seq, ev.At, run.CreatedAt, run.EndedAt, ev.Data)
			}
		}
		if evs[0].Kind != store.EventRunCreated || evs[len(evs)-1].Kind != store.EventRunFinished {
			t.Errorf("run %d timeline runs from %s to %s, want %s to %s", i, evs[0].Kind, evs[len(evs)-1].Kind, store.EventRunCreated, store.EventRunFinished)
		}
	}
}

func TestSeedParamsRefused(t *testing.T) {
	t.Parallel()
	tests := []storetest.SeedParams{
		{},
		{Runs: 1, StepsPerRun: 3},
		{Runs: 1, StepsPerRun: 4, MeasurementsPerRun: 2},
		{Runs: 1, Every: time.Millisecond},
	}
	for _, p := range tests {
		if _, err := storetest.Seed(context.Background(), "postgres://invalid.invalid/none", &p); err == nil {
			t.Errorf("Seed(%+v) succeeded, want an error", p)
		}
	}
}
