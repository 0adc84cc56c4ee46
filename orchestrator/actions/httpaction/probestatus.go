package httpaction

import "github.com/firedrill/firedrill/orchestrator/actions"

// Status implements actions.ProbeStatusReporter: the runner reads it to evaluate the plan's
// probe_failures stop condition while the probe runs.
func (r *runningProbe) Status() actions.ProbeStatus {
	r.mu.Lock()
	defer r.mu.Unlock()
	return actions.ProbeStatus{Polls: r.sum.Polls, Failures: r.sum.Failures, Down: !r.downSince.IsZero()}
}

var _ actions.ProbeStatusReporter = (*runningProbe)(nil)
