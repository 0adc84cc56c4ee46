package store_test

import (
	"context"
	"testing"
	"time"

	"github.com/firedrill/firedrill/drills"
	"github.com/firedrill/firedrill/orchestrator/store"
	"github.com/firedrill/firedrill/orchestrator/store/storetest"
)

// TestLastPassedRunsFollowsRunEnds: the answer LastPassedRuns reuses is never the one from
// before a run ended, on both dialects.
func TestLastPassedRunsFollowsRunEnds(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		last := func() map[string]time.Time {
			t.Helper()
			got, err := s.LastPassedRuns(ctx)
			if err != nil {
				t.Fatal(err)
			}
			return got
		}
		if got := last(); len(got) != 0 {
			t.Fatalf("before any run: %v", got)
		}
		r1 := drill(t, s, 0, drills.RunSucceeded, "", met("payments"))
		if got := last(); len(got) != 1 || !got["payments"].Equal(*r1.EndedAt) {
			t.Fatalf("after the first drill: %v, want payments at %v", got, *r1.EndedAt)
		}
		got := last()
		got["payments"] = time.Time{} // a caller's change must not reach the next caller
		drill(t, s, time.Hour, drills.RunFailed, "", met("payments"), met("auth"))
		if got := last(); len(got) != 1 || !got["payments"].Equal(*r1.EndedAt) {
			t.Fatalf("after a failed drill: %v, want payments at %v", got, *r1.EndedAt)
		}
		r3 := drill(t, s, 2*time.Hour, drills.RunSucceeded, "", met("payments"), met("auth"))
		if got := last(); len(got) != 2 || !got["payments"].Equal(*r3.EndedAt) || !got["auth"].Equal(*r3.EndedAt) {
			t.Fatalf("after the second passing drill: %v, want both at %v", got, *r3.EndedAt)
		}
	})
}

// TestAuditProgressOnly: a running run's steps and milestones are progress; its end, another
// run's creation and an operation are not.
func TestAuditProgressOnly(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		head := func() int64 {
			t.Helper()
			h, _, err := s.AuditHead(ctx)
			if err != nil {
				t.Fatal(err)
			}
			return h
		}
		progress := func(after int64) bool {
			t.Helper()
			ok, err := s.AuditProgressOnly(ctx, after, head())
			if err != nil {
				t.Fatal(err)
			}
			return ok
		}
		b := setup(t, s)
		if err := s.RunStateSet(ctx, &store.RunStateSetParams{RunID: b.run.ID, Epoch: b.epoch, State: drills.RunRunning, At: at(0)}); err != nil {
			t.Fatal(err)
		}
		h0 := head()
		if !progress(h0) {
			t.Error("no rows since: not progress only")
		}
		if err := s.RunMilestone(ctx, &store.RunMilestoneParams{RunID: b.run.ID, Epoch: b.epoch, Milestone: drills.MilestoneDisaster, At: at(time.Second)}); err != nil {
			t.Fatal(err)
		}
		id, err := s.StepStart(ctx, &store.StepStartParams{RunID: b.run.ID, Epoch: b.epoch, Seq: 1, Key: "promote", Action: "postgres.promote",
			Service: "payments", Idempotent: true, Timeout: time.Minute, At: at(2 * time.Second)})
		if err != nil {
			t.Fatal(err)
		}
		if err := s.StepFinish(ctx, &store.StepFinishParams{RunID: b.run.ID, Epoch: b.epoch, StepID: id, State: drills.StepSucceeded, At: at(3 * time.Second)}); err != nil {
			t.Fatal(err)
		}
		if head() == h0 {
			t.Fatal("the steps moved no audit row")
		}
		if !progress(h0) {
			t.Error("a milestone and a step: not progress only")
		}
		h1 := head()
		if err := s.RunFinish(ctx, &store.RunFinishParams{RunID: b.run.ID, Epoch: b.epoch, State: drills.RunSucceeded, At: at(time.Minute),
			Measurements: []store.MeasurementInput{met("payments")}}); err != nil {
			t.Fatal(err)
		}
		if progress(h1) || progress(h0) {
			t.Error("a run's end counts as progress")
		}
		h2 := head()
		setup(t, s) // a new run
		if progress(h2) {
			t.Error("a run's creation counts as progress")
		}
		h3 := head()
		if _, err := s.OperationRecord(ctx, &store.OperationRecordParams{Actor: person("kim"), Operation: "finding.update", Target: "F-1",
			Outcome: store.OutcomeOK, At: at(2 * time.Minute)}); err != nil {
			t.Fatal(err)
		}
		if progress(h3) {
			t.Error("an operation counts as progress")
		}
	})
}
