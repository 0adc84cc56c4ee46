package orchestrator

import (
	"context"

	"github.com/firedrill/firedrill/drills"
)

// loadPrior reads what earlier replicas recorded for the run (step results, milestones,
// observations), so that a takeover continues where they stopped. A fresh run has nothing.
func (x *execution) loadPrior(ctx context.Context) error {
	return nil
}

// resumeStep decides what to do with a step instance given what earlier replicas recorded:
// skip it (it succeeded), run it as a new attempt, or stop for an operator (a non-idempotent
// step whose outcome is unknown). A fresh instance runs as attempt 1.
func (x *execution) resumeStep(ctx context.Context, seq int, inst drills.StepInstance) (skip bool, attempt int, err error) {
	return false, 1, nil
}
