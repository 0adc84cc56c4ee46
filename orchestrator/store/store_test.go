package store_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/firedrill/firedrill/drills"
	"github.com/firedrill/firedrill/orchestrator/store"
	"github.com/firedrill/firedrill/orchestrator/store/storetest"
)

// kst is a non-UTC zone, to prove times come back in UTC.
var kst = time.FixedZone("KST", 9*60*60)

// base is a reading with sub-millisecond digits, to prove truncation to milliseconds.
var base = time.Date(2026, 3, 14, 9, 26, 53, 589793238, kst)

func at(offset time.Duration) time.Time { return base.Add(offset) }

// wantTime is how the store must return t: UTC, truncated to milliseconds.
func wantTime(t time.Time) time.Time { return t.UTC().Truncate(time.Millisecond) }

func assertTime(t *testing.T, what string, got *time.Time, want time.Time) {
	t.Helper()
	switch {
	case got == nil:
		t.Errorf("%s = nil, want %v", what, wantTime(want))
	case !got.Equal(wantTime(want)) || got.Location() != time.UTC:
		t.Errorf("%s = %v, want %v (UTC, ms)", what, *got, wantTime(want))
	}
}

func ptr[T any](v T) *T { return &v }

// tester is the system actor the tests record runs and requests with.
var tester = drills.Actor{Kind: drills.ActorSystem, Name: "test"}

// person is an authenticated user acting through the API.
func person(name string) drills.Actor {
	return drills.Actor{Kind: drills.ActorUser, Name: name, Via: drills.ViaAPI}
}

type bundle struct {
	s     *store.Store
	plan  *store.PlanRecord
	run   *store.Run
	epoch int64
}

// setup stores a plan and a run, claimed by "replica-a".
func setup(t *testing.T, s *store.Store) *bundle {
	t.Helper()
	ctx := context.Background()
	plan, err := s.PlanSave(ctx, store.PlanSaveParams{Name: "sangam-site-loss", File: "plans/site-loss.hcl", Source: []byte(`plan "sangam-site-loss" {}`)})
	if err != nil {
		t.Fatalf("PlanSave: %v", err)
	}
	run, err := s.RunInsert(ctx, &store.RunInsertParams{
		PlanID: plan.ID, PlanName: plan.Name, EstateSHA256: "abc", FromSite: "sangam", ToSite: "yatap", RequestedBy: drills.Actor{Kind: drills.ActorSchedule, Name: "yearly"},
	})
	if err != nil {
		t.Fatalf("RunInsert: %v", err)
	}
	epoch, err := s.RunClaim(ctx, &store.RunClaimParams{RunID: run.ID, Owner: "replica-a", LeaseFor: time.Minute})
	if err != nil {
		t.Fatalf("RunClaim: %v", err)
	}
	return &bundle{s: s, plan: plan, run: run, epoch: epoch}
}

// claimRunning claims run for "replica-r" and moves it to running, as a runner does before
// anything can end it succeeded or failed.
func claimRunning(t *testing.T, s *store.Store, runID string) int64 {
	t.Helper()
	ctx := context.Background()
	epoch, err := s.RunClaim(ctx, &store.RunClaimParams{RunID: runID, Owner: "replica-r", LeaseFor: time.Minute})
	if err != nil {
		t.Fatalf("RunClaim: %v", err)
	}
	if err := s.RunStateSet(ctx, &store.RunStateSetParams{RunID: runID, Epoch: epoch, State: drills.RunRunning}); err != nil {
		t.Fatalf("RunStateSet running: %v", err)
	}
	return epoch
}

func assertEventsGapless(t *testing.T, s *store.Store, runID string) []*store.RunEvent {
	t.Helper()
	evs, err := s.RunEventList(context.Background(), runID)
	if err != nil {
		t.Fatalf("RunEventList: %v", err)
	}
	for i, ev := range evs {
		if ev.Seq != i+1 || ev.RunID != runID {
			t.Errorf("event %d: seq %d run %s, want seq %d run %s", i, ev.Seq, ev.RunID, i+1, runID)
		}
		if ev.At.Location() != time.UTC || !ev.At.Equal(ev.At.Truncate(time.Millisecond)) {
			t.Errorf("event %d at %v: want UTC at ms precision", ev.Seq, ev.At)
		}
		if ev.Data != nil && !json.Valid(ev.Data) {
			t.Errorf("event %d data %s: not JSON", ev.Seq, ev.Data)
		}
	}
	return evs
}

func kinds(evs []*store.RunEvent) []string {
	out := make([]string, len(evs))
	for i, ev := range evs {
		out[i] = ev.Kind
	}
	return out
}

func jsonEqual(t *testing.T, a, b []byte) bool {
	t.Helper()
	var va, vb any
	if err := json.Unmarshal(a, &va); err != nil {
		t.Fatalf("unmarshal %s: %v", a, err)
	}
	if err := json.Unmarshal(b, &vb); err != nil {
		t.Fatalf("unmarshal %s: %v", b, err)
	}
	return reflect.DeepEqual(va, vb)
}

