package orchestrator

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/firedrill/firedrill/drills"
	"github.com/firedrill/firedrill/internal/clock"
	"github.com/firedrill/firedrill/internal/runlog"
	"github.com/firedrill/firedrill/orchestrator/store"
)

// Defaults for WorkerConfig.
const (
	DefaultWorkerPoll        = time.Second
	DefaultWorkerConcurrency = 4
	// releaseTimeout bounds handing a run back when the worker stops.
	releaseTimeout = 5 * time.Second
	// DefaultStopTimeout bounds how long Stop waits for the runs it handed back to return.
	DefaultStopTimeout = 10 * time.Second
)

// WorkerConfig configures a Worker. A zero field means its default.
type WorkerConfig struct {
	// Runner executes the runs the worker claims, under the runner's Owner and LeaseFor.
	// Required.
	Runner *Runner
	// Store is where runs are claimed. Defaults to the runner's store.
	Store *store.Store
	// LoadDrill rebuilds what a claimed run executes. Defaults to parsing the plan source
	// (PlanGet) and the estate snapshot (EstateGet) the run recorded when it was submitted.
	LoadDrill func(ctx context.Context, run *store.Run) (*Drill, error)
	// Clock defaults to the wall clock.
	Clock clock.Clock
	// Logger defaults to a logger that discards.
	Logger *slog.Logger
	// Poll is how long the worker waits before looking again when no run is claimable.
	// Defaults to 1s.
	Poll time.Duration
	// Concurrency bounds the runs this worker executes at once. Defaults to 4.
	Concurrency int
	// StopTimeout bounds how long Stop waits for the runs it handed back and cancelled to
	// return; past it Stop returns anyway (their leases are released, nothing they still try
	// to write is accepted). Defaults to 10s.
	StopTimeout time.Duration
}

// Worker claims runs that need a replica (pending ones, and those whose holder stopped
// renewing its lease) and carries them to a recorded end. Several workers, in one process or
// in several replicas, can share a PostgreSQL database: a run is claimed by one of them at a
// time (see store.RunClaimNext), and a run whose replica died is resumed by another once its
// lease expires (see resume.go).
type Worker struct {
	cfg WorkerConfig
	log *slog.Logger

	mu       sync.Mutex
	started  bool
	stopped  bool
	stopLoop context.CancelFunc
	loopDone chan struct{}
	inflight map[string]*claimedRun
	runs     sync.WaitGroup
}

// claimedRun is a run this worker executes.
type claimedRun struct {
	epoch  int64
	cancel context.CancelCauseFunc
}

