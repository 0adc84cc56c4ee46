package orchestrator

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"time"

	"github.com/firedrill/firedrill/drills"
	"github.com/firedrill/firedrill/internal/clock"
	"github.com/firedrill/firedrill/orchestrator/actions"
	"github.com/firedrill/firedrill/orchestrator/store"
)

// Defaults for RunnerConfig.
const (
	DefaultLeaseFor     = 30 * time.Second
	DefaultDecisionPoll = 250 * time.Millisecond
	// bookkeepingTimeout bounds the store writes that must happen even when the run's context
	// was cancelled (recording a step's result after Ctrl-C, finishing the run).
	bookkeepingTimeout = 15 * time.Second
)

// RunnerConfig configures a Runner. A zero field means its default.
type RunnerConfig struct {
	// Store records runs. Required.
	Store *store.Store
	// Actions maps a plan's action names to implementations. Required.
	Actions *actions.Registry
	// Clock defaults to the wall clock.
	Clock clock.Clock
	// Logger defaults to a logger that discards.
	Logger *slog.Logger
	// Owner identifies this replica in run leases. Defaults to hostname:pid.
	Owner string
	// LeaseFor is how long a claim on a run lasts without renewal. Defaults to 30s.
	LeaseFor time.Duration
	// Canaries measures data loss for services that configure a canary. Optional: without it,
	// a plan whose services configure canaries is blocked rather than run without its RPO.
	Canaries actions.CanaryFactory
	// Probes runs the plan's continuous probes. Optional: without it, a plan that declares
	// probes is blocked.
	Probes actions.Prober
	// DecisionPoll is how often a step waiting for a person looks for the decision.
	// Defaults to 250ms.
	DecisionPoll time.Duration
}

// Runner executes runs.
type Runner struct {
	cfg RunnerConfig
	log *slog.Logger
}