func TestRunLifecycle(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		b := setup(t, s)
		if b.epoch != 1 {
			t.Fatalf("first RunClaim epoch = %d, want 1", b.epoch)
		}
		if b.run.State != drills.RunPending || b.run.LeaseEpoch != 0 || b.run.CreatedAt.Location() != time.UTC {
			t.Errorf("RunInsert = %+v, want pending, epoch 0, UTC", b.run)
		}

		if err := s.RunStateSet(ctx, &store.RunStateSetParams{RunID: b.run.ID, Epoch: b.epoch, State: drills.RunRunning, Reason: "pre-flight passed", At: at(0)}); err != nil {
			t.Fatalf("RunStateSet running: %v", err)
		}
		if err := s.RunMilestone(ctx, &store.RunMilestoneParams{RunID: b.run.ID, Epoch: b.epoch, Milestone: drills.MilestoneDisaster, At: at(time.Second)}); err != nil {
			t.Fatalf("RunMilestone disaster: %v", err)
		}
		stepID, err := s.StepStart(ctx, &store.StepStartParams{
			RunID: b.run.ID, Epoch: b.epoch, Seq: 1, Key: "lose-sangam", Name: "Lose Sangam", Action: "nomad.drain_site",
			Site: "sangam", Idempotent: true, Timeout: 90 * time.Second, At: at(time.Second),
		})
		if err != nil {
			t.Fatalf("StepStart: %v", err)
		}
		evidence := json.RawMessage(`{"drained_nodes": ["n1", "n2"], "nested": {"ok": true, "n": 3}}`)
		if err := s.StepFinish(ctx, &store.StepFinishParams{
			RunID: b.run.ID, Epoch: b.epoch, StepID: stepID, State: drills.StepSucceeded, Evidence: evidence, At: at(3*time.Second + 250*time.Millisecond),
		}); err != nil {
			t.Fatalf("StepFinish: %v", err)
		}
		// Going through running again must not move started_at.
		if err := s.RunStateSet(ctx, &store.RunStateSetParams{RunID: b.run.ID, Epoch: b.epoch, State: drills.RunWaitingOperator, At: at(4 * time.Second)}); err != nil {
			t.Fatalf("RunStateSet waiting_operator: %v", err)
		}
		if err := s.RunStateSet(ctx, &store.RunStateSetParams{RunID: b.run.ID, Epoch: b.epoch, State: drills.RunRunning, At: at(5 * time.Second)}); err != nil {
			t.Fatalf("RunStateSet running again: %v", err)
		}
		if err := s.RunMilestone(ctx, &store.RunMilestoneParams{RunID: b.run.ID, Epoch: b.epoch, Milestone: drills.MilestoneRestored, At: at(61 * time.Second)}); err != nil {
			t.Fatalf("RunMilestone restored: %v", err)
		}
		// A repeated milestone is recorded but does not move T0.
		if err := s.RunMilestone(ctx, &store.RunMilestoneParams{RunID: b.run.ID, Epoch: b.epoch, Milestone: drills.MilestoneDisaster, At: at(62 * time.Second)}); err != nil {
			t.Fatalf("RunMilestone disaster again: %v", err)
		}
		rto := 60 * time.Second
		meas := []store.MeasurementInput{
			{
				Service: "auth", Criticality: drills.CriticalityCore, RTOObjective: 30 * time.Minute, RTOActual: &rto,
				Restored: true, RestoredAt: ptr(at(61 * time.Second)), RTOMet: true, RPOObjective: 0,
				Resolution: 50 * time.Millisecond, Reason: "", Evidence: json.RawMessage(`{"checks":[{"url":"https://auth.yatap.example/healthz","status":200}]}`),
			},
			{
				Service: "payments", Criticality: drills.CriticalityCore, RTOObjective: time.Hour, RTOActual: &rto,
				Restored: true, RestoredAt: ptr(at(61 * time.Second)), RTOMet: true, RPOObjective: 5 * time.Second,
				RPOActual: ptr(1200 * time.Millisecond), RPOLostRows: ptr(int64(6)), RPOMet: ptr(true), Resolution: 200 * time.Millisecond,
				RPOInputs: &drills.RPOInputs{FirstPrimarySeq: 1, FirstPrimaryAt: at(-30 * time.Second), LastPrimarySeq: 40,
					LastPrimaryAt: at(800 * time.Millisecond), LastDRSeq: 34, LastDRAt: at(-400 * time.Millisecond), Evidenced: true},
			},
		}
		t0 := at(time.Second)
		if err := s.RunFinish(ctx, &store.RunFinishParams{
			RunID: b.run.ID, Epoch: b.epoch, State: drills.RunSucceeded, Reason: "all objectives met", At: at(70 * time.Second),
			RTOActual: &rto, ObjectivesMet: ptr(true), Measurements: meas, T0: &t0,
		}); err != nil {
			t.Fatalf("RunFinish: %v", err)
		}

		run, err := s.RunGet(ctx, b.run.ID)
		if err != nil {
			t.Fatalf("RunGet: %v", err)
		}
		if run.State != drills.RunSucceeded || run.StateReason != "all objectives met" || run.PlanID != b.plan.ID ||
			run.FromSite != "sangam" || run.ToSite != "yatap" || run.RequestedBy != (drills.Actor{Kind: drills.ActorSchedule, Name: "yearly"}) || run.PlanSHA256 != b.plan.SHA256 || run.EstateSHA256 != "abc" {
			t.Errorf("RunGet = %+v", run)
		}
		assertTime(t, "StartedAt", run.StartedAt, at(0))
		assertTime(t, "T0", run.T0, at(time.Second))
		assertTime(t, "T1", run.T1, at(61*time.Second))
		assertTime(t, "EndedAt", run.EndedAt, at(70*time.Second))
		if run.RTOActual == nil || *run.RTOActual != rto || run.ObjectivesMet == nil || !*run.ObjectivesMet {
			t.Errorf("RunGet RTOActual %v ObjectivesMet %v, want %v true", run.RTOActual, run.ObjectivesMet, rto)
		}
		if run.LeaseOwner != "" || run.LeaseExpiresAt != nil || run.LeaseEpoch != b.epoch {
			t.Errorf("RunGet lease = %q %v %d, want released at epoch %d", run.LeaseOwner, run.LeaseExpiresAt, run.LeaseEpoch, b.epoch)
		}

		steps, err := s.StepResultList(ctx, b.run.ID)
		if err != nil || len(steps) != 1 {
			t.Fatalf("StepResultList = %v, %v; want 1 step", steps, err)
		}
		st := steps[0]
		if st.ID != stepID || st.Key != "lose-sangam" || st.Name != "Lose Sangam" || st.Action != "nomad.drain_site" || st.Site != "sangam" ||
			st.Attempt != 1 || st.State != drills.StepSucceeded || !st.Idempotent || st.Timeout != 90*time.Second || st.Seq != 1 {
			t.Errorf("StepResultList[0] = %+v", st)
		}
		assertTime(t, "step StartedAt", &st.StartedAt, at(time.Second))
		assertTime(t, "step EndedAt", st.EndedAt, at(3*time.Second+250*time.Millisecond))
		wantDur := wantTime(at(3*time.Second + 250*time.Millisecond)).Sub(wantTime(at(time.Second)))
		if st.Duration == nil || *st.Duration != wantDur {
			t.Errorf("step Duration = %v, want %v", st.Duration, wantDur)
		}
		if !jsonEqual(t, st.Evidence, evidence) {
			t.Errorf("step Evidence = %s, want %s", st.Evidence, evidence)
		}

		ms, err := s.MeasurementList(ctx, b.run.ID)
		if err != nil || len(ms) != 2 {
			t.Fatalf("MeasurementList = %v, %v; want 2", ms, err)
		}
		for i, m := range ms {
			want := meas[i]
			if m.RunID != b.run.ID || m.ID == "" {
				t.Errorf("measurement %s: RunID %q ID %q", m.Service, m.RunID, m.ID)
			}
			got := m.MeasurementInput
			assertTime(t, "RestoredAt", got.RestoredAt, *want.RestoredAt)
			got.RestoredAt, want.RestoredAt = nil, nil
			if want.Evidence != nil && !jsonEqual(t, got.Evidence, want.Evidence) {
				t.Errorf("measurement %s evidence = %s, want %s", m.Service, got.Evidence, want.Evidence)
			}
			got.Evidence, want.Evidence = nil, nil
			// The canary's inputs are kept in the run's measurement event, not the row.
			want.RPOInputs = nil
			if !reflect.DeepEqual(got, want) {
				t.Errorf("measurement %d = %+v, want %+v", i, got, want)
			}
		}

		evs := assertEventsGapless(t, s, b.run.ID)
		wantKinds := []string{
			store.EventRunCreated, store.EventRunClaimed, store.EventRunState, store.EventMilestone,
			store.EventStepStarted, store.EventStepFinished, store.EventRunState, store.EventRunState,
			store.EventMilestone, store.EventMilestone, drills.EventMeasurement, drills.EventMeasurement, store.EventRunFinished,
		}
		if got := kinds(evs); !reflect.DeepEqual(got, wantKinds) {
			t.Errorf("event kinds = %v, want %v", got, wantKinds)
		}
		// Each measurement event carries the raw inputs its figures are recomputed from.
		for i, ev := range evs[10:12] {
			var m drills.MeasurementEvidence
			if err := json.Unmarshal(ev.Data, &m); err != nil {
				t.Fatalf("measurement event %d data %s: %v", i, ev.Data, err)
			}
			if m.Service != meas[i].Service || m.RTO() == nil || *m.RTO() != rto.Milliseconds() || !reflect.DeepEqual(m.RTOMS, m.RTO()) {
				t.Errorf("measurement event %d = %s: want %s with an RTO of %dms that its T0 and restored moment give", i, ev.Data, meas[i].Service, rto.Milliseconds())
			}
			if !reflect.DeepEqual(m.RPOMS, m.RPOFigure()) {
				t.Errorf("measurement event %d: RPO recorded %v, its inputs give %v", i, m.RPOMS, m.RPOFigure())
			}
		}
		if evs[4].StepKey != "lose-sangam" || evs[5].StepKey != "lose-sangam" {
			t.Errorf("step events step_key = %q, %q", evs[4].StepKey, evs[5].StepKey)
		}
		if !evs[5].At.Equal(wantTime(at(3*time.Second + 250*time.Millisecond))) {
			t.Errorf("step_finished at %v", evs[5].At)
		}
	})
}

