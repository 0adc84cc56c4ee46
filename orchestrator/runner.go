package orchestrator

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"sync"
	"sync/atomic"
	"time"

	"github.com/firedrill/firedrill/drills"
	"github.com/firedrill/firedrill/internal/clock"
	"github.com/firedrill/firedrill/internal/metrics"
	"github.com/firedrill/firedrill/internal/runlog"
	"github.com/firedrill/firedrill/orchestrator/actions"
	"github.com/firedrill/firedrill/orchestrator/notify"
	"github.com/firedrill/firedrill/orchestrator/store"
)

// Defaults for RunnerConfig.
const (
	DefaultLeaseFor     = 30 * time.Second
	DefaultDecisionPoll = 250 * time.Millisecond
	// DefaultWatchInterval is how often a run looks for an abort request and evaluates its
	// stop conditions.
	DefaultWatchInterval = 500 * time.Millisecond
	// DefaultLagInterval is how often the max_replication_lag stop condition is measured.
	DefaultLagInterval = 5 * time.Second
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
	// Notifier is told when a run starts, breaches a stop condition and ends. Optional. It
	// only enqueues, so a failing receiver never slows a drill.
	Notifier Notifier
	// DecisionPoll is how often a step waiting for a person looks for the decision.
	// Defaults to 250ms.
	DecisionPoll time.Duration
	// Preflight checks the sites before a run touches anything (reachable, capacity,
	// replication lag). Once any is set, a plan using a Nomad site that none of them checked
	// is blocked. Without any, the site checks are recorded as not performed (engine tests):
	// production wiring must set them.
	Preflight []actions.Preflighter
	// Lag measures replication lag for the max_replication_lag stop condition. Optional:
	// without it, a plan that sets the condition is blocked at pre-flight.
	Lag actions.LagReader
	// WatchInterval is how often a run looks for an abort request and evaluates its stop
	// conditions. Defaults to 500ms.
	WatchInterval time.Duration
	// LagInterval is how often replication lag is measured for max_replication_lag.
	// Defaults to 5s.
	LagInterval time.Duration
	// Metrics records step durations and run ends. Optional (nil records nothing).
	Metrics *metrics.Metrics
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
	if cfg.WatchInterval == 0 {
		cfg.WatchInterval = DefaultWatchInterval
	}
	if cfg.LagInterval == 0 {
		cfg.LagInterval = DefaultLagInterval
	}
	if cfg.WatchInterval < 0 || cfg.LagInterval < 0 {
		return nil, errors.New("runner config: WatchInterval and LagInterval must be positive")
	}
	if cfg.LeaseFor < time.Second {
		return nil, fmt.Errorf("runner config: LeaseFor must be at least 1s, got %s", cfg.LeaseFor)
	}
	return &Runner{cfg: cfg, log: cfg.Logger.With("component", "runner")}, nil
}

// Drill is a plan to run against an estate, with the sources both were parsed from so that
// the run records exactly what ran.
type Drill struct {
	Estate       *drills.Estate
	EstateSource []byte
	Plan         *drills.Plan
	PlanSource   []byte
	// RequestedBy is who or what asks for the run: a local person (firedrill run, demo), an
	// authenticated user (through orchestrator/control), a schedule or the system. Required
	// to submit.
	RequestedBy drills.Actor
	// Force runs a plan that fails services over without their dependencies, to show what
	// such a plan would do. The run records that it was forced.
	Force bool
}

// InvalidPlanError is returned when a drill's plan does not validate against its estate.
type InvalidPlanError struct{ Diagnostics drills.Diagnostics }

func (e *InvalidPlanError) Error() string { return "invalid plan:\n" + e.Diagnostics.Error() }

// Unwrap exposes the diagnostics to errors.As.
func (e *InvalidPlanError) Unwrap() error { return e.Diagnostics }

// Submit validates the drill and records it as a pending run, for a worker to execute.
func (r *Runner) Submit(ctx context.Context, d *Drill) (*store.Run, error) {
	return r.submit(ctx, d, false)
}

