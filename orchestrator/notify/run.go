package notify

import (
	"strings"
	"time"

	"github.com/firedrill/firedrill/orchestrator/store"
)

// ApprovalNeeded is the event that announces a run waiting for approval, however it was
// asked for: a schedule's fire (the scheduler's hook in serve) or a person's submission
// (orchestrator/control). It says whose approval is needed, until when, and who asked, since
// the requester can never approve alone. Both paths build it here, so that a receiver sees
// one shape.
func ApprovalNeeded(run *store.Run) Event {
	fields := map[string]any{"approval_roles": nonNilRoles(run.ApprovalRoles), "requested_by": run.RequestedBy.String()}
	reason := "from " + strings.Join(run.ApprovalRoles, " and ")
	if run.ApprovalDeadline != nil {
		fields["deadline"] = run.ApprovalDeadline.UTC()
		reason += " by " + run.ApprovalDeadline.UTC().Format(time.RFC3339)
	}
	reason += "; requested by " + run.RequestedBy.String()
	if run.ScheduleName != "" {
		fields["schedule"] = run.ScheduleName
		if run.FireTime != nil {
			fields["fire_time"] = run.FireTime.UTC()
		}
	}
	if run.Forced {
		fields["forced"] = true
	}
	return Event{
		Kind: EventApprovalNeeded, RunID: run.ID, Plan: run.PlanName, State: string(run.State), Reason: reason,
		Fields: fields, At: run.CreatedAt,
	}
}

// RunEndedUnexecuted is the event that announces a run which ended without a worker ever
// executing it: rejected, its approval window ended, or aborted while it waited for approval.
// (The runner announces the runs it executes, with their measurements.)
func RunEndedUnexecuted(run *store.Run) Event {
	fields := map[string]any{"requested_by": run.RequestedBy.String(), "executed": false}
	if run.ScheduleName != "" {
		fields["schedule"] = run.ScheduleName
	}
	if !run.AbortRequestedBy.IsZero() {
		fields["aborted_by"] = run.AbortRequestedBy.String()
	}
	at := run.UpdatedAt
	if run.EndedAt != nil {
		at = *run.EndedAt
	}
	return Event{
		Kind: EventRunEnded, RunID: run.ID, Plan: run.PlanName, State: string(run.State), Reason: run.StateReason,
		Fields: fields, At: at,
	}
}

// nonNilRoles keeps an empty role list a JSON array.
func nonNilRoles(roles []string) []string {
	if roles == nil {
		return []string{}
	}
	return roles
}