func TestFencing(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		b := setup(t, s)
		oldEpoch := b.epoch
		stepID, err := s.StepStart(ctx, &store.StepStartParams{RunID: b.run.ID, Epoch: oldEpoch, Seq: 1, Key: "promote", Action: "postgres.promote"})
		if err != nil {
			t.Fatalf("StepStart: %v", err)
		}
		newEpoch, err := s.RunClaim(ctx, &store.RunClaimParams{RunID: b.run.ID, Owner: "replica-b", LeaseFor: time.Minute})
		if err != nil || newEpoch != oldEpoch+1 {
			t.Fatalf("second RunClaim = %d, %v; want %d", newEpoch, err, oldEpoch+1)
		}
		tests := []struct {
			name string
			call func(epoch int64) error
		}{
			{"StepStart", func(e int64) error {
				_, err := s.StepStart(ctx, &store.StepStartParams{RunID: b.run.ID, Epoch: e, Seq: 2, Key: "start-" + fmt.Sprint(e), Action: "nomad.run_job"})
				return err
			}},
			{"StepFinish", func(e int64) error {
				return s.StepFinish(ctx, &store.StepFinishParams{RunID: b.run.ID, Epoch: e, StepID: stepID, State: drills.StepUnknown})
			}},
			{"RunLeaseRenew", func(e int64) error {
				return s.RunLeaseRenew(ctx, &store.RunLeaseRenewParams{RunID: b.run.ID, Epoch: e, LeaseFor: time.Minute})
			}},
			{"RunStateSet", func(e int64) error {
				return s.RunStateSet(ctx, &store.RunStateSetParams{RunID: b.run.ID, Epoch: e, State: drills.RunRunning})
			}},
			{"RunMilestone", func(e int64) error {
				return s.RunMilestone(ctx, &store.RunMilestoneParams{RunID: b.run.ID, Epoch: e, Milestone: drills.MilestoneDisaster})
			}},
			{"RunFinish", func(e int64) error {
				return s.RunFinish(ctx, &store.RunFinishParams{RunID: b.run.ID, Epoch: e, State: drills.RunFailed})
			}},
		}
		for _, tt := range tests {
			if err := tt.call(oldEpoch); !errors.Is(err, store.ErrLeaseLost) {
				t.Errorf("%s(stale epoch %d) = %v, want ErrLeaseLost", tt.name, oldEpoch, err)
			}
		}
		// The stale calls changed nothing: no step, no event, same state.
		evsBefore := assertEventsGapless(t, s, b.run.ID)
		run, err := s.RunGet(ctx, b.run.ID)
		if err != nil || run.State != drills.RunPending || run.LeaseOwner != "replica-b" || run.LeaseEpoch != newEpoch || run.T0 != nil {
			t.Fatalf("RunGet after stale writes = %+v, %v", run, err)
		}
		for _, tt := range tests {
			if err := tt.call(newEpoch); err != nil {
				t.Errorf("%s(current epoch %d) = %v", tt.name, newEpoch, err)
			}
		}
		evs := assertEventsGapless(t, s, b.run.ID)
		if len(evs) <= len(evsBefore) {
			t.Errorf("events after current-epoch writes = %d, want more than %d", len(evs), len(evsBefore))
		}
		wantKinds := []string{store.EventRunCreated, store.EventRunClaimed, store.EventStepStarted, store.EventRunClaimed}
		if got := kinds(evsBefore); !reflect.DeepEqual(got, wantKinds) {
			t.Errorf("events after stale writes = %v, want %v", got, wantKinds)
		}
		var claimed struct {
			Owner         string `json:"owner"`
			Epoch         int64  `json:"epoch"`
			PreviousOwner string `json:"previous_owner"`
		}
		if err := json.Unmarshal(evsBefore[3].Data, &claimed); err != nil || claimed.Owner != "replica-b" || claimed.Epoch != newEpoch || claimed.PreviousOwner != "replica-a" {
			t.Errorf("run_claimed data = %s (%v)", evsBefore[3].Data, err)
		}
	})
}