// SubmitClaimed validates and records the drill already claimed by this runner (lease epoch
// 1), so no worker of another replica can take it before this runner executes it with
// ExecuteClaimed(ctx, run.ID, run.LeaseEpoch, d).
func (r *Runner) SubmitClaimed(ctx context.Context, d *Drill) (*store.Run, error) {
	return r.submit(ctx, d, true)
}

func (r *Runner) submit(ctx context.Context, d *Drill, claim bool) (*store.Run, error) {
	if err := ValidateDrill(d); err != nil {
		return nil, err
	}
	p := &store.RunSubmitParams{
		Estate: d.Estate, EstateSource: d.EstateSource, Plan: d.Plan, PlanSource: d.PlanSource,
		Run: store.RunInsertParams{RequestedBy: d.RequestedBy, Forced: d.Force, State: drills.RunPending},
	}
	if claim {
		p.Run.ClaimOwner, p.Run.ClaimFor = r.cfg.Owner, r.cfg.LeaseFor
	}
	run, err := r.cfg.Store.RunSubmit(ctx, p)
	if err != nil {
		return nil, err
	}
	r.log.InfoContext(ctx, "run submitted", "run_id", run.ID, "plan", d.Plan.Name, "requested_by", d.RequestedBy.String())
	return run, nil
}

// ValidateDrill checks a drill before it is recorded: its plan validates against its estate
// (dependencies aside when forced: an *InvalidPlanError otherwise) and who asks for it is
// known. Every path that records a run (the runner, orchestrator/control) calls it.
func ValidateDrill(d *Drill) error {
	if d == nil || d.Estate == nil || d.Plan == nil {
		return errors.New("submit run: the drill needs an estate and a plan")
	}
	opts := drills.ValidateOptions{AllowUnplannedDependencies: d.Force}
	if diags := drills.ValidatePlanWith(d.Estate, d.Plan, opts); diags.HasErrors() {
		return &InvalidPlanError{Diagnostics: diags}
	}
	if d.RequestedBy.IsZero() {
		return errors.New("submit run: RequestedBy is required")
	}
	if err := d.RequestedBy.Validate(); err != nil {
		return fmt.Errorf("submit run: RequestedBy: %w", err)
	}
	return nil
}

// Outcome is what a run achieved.
type Outcome struct {
	RunID  string
	State  drills.RunState
	Reason string
	// Err is the error that ended the plan's steps, nil when none did: a step's failure,
	// which wraps its action's error, so errors.As finds the action's typed errors (a failure
	// recorded by an earlier replica comes back as its message only).
	Err        error
	T0, T1     time.Time
	Recoveries []drills.ServiceRecovery
	Verdict    drills.DrillVerdict
	// Forced: the plan was validated without its dependencies; a forced run never passes.
	Forced bool
	// Objectives is what the run proved about each service's RTO and RPO; ObjectivesMet is
	// drills.ObjectivesMet of it.
	Objectives    []drills.ServiceObjectives
	ObjectivesMet bool
}

// Passed reports whether the drill passed, by drills.Passed.
func (o *Outcome) Passed() bool {
	return drills.Passed(o.State, o.Forced, o.Objectives)
}

// execution is the state of one run being executed by this replica.
type execution struct {
	r     *Runner
	d     *Drill
	runID string
	epoch int64
	log   *slog.Logger

	// mu guards what parallel step instances and the watcher share: t0 and t1 (written
	// only by the step loop, under mu), observations, running, sites and disasterStarted.
	mu           sync.Mutex
	t0, t1       time.Time
	observations []drills.ServiceObservation
	canaries     map[string]actions.Canary
	// canaryMarks are the last rows each canary's primary acknowledged, taken at T0.
	canaryMarks map[string]actions.CanaryMark
	canaryErrs  map[string]error
	probes      []actions.RunningProbe
	// running are the step instances whose action runs now, for the budget watch.
	running map[string]runningStep
	// sites is what the run last did on each site it touched, for the end reason.
	sites siteLedger
	// disasterStarted is set once the disaster step started: from then on a failed run
	// is rolled back.
	disasterStarted bool

	// leaseUntil (UnixNano) is when the run's lease ends, as last confirmed: how long a
	// bookkeeping write may be retried (see record).
	leaseUntil atomic.Int64
	// stopRun cancels the run's context with a cause: set once the run's context exists.
	stopRun context.CancelCauseFunc
}

