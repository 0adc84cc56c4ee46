package drills

import "fmt"

// runTransitions is the run state machine: the states a run may move to from each state.
// Every write of a run's state is checked against it (CheckRunTransition). A terminal state
// has no way out.
var runTransitions = map[RunState][]RunState{
	// Waiting for approvers: approved, rejected or expired, or aborted before it started.
	RunAwaitingApproval: {RunPending, RunBlocked, RunAborted},
	// Waiting for a replica: it starts, pre-flight refuses, it is aborted before it started,
	// or its recorded plan cannot be loaded any more.
	RunPending: {RunRunning, RunBlocked, RunAborted},
	// Running: resumed by another replica (running again), parked for an operator, or ended.
	RunRunning: {RunRunning, RunWaitingOperator, RunSucceeded, RunFailed, RunBlocked, RunAborted, RunRolledBack, RunRollbackFailed},
	// Waiting for an operator's decision on a step whose outcome is unknown.
	RunWaitingOperator: {RunRunning, RunWaitingOperator, RunFailed, RunAborted, RunRolledBack, RunRollbackFailed},
}

// RunTransitionError is a state change the run state machine does not allow.
type RunTransitionError struct {
	From, To RunState
}

func (e *RunTransitionError) Error() string {
	if e.From.IsTerminal() {
		return fmt.Sprintf("run state %s -> %s: the run has ended", e.From, e.To)
	}
	return fmt.Sprintf("run state %s -> %s is not a transition the run state machine allows", e.From, e.To)
}

// CheckRunTransition returns a *RunTransitionError unless a run may move from one state to
// the other. The empty from state is a run being created: it may start pending or
// awaiting approval.
func CheckRunTransition(from, to RunState) error {
	if from == "" {
		if to == RunPending || to == RunAwaitingApproval {
			return nil
		}
		return &RunTransitionError{From: from, To: to}
	}
	for _, s := range runTransitions[from] {
		if s == to {
			return nil
		}
	}
	return &RunTransitionError{From: from, To: to}
}

// RunTransitions returns the states a run may move to from state, for documentation and
// tests.
func RunTransitions(from RunState) []RunState {
	return append([]RunState(nil), runTransitions[from]...)
}

// IsClaimable reports whether a replica may claim a run in this state: one approved or
// needing no approval (pending), or one whose replica died (running, waiting_operator).
// A run awaiting approval is never claimed.
func (s RunState) IsClaimable() bool {
	return s == RunPending || s == RunRunning || s == RunWaitingOperator
}