func TestLeaseRenewAndFencedWritesExtendLease(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		b := setup(t, s)
		before := time.Now()
		if err := s.RunLeaseRenew(ctx, &store.RunLeaseRenewParams{RunID: b.run.ID, Epoch: b.epoch, LeaseFor: time.Hour}); err != nil {
			t.Fatalf("RunLeaseRenew: %v", err)
		}
		run, err := s.RunGet(ctx, b.run.ID)
		if err != nil {
			t.Fatalf("RunGet: %v", err)
		}
		if run.LeaseExpiresAt == nil || run.LeaseExpiresAt.Before(before.Add(time.Hour-time.Second)) || run.LeaseExpiresAt.After(time.Now().Add(time.Hour)) {
			t.Errorf("LeaseExpiresAt after renew for 1h = %v, want about now+1h", run.LeaseExpiresAt)
		}
		if err := s.RunLeaseRenew(ctx, &store.RunLeaseRenewParams{RunID: b.run.ID, Epoch: b.epoch, LeaseFor: 0}); err == nil {
			t.Errorf("RunLeaseRenew(0) = nil, want error")
		}
		if err := s.RunLeaseRenew(ctx, &store.RunLeaseRenewParams{RunID: "no-such-run", Epoch: 1, LeaseFor: time.Minute}); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("RunLeaseRenew(unknown run) = %v, want ErrNotFound", err)
		}
	})
}

