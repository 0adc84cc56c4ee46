package store_test

import (
	"context"
	"errors"
	"testing"

	"github.com/firedrill/firedrill/drills"
	"github.com/firedrill/firedrill/orchestrator/store"
	"github.com/firedrill/firedrill/orchestrator/store/storetest"
)

func TestStepDecide(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		b := setup(t, s)
		ctx := context.Background()
		start := func(key, action string) string {
			t.Helper()
			id, err := s.StepStart(ctx, &store.StepStartParams{RunID: b.run.ID, Epoch: b.epoch, Key: key, Action: action, At: at(0)})
			if err != nil {
				t.Fatal(err)
			}
			return id
		}
		decide := func(key, decision, by string) (*store.StepDecision, error) {
			var who drills.Actor
			if by != "" {
				who = person(by)
			}
			return s.StepDecide(ctx, &store.StepDecideParams{RunID: b.run.ID, StepKey: key, Decision: decision, By: who, Comment: "called the VAN operator", At: at(1)})
		}

		nomadID := start("stop", drills.ActionNomadStopJob)
		if _, err := decide("stop", store.DecisionDone, "alice"); !errors.Is(err, store.ErrNotAwaiting) {
			t.Errorf("deciding a running nomad step = %v, want ErrNotAwaiting", err)
		}
		if err := s.StepFinish(ctx, &store.StepFinishParams{RunID: b.run.ID, Epoch: b.epoch, StepID: nomadID, State: drills.StepSucceeded, At: at(1)}); err != nil {
			t.Fatal(err)
		}

		manualID := start("call-van", drills.ActionManual)
		if _, err := s.StepDecisionGet(ctx, manualID); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("StepDecisionGet before any decision = %v, want ErrNotFound", err)
		}
		tests := []struct {
			key, decision, by string
			want              error
		}{
			{key: "call-van", decision: "maybe", by: "alice"},
			{key: "call-van", decision: store.DecisionDone, by: ""},
			{key: "nope", decision: store.DecisionDone, by: "alice", want: store.ErrNotFound},
		}
		for _, tt := range tests {
			if _, err := decide(tt.key, tt.decision, tt.by); err == nil || (tt.want != nil && !errors.Is(err, tt.want)) {
				t.Errorf("StepDecide(%q, %q, %q) = %v, want an error (%v)", tt.key, tt.decision, tt.by, err, tt.want)
			}
		}
		d, err := decide("call-van", store.DecisionDone, "alice")
		if err != nil {
			t.Fatalf("StepDecide: %v", err)
		}
		if d.StepID != manualID || d.By != person("alice") || d.Decision != store.DecisionDone {
			t.Errorf("decision = %+v", d)
		}
		if _, err := decide("call-van", store.DecisionFailed, "bob"); !errors.Is(err, store.ErrDuplicate) {
			t.Errorf("second decision = %v, want ErrDuplicate", err)
		}
		got, err := s.StepDecisionGet(ctx, manualID)
		if err != nil || got.By != person("alice") || got.Comment != "called the VAN operator" || !got.At.Equal(wantTime(at(1))) {
			t.Errorf("StepDecisionGet = %+v, %v", got, err)
		}
		list, err := s.StepDecisionList(ctx, b.run.ID)
		if err != nil || len(list) != 1 {
			t.Errorf("StepDecisionList = %v, %v; want one", list, err)
		}
		evs := assertEventsGapless(t, s, b.run.ID)
		if last := evs[len(evs)-1]; last.Kind != store.EventStepDecided || last.StepKey != "call-van" {
			t.Errorf("last event = %s %s, want step_decided call-van", last.Kind, last.StepKey)
		}
	})
}
