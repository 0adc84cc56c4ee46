package orchestrator

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"

	"github.com/firedrill/firedrill/drills"
	"github.com/firedrill/firedrill/orchestrator/notify"
	"github.com/firedrill/firedrill/orchestrator/store"
)

// Key prefixes of the step results of the rollback and cleanup phases, so that a report can
// tell the phases apart: "rollback:stop-on-yatap[auth]", "cleanup:remove-test-data".
const (
	KeyPrefixRollback = "rollback:"
	KeyPrefixCleanup  = "cleanup:"
)

// EventPhase is the timeline entry that opens the rollback or the cleanup phase.
const EventPhase = "phase"

// Phases after the plan's steps.
const (
	phaseRollback = "rollback"
	phaseCleanup  = "cleanup"
)

// abortError is why a run was aborted: an operator's request or a stop condition's breach.
// It is the cause of the steps' context once the abort is acted on.
type abortError struct {
	by     drills.Actor
	reason string
	// condition is the stop condition breached; empty for an operator's abort.
	condition string
}

func (e *abortError) Error() string {
	switch {
	case e.condition != "":
		return "stop condition " + e.condition + " breached: " + e.reason
	case !e.by.IsZero():
		return fmt.Sprintf("aborted by %s: %s", e.by, e.reason)
	}
	return "aborted: " + e.reason
}

// abortOfRun is the abort the run row records as requested, or nil.
func abortOfRun(run *store.Run) *abortError {
	if run.AbortRequestedAt == nil {
		return nil
	}
	return &abortError{by: run.AbortRequestedBy, condition: run.AbortStopCondition, reason: run.AbortReason}
}

// phaseReport is how a rollback or cleanup phase went.
type phaseReport struct {
	ran, failed int
	firstErr    string
}

// runPhase runs the plan's rollback or cleanup steps with ctx, which the abort did not
// cancel. Every step is attempted even when an earlier one failed: as much of the estate as
// possible goes back to normal. Stop conditions and abort requests are not watched any more.
func (x *execution) runPhase(ctx context.Context, phase string) *phaseReport {
	var (
		instances []drills.StepInstance
		err       error
		prefix    string
		seq       int
	)
	main, _ := x.d.Plan.Expand(x.d.Estate)
	rollback, _ := x.d.Plan.ExpandRollback(x.d.Estate)
	switch phase {
	case phaseRollback:
		instances, err = x.d.Plan.ExpandRollback(x.d.Estate)
		prefix, seq = KeyPrefixRollback, len(main)+1
	default:
		instances, err = x.d.Plan.ExpandCleanup(x.d.Estate)
		prefix, seq = KeyPrefixCleanup, len(main)+len(rollback)+1
	}
	rep := &phaseReport{}
	if err != nil {
		rep.failed++
		rep.firstErr = fmt.Sprintf("expand %s steps: %v", phase, err)
		return rep
	}
	if len(instances) == 0 {
		return rep
	}
	x.event(ctx, EventPhase, phase, map[string]any{"phase": phase, "steps": len(instances)})
	x.log.InfoContext(ctx, phase+" started", "steps", len(instances))
	for _, g := range groupInstances(instances, seq, prefix) {
		if ctx.Err() != nil {
			break
		}
		err := x.runGroup(ctx, g, true)
		rep.ran += len(g.instances)
		if err != nil {
			rep.failed++
			if rep.firstErr == "" {
				rep.firstErr = err.Error()
			}
		}
	}
	x.log.InfoContext(ctx, phase+" ended", "steps", rep.ran, "failed", rep.failed)
	return rep
}

// event appends a timeline entry; failing to is logged, not fatal.
func (x *execution) event(ctx context.Context, kind, msg string, data map[string]any) {
	if kind == EventStopCondition {
		x.r.notify(ctx, notify.Event{Kind: notify.EventStopCondition, RunID: x.runID, Plan: x.d.Plan.Name, Reason: msg, Fields: data})
	}
	wctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), bookkeepingTimeout)
	defer cancel()
	if err := x.r.cfg.Store.RunEventAppend(wctx, &store.RunEventAppendParams{
		RunID: x.runID, Epoch: x.epoch, Kind: kind, Message: msg, Data: data, At: x.r.cfg.Clock.Now(),
	}); err != nil && !errors.Is(err, context.Canceled) {
		x.log.WarnContext(ctx, "run event not recorded", "kind", kind, "err", err)
	}
}

// siteLedger remembers the last step outcome on each site the run touched, in the order the
// sites were first touched: what a rollback_failed reason reports.
type siteLedger struct {
	mu    sync.Mutex
	order []string
	last  map[string]string
	// unsited are failures of steps that act on no site (command, manual, http.call).
	unsited []string
}

// maxReasonErr bounds each step error quoted in a run's reason.
const maxReasonErr = 200

func (l *siteLedger) note(site, key, action string, state drills.StepState, msg string) {
	if len(msg) > maxReasonErr {
		msg = msg[:maxReasonErr] + "..."
	}
	line := fmt.Sprintf("%s (%s) %s", action, key, state)
	if msg != "" {
		line += ": " + msg
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if site == "" {
		if state != drills.StepSucceeded {
			l.unsited = append(l.unsited, line)
		}
		return
	}
	if l.last == nil {
		l.last = map[string]string{}
	}
	if _, seen := l.last[site]; !seen {
		l.order = append(l.order, site)
	}
	l.last[site] = line
}

// summary is "sangam: nomad.undrain_site (rollback:return-to-sangam) failed: ...; yatap: ...".
func (l *siteLedger) summary() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	parts := make([]string, 0, len(l.order)+1)
	for _, s := range l.order {
		parts = append(parts, s+": "+l.last[s])
	}
	if len(parts) == 0 {
		parts = append(parts, "no site was touched")
	}
	if len(l.unsited) > 0 {
		parts = append(parts, "steps on no site that did not succeed: "+strings.Join(l.unsited, ", "))
	}
	return strings.Join(parts, "; ")
}

// finishUntouched ends a run that never touched anything (aborted before it started).
func (x *execution) finishUntouched(ctx context.Context, state drills.RunState, reason string) (*Outcome, error) {
	met := false
	wctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), bookkeepingTimeout)
	defer cancel()
	if err := x.r.cfg.Store.RunFinish(wctx, &store.RunFinishParams{
		RunID: x.runID, Epoch: x.epoch, State: state, Reason: reason, At: x.r.cfg.Clock.Now(), ObjectivesMet: &met,
	}); err != nil {
		return nil, fmt.Errorf("record end of run %s: %w", x.runID, err)
	}
	x.log.WarnContext(ctx, "run ended before it started", "state", string(state), "reason", reason)
	return &Outcome{RunID: x.runID, State: state, Reason: reason}, nil
}