// NewRunner returns a Runner.
func NewRunner(cfg RunnerConfig) (*Runner, error) {
	if cfg.Store == nil {
		return nil, errors.New("runner config: Store is required")
	}
	if cfg.Actions == nil {
		return nil, errors.New("runner config: Actions is required")
	}
	if cfg.Clock == nil {
		cfg.Clock = clock.Real{}
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.Owner == "" {
		host, _ := os.Hostname()
		cfg.Owner = fmt.Sprintf("%s:%d", host, os.Getpid())
	}
	if cfg.LeaseFor == 0 {
		cfg.LeaseFor = DefaultLeaseFor
	}
	if cfg.DecisionPoll == 0 {
		cfg.DecisionPoll = DefaultDecisionPoll
	}
	if cfg.LeaseFor < time.Second {
		return nil, fmt.Errorf("runner config: LeaseFor must be at least 1s, got %s", cfg.LeaseFor)
	}
	return &Runner{cfg: cfg, log: cfg.Logger.With("component", "runner")}, nil
}

// Drill is a plan to run against an estate, with the sources both were parsed from so that
// the run records exactly what ran.
type Drill struct {
	Estate       *drills.Config
	EstateSource []byte
	Plan         *drills.Plan
	PlanSource   []byte
	// TriggeredBy says who or what asked for the run ("cli:alice", "demo").
	TriggeredBy string
	// Force runs a plan that fails services over without their dependencies, to show what
	// such a plan would do. The run records that it was forced.
	Force bool
}

// InvalidPlanError is returned when a drill's plan does not validate against its estate.
type InvalidPlanError struct{ Diagnostics drills.Diagnostics }

func (e *InvalidPlanError) Error() string { return "invalid plan:\n" + e.Diagnostics.Error() }

// Unwrap exposes the diagnostics to errors.As.
func (e *InvalidPlanError) Unwrap() error { return e.Diagnostics }

// Submit validates the drill and records it as a pending run.
func (r *Runner) Submit(ctx context.Context, d *Drill) (*store.Run, error) {
	opts := drills.ValidateOptions{AllowUnplannedDependencies: d.Force}
	if diags := drills.ValidatePlanWith(d.Estate, d.Plan, opts); diags.HasErrors() {
		return nil, &InvalidPlanError{Diagnostics: diags}
	}
	if d.TriggeredBy == "" {
		return nil, errors.New("submit run: TriggeredBy is required")
	}
	triggeredBy := d.TriggeredBy
	if d.Force {
		triggeredBy += " (forced: dependency validation skipped)"
	}
	if err := r.cfg.Store.EstateSave(ctx, d.Estate, d.EstateSource); err != nil {
		return nil, fmt.Errorf("submit run of %s: %w", d.Plan.Name, err)
	}
	plan, err := r.cfg.Store.PlanSave(ctx, store.PlanSaveParams{
		Name: d.Plan.Name, File: d.Plan.File, Source: d.PlanSource, SHA256: d.Plan.SHA256,
	})
	if err != nil {
		return nil, fmt.Errorf("submit run of %s: %w", d.Plan.Name, err)
	}
	run, err := r.cfg.Store.RunInsert(ctx, &store.RunInsertParams{
		PlanID: plan.ID, PlanName: d.Plan.Name, EstateSHA256: d.Estate.SHA256,
		FromSite: d.Plan.From, ToSite: d.Plan.To, TriggeredBy: triggeredBy, State: drills.RunPending,
	})
	if err != nil {
		return nil, fmt.Errorf("submit run of %s: %w", d.Plan.Name, err)
	}
	r.log.InfoContext(ctx, "run submitted", "run_id", run.ID, "plan", d.Plan.Name, "triggered_by", d.TriggeredBy)
	return run, nil
}

// Outcome is what a run achieved.
type Outcome struct {
	RunID      string
	State      drills.RunState
	Reason     string
	T0, T1     time.Time
	Recoveries []drills.ServiceRecovery
	Verdict    drills.DrillVerdict
}

// Passed reports whether the drill ran to the end and met every objective.
func (o *Outcome) Passed() bool {
	return o.State == drills.RunSucceeded && o.Verdict.ObjectivesMet
}

// execution is the state of one run being executed by this replica.
type execution struct {
	r     *Runner
	d     *Drill
	runID string
	epoch int64
	log   *slog.Logger

	t0, t1       time.Time
	observations []drills.ServiceObservation
	canaries     map[string]actions.Canary
	// canaryMarks are the last rows each canary's primary acknowledged, taken at T0.
	canaryMarks map[string]actions.CanaryMark
	canaryErrs  map[string]error
	probes      []actions.RunningProbe
}

// Execute claims the run and performs its steps in order. It returns an error only when the
// run could not be carried to a recorded end (store unreachable, lease lost); a drill that
// fails is an Outcome with State failed.
func (r *Runner) Execute(ctx context.Context, runID string, d *Drill) (*Outcome, error) {
	epoch, err := r.cfg.Store.RunClaim(ctx, &store.RunClaimParams{RunID: runID, Owner: r.cfg.Owner, LeaseFor: r.cfg.LeaseFor})
	if err != nil {
		return nil, fmt.Errorf("claim run %s: %w", runID, err)
	}
	return r.ExecuteClaimed(ctx, runID, epoch, d)
}

// ExecuteClaimed carries a run this replica has claimed at epoch to a recorded end. A run that
// an earlier replica left mid-way is resumed: see resume.go.
func (r *Runner) ExecuteClaimed(ctx context.Context, runID string, epoch int64, d *Drill) (*Outcome, error) {
	x := &execution{r: r, d: d, runID: runID, epoch: epoch, log: r.log.With("run_id", runID, "plan", d.Plan.Name)}
	x.log.InfoContext(ctx, "run claimed", "epoch", epoch, "owner", r.cfg.Owner)
	if err := x.loadPrior(ctx); err != nil {
		return nil, fmt.Errorf("resume run %s: %w", runID, err)
	}

	runCtx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	renewDone := make(chan struct{})
	go func() {
		defer close(renewDone)
		x.renewLease(runCtx, cancel)
	}()
	defer func() { cancel(nil); <-renewDone }()

	if err := r.cfg.Store.RunStateSet(runCtx, &store.RunStateSetParams{
		RunID: runID, Epoch: epoch, State: drills.RunRunning, At: r.cfg.Clock.Now(),
	}); err != nil {
		return nil, fmt.Errorf("start run %s: %w", runID, err)
	}
	if reason := x.startCanaries(runCtx); reason != "" {
		return x.finishBlocked(ctx, reason)
	}
	defer x.stopCanaries()
	if reason := x.startProbes(runCtx); reason != "" {
		return x.finishBlocked(ctx, reason)
	}
	stepErr := x.runSteps(runCtx)
	x.stopProbes(ctx)
	if cause := context.Cause(runCtx); errors.Is(cause, store.ErrLeaseLost) {
		// Another replica owns the run now; anything written from here would be refused.
		x.log.WarnContext(ctx, "lease lost; stopping without further writes")
		return nil, fmt.Errorf("run %s: %w", runID, store.ErrLeaseLost)
	}
	return x.finish(ctx, stepErr)
}

// renewLease keeps the claim alive; losing it cancels the run at once.
func (x *execution) renewLease(ctx context.Context, cancel context.CancelCauseFunc) {
	every := x.r.cfg.LeaseFor / 3
	for {
		t := x.r.cfg.Clock.NewTimer(every)
		select {
		case <-ctx.Done():
			t.Stop()
			return
		case <-t.C():
		}
		err := x.r.cfg.Store.RunLeaseRenew(ctx, x.runID, x.epoch, x.r.cfg.LeaseFor)
		switch {
		case errors.Is(err, store.ErrLeaseLost):
			cancel(store.ErrLeaseLost)
			return
		case err != nil && ctx.Err() == nil:
			// A transient store error: the next renewal may succeed before the lease ends.
			x.log.WarnContext(ctx, "lease renewal failed", "err", err)
		}
	}
}

// stepFailure is a step that ended the run.
type stepFailure struct {
	key string
	err error
}

func (e *stepFailure) Error() string { return fmt.Sprintf("step %s failed: %v", e.key, e.err) }
func (e *stepFailure) Unwrap() error { return e.err }

func (x *execution) runSteps(ctx context.Context) error {
	instances, err := x.d.Plan.Expand(x.d.Estate)
	if err != nil {
		return fmt.Errorf("expand plan: %w", err)
	}
	// The last instance of a milestone step stamps the milestone.
	lastOfStep := map[*drills.Step]int{}
	for i, inst := range instances {
		lastOfStep[inst.Step] = i
	}
	for seq, inst := range instances {
		if err := ctx.Err(); err != nil {
			return err
		}
		skip, attempt, err := x.resumeStep(ctx, seq+1, inst)
		if err != nil {
			return err
		}
		if !skip {
			if err := x.runStep(ctx, seq+1, inst, attempt); err != nil {
				return err
			}
		}
		if m := inst.Step.Milestone; m != "" && lastOfStep[inst.Step] == seq {
			if err := x.stampMilestone(ctx, m); err != nil {
				return err
			}
		}
	}
	return nil
}

func (x *execution) runStep(ctx context.Context, seq int, inst drills.StepInstance, attempt int) error {
	st := x.r.cfg.Store
	clk := x.r.cfg.Clock
	step := inst.Step
	log := x.log.With("step", inst.Key, "action", step.Action)
	action, ok := x.r.cfg.Actions.Lookup(step.Action)
	if !ok {
		return &stepFailure{key: inst.Key, err: fmt.Errorf("no implementation of action %s in this build", step.Action)}
	}
	spec := action.Spec()
	timeout := step.Timeout
	if timeout == 0 {
		timeout = spec.DefaultTimeout
	}
	var site *drills.Site
	if step.Site != "" {
		site = x.d.Estate.Site(step.Site)
	}
	services := x.d.Plan.ServicesOf(x.d.Estate, inst)

	stepID, err := st.StepStart(ctx, &store.StepStartParams{
		RunID: x.runID, Epoch: x.epoch, Seq: seq, Key: inst.Key, Name: step.Name, Action: step.Action,
		Site: step.Site, Service: inst.Service, Attempt: attempt, Idempotent: spec.Idempotent,
		Timeout: timeout, At: clk.Now(),
	})
	if err != nil {
		return fmt.Errorf("record start of step %s: %w", inst.Key, err)
	}
	log.InfoContext(ctx, "step started", "site", step.Site, "timeout", timeout.String())

	stepCtx, cancel := context.WithTimeout(ctx, timeout)
	started := clk.Now()
	res, runErr := action.Run(stepCtx, &actions.Request{
		RunID: x.runID, Config: x.d.Estate, Plan: x.d.Plan, Instance: inst,
		Site: site, Services: services, Clock: clk, Logger: log,
		Decisions: &storeDecisions{store: st, clock: clk, poll: x.r.cfg.DecisionPoll, stepID: stepID},
	})
	timedOut := errors.Is(stepCtx.Err(), context.DeadlineExceeded) && ctx.Err() == nil
	cancel()
	ended := clk.Now()
	if res == nil {
		res = &actions.Result{}
	}
	for _, o := range res.Observations {
		x.observations = append(x.observations, drills.ServiceObservation{
			Service: o.Service, PassedAt: o.PassedAt, Resolution: o.Resolution,
		})
	}

	state := drills.StepSucceeded
	msg := ""
	if runErr != nil {
		state = drills.StepFailed
		msg = runErr.Error()
		if timedOut {
			msg = fmt.Sprintf("timed out after %s: %s", timeout, msg)
		}
	}
	evidence, err := encodeEvidence(res, ended.Sub(started))
	if err != nil {
		return fmt.Errorf("encode evidence of step %s: %w", inst.Key, err)
	}
	// The result is recorded even when the run was interrupted: it is a fact of the drill.
	wctx, wcancel := context.WithTimeout(context.WithoutCancel(ctx), bookkeepingTimeout)
	defer wcancel()
	if err := st.StepFinish(wctx, &store.StepFinishParams{
		RunID: x.runID, Epoch: x.epoch, StepID: stepID, State: state, Error: msg, Evidence: evidence, At: ended,
	}); err != nil {
		return fmt.Errorf("record result of step %s: %w", inst.Key, err)
	}
	if runErr != nil {
		log.WarnContext(ctx, "step failed", "err", msg, "took", ended.Sub(started).String())
		return &stepFailure{key: inst.Key, err: errors.New(msg)}
	}
	log.InfoContext(ctx, "step succeeded", "took", ended.Sub(started).String())
	return nil
}

func encodeEvidence(res *actions.Result, took time.Duration) (json.RawMessage, error) {
	ev := map[string]any{}
	for k, v := range res.Evidence {
		ev[k] = v
	}
	ev["took_ms"] = took.Milliseconds()
	if len(res.Observations) > 0 {
		obs := make([]map[string]any, 0, len(res.Observations))
		for _, o := range res.Observations {
			obs = append(obs, map[string]any{
				"service": o.Service, "site": o.Site, "passed_at": o.PassedAt.UTC(),
				"resolution_ms": o.Resolution.Milliseconds(),
			})
		}
		ev["observations"] = obs
	}
	return json.Marshal(ev)
}

func (x *execution) stampMilestone(ctx context.Context, m drills.Milestone) error {
	at := x.r.cfg.Clock.Now()
	switch m {
	case drills.MilestoneDisaster:
		x.t0 = at
		// Data written after the failure was injected cannot be lost by it.
		x.stopCanaries()
	case drills.MilestoneRestored:
		x.t1 = at
	}
	if err := x.r.cfg.Store.RunMilestone(ctx, &store.RunMilestoneParams{
		RunID: x.runID, Epoch: x.epoch, Milestone: m, At: at,
	}); err != nil {
		return fmt.Errorf("record milestone %s: %w", m, err)
	}
	x.log.InfoContext(ctx, "milestone", "milestone", string(m))
	return nil
}

// finish computes the recovery of every service and records the run's end.
func (x *execution) finish(ctx context.Context, stepErr error) (*Outcome, error) {
	recs := drills.Recoveries(drills.RecoveryInput{
		Config: x.d.Estate, Plan: x.d.Plan, Site: x.d.Plan.To, T0: x.t0, Observations: x.observations,
	})
	verdict := drills.Verdict(recs, x.t0)
	rpos := x.measureCanaries(ctx)
	for _, r := range rpos {
		if !r.met {
			verdict.ObjectivesMet = false
		}
	}
	out := &Outcome{RunID: x.runID, T0: x.t0, T1: x.t1, Recoveries: recs, Verdict: verdict, State: drills.RunSucceeded}
	switch {
	case errors.Is(stepErr, context.Canceled):
		out.State = drills.RunAborted
		out.Reason = "interrupted before the plan finished"
	case stepErr != nil:
		out.State = drills.RunFailed
		out.Reason = stepErr.Error()
	case !verdict.ObjectivesMet:
		out.Reason = "the plan ran to the end but not every recovery objective was met"
	}

	params := &store.RunFinishParams{
		RunID: x.runID, Epoch: x.epoch, State: out.State, Reason: out.Reason, At: x.r.cfg.Clock.Now(),
		ObjectivesMet: &verdict.ObjectivesMet, Measurements: measurementInputs(x.d.Estate, recs, rpos),
	}
	if verdict.Restored {
		rto := verdict.RTOActual
		params.RTOActual = &rto
	}
	wctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), bookkeepingTimeout)
	defer cancel()
	if err := x.r.cfg.Store.RunFinish(wctx, params); err != nil {
		return nil, fmt.Errorf("record end of run %s: %w", x.runID, err)
	}
	x.log.InfoContext(ctx, "run finished", "state", string(out.State), "objectives_met", verdict.ObjectivesMet,
		"rto_ms", verdict.RTOActual.Milliseconds(), "reason", out.Reason)
	return out, nil
}

func measurementInputs(estate *drills.Config, recs []drills.ServiceRecovery, rpos map[string]*rpoResult) []store.MeasurementInput {
	out := make([]store.MeasurementInput, 0, len(recs))
	for _, rec := range recs {
		m := store.MeasurementInput{
			Service: rec.Service, Criticality: rec.Criticality, RPOObjective: rpoObjective(estate, rec.Service),
			RTOObjective: rec.RTOObjective, Restored: rec.Restored, RTOMet: rec.Met,
			Resolution: rec.Resolution, Reason: rec.Reason,
		}
		if rec.Restored {
			actual := rec.RTOActual
			at := rec.RestoredAt
			m.RTOActual = &actual
			m.RestoredAt = &at
		}
		if r := rpos[rec.Service]; r != nil {
			r.apply(&m)
		}
		out = append(out, m)
	}
	return out
}

func rpoObjective(estate *drills.Config, service string) time.Duration {
	if s := estate.Service(service); s != nil {
		return s.RPO
	}
	return 0
}
