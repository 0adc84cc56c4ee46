package control

import (
	"cmp"
	"context"
	"slices"

	"github.com/firedrill/firedrill/drills"
	"github.com/firedrill/firedrill/orchestrator/store"
)

// MaxRunEventsLimit bounds the timeline events one RunEventsAfter returns; it is also the
// default.
const MaxRunEventsLimit = 500

// RunEventsParams ask for a run's timeline after the events a follower has.
type RunEventsParams struct {
	RunID string
	// After is the seq of the last event the follower has; 0 reads from the first.
	After int
	// Limit defaults to, and is at most, MaxRunEventsLimit.
	Limit int
}

// RunEvents is what of a run's timeline a follower has not seen yet, with the run as it
// stood when the events were read.
type RunEvents struct {
	// Run is the run read before its events: when it has ended, Events hold everything up to
	// its end.
	Run RunSummary
	// Events are the timeline entries numbered after RunEventsParams.After, by seq.
	Events []EventView
	// Steps are the run's step attempts as recorded now, read only when Events hold an entry
	// about a step (nil otherwise), so that a follower can show each step without reading
	// the whole run.
	Steps []StepView
	// Complete: the run has ended and Events reach its last entry; nothing more will come.
	Complete bool
}

// RunEventsAfter returns the timeline entries of a run after a seq, for those who follow a
// run as it executes (the console's live view). It reads what RunGet reads and is
// authorized as it is; it reads no audit check and no findings, so that it can be asked
// again every second.
func (c *Control) RunEventsAfter(ctx context.Context, caller *Caller, p *RunEventsParams) (*RunEvents, error) {
	if p == nil {
		p = &RunEventsParams{}
	}
	if err := c.authorizeRunRead(ctx, caller, p.RunID); err != nil {
		return nil, err
	}
	limit := p.Limit
	switch {
	case p.RunID == "":
		return nil, invalidf("id", "the run's id is required")
	case p.After < 0:
		return nil, invalidf("after", "after must be the seq of an event (0 or more)")
	case limit < 0 || limit > MaxRunEventsLimit:
		return nil, invalidf("limit", "limit must be between 1 and %d", MaxRunEventsLimit)
	case limit == 0:
		limit = MaxRunEventsLimit
	}
	// The run first: an ended run's last entry committed with its end, so the events read
	// next include it.
	run, err := c.cfg.Store.RunGet(ctx, p.RunID)
	if err != nil {
		return nil, storeError(err, "run "+p.RunID, nil)
	}
	events, err := c.cfg.Store.RunEventListAfter(ctx, run.ID, p.After, limit)
	if err != nil {
		return nil, internal(err)
	}
	var ms []*store.Measurement
	if run.State.IsTerminal() {
		// The verdict needs what the measurements prove.
		if ms, err = c.cfg.Store.MeasurementList(ctx, run.ID); err != nil {
			return nil, internal(err)
		}
	}
	out := &RunEvents{Run: runSummaryOf(run, ms), Events: make([]EventView, 0, len(events)),
		Complete: run.State.IsTerminal() && len(events) < limit}
	aboutSteps := false
	for _, e := range events {
		out.Events = append(out.Events, EventView{Seq: e.Seq, At: e.At, Kind: e.Kind, StepKey: e.StepKey, Message: e.Message, Data: e.Data})
		aboutSteps = aboutSteps || e.StepKey != ""
	}
	if aboutSteps {
		steps, err := c.cfg.Store.StepResultList(ctx, run.ID)
		if err != nil {
			return nil, internal(err)
		}
		instructions, err := manualInstructions(ctx, c.cfg.Store, run, steps)
		if err != nil {
			return nil, internal(err)
		}
		out.Steps = make([]StepView, 0, len(steps))
		for _, s := range steps {
			out.Steps = append(out.Steps, stepViewOf(run, s, instructions))
		}
	}
	return out, nil
}

// stepViewOf is one recorded step attempt of run; instructions are the manual steps' by step
// name (manualInstructions).
func stepViewOf(run *store.Run, s *store.StepResult, instructions map[string]string) StepView {
	v := StepView{
		Seq: s.Seq, Key: s.Key, Name: s.Name, Action: s.Action, Site: s.Site, Service: s.Service, Attempt: s.Attempt,
		State: s.State, Idempotent: s.Idempotent, StartedAt: s.StartedAt, EndedAt: s.EndedAt, DurationMS: msPtr(s.Duration),
		Error: s.Error, Evidence: s.Evidence,
		AwaitingDecision: s.EndedAt == nil && !run.State.IsTerminal() &&
			((s.Action == drills.ActionManual && s.State == drills.StepRunning) || s.State == drills.StepUnknown),
	}
	if s.Action == drills.ActionManual {
		v.Instructions = instructions[s.Name]
	}
	return v
}

// manualInstructions are what the run's recorded plan tells a person to do in each of its
// manual steps, by step name; nil when steps have no manual step (the plan is not read) or
// the plan no longer parses (recorded by an older version).
func manualInstructions(ctx context.Context, st *store.Store, run *store.Run, steps []*store.StepResult) (map[string]string, error) {
	if !slices.ContainsFunc(steps, func(s *store.StepResult) bool { return s.Action == drills.ActionManual }) {
		return nil, nil
	}
	plan, err := recordedPlanOf(ctx, st, run)
	if err != nil {
		return nil, err
	}
	return plan.instructions, nil
}

// ObjectiveView is one service's recovery objectives in a run.
type ObjectiveView struct {
	Service        string `json:"service"`
	Criticality    string `json:"criticality"`
	RTOObjectiveMS int64  `json:"rto_objective_ms"`
	RPOObjectiveMS int64  `json:"rpo_objective_ms"`
}

// RunObjectives returns the objectives a run is measured against, per service its plan
// covers, from the estate and plan the run recorded (not today's estate): a run still going
// has no measurements to read them from. Strictest RTO first; empty when the recorded plan or
// estate no longer parses (recorded by an older version).
func (c *Control) RunObjectives(ctx context.Context, caller *Caller, runID string) ([]ObjectiveView, error) {
	if err := c.authorizeRunRead(ctx, caller, runID); err != nil {
		return nil, err
	}
	run, err := c.cfg.Store.RunGet(ctx, runID)
	if err != nil {
		return nil, storeError(err, "run "+runID, nil)
	}
	rec, err := c.cfg.Store.PlanGet(ctx, run.PlanID)
	if err != nil {
		return nil, internal(err)
	}
	snap, err := c.cfg.Store.EstateGet(ctx, run.EstateSHA256)
	if err != nil {
		return nil, internal(err)
	}
	out := []ObjectiveView{}
	plan, diags := drills.ParsePlan(rec.Source, rec.File)
	if plan == nil || diags.HasErrors() {
		return out, nil
	}
	est, diags := drills.ParseEstate(snap.Source, snap.File)
	if est == nil || diags.HasErrors() {
		return out, nil
	}
	for _, name := range plan.Services {
		if svc := est.Service(name); svc != nil {
			out = append(out, ObjectiveView{Service: svc.Name, Criticality: string(svc.Criticality),
				RTOObjectiveMS: svc.RTO.Milliseconds(), RPOObjectiveMS: svc.RPO.Milliseconds()})
		}
	}
	slices.SortStableFunc(out, func(a, b ObjectiveView) int { return cmp.Compare(a.RTOObjectiveMS, b.RTOObjectiveMS) })
	return out, nil
}
