package drills_test

import (
	"errors"
	"testing"

	"github.com/firedrill/firedrill/drills"
)

func TestRunTransitions(t *testing.T) {
	t.Parallel()
	tests := []struct {
		from, to drills.RunState
		ok       bool
	}{
		{"", drills.RunPending, true},
		{"", drills.RunAwaitingApproval, true},
		{"", drills.RunRunning, false},
		{drills.RunAwaitingApproval, drills.RunPending, true},
		{drills.RunAwaitingApproval, drills.RunRunning, false},
		{drills.RunAwaitingApproval, drills.RunSucceeded, false},
		{drills.RunPending, drills.RunRunning, true},
		{drills.RunRunning, drills.RunSucceeded, true},
		{drills.RunRunning, drills.RunPending, false},
		{drills.RunWaitingOperator, drills.RunRunning, true},
		{drills.RunSucceeded, drills.RunRunning, false},
		{drills.RunBlocked, drills.RunPending, false},
	}
	for _, tt := range tests {
		err := drills.CheckRunTransition(tt.from, tt.to)
		if (err == nil) != tt.ok {
			t.Errorf("CheckRunTransition(%q, %q) = %v, want ok=%v", tt.from, tt.to, err, tt.ok)
		}
		var te *drills.RunTransitionError
		if err != nil && !errors.As(err, &te) {
			t.Errorf("CheckRunTransition(%q, %q) = %T, want *RunTransitionError", tt.from, tt.to, err)
		}
	}
	// No state leaves a terminal state, and every state in the table is a known one.
	for _, from := range drills.RunStates {
		for _, to := range drills.RunTransitions(from) {
			if from.IsTerminal() {
				t.Errorf("terminal %s may move to %s", from, to)
			}
		}
		if from.IsTerminal() && from.IsClaimable() {
			t.Errorf("terminal %s is claimable", from)
		}
	}
	if drills.RunAwaitingApproval.IsClaimable() {
		t.Error("awaiting_approval is claimable")
	}
}

func TestActorValidate(t *testing.T) {
	t.Parallel()
	tests := []struct {
		a  drills.Actor
		ok bool
	}{
		{drills.Actor{Kind: drills.ActorUser, Name: "alice", Via: drills.ViaCLI, TokenID: "t1"}, true},
		{drills.Actor{Kind: drills.ActorSchedule, Name: "semiannual"}, true},
		{drills.Actor{Kind: drills.ActorSchedule, Name: "semiannual", Via: drills.ViaCLI}, false},
		{drills.Actor{Kind: drills.ActorLocal, Name: "bob", TokenID: "t"}, false},
		{drills.Actor{Kind: "web", Name: "alice"}, false},
		{drills.Actor{Kind: drills.ActorUser}, false},
	}
	for _, tt := range tests {
		if err := tt.a.Validate(); (err == nil) != tt.ok {
			t.Errorf("%+v.Validate() = %v, want ok=%v", tt.a, err, tt.ok)
		}
	}
}