func TestNotFound(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		b := setup(t, s)
		tests := []struct {
			name string
			call func() error
		}{
			{"RunGet", func() error { _, err := s.RunGet(ctx, "0190c0de-0000-7000-8000-000000000000"); return err }},
			{"PlanGet", func() error { _, err := s.PlanGet(ctx, "nope"); return err }},
			{"RunClaim", func() error {
				_, err := s.RunClaim(ctx, &store.RunClaimParams{RunID: "nope", Owner: "x", LeaseFor: time.Minute})
				return err
			}},
			{"RunInsert unknown plan", func() error {
				_, err := s.RunInsert(ctx, &store.RunInsertParams{PlanID: "nope", PlanName: "p", RequestedBy: tester})
				return err
			}},
			{"StepStart unknown run", func() error {
				_, err := s.StepStart(ctx, &store.StepStartParams{RunID: "nope", Epoch: 1, Key: "k", Action: "a"})
				return err
			}},
			{"StepFinish unknown step", func() error {
				return s.StepFinish(ctx, &store.StepFinishParams{RunID: b.run.ID, Epoch: b.epoch, StepID: "nope", State: drills.StepFailed})
			}},
		}
		for _, tt := range tests {
			if err := tt.call(); !errors.Is(err, store.ErrNotFound) {
				t.Errorf("%s = %v, want ErrNotFound", tt.name, err)
			}
		}
		// A failed write leaves no trace in the timeline.
		if evs := assertEventsGapless(t, s, b.run.ID); len(evs) != 2 {
			t.Errorf("events = %v, want run_created and run_claimed only", kinds(evs))
		}
		for _, list := range []func() (int, error){
			func() (int, error) { l, err := s.StepResultList(ctx, "nope"); return len(l), err },
			func() (int, error) { l, err := s.MeasurementList(ctx, "nope"); return len(l), err },
			func() (int, error) { l, err := s.RunEventList(ctx, "nope"); return len(l), err },
		} {
			if n, err := list(); n != 0 || err != nil {
				t.Errorf("list of unknown run = %d, %v; want 0, nil", n, err)
			}
		}
	})
}

func TestRunTerminal(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		b := setup(t, s)
		if err := s.RunFinish(ctx, &store.RunFinishParams{RunID: b.run.ID, Epoch: b.epoch, State: drills.RunRunning}); err == nil || errors.Is(err, store.ErrLeaseLost) {
			t.Fatalf("RunFinish(running) = %v, want a validation error", err)
		}
		if err := s.RunStateSet(ctx, &store.RunStateSetParams{RunID: b.run.ID, Epoch: b.epoch, State: drills.RunSucceeded}); err == nil {
			t.Fatalf("RunStateSet(succeeded) = nil, want error (terminal states go through RunFinish)")
		}
		if err := s.RunFinish(ctx, &store.RunFinishParams{RunID: b.run.ID, Epoch: b.epoch, State: drills.RunBlocked, Reason: "DR site unreachable"}); err != nil {
			t.Fatalf("RunFinish(blocked): %v", err)
		}
		if _, err := s.RunClaim(ctx, &store.RunClaimParams{RunID: b.run.ID, Owner: "replica-b", LeaseFor: time.Minute}); !errors.Is(err, store.ErrRunTerminal) {
			t.Errorf("RunClaim(finished run) = %v, want ErrRunTerminal", err)
		}
		if _, err := s.StepStart(ctx, &store.StepStartParams{RunID: b.run.ID, Epoch: b.epoch, Key: "late", Action: "command"}); !errors.Is(err, store.ErrRunTerminal) {
			t.Errorf("StepStart(finished run) = %v, want ErrRunTerminal", err)
		}
		if err := s.RunFinish(ctx, &store.RunFinishParams{RunID: b.run.ID, Epoch: b.epoch, State: drills.RunFailed}); !errors.Is(err, store.ErrRunTerminal) {
			t.Errorf("RunFinish(finished run) = %v, want ErrRunTerminal", err)
		}
		run, err := s.RunGet(ctx, b.run.ID)
		if err != nil || run.State != drills.RunBlocked || run.StateReason != "DR site unreachable" || run.EndedAt == nil || run.LeaseOwner != "" || run.LeaseExpiresAt != nil {
			t.Errorf("RunGet = %+v, %v; want blocked, ended, lease released", run, err)
		}
		if _, err := s.RunInsert(ctx, &store.RunInsertParams{PlanID: b.plan.ID, PlanName: b.plan.Name, State: drills.RunSucceeded, RequestedBy: tester}); err == nil {
			t.Errorf("RunInsert(terminal state) = nil, want error")
		}
	})
}

func TestStepAttempts(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		b := setup(t, s)
		start := func(seq, attempt int, key string) (string, error) {
			return s.StepStart(ctx, &store.StepStartParams{RunID: b.run.ID, Epoch: b.epoch, Seq: seq, Key: key, Action: "nomad.run_job", Attempt: attempt, At: at(time.Duration(seq*10+attempt) * time.Second)})
		}
		first, err := start(2, 0, "start-services")
		if err != nil {
			t.Fatalf("StepStart attempt 1: %v", err)
		}
		if _, err := start(2, 1, "start-services"); !errors.Is(err, store.ErrDuplicate) {
			t.Errorf("StepStart same attempt again = %v, want ErrDuplicate", err)
		}
		if err := s.StepFinish(ctx, &store.StepFinishParams{RunID: b.run.ID, Epoch: b.epoch, StepID: first, State: drills.StepFailed, Error: "job failed to place", At: at(25 * time.Second)}); err != nil {
			t.Fatalf("StepFinish: %v", err)
		}
		if err := s.StepFinish(ctx, &store.StepFinishParams{RunID: b.run.ID, Epoch: b.epoch, StepID: first, State: drills.StepSucceeded}); err == nil {
			t.Errorf("second StepFinish = nil, want error")
		}
		if err := s.StepFinish(ctx, &store.StepFinishParams{RunID: b.run.ID, Epoch: b.epoch, StepID: first, State: drills.StepSucceeded, Evidence: json.RawMessage(`{oops`)}); err == nil || !strings.Contains(err.Error(), "JSON") {
			t.Errorf("StepFinish(invalid evidence) = %v, want a JSON error", err)
		}
		if _, err := start(2, 2, "start-services"); err != nil {
			t.Fatalf("StepStart attempt 2: %v", err)
		}
		if _, err := start(1, 1, "promote-ledger"); err != nil {
			t.Fatalf("StepStart seq 1: %v", err)
		}
		steps, err := s.StepResultList(ctx, b.run.ID)
		if err != nil {
			t.Fatalf("StepResultList: %v", err)
		}
		var got []string
		for _, st := range steps {
			got = append(got, fmt.Sprintf("%d/%s/%d/%s", st.Seq, st.Key, st.Attempt, st.State))
		}
		want := []string{"1/promote-ledger/1/running", "2/start-services/1/failed", "2/start-services/2/running"}
		if !reflect.DeepEqual(got, want) {
			t.Errorf("StepResultList = %v, want %v", got, want)
		}
		if steps[1].Error != "job failed to place" || steps[1].Evidence != nil || steps[2].EndedAt != nil || steps[2].Duration != nil {
			t.Errorf("StepResultList details = %+v / %+v", steps[1], steps[2])
		}
		assertEventsGapless(t, s, b.run.ID)
	})
}

