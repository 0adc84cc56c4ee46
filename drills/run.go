package drills

// RunState is where a run is in its life.
type RunState string

// Run states. A run is terminal once it reaches one of the states IsTerminal reports.
const (
	RunPending          RunState = "pending"
	RunAwaitingApproval RunState = "awaiting_approval"
	RunRunning          RunState = "running"
	// RunWaitingOperator: a non-idempotent step's outcome is unknown; a person must decide.
	RunWaitingOperator RunState = "waiting_operator"
	RunSucceeded       RunState = "succeeded"
	RunFailed          RunState = "failed"
	// RunBlocked: pre-flight refused to start; nothing was touched.
	RunBlocked        RunState = "blocked"
	RunAborted        RunState = "aborted"
	RunRolledBack     RunState = "rolled_back"
	RunRollbackFailed RunState = "rollback_failed"
)

// IsTerminal reports whether no further step will run.
func (s RunState) IsTerminal() bool {
	switch s {
	case RunSucceeded, RunFailed, RunBlocked, RunAborted, RunRolledBack, RunRollbackFailed:
		return true
	}
	return false
}

// StepState is the outcome of one step instance.
type StepState string

// Step states.
const (
	StepRunning   StepState = "running"
	StepSucceeded StepState = "succeeded"
	StepFailed    StepState = "failed"
	// StepUnknown: the process died while the step ran and the action is not idempotent.
	StepUnknown StepState = "unknown"
	StepSkipped StepState = "skipped"
	// StepAborted: the run was aborted (by an operator or a stop condition) while the step ran.
	StepAborted StepState = "aborted"
)

// RunStates lists every run state.
var RunStates = []RunState{
	RunPending, RunAwaitingApproval, RunRunning, RunWaitingOperator, RunSucceeded, RunFailed,
	RunBlocked, RunAborted, RunRolledBack, RunRollbackFailed,
}
