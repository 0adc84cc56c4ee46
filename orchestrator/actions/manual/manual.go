// Package manual implements the `manual` step action: a step a person performs outside any
// system firedrill can drive ("call the VAN operator", "confirm the branch network switched").
// The run waits until an authorised user marks the step done or failed; who decided and when
// become the step's evidence.
package manual

import (
	"context"
	"errors"
	"fmt"

	"github.com/firedrill/firedrill/drills"
	"github.com/firedrill/firedrill/orchestrator/actions"
)

// Actions returns the manual action.
func Actions() []actions.Action { return []actions.Action{&Manual{}} }

// Manual waits for a person.
type Manual struct{}

// Spec implements actions.Action.
func (*Manual) Spec() drills.ActionSpec {
	s, _ := drills.LookupAction(drills.ActionManual)
	return s
}

// CompleteCommand is the exact command that marks the manual step done.
func CompleteCommand(runID, stepKey string) string {
	return fmt.Sprintf("firedrill step done %s %s", runID, stepKey)
}

// Run implements actions.Action.
func (*Manual) Run(ctx context.Context, req *actions.Request) (*actions.Result, error) {
	instructions := req.Instance.Step.String("instructions")
	ev := map[string]any{"instructions": instructions}
	if req.Decisions == nil {
		return &actions.Result{Evidence: ev}, errors.New("this runner cannot take decisions from people")
	}
	if req.Logger != nil {
		// A warning, so the console of firedrill run shows it at the default log level: the
		// drill waits for a person, who must be told what to do and how to say it is done.
		req.Logger.WarnContext(ctx, "manual step: waiting for a person", "instructions", instructions,
			"complete_with", CompleteCommand(req.RunID, req.Instance.Key),
			"fail_with", fmt.Sprintf("firedrill step failed %s %s", req.RunID, req.Instance.Key))
	}
	d, err := req.Decisions.Await(ctx)
	if err != nil {
		return &actions.Result{Evidence: ev}, fmt.Errorf("nobody marked the step done: %w", err)
	}
	ev["decided_by"] = d.By
	ev["decided_at"] = d.At.UTC()
	if d.Comment != "" {
		ev["comment"] = d.Comment
	}
	if !d.Done {
		ev["decision"] = "failed"
		msg := "marked failed by " + d.By
		if d.Comment != "" {
			msg += ": " + d.Comment
		}
		return &actions.Result{Evidence: ev}, errors.New(msg)
	}
	ev["decision"] = "done"
	return &actions.Result{Evidence: ev}, nil
}