// TestConcurrentWritesKeepEventSeqGapless hammers one run from many goroutines holding the same
// epoch: the fence must serialise them so that event seq stays 1..n.
func TestConcurrentWritesKeepEventSeqGapless(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		b := setup(t, s)
		const n = 16
		var wg sync.WaitGroup
		errs := make(chan error, n)
		for i := range n {
			wg.Go(func() {
				_, err := s.StepStart(ctx, &store.StepStartParams{RunID: b.run.ID, Epoch: b.epoch, Seq: i, Key: fmt.Sprintf("step-%02d", i), Action: "command"})
				errs <- err
			})
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			if err != nil {
				t.Errorf("concurrent StepStart: %v", err)
			}
		}
		if evs := assertEventsGapless(t, s, b.run.ID); len(evs) != n+2 {
			t.Errorf("events = %d, want %d", len(evs), n+2)
		}
	})
}

func TestRunList(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		plan, err := s.PlanSave(ctx, store.PlanSaveParams{Name: "a", Source: []byte("a")})
		if err != nil {
			t.Fatalf("PlanSave: %v", err)
		}
		other, err := s.PlanSave(ctx, store.PlanSaveParams{Name: "b", Source: []byte("b")})
		if err != nil {
			t.Fatalf("PlanSave: %v", err)
		}
		var ids []string
		for i := range 5 {
			p := plan
			st := drills.RunPending
			var roles []string
			if i%2 == 1 {
				p, st, roles = other, drills.RunAwaitingApproval, []string{drills.RoleSRE}
			}
			r, err := s.RunInsert(ctx, &store.RunInsertParams{PlanID: p.ID, PlanName: p.Name, State: st, RequestedBy: tester, ApprovalRoles: roles})
			if err != nil {
				t.Fatalf("RunInsert: %v", err)
			}
			ids = append(ids, r.ID)
		}
		idsOf := func(rs []*store.Run) []string {
			out := []string{}
			for _, r := range rs {
				out = append(out, r.ID)
			}
			return out
		}
		tests := []struct {
			name string
			p    store.RunListParams
			want []string
		}{
			{"all newest first", store.RunListParams{}, []string{ids[4], ids[3], ids[2], ids[1], ids[0]}},
			{"by plan", store.RunListParams{PlanName: "b"}, []string{ids[3], ids[1]}},
			{"by state", store.RunListParams{States: []drills.RunState{drills.RunPending}}, []string{ids[4], ids[2], ids[0]}},
			{"by states", store.RunListParams{States: []drills.RunState{drills.RunPending, drills.RunAwaitingApproval}, Limit: 2}, []string{ids[4], ids[3]}},
			{"plan and state", store.RunListParams{PlanName: "a", States: []drills.RunState{drills.RunAwaitingApproval}}, []string{}},
			{"limit above max", store.RunListParams{Limit: 5000}, []string{ids[4], ids[3], ids[2], ids[1], ids[0]}},
		}
		for _, tt := range tests {
			got, err := s.RunList(ctx, &tt.p)
			if err != nil {
				t.Fatalf("RunList(%s): %v", tt.name, err)
			}
			if !reflect.DeepEqual(idsOf(got.Runs), tt.want) {
				t.Errorf("RunList(%s) = %v, want %v", tt.name, idsOf(got.Runs), tt.want)
			}
		}
	})
}

func TestPlanSave(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		src := []byte("plan \"x\" {\n  from = \"sangam\"\n}\n")
		first, err := s.PlanSave(ctx, store.PlanSaveParams{Name: "x", File: "plans/x.hcl", Source: src})
		if err != nil {
			t.Fatalf("PlanSave: %v", err)
		}
		again, err := s.PlanSave(ctx, store.PlanSaveParams{Name: "x", File: "elsewhere/x.hcl", Source: src, SHA256: first.SHA256})
		if err != nil {
			t.Fatalf("PlanSave again: %v", err)
		}
		if again.ID != first.ID || again.File != "plans/x.hcl" || !again.CreatedAt.Equal(first.CreatedAt) {
			t.Errorf("PlanSave again = %+v, want the first row %+v", again, first)
		}
		changed, err := s.PlanSave(ctx, store.PlanSaveParams{Name: "x", Source: append(src, '\n')})
		if err != nil || changed.ID == first.ID {
			t.Errorf("PlanSave changed source = %+v, %v; want a new row", changed, err)
		}
		got, err := s.PlanGet(ctx, first.ID)
		if err != nil {
			t.Fatalf("PlanGet: %v", err)
		}
		if !bytes.Equal(got.Source, src) || got.Name != "x" || len(got.SHA256) != 64 || got.CreatedAt.Location() != time.UTC {
			t.Errorf("PlanGet = %+v", got)
		}
		if _, err := s.PlanSave(ctx, store.PlanSaveParams{Name: "x", Source: src, SHA256: strings.Repeat("0", 64)}); err == nil {
			t.Errorf("PlanSave(wrong SHA256) = nil, want error")
		}
		if _, err := s.PlanSave(ctx, store.PlanSaveParams{Source: src}); err == nil {
			t.Errorf("PlanSave(no name) = nil, want error")
		}
	})
}