// runningStep is a step instance whose action runs now.
type runningStep struct {
	started time.Time
	budget  time.Duration
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
//
// The phases: pre-flight (a fresh run only; failure ends it blocked, nothing touched), the
// plan's steps while a watcher looks for abort requests and stop-condition breaches, then
// the rollback steps (after an abort, or after a failure once the disaster step started),
// then the cleanup steps (always), then the recorded end.
func (r *Runner) ExecuteClaimed(ctx context.Context, runID string, epoch int64, d *Drill) (*Outcome, error) {
	// Every line logged for the run, by whichever package, says which run (runlog.Handler).
	ctx = runlog.WithRun(ctx, runID)
	out, err := r.executeClaimed(ctx, runID, epoch, d)
	if out != nil {
		r.notify(ctx, notify.Event{Kind: notify.EventRunEnded, RunID: runID, Plan: d.Plan.Name, State: string(out.State), Reason: out.Reason,
			Fields: map[string]any{"objectives_met": out.ObjectivesMet, "passed": out.Passed(), "rto_actual_ms": out.Verdict.RTOActual.Milliseconds()}})
	}
	return out, err
}

func (r *Runner) executeClaimed(ctx context.Context, runID string, epoch int64, d *Drill) (*Outcome, error) {
	x := &execution{r: r, d: d, runID: runID, epoch: epoch, log: r.log.With("run_id", runID, "plan", d.Plan.Name),
		running: map[string]runningStep{}}
	// The claim was just taken (or renewed by SubmitClaimed's caller moments ago).
	x.leaseConfirmed(r.cfg.Clock.Now())
	x.log.InfoContext(ctx, "run claimed", "epoch", epoch, "owner", r.cfg.Owner)
	var run *store.Run
	err := x.record(ctx, "read run", func(ctx context.Context, _ bool) error {
		var err error
		run, err = r.cfg.Store.RunGet(ctx, runID)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("read run %s: %w", runID, err)
	}
	x.loadPrior(ctx, run)

	runCtx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	x.stopRun = cancel
	renewDone := make(chan struct{})
	go func() {
		defer close(renewDone)
		x.renewLease(runCtx, cancel)
	}()
	defer func() { cancel(nil); <-renewDone }()

	if run.StartedAt == nil {
		// A fresh run. One that was asked to abort before it started never starts.
		if ab := abortOfRun(run); ab != nil {
			return x.finishUntouched(ctx, drills.RunAborted, ab.Error()+"; the run never started")
		}
		if reason := x.preflight(runCtx, run); reason != "" {
			return x.finishBlocked(ctx, reason)
		}
	}
	if err := x.record(runCtx, "start run", func(ctx context.Context, _ bool) error {
		// A retry after a write that committed is running -> running: allowed.
		return r.cfg.Store.RunStateSet(ctx, &store.RunStateSetParams{
			RunID: runID, Epoch: epoch, State: drills.RunRunning, At: r.cfg.Clock.Now(),
		})
	}); err != nil {
		if errors.Is(context.Cause(runCtx), store.ErrLeaseLost) {
			return nil, fmt.Errorf("run %s: %w", runID, store.ErrLeaseLost)
		}
		return nil, fmt.Errorf("start run %s: %w", runID, err)
	}
	if run.StartedAt == nil {
		r.notify(ctx, notify.Event{Kind: notify.EventRunStarted, RunID: runID, Plan: d.Plan.Name, State: string(drills.RunRunning),
			Fields: map[string]any{"from": d.Plan.From, "to": d.Plan.To, "triggered_by": run.RequestedBy.String()}})
	}
	if reason := x.startCanaries(runCtx); reason != "" {
		return x.finishBlocked(ctx, reason)
	}
	defer x.stopCanaries()
	if reason := x.startProbes(runCtx); reason != "" {
		x.stopCanaries()
		x.cleanupCanaries(ctx)
		return x.finishBlocked(ctx, reason)
	}

	// The steps run under stepsCtx: an abort cancels it with an *abortError as its cause,
	// leaving runCtx (and so the lease and the rollback) alive.
	stepsCtx, abortSteps := context.WithCancelCause(runCtx)
	defer abortSteps(nil)
	if ab := abortOfRun(run); ab != nil {
		// Taken over while aborting: straight to the rollback.
		abortSteps(ab)
	}
	watchDone := make(chan struct{})
	go func() {
		defer close(watchDone)
		x.watch(stepsCtx, abortSteps)
	}()
	stepErr := x.runSteps(stepsCtx)
	abortSteps(errStepsDone)
	<-watchDone
	x.stopProbes(ctx)
	if cause := context.Cause(runCtx); errors.Is(cause, store.ErrLeaseLost) {
		// Another replica owns the run now; anything written from here would be refused.
		x.log.WarnContext(ctx, "lease lost; stopping without further writes")
		return nil, fmt.Errorf("run %s: %w", runID, store.ErrLeaseLost)
	}

	end := &ending{stepErr: stepErr}
	if !errors.As(context.Cause(stepsCtx), &end.abort) && errors.Is(stepErr, ErrOperatorAbort) {
		// An operator decided to abort at a step (abortFailure): the abort is the cause.
		errors.As(stepErr, &end.abort)
	}
	if end.abort == nil && runCtx.Err() != nil {
		// The process is stopping (not an abort): leave the run to a takeover or the operator.
		end.interrupted = true
		return x.finish(ctx, end)
	}
	x.mu.Lock()
	rollback := end.abort != nil || (stepErr != nil && x.disasterStarted)
	x.mu.Unlock()
	if rollback {
		end.rollback = x.runPhase(runCtx, phaseRollback)
	}
	end.cleanup = x.runPhase(runCtx, phaseCleanup)
	if cause := context.Cause(runCtx); errors.Is(cause, store.ErrLeaseLost) {
		x.log.WarnContext(ctx, "lease lost during rollback or cleanup; stopping without further writes")
		return nil, fmt.Errorf("run %s: %w", runID, store.ErrLeaseLost)
	}
	return x.finish(ctx, end)
}

// errStepsDone ends the watcher once the steps are over.
var errStepsDone = errors.New("steps done")

// renewLease keeps the claim alive; losing it cancels the run at once.
func (x *execution) renewLease(ctx context.Context, cancel context.CancelCauseFunc) {
	every := x.r.cfg.LeaseFor / 3
	wait := every
	for {
		t := x.r.cfg.Clock.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return
		case <-t.C():
		}
		at := x.r.cfg.Clock.Now()
		// A renewal the database never answers (a stalled network: no reset, no error) must
		// fail while the lease still stands, so that the check below stops the run before
		// another replica may claim it. Without a deadline it would wait out the stall.
		margin := max(x.r.cfg.LeaseFor/10, 2*min(every, time.Second))
		callFor := max(min(every, time.Unix(0, x.leaseUntil.Load()).Sub(at)-margin), every/2)
		rctx, rcancel := context.WithTimeout(ctx, callFor)
		err := x.r.cfg.Store.RunLeaseRenew(rctx, &store.RunLeaseRenewParams{RunID: x.runID, Epoch: x.epoch, LeaseFor: x.r.cfg.LeaseFor})
		rcancel()
		switch {
		case err == nil:
			x.leaseConfirmed(at)
			wait = every
		case errors.Is(err, store.ErrLeaseLost):
			cancel(store.ErrLeaseLost)
			return
		case ctx.Err() == nil:
			// A transient store error: try again soon, while the lease still lasts. Once it
			// would run out before the next try, stop the run (its steps' programs with it)
			// while the lease still stands: another replica may claim the run at its end,
			// and two copies of a step must never run at once.
			x.log.WarnContext(ctx, "lease renewal failed", "err", err)
			wait = min(every, time.Second)
			if !x.r.cfg.Clock.Now().Add(wait + margin).Before(time.Unix(0, x.leaseUntil.Load())) {
				x.log.ErrorContext(ctx, "the run's lease is about to lapse with the database unreachable; stopping the run", "err", err)
				cancel(errLeaseLapsed)
				return
			}
		}
	}
}

// stepFailure is a step that ended the run. It is the one place that names the step in the
// message ("step KEY failed: ..."): the errors it wraps (the action's, kept for errors.As) do
// not repeat it.
type stepFailure struct {
	key string
	err error
}

func (e *stepFailure) Error() string { return fmt.Sprintf("step %s failed: %v", e.key, e.err) }
func (e *stepFailure) Unwrap() error { return e.err }

// runSteps runs the plan's steps in order; the instances of a parallel step run together,
// in dependency order. It stops at the first failure.
func (x *execution) runSteps(ctx context.Context) error {
	instances, err := x.d.Plan.Expand(x.d.Estate)
	if err != nil {
		return fmt.Errorf("expand plan: %w", err)
	}
	x.mu.Lock()
	if !x.t0.IsZero() {
		x.disasterStarted = true
	}
	x.mu.Unlock()
	for _, g := range groupInstances(instances, 1, "") {
		if err := ctx.Err(); err != nil {
			return err
		}
		if g.milestone == drills.MilestoneDisaster {
			x.mu.Lock()
			before := x.t0.IsZero()
			x.mu.Unlock()
			if before {
				// Nothing is lost by waiting before the disaster: let each canary gather
				// the least evidence its RPO figure needs.
				x.awaitCanaryEvidence(ctx)
			}
		}
		if err := x.runGroup(ctx, g, false); err != nil {
			return err
		}
		if m := g.milestone; m != "" {
			if err := x.stampMilestone(ctx, m); err != nil {
				return err
			}
		}
	}
	return nil
}

// stepGroup is one step's instances that run together (a parallel for_each step), or one
// instance of a step that runs its instances in order.
type stepGroup struct {
	instances []drills.StepInstance
	// seqs are the instances' sequence numbers in the run.
	seqs     []int
	parallel bool
	// milestone is stamped after the group: set on the group holding the step's last instance.
	milestone drills.Milestone
}

// groupInstances splits expanded instances into groups, numbering them from seq and
// prefixing their keys (rollback and cleanup steps are "rollback:..." and "cleanup:...").
func groupInstances(instances []drills.StepInstance, seq int, prefix string) []stepGroup {
	var out []stepGroup
	for i, inst := range instances {
		inst.Key = prefix + inst.Key
		n := len(out)
		if inst.Step.Parallel && n > 0 && out[n-1].instances[0].Step == inst.Step {
			out[n-1].instances = append(out[n-1].instances, inst)
			out[n-1].seqs = append(out[n-1].seqs, seq+i)
		} else {
			out = append(out, stepGroup{instances: []drills.StepInstance{inst}, seqs: []int{seq + i}, parallel: inst.Step.Parallel})
			n++
		}
		if i == len(instances)-1 || instances[i+1].Step != inst.Step {
			out[n-1].milestone = inst.Step.Milestone
		}
	}
	return out
}

// runGroup runs a group's instances: one at a time, or for a parallel step each as soon as
// the instances it waits for (drills.ParallelWaits) succeeded. Unless keepGoing, no instance
// starts once one has failed. It returns the first failure in the group's order.
func (x *execution) runGroup(ctx context.Context, g stepGroup, keepGoing bool) error {
	type slot struct {
		done       chan struct{}
		err        error
		notStarted bool
	}
	slots := make(map[string]*slot, len(g.instances))
	for _, inst := range g.instances {
		slots[inst.Key] = &slot{done: make(chan struct{})}
	}
	var waits map[string][]string
	if g.parallel {
		waits = drills.ParallelWaits(x.d.Estate, g.instances)
	}
	var failed atomic.Bool
	var wg sync.WaitGroup
	for i, inst := range g.instances {
		sl := slots[inst.Key]
		if failed.Load() && !keepGoing {
			sl.notStarted = true
			close(sl.done)
			continue
		}
		// Resume decisions are taken one by one, in order: they may wait for an operator.
		skip, attempt, err := x.resumeStep(ctx, g.seqs[i], inst)
		if err != nil || skip {
			sl.err = err
			if err != nil {
				failed.Store(true)
			} else if inst.Step.Milestone == drills.MilestoneDisaster {
				x.mu.Lock()
				x.disasterStarted = true
				x.mu.Unlock()
			}
			close(sl.done)
			continue
		}
		run := func() {
			defer close(sl.done)
			for _, dep := range waits[inst.Key] {
				select {
				case <-slots[dep].done:
				case <-ctx.Done():
				}
				if d := slots[dep]; ctx.Err() != nil || d.err != nil || d.notStarted {
					sl.notStarted = true
					return
				}
			}
			if (failed.Load() && !keepGoing) || ctx.Err() != nil {
				sl.notStarted = true
				return
			}
			if sl.err = x.runStep(ctx, g.seqs[i], inst, attempt); sl.err != nil {
				failed.Store(true)
			}
		}
		if !g.parallel {
			run()
			continue
		}
		wg.Go(run)
	}
	wg.Wait()
	notStarted := false
	for _, inst := range g.instances {
		sl := slots[inst.Key]
		if sl.err != nil {
			return sl.err
		}
		notStarted = notStarted || sl.notStarted
	}
	if notStarted && ctx.Err() != nil {
		return ctx.Err()
	}
	return nil
}

func (x *execution) runStep(ctx context.Context, seq int, inst drills.StepInstance, attempt int) error {
	st := x.r.cfg.Store
	clk := x.r.cfg.Clock
	step := inst.Step
	ctx = runlog.WithStep(ctx, inst.Key)
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
	earlier, err := x.earlierCheckpoints(ctx, inst.Key, attempt)
	if err != nil {
		return err
	}

	stepID, err := x.stepStart(ctx, &store.StepStartParams{
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
	x.mu.Lock()
	if step.Milestone == drills.MilestoneDisaster {
		x.disasterStarted = true
	}
	x.running[inst.Key] = runningStep{started: started, budget: step.Budget}
	x.mu.Unlock()
	res, runErr := action.Run(stepCtx, &actions.Request{
		RunID: x.runID, Config: x.d.Estate, Plan: x.d.Plan, Instance: inst,
		Site: site, Services: services, Clock: clk, Logger: log,
		Decisions:   &storeDecisions{store: st, clock: clk, poll: x.r.cfg.DecisionPoll, stepID: stepID},
		Checkpoints: &stepCheckpoints{x: x, key: inst.Key, attempt: attempt},
		Earlier:     earlier,
	})
	timedOut := errors.Is(stepCtx.Err(), context.DeadlineExceeded) && ctx.Err() == nil
	cancel()
	ended := clk.Now()
	if res == nil {
		res = &actions.Result{}
	}
	x.mu.Lock()
	delete(x.running, inst.Key)
	for _, o := range res.Observations {
		x.observations = append(x.observations, drills.ServiceObservation{
			Service: o.Service, PassedAt: o.PassedAt, Resolution: o.Resolution, Method: o.Method,
		})
	}
	x.mu.Unlock()

	if runErr != nil && errors.Is(context.Cause(ctx), store.ErrLeaseLost) {
		// The action was cut short because this replica lost the run's lease (the database
		// was out of reach longer than the lease): another replica may carry the run by now,
		// and this one writes nothing more. The attempt stays open, as after a crash, and the
		// takeover decides what it was: re-run when idempotent, an operator's call otherwise.
		// Recording it as failed would fail a drill for the replica's trouble, not the step's.
		log.WarnContext(ctx, "step interrupted by the loss of the run's lease; its outcome is left to the takeover",
			"err", runErr.Error(), "took", clk.Now().Sub(started).String())
		return fmt.Errorf("step %s: %w", inst.Key, store.ErrLeaseLost)
	}
	state := drills.StepSucceeded
	msg := ""
	var ab *abortError
	if runErr != nil {
		state = drills.StepFailed
		// The action's error stays in the chain (errors.As finds its typed errors through the
		// step's failure); only the message gains why the step was cut short.
		switch {
		case timedOut:
			runErr = fmt.Errorf("timed out after %s: %w", timeout, runErr)
			msg = runErr.Error()
		case errors.As(context.Cause(ctx), &ab):
			state = drills.StepAborted
			// The step's record says why; the run's reason carries the abort itself (which
			// may name this step: a budget overrun), so the failure does not repeat it.
			msg = fmt.Sprintf("aborted (%s): %s", ab, runErr)
			runErr = fmt.Errorf("aborted: %w", runErr)
		default:
			msg = runErr.Error()
		}
	}
	x.sites.note(step.Site, inst.Key, step.Action, state, msg)
	evidence, err := encodeEvidence(res, ended.Sub(started))
	if err != nil {
		return fmt.Errorf("encode evidence of step %s: %w", inst.Key, err)
	}
	// The result is recorded even when the run was interrupted: it is a fact of the drill.
	wctx, wcancel := context.WithTimeout(context.WithoutCancel(ctx), bookkeepingTimeout)
	defer wcancel()
	if err := x.stepFinish(wctx, &store.StepFinishParams{
		RunID: x.runID, Epoch: x.epoch, StepID: stepID, State: state, Error: msg, Evidence: evidence, At: ended,
	}); err != nil {
		return fmt.Errorf("record result of step %s: %w", inst.Key, err)
	}
	x.r.cfg.Metrics.StepFinished(step.Action, string(state), ended.Sub(started))
	if runErr != nil {
		log.WarnContext(ctx, "step "+string(state), "err", msg, "took", ended.Sub(started).String())
		return &stepFailure{key: inst.Key, err: runErr}
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
				"resolution_ms": o.Resolution.Milliseconds(), "resolution_method": o.Method,
			})
		}
		ev["observations"] = obs
	}
	return json.Marshal(ev)
}

