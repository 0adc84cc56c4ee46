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
	s.SetSnapshotPauseForTest(func() {
		once.Do(func() {
			// The step functions write through their own connection, outside the snapshot.
			_, written = s.StepStart(ctx, &store.StepStartParams{RunID: b.run.ID, Epoch: b.epoch, Seq: 1, Key: "late",
				Action: "wait", At: at(time.Second)})
		})
	})
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

// TestRunSnapshotGetReadsTheRunRecord: what the snapshot reads besides the run's execution
// (its plan, participants, notes and findings, and its measurements, approvals and decisions,
// scanned without gorm on PostgreSQL) is what the single reads read.
func TestRunSnapshotGetReadsTheRunRecord(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		b := auditedRun(t, s)
		by := person("alice")
		for _, attended := range []bool{false, true} {
			// The second record corrects the first.
			if err := s.RunParticipantsRecord(ctx, &store.RunParticipantsRecordParams{RunID: b.run.ID, By: by, At: at(4 * time.Second),
				Participants: []store.ParticipantInput{{Name: "bob", Role: "sre", Intended: !attended, Attended: attended}, {Name: "carol", Role: "dba"}}}); err != nil {
				t.Fatal(err)
			}
		}
		if _, err := s.RunNoteAdd(ctx, &store.RunNoteAddParams{RunID: b.run.ID, Kind: store.NoteLesson, Text: "drain first", By: by, At: at(5 * time.Second)}); err != nil {
			t.Fatal(err)
		}
		due := at(24 * time.Hour)
		if _, err := s.FindingInsert(ctx, &store.FindingInsertParams{RunID: b.run.ID, Title: "drain refused", Severity: drills.FindingSeverity("high"),
			DueAt: &due, By: by, At: at(6 * time.Second)}); err != nil {
			t.Fatal(err)
		}
		snap, err := s.RunSnapshotGet(ctx, b.run.ID)
		if err != nil {
			t.Fatal(err)
		}
		plan, _ := s.PlanGet(ctx, snap.Run.PlanID)
		participants, _ := s.RunParticipantsList(ctx, b.run.ID)
		notes, _ := s.RunNotesList(ctx, b.run.ID)
		findings, _ := s.FindingList(ctx, &store.FindingListParams{RunID: b.run.ID})
		measurements, _ := s.MeasurementList(ctx, b.run.ID)
		approvals, _ := s.ApprovalList(ctx, b.run.ID)
		decisions, _ := s.StepDecisionList(ctx, b.run.ID)
		run, _ := s.RunGet(ctx, b.run.ID)
		for _, c := range []struct {
			name      string
			got, want any
		}{
			{"run", snap.Run, run}, {"plan", snap.Plan, plan}, {"participants", snap.Participants, participants},
			{"notes", snap.Notes, notes}, {"findings", snap.Findings, findings.Findings},
			{"measurements", snap.Measurements, measurements}, {"approvals", snap.Approvals, approvals},
			{"decisions", snap.Decisions, decisions},
		} {
			if !reflect.DeepEqual(c.got, c.want) {
				t.Errorf("RunSnapshotGet %s = %s, single read %s", c.name, jsonOf(c.got), jsonOf(c.want))
			}
		}
		if len(snap.Participants) != 2 || !snap.Participants[0].Attended || !snap.Participants[0].Intended || len(snap.Notes) != 1 ||
			len(snap.Findings) == 0 || snap.Findings[len(snap.Findings)-1].Title != "drain refused" {
			t.Errorf("RunSnapshotGet = %d participants (%+v), %d notes, %d findings: want bob corrected, carol, a note and the finding added last",
				len(snap.Participants), snap.Participants, len(snap.Notes), len(snap.Findings))
		}
	})
}

func jsonOf(v any) string {
	b, _ := json.Marshal(v)
	return string(b)
}

// TestRunSnapshotGetLeavesNoTransactionOpen: a snapshot that fails after its transaction
// began (here its context ends between its round trips) ends the transaction, so that the
// pool hands out no connection inside one.
func TestRunSnapshotGetLeavesNoTransactionOpen(t *testing.T) {
	t.Parallel()
	s := storetest.Postgres(t)
	b := auditedRun(t, s)
	ctx, cancel := context.WithCancel(context.Background())
	s.SetSnapshotPauseForTest(cancel)
	if _, err := s.RunSnapshotGet(ctx, b.run.ID); !errors.Is(err, context.Canceled) {
		t.Fatalf("RunSnapshotGet with its context ended = %v, want context.Canceled", err)
	}
	s.SetSnapshotPauseForTest(nil)
	// Every pooled connection, held at once: none may still be in the snapshot's transaction.
	db, err := s.DBForTest().DB()
	if err != nil {
		t.Fatal(err)
	}
	for i := range db.Stats().OpenConnections {
		conn, err := db.Conn(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		defer conn.Close()
		var isolation string
		if err := conn.QueryRowContext(context.Background(), `SELECT current_setting('transaction_isolation')`).Scan(&isolation); err != nil {
			t.Fatal(err)
		}
		if isolation != "read committed" {
			t.Errorf("pooled connection %d is in a %s transaction after the failed snapshot, want none", i, isolation)
		}
	}
	if _, err := s.RunSnapshotGet(context.Background(), b.run.ID); err != nil {
		t.Errorf("RunSnapshotGet after the failed one: %v", err)
	}
}
