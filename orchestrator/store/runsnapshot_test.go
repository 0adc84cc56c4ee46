package store_test

import (
	"context"
	"encoding/json"
	"errors"
	"reflect"
	"sync"
	"testing"
	"time"

	"gorm.io/gorm"

	"github.com/firedrill/firedrill/drills"
	"github.com/firedrill/firedrill/orchestrator/store"
	"github.com/firedrill/firedrill/orchestrator/store/storetest"
)

func TestRunSnapshotGetReadsWhatTheSingleReadsRead(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		b := auditedRun(t, s)
		snap, err := s.RunSnapshotGet(ctx, b.run.ID)
		if err != nil {
			t.Fatal(err)
		}
		run, _ := s.RunGet(ctx, b.run.ID)
		steps, _ := s.StepResultList(ctx, b.run.ID)
		events, _ := s.RunEventList(ctx, b.run.ID)
		if snap.Run.State != run.State || snap.Run.ID != run.ID || len(snap.Steps) != len(steps) || len(steps) == 0 ||
			len(snap.Events) != len(events) || snap.Steps[0].ID != steps[0].ID {
			t.Errorf("RunSnapshotGet = run %+v, %d steps, %d events; single reads: %+v, %d steps, %d events",
				snap.Run, len(snap.Steps), len(snap.Events), run, len(steps), len(events))
		}
		// The timeline is scanned by hand there: every field as the single read's.
		if !reflect.DeepEqual(snap.Events, events) {
			for i := range min(len(snap.Events), len(events)) {
				if !reflect.DeepEqual(snap.Events[i], events[i]) {
					t.Errorf("RunSnapshotGet event %d = %+v, RunEventList = %+v", i, snap.Events[i], events[i])
				}
			}
		}
		if snap.Audit == nil || snap.Audit.Problem != nil || snap.Audit.Rows+snap.Audit.Pending != int64(len(events)) {
			t.Errorf("RunSnapshotGet audit = %+v, want %d rows (chained or pending) and no problem", snap.Audit, len(events))
		}
		if _, err := s.RunSnapshotGet(ctx, "no-such-run"); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("RunSnapshotGet(unknown) = %v, want ErrNotFound", err)
		}
	})
}

// TestRunSnapshotGetScansAsGormDoes: the step results and the timeline a run's view reads are
// scanned by hand; every field must be what gorm scanned, set and unset (a running step with
// no end, a finished one with its error, duration and evidence).
func TestRunSnapshotGetScansAsGormDoes(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		b := setup(t, s)
		if err := s.RunStateSet(ctx, &store.RunStateSetParams{RunID: b.run.ID, Epoch: b.epoch, State: drills.RunRunning, At: at(0)}); err != nil {
			t.Fatal(err)
		}
		stepID, err := s.StepStart(ctx, &store.StepStartParams{RunID: b.run.ID, Epoch: b.epoch, Seq: 1, Key: "check", Action: "http.check",
			Site: "sangam", Service: "payments", Idempotent: true, Timeout: time.Minute, At: at(time.Second)})
		if err != nil {
			t.Fatal(err)
		}
		if err := s.StepFinish(ctx, &store.StepFinishParams{RunID: b.run.ID, Epoch: b.epoch, StepID: stepID, State: drills.StepFailed,
			Error: "503 from /health", Evidence: json.RawMessage(`{"status": 503, "body": "down"}`), At: at(2500 * time.Millisecond)}); err != nil {
			t.Fatal(err)
		}
		if _, err := s.StepStart(ctx, &store.StepStartParams{RunID: b.run.ID, Epoch: b.epoch, Seq: 2, Key: "wait", Action: "manual",
			Site: "sangam", Timeout: time.Minute, At: at(3 * time.Second)}); err != nil {
			t.Fatal(err)
		}
		snap, err := s.RunSnapshotGet(ctx, b.run.ID)
		if err != nil {
			t.Fatal(err)
		}
		steps, err := s.StepResultsByGormForTest(b.run.ID)
		if err != nil {
			t.Fatal(err)
		}
		events, err := s.RunEventsByGormForTest(b.run.ID)
		if err != nil {
			t.Fatal(err)
		}
		if len(snap.Steps) != len(steps) || len(steps) < 2 {
			t.Fatalf("RunSnapshotGet read %d steps, gorm %d", len(snap.Steps), len(steps))
		}
		for i := range steps {
			if !reflect.DeepEqual(snap.Steps[i], steps[i]) {
				t.Errorf("step %d: by hand %+v, gorm %+v", i, snap.Steps[i], steps[i])
			}
		}
		if len(snap.Events) != len(events) {
			t.Fatalf("RunSnapshotGet read %d events, gorm %d", len(snap.Events), len(events))
		}
		for i := range events {
			if !reflect.DeepEqual(snap.Events[i], events[i]) {
				t.Errorf("event %d: by hand %+v, gorm %+v", i, snap.Events[i], events[i])
			}
		}
	})
}

// TestRunSnapshotGetIsOneMoment: a step written by another connection after the snapshot read
// the run row is in none of its lists, and its audit check agrees with its timeline.
func TestRunSnapshotGetIsOneMoment(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s := storetest.Postgres(t)
	b := setup(t, s)
	if err := s.RunStateSet(ctx, &store.RunStateSetParams{RunID: b.run.ID, Epoch: b.epoch, State: drills.RunRunning, At: at(0)}); err != nil {
		t.Fatal(err)
	}
	var once sync.Once
	var written error
	err := s.DBForTest().Callback().Query().After("gorm:query").Register("test:write_after_run_row", func(db *gorm.DB) {
		if db.Statement.Table != "runs" {
			return
		}
		once.Do(func() {
			// The step functions write through their own connection, outside the snapshot.
			_, written = s.StepStart(ctx, &store.StepStartParams{RunID: b.run.ID, Epoch: b.epoch, Seq: 1, Key: "late",
				Action: "wait", At: at(time.Second)})
		})
	})
	if err != nil {
		t.Fatal(err)
	}
	snap, err := s.RunSnapshotGet(ctx, b.run.ID)
	if err != nil {
		t.Fatal(err)
	}
	if written != nil {
		t.Fatalf("StepStart between the reads: %v", written)
	}
	if len(snap.Steps) != 0 {
		t.Errorf("snapshot steps = %d, want none: the step was written after its run row was read", len(snap.Steps))
	}
	for _, e := range snap.Events {
		if e.Kind == store.EventStepStarted {
			t.Errorf("snapshot timeline has %s %s, written after its run row was read", e.Kind, e.StepKey)
		}
	}
	// Chained or still pending, every event the snapshot holds is checked.
	if snap.Audit.Problem != nil || snap.Audit.Rows+snap.Audit.Pending != int64(len(snap.Events)) {
		t.Errorf("snapshot audit = %+v (problem %+v), want %d rows (chained or pending) and no problem", snap.Audit, snap.Audit.Problem, len(snap.Events))
	}
	if steps, _ := s.StepResultList(ctx, b.run.ID); len(steps) != 1 {
		t.Errorf("after the snapshot: %d steps, want the late one", len(steps))
	}
}