func (x *execution) stampMilestone(ctx context.Context, m drills.Milestone) error {
	at := x.r.cfg.Clock.Now()
	// A resumed run passes its milestone steps again: the first stamp stands, in memory as in
	// the store, so the measured RTO stays what the drill achieved.
	x.mu.Lock()
	stamp := &x.t0
	if m == drills.MilestoneRestored {
		stamp = &x.t1
	}
	already := !stamp.IsZero()
	if !already {
		*stamp = at
	}
	x.mu.Unlock()
	if already {
		return nil
	}
	if m == drills.MilestoneDisaster {
		// Data written after the failure was injected cannot be lost by it.
		x.stopCanaries()
	}
	if err := x.record(ctx, "record milestone", func(ctx context.Context, _ bool) error {
		// The first stamp wins in the store: a retry after a write that committed only
		// repeats the milestone's event.
		return x.r.cfg.Store.RunMilestone(ctx, &store.RunMilestoneParams{RunID: x.runID, Epoch: x.epoch, Milestone: m, At: at})
	}); err != nil {
		return fmt.Errorf("record milestone %s: %w", m, err)
	}
	x.log.InfoContext(ctx, "milestone", "milestone", string(m))
	return nil
}

// ending is how the steps, the rollback and the cleanup went.
type ending struct {
	stepErr error
	// abort is set when an operator or a stop condition aborted the run.
	abort *abortError
	// interrupted: the process stopped the run (shutdown), not an abort.
	interrupted bool
	// rollback and cleanup are nil when the phase did not run.
	rollback *phaseReport
	cleanup  *phaseReport
}