// NewWorker returns a Worker; call Start.
func NewWorker(cfg WorkerConfig) (*Worker, error) {
	if cfg.Runner == nil {
		return nil, errors.New("worker config: Runner is required")
	}
	if cfg.Store == nil {
		cfg.Store = cfg.Runner.cfg.Store
	}
	if cfg.Clock == nil {
		cfg.Clock = clock.Real{}
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.Poll == 0 {
		cfg.Poll = DefaultWorkerPoll
	}
	if cfg.Concurrency == 0 {
		cfg.Concurrency = DefaultWorkerConcurrency
	}
	if cfg.StopTimeout == 0 {
		cfg.StopTimeout = DefaultStopTimeout
	}
	if cfg.Poll < 0 {
		return nil, fmt.Errorf("worker config: Poll must be positive, got %s", cfg.Poll)
	}
	if cfg.Concurrency < 0 {
		return nil, fmt.Errorf("worker config: Concurrency must be positive, got %d", cfg.Concurrency)
	}
	w := &Worker{cfg: cfg, log: cfg.Logger.With("component", "worker", "owner", cfg.Runner.Owner()), inflight: map[string]*claimedRun{}}
	if w.cfg.LoadDrill == nil {
		w.cfg.LoadDrill = w.loadRecordedDrill
	}
	return w, nil
}

// Owner is the identity this runner claims runs under.
func (r *Runner) Owner() string { return r.cfg.Owner }

// Start begins claiming runs. It returns at once; the worker runs until Stop. Cancelling ctx
// stops claiming new runs, but the runs in flight carry on until Stop.
func (w *Worker) Start(ctx context.Context) error {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.started {
		return errors.New("worker already started")
	}
	w.started = true
	loopCtx, cancel := context.WithCancel(ctx)
	w.stopLoop = cancel
	w.loopDone = make(chan struct{})
	// Runs outlive ctx on purpose: only Stop hands them back (see Stop).
	runsCtx := context.WithoutCancel(ctx)
	go func() {
		defer close(w.loopDone)
		w.loop(loopCtx, runsCtx)
	}()
	w.log.InfoContext(ctx, "worker started", "poll", w.cfg.Poll.String(), "concurrency", w.cfg.Concurrency)
	return nil
}

// Stop stops claiming and hands every run in flight back: its lease epoch is bumped and its
// expiry cleared (store.RunRelease), so whatever this replica still tries to write is refused,
// and another replica claims the run at once and resumes it exactly as after a crash
// (succeeded steps are not repeated, an interrupted non-idempotent step waits for an
// operator). Then the runs' contexts are cancelled and Stop waits for their goroutines. A
// replica that dies without Stop (kill -9, power loss) keeps its leases until they expire
// (RunnerConfig.LeaseFor), after which another replica resumes its runs. Stop is idempotent.
func (w *Worker) Stop() {
	w.mu.Lock()
	if !w.started || w.stopped {
		w.mu.Unlock()
		return
	}
	w.stopped = true
	w.stopLoop()
	w.mu.Unlock()
	<-w.loopDone

	w.mu.Lock()
	for runID, c := range w.inflight {
		ctx, cancel := context.WithTimeout(context.Background(), releaseTimeout)
		err := w.cfg.Store.RunRelease(ctx, &store.RunReleaseParams{RunID: runID, Epoch: c.epoch, Reason: "replica " + w.cfg.Runner.Owner() + " stopping"})
		cancel()
		switch {
		case err == nil:
			w.log.Info("run handed back", "run_id", runID)
		case errors.Is(err, store.ErrRunTerminal), errors.Is(err, store.ErrLeaseLost):
		default:
			// Its lease expires on its own; the cancellation below may record the
			// interrupted step as failed.
			w.log.Warn("handing a run back failed", "run_id", runID, "err", err)
		}
		c.cancel(fmt.Errorf("worker stopping: %w", store.ErrLeaseLost))
	}
	w.mu.Unlock()
	done := make(chan struct{})
	go func() { w.runs.Wait(); close(done) }()
	t := w.cfg.Clock.NewTimer(w.cfg.StopTimeout)
	defer t.Stop()
	select {
	case <-done:
		w.log.Info("worker stopped")
	case <-t.C():
		// Each was handed back (or its lease expires): nothing it still tries is recorded.
		w.log.Warn("worker stopped without waiting for every run to return", "waited", w.cfg.StopTimeout.String())
	}
}

func (w *Worker) loop(ctx, runsCtx context.Context) {
	slots := make(chan struct{}, w.cfg.Concurrency)
	for {
		select {
		case slots <- struct{}{}:
		case <-ctx.Done():
			return
		}
		run, epoch, err := w.cfg.Store.RunClaimNext(ctx, &store.RunClaimNextParams{
			Owner: w.cfg.Runner.Owner(), LeaseFor: w.cfg.Runner.cfg.LeaseFor, Now: w.cfg.Clock.Now(),
		})
		if err != nil {
			<-slots
			if ctx.Err() != nil {
				return
			}
			if !errors.Is(err, store.ErrNotFound) {
				w.log.WarnContext(ctx, "claiming a run failed", "err", err)
			}
			if !w.sleep(ctx) {
				return
			}
			continue
		}
		w.mu.Lock()
		if w.stopped {
			// Stop is between cancelling the loop and releasing: hand this one back too.
			w.mu.Unlock()
			<-slots
			rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), releaseTimeout)
			_ = w.cfg.Store.RunRelease(rctx, &store.RunReleaseParams{RunID: run.ID, Epoch: epoch, Reason: "replica " + w.cfg.Runner.Owner() + " stopping"})
			cancel()
			return
		}
		runCtx, cancel := context.WithCancelCause(runsCtx)
		if old := w.inflight[run.ID]; old != nil {
			// This replica claimed its own run again: the earlier execution let its lease
			// lapse (its epoch is stale, so it can record nothing more). Stop it now, so that
			// two copies of a step never run and Stop waits for no orphan.
			w.log.WarnContext(ctx, "run re-claimed from a stale execution of this replica", "run_id", run.ID, "stale_epoch", old.epoch, "epoch", epoch)
			old.cancel(fmt.Errorf("run re-claimed at epoch %d: %w", epoch, store.ErrLeaseLost))
		}
		mine := &claimedRun{epoch: epoch, cancel: cancel}
		w.inflight[run.ID] = mine
		w.runs.Add(1)
		w.mu.Unlock()
		go func() {
			defer func() {
				w.mu.Lock()
				if w.inflight[run.ID] == mine {
					delete(w.inflight, run.ID)
				}
				w.mu.Unlock()
				cancel(nil)
				<-slots
				w.runs.Done()
			}()
			w.execute(runCtx, run, epoch)
		}()
	}
}