func TestEstateSaveStoresTokenReferencesOnly(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		cfg := &drills.Estate{
			File: "firedrill.hcl",
			Sites: []*drills.Site{
				{Name: "sangam", Role: drills.SiteRolePrimary, Ingress: "https://sangam.example",
					Nomad:     &drills.NomadEndpoint{Address: "https://nomad.sangam.example:4646", Region: "kr-sangam", Datacenter: "dc1", Namespace: "default", TokenEnv: "NOMAD_TOKEN_SANGAM"},
					Databases: []*drills.Database{{Name: "ledger", DSNEnv: "LEDGER_SANGAM_DSN"}}},
				{Name: "yatap", Role: drills.SiteRoleDR,
					Nomad: &drills.NomadEndpoint{Address: "https://nomad.yatap.example:4646", Region: "kr-yatap", TokenFile: "/etc/firedrill/yatap.token"}},
			},
			Services: []*drills.Service{
				{Name: "auth", Criticality: drills.CriticalityCore, RTO: 30 * time.Minute, NomadJob: "auth",
					Checks: []*drills.Check{{Kind: drills.CheckHTTP, URL: "https://auth.{site}.example/healthz", ExpectStatus: 200, Interval: 50 * time.Millisecond}}},
				{Name: "payments", Criticality: drills.CriticalityCore, RTO: time.Hour, RPO: 5 * time.Second, DependsOn: []string{"auth"},
					Canary: &drills.Canary{Database: "ledger", Table: "firedrill_canary", Interval: 200 * time.Millisecond}},
			},
		}
		src := []byte("site \"sangam\" {}\n")
		if err := s.EstateSave(ctx, cfg, src); err != nil {
			t.Fatalf("EstateSave: %v", err)
		}
		if err := s.EstateSave(ctx, cfg, src); err != nil {
			t.Fatalf("EstateSave again (idempotent): %v", err)
		}
		db := s.DBForTest()
		type siteRow struct {
			Name, Role, TokenRef, NomadRegion, Databases, EstateSHA256 string
		}
		var sites []siteRow
		if err := db.Table("sites").Select("name, role, token_ref, nomad_region, databases, estate_sha256").Order("name").Scan(&sites).Error; err != nil {
			t.Fatalf("select sites: %v", err)
		}
		if len(sites) != 2 {
			t.Fatalf("sites = %+v, want 2", sites)
		}
		wantRefs := map[string]string{"sangam": "env:NOMAD_TOKEN_SANGAM", "yatap": "file:/etc/firedrill/yatap.token"}
		for _, site := range sites {
			if site.TokenRef != wantRefs[site.Name] {
				t.Errorf("site %s token_ref = %q, want %q", site.Name, site.TokenRef, wantRefs[site.Name])
			}
			if len(site.EstateSHA256) != 64 {
				t.Errorf("site %s estate_sha256 = %q", site.Name, site.EstateSHA256)
			}
		}
		if !jsonEqual(t, []byte(sites[0].Databases), []byte(`[{"name":"ledger","dsn_ref":"env:LEDGER_SANGAM_DSN"}]`)) {
			t.Errorf("sangam databases = %s", sites[0].Databases)
		}
		type serviceRow struct {
			Name      string
			RtoMs     int64
			RpoMs     int64
			DependsOn string
			Checks    string
		}
		var svcs []serviceRow
		if err := db.Table("services").Select(`name, rto_ms, rpo_ms, depends_on, "checks"`).Order("name").Scan(&svcs).Error; err != nil {
			t.Fatalf("select services: %v", err)
		}
		if len(svcs) != 2 || svcs[1].RtoMs != 3600000 || svcs[1].RpoMs != 5000 || !jsonEqual(t, []byte(svcs[1].DependsOn), []byte(`["auth"]`)) ||
			!jsonEqual(t, []byte(svcs[0].DependsOn), []byte(`[]`)) ||
			!jsonEqual(t, []byte(svcs[0].Checks), []byte(`[{"kind":"http","url":"https://auth.{site}.example/healthz","expect_status":200,"interval_ms":50}]`)) {
			t.Errorf("services = %+v", svcs)
		}

		// A changed estate updates the rows and keeps both snapshots.
		cfg.Sites[1].Nomad.TokenFile, cfg.Sites[1].Nomad.TokenEnv = "", "NOMAD_TOKEN_YATAP"
		if err := s.EstateSave(ctx, cfg, append(src, '#')); err != nil {
			t.Fatalf("EstateSave changed: %v", err)
		}
		var ref string
		if err := db.Table("sites").Select("token_ref").Where("name = ?", "yatap").Scan(&ref).Error; err != nil || ref != "env:NOMAD_TOKEN_YATAP" {
			t.Errorf("yatap token_ref after change = %q, %v", ref, err)
		}
		var snaps int64
		if err := db.Table("estate_snapshots").Count(&snaps).Error; err != nil || snaps != 2 {
			t.Errorf("estate snapshots = %d, %v; want 2", snaps, err)
		}
		if err := s.EstateSave(ctx, &drills.Estate{SHA256: strings.Repeat("0", 64)}, src); err == nil {
			t.Errorf("EstateSave(wrong SHA256) = nil, want error")
		}
	})
}