// state decides the run's end state and reason. See ExecuteClaimed for the phases.
func (e *ending) state(x *execution, objectivesMet bool) (drills.RunState, string) {
	var state drills.RunState
	var reason string
	switch {
	case e.interrupted:
		return drills.RunAborted, "interrupted before the plan finished"
	case e.abort != nil || e.stepErr != nil:
		cause := ""
		if e.abort != nil {
			cause = e.abort.Error()
		} else {
			cause = e.stepErr.Error()
		}
		switch {
		case e.rollback == nil && e.abort == nil:
			state, reason = drills.RunFailed, cause
		case e.rollback == nil || e.rollback.ran == 0:
			state, reason = drills.RunAborted, cause+"; the plan has no rollback steps"
			if e.abort == nil {
				state = drills.RunFailed
			}
		case e.rollback.failed > 0:
			state = drills.RunRollbackFailed
			reason = fmt.Sprintf("%s; rollback failed, sites left: %s", cause, x.sites.summary())
		default:
			state = drills.RunRolledBack
			reason = fmt.Sprintf("%s; rolled back, sites left: %s", cause, x.sites.summary())
		}
	case !objectivesMet:
		state, reason = drills.RunSucceeded, "the plan ran to the end but not every recovery objective was measured and met"
	default:
		state = drills.RunSucceeded
	}
	if e.cleanup != nil && e.cleanup.failed > 0 {
		reason = joinReason(reason, "cleanup failed: "+e.cleanup.firstErr)
		if state == drills.RunSucceeded {
			// The drill passed but left the estate other than the plan meant to.
			state = drills.RunFailed
		}
	}
	return state, reason
}