func (w *Worker) sleep(ctx context.Context) bool {
	t := w.cfg.Clock.NewTimer(w.cfg.Poll)
	select {
	case <-ctx.Done():
		t.Stop()
		return false
	case <-t.C():
		return true
	}
}

func (w *Worker) execute(ctx context.Context, run *store.Run, epoch int64) {
	ctx = runlog.WithRun(ctx, run.ID)
	log := w.log.With("run_id", run.ID, "plan", run.PlanName, "epoch", epoch)
	log.InfoContext(ctx, "run claimed", "state", string(run.State))
	d, err := w.cfg.LoadDrill(ctx, run)
	if err != nil {
		w.endUnloadable(ctx, run, epoch, err)
		return
	}
	out, err := w.cfg.Runner.ExecuteClaimed(ctx, run.ID, epoch, d)
	switch {
	case errors.Is(err, store.ErrLeaseLost):
		log.InfoContext(ctx, "run left to another replica", "reason", err.Error())
	case err != nil:
		// The lease expires and another replica (or this one) resumes the run.
		log.ErrorContext(ctx, "run not carried to its end", "err", err)
	default:
		log.InfoContext(ctx, "run ended", "state", string(out.State), "passed", out.Passed(), "reason", out.Reason)
	}
}

// endUnloadable ends a run whose plan or estate can no longer be read: claiming it again
// would fail the same way forever.
func (w *Worker) endUnloadable(ctx context.Context, run *store.Run, epoch int64, cause error) {
	state := drills.RunBlocked
	if run.StartedAt != nil {
		state = drills.RunFailed
	}
	met := false
	reason := "the run's recorded plan or estate cannot be loaded: " + cause.Error()
	wctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), bookkeepingTimeout)
	defer cancel()
	if err := w.cfg.Store.RunFinish(wctx, &store.RunFinishParams{
		RunID: run.ID, Epoch: epoch, State: state, Reason: reason, At: w.cfg.Clock.Now(), ObjectivesMet: &met,
	}); err != nil {
		w.log.ErrorContext(ctx, "recording the end of an unloadable run failed", "run_id", run.ID, "err", err)
		return
	}
	w.log.ErrorContext(ctx, "run ended: cannot be loaded", "run_id", run.ID, "state", string(state), "err", cause)
}

// loadRecordedDrill parses the plan source and estate snapshot the run recorded.
func (w *Worker) loadRecordedDrill(ctx context.Context, run *store.Run) (*Drill, error) {
	plan, err := w.cfg.Store.PlanGet(ctx, run.PlanID)
	if err != nil {
		return nil, fmt.Errorf("load plan of run %s: %w", run.ID, err)
	}
	estate, err := w.cfg.Store.EstateGet(ctx, run.EstateSHA256)
	if err != nil {
		return nil, fmt.Errorf("load estate of run %s: %w", run.ID, err)
	}
	cfg, diags := drills.ParseEstate(estate.Source, estate.File)
	if diags.HasErrors() {
		return nil, fmt.Errorf("parse estate %s of run %s: %w", estate.File, run.ID, diags)
	}
	p, diags := drills.ParsePlan(plan.Source, plan.File)
	if diags.HasErrors() {
		return nil, fmt.Errorf("parse plan %s of run %s: %w", plan.File, run.ID, diags)
	}
	return &Drill{
		Estate: cfg, EstateSource: estate.Source, Plan: p, PlanSource: plan.Source, RequestedBy: run.RequestedBy, Force: run.Forced,
	}, nil
}