func TestRunEventsAreAppendOnly(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		b := setup(t, s)
		db := s.DBForTest()
		if err := db.Exec("UPDATE run_events SET message = 'rewritten' WHERE run_id = ?", b.run.ID).Error; err == nil {
			t.Errorf("UPDATE run_events = nil, want the append-only trigger to refuse")
		}
		if err := db.Exec("DELETE FROM run_events WHERE run_id = ?", b.run.ID).Error; err == nil {
			t.Errorf("DELETE FROM run_events = nil, want the append-only trigger to refuse")
		}
	})
}

// TestConcurrentClaims: claims racing on one run each get their own epoch, and only the last
// one can write.
func TestConcurrentClaims(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		b := setup(t, s)
		const n = 8
		epochs := make(chan int64, n)
		var wg sync.WaitGroup
		for i := range n {
			wg.Go(func() {
				e, err := s.RunClaim(ctx, &store.RunClaimParams{RunID: b.run.ID, Owner: fmt.Sprintf("replica-%d", i), LeaseFor: time.Minute})
				if err != nil {
					t.Errorf("RunClaim: %v", err)
				}
				epochs <- e
			})
		}
		wg.Wait()
		close(epochs)
		seen := map[int64]bool{}
		for e := range epochs {
			if seen[e] {
				t.Errorf("epoch %d granted twice", e)
			}
			seen[e] = true
		}
		last := b.epoch + n
		for e := b.epoch + 1; e <= last; e++ {
			if !seen[e] {
				t.Errorf("epoch %d never granted; got %v", e, seen)
			}
		}
		for e := b.epoch; e < last; e++ {
			if err := s.RunLeaseRenew(ctx, &store.RunLeaseRenewParams{RunID: b.run.ID, Epoch: e, LeaseFor: time.Minute}); !errors.Is(err, store.ErrLeaseLost) {
				t.Errorf("RunLeaseRenew(epoch %d) = %v, want ErrLeaseLost", e, err)
			}
		}
		if err := s.RunLeaseRenew(ctx, &store.RunLeaseRenewParams{RunID: b.run.ID, Epoch: last, LeaseFor: time.Minute}); err != nil {
			t.Errorf("RunLeaseRenew(last epoch %d) = %v", last, err)
		}
		assertEventsGapless(t, s, b.run.ID)
	})
}

// TestRunListPages: pages follow one another on (created_at, id) without a gap or a repeat,
// runs created in the same millisecond included, and the filters keep to their runs.
func TestRunListPages(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		plan, err := s.PlanSave(ctx, store.PlanSaveParams{Name: "a", Source: []byte("a")})
		if err != nil {
			t.Fatal(err)
		}
		var want []string
		for i := range 9 {
			p := &store.RunInsertParams{PlanID: plan.ID, PlanName: plan.Name, RequestedBy: person([]string{"alice", "bob", "kim"}[i%3])}
			if i%4 == 0 {
				fire := at(time.Duration(i) * time.Hour)
				p.RequestedBy, p.ScheduleName, p.FireTime = drills.Actor{Kind: drills.ActorSchedule, Name: "nightly"}, "nightly", &fire
			}
			r, err := s.RunInsert(ctx, p)
			if err != nil {
				t.Fatal(err)
			}
			want = append(want, r.ID)
		}
		// Give the runs three creation times, three runs each.
		for i, id := range want {
			if err := s.DBForTest().Exec("UPDATE runs SET created_at = ? WHERE id = ?", wantTime(at(time.Duration(i/3)*time.Minute)), id).Error; err != nil {
				t.Fatal(err)
			}
		}
		slices.Reverse(want)
		var got []string
		var after *store.RunCursor
		for range 10 {
			page, err := s.RunList(ctx, &store.RunListParams{Limit: 2, After: after})
			if err != nil {
				t.Fatal(err)
			}
			for _, r := range page.Runs {
				got = append(got, r.ID)
			}
			if page.Next == nil {
				break
			}
			after = page.Next
		}
		if !reflect.DeepEqual(got, want) {
			t.Errorf("paged = %v, want %v", got, want)
		}
		count := func(p *store.RunListParams) int {
			t.Helper()
			page, err := s.RunList(ctx, p)
			if err != nil {
				t.Fatal(err)
			}
			return len(page.Runs)
		}
		since, until := wantTime(at(time.Minute)), wantTime(at(2*time.Minute))
		for _, tt := range []struct {
			name string
			p    store.RunListParams
			want int
		}{
			{"by requester", store.RunListParams{RequestedBy: "bob"}, 2},
			{"by schedule", store.RunListParams{ScheduleName: "nightly"}, 3},
			{"a schedule is no person", store.RunListParams{RequestedBy: "nightly"}, 0},
			{"since", store.RunListParams{Since: &since}, 6},
			{"since and until", store.RunListParams{Since: &since, Until: &until}, 3},
		} {
			if n := count(&tt.p); n != tt.want {
				t.Errorf("RunList(%s) = %d runs, want %d", tt.name, n, tt.want)
			}
		}
	})
}