// finish computes the recovery of every service and records the run's end.
func (x *execution) finish(ctx context.Context, end *ending) (*Outcome, error) {
	recs := drills.Recoveries(drills.RecoveryInput{
		Estate: x.d.Estate, Plan: x.d.Plan, Site: x.d.Plan.To, T0: x.t0, Observations: x.observations,
	})
	verdict := drills.Verdict(recs, x.t0)
	rpos := x.measureCanaries(ctx)
	ms := measurementInputs(x.d.Estate, recs, rpos)
	out := &Outcome{RunID: x.runID, T0: x.t0, T1: x.t1, Recoveries: recs, Verdict: verdict, Err: end.stepErr, Forced: x.d.Force}
	for i := range ms {
		out.Objectives = append(out.Objectives, ms[i].Objectives(!x.t0.IsZero()))
	}
	out.ObjectivesMet = drills.ObjectivesMet(out.Objectives)
	out.State, out.Reason = end.state(x, out.ObjectivesMet)

	params := &store.RunFinishParams{
		RunID: x.runID, Epoch: x.epoch, State: out.State, Reason: out.Reason, At: x.r.cfg.Clock.Now(),
		ObjectivesMet: &out.ObjectivesMet, Measurements: ms,
	}
	if verdict.Restored {
		rto := verdict.RTOActual
		params.RTOActual = &rto
	}
	if !x.t0.IsZero() {
		t0 := x.t0
		params.T0 = &t0
	}
	wctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), bookkeepingTimeout)
	defer cancel()
	if err := x.closeInterrupted(wctx, out.State); err != nil {
		return nil, err
	}
	if err := x.runFinish(wctx, params); err != nil {
		return nil, fmt.Errorf("record end of run %s: %w", x.runID, err)
	}
	x.log.InfoContext(ctx, "run finished", "state", string(out.State), "objectives_met", out.ObjectivesMet, "passed", out.Passed(),
		"rto_ms", verdict.RTOActual.Milliseconds(), "reason", out.Reason)
	return out, nil
}

func measurementInputs(estate *drills.Estate, recs []drills.ServiceRecovery, rpos map[string]*rpoResult) []store.MeasurementInput {
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
		} else if s := estate.Service(rec.Service); s != nil && s.Canary == nil {
			m.Reason = joinReason(m.Reason, "RPO not evidenced: no canary measures its data loss")
		}
		if rec.ResolutionMethod != "" {
			m.Evidence = withResolutionMethod(m.Evidence, rec.ResolutionMethod)
		}
		out = append(out, m)
	}
	return out
}

// withResolutionMethod adds to a measurement's evidence how its restored moment was caught, so
// the recorded resolution says which method bounds it.
func withResolutionMethod(evidence json.RawMessage, method string) json.RawMessage {
	ev := map[string]any{}
	if len(evidence) > 0 {
		if err := json.Unmarshal(evidence, &ev); err != nil {
			return evidence
		}
	}
	ev["resolution_method"] = method
	b, err := json.Marshal(ev)
	if err != nil {
		return evidence
	}
	return b
}

func rpoObjective(estate *drills.Estate, service string) time.Duration {
	if s := estate.Service(service); s != nil {
		return s.RPO
	}
	return 0
}
