// Package pause implements the plan's wait step action: a fixed pause, timed by the injected
// clock so that tests can drive it. It has no side effects and touches nothing outside the
// process; a run may resume it from the start after a crash.
package pause

import (
	"context"
	"fmt"
	"time"

	"github.com/firedrill/firedrill/drills"
	"github.com/firedrill/firedrill/internal/clock"
	"github.com/firedrill/firedrill/orchestrator/actions"
)

// Actions returns the wait action.
func Actions() []actions.Action {
	return []actions.Action{&Wait{}}
}

// Wait pauses a run for the step's duration.
type Wait struct{}

// Spec implements actions.Action.
func (a *Wait) Spec() drills.ActionSpec {
	s, _ := drills.LookupAction(drills.ActionWait)
	return s
}

// Run implements actions.Action. It returns when the duration has passed, or with ctx's
// error when ctx ends first (the step's timeout, an abort); the evidence then says how long
// the run actually waited.
func (a *Wait) Run(ctx context.Context, req *actions.Request) (*actions.Result, error) {
	d := req.Instance.Step.Duration("duration")
	ev := map[string]any{"requested_ms": d.Milliseconds()}
	res := &actions.Result{Evidence: ev}
	if d < 0 {
		return res, fmt.Errorf("duration = %s: must not be negative", d)
	}
	clk := req.Clock
	if clk == nil {
		clk = clock.Real{}
	}
	start := clk.Now()
	t := clk.NewTimer(d)
	select {
	case <-ctx.Done():
		t.Stop()
		waited := clk.Now().Sub(start)
		ev["waited_ms"] = waited.Milliseconds()
		return res, fmt.Errorf("wait %s: interrupted after %s: %w", d, waited.Round(time.Millisecond), ctx.Err())
	case <-t.C():
		ev["waited_ms"] = clk.Now().Sub(start).Milliseconds()
		return res, nil
	}
}
