package storetest_test

import (
	"context"
	"testing"
	"time"

	"github.com/firedrill/firedrill/drills"
	"github.com/firedrill/firedrill/orchestrator/store"
	"github.com/firedrill/firedrill/orchestrator/store/storetest"
)

// TestSeedAudited checks that the audit chain SeedAudited writes is one the store's own check
// accepts, whole and run by run, and that each measured service has its measurement event
// just before run_finished.
func TestSeedAudited(t *testing.T) {
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
	const runs, steps, meas = 57, 5, 2
	st, err := storetest.SeedAudited(ctx, dsn, &storetest.SeedParams{Runs: runs, StepsPerRun: steps, MeasurementsPerRun: meas, ChunkRuns: 20})
	if err != nil {
		t.Fatalf("SeedAudited: %v", err)
	}
	if st.MeasurementEvents != runs*meas || st.AuditRows != st.Events {
		t.Errorf("SeedAudited = %d measurement events, %d audit rows, %d events; want %d, and a row per event",
			st.MeasurementEvents, st.AuditRows, st.Events, runs*meas)
	}
	rep, err := s.AuditVerify(ctx, nil)
	if err != nil {
		t.Fatalf("AuditVerify: %v", err)
	}
	if rep.Problem != nil || rep.Rows != st.Events || rep.HeadSeq != st.Events {
		t.Fatalf("AuditVerify = %+v (problem %v), want %d rows and no problem", rep, rep.Problem, st.Events)
	}
	for _, i := range []int{0, 1, runs - 1} {
		id := storetest.SeedRunID(i)
		rep, err := s.AuditVerify(ctx, &store.AuditVerifyParams{RunID: id})
		if err != nil {
			t.Fatalf("AuditVerify %s: %v", id, err)
		}
		if rep.Problem != nil {
			t.Errorf("AuditVerify %s: %v", id, rep.Problem)
		}
		evs, err := s.RunEventList(ctx, id)
		if err != nil {
			t.Fatal(err)
		}
		want := storetest.SeedRunEvents(i, steps) + meas
		if len(evs) != want {
			t.Fatalf("run %d has %d events, want %d", i, len(evs), want)
		}
		for k, ev := range evs {
			if ev.Seq != k+1 {
				t.Errorf("run %d event %d has seq %d", i, k, ev.Seq)
			}
		}
		for k := range meas {
			if ev := evs[len(evs)-1-meas+k]; ev.Kind != drills.EventMeasurement {
				t.Errorf("run %d event %d is %s, want a measurement", i, ev.Seq, ev.Kind)
			}
		}
		if last := evs[len(evs)-1]; last.Kind != store.EventRunFinished {
			t.Errorf("run %d ends with %s, want run_finished", i, last.Kind)
		}
	}
}
