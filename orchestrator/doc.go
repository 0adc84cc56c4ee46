// Package orchestrator is firedrill's engine: it turns a validated plan into a recorded run.
// The runner claims a run with a fenced lease, records each step's start before calling its
// action and the step's result before starting the next, stamps the disaster and restored
// milestones, and finishes the run with the measured recovery of every service.
//
// It imports drills, the store and the actions; it never imports web or cmd, and it never
// touches a site directly: actions do.
package orchestrator
