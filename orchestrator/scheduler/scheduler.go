// Package scheduler fires the estate's schedules: it turns each fire into a recorded decision
// and, when the fire is due, a run in the store (pending, or awaiting_approval when the
// schedule's approval policy requires it). It never executes runs: a worker claims them.
//
// Exactly-once firing does not depend on timing. Only the replica holding the "scheduler" lease
// decides fires (each decision is fenced by the lease's epoch), and even two deciders cannot
// run a fire twice: the store decides each (schedule, fire time) once, in one transaction with
// the run it creates. Fire times are computed by package drills from the persisted last fire,
// so a restart, a replica takeover or a clock step backwards neither loses nor repeats a fire.
// Every replica records its spans of liveness; only fires at times no replica was alive are
// settled by the schedule's missed-fire policy: one that came due while a dead leader's lease
// was orphaned runs late.
package scheduler

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/firedrill/firedrill/drills"
	"github.com/firedrill/firedrill/internal/clock"
	"github.com/firedrill/firedrill/internal/metrics"
	"github.com/firedrill/firedrill/orchestrator/store"
)

// Defaults applied by New to zero Config fields.
const (
	DefaultLeaseFor = 15 * time.Second
	DefaultTick     = time.Second
	// LeaseName is the lease the deciding replica holds.
	LeaseName = "scheduler"
	// maxDecisionsPerPass bounds one pass over a schedule after a long downtime; the rest of the
	// backlog is decided by the following passes. A schedule's decisions of a pass fit in one
	// batch (see pass.go).
	maxDecisionsPerPass = store.MaxScheduleFireBatch
	// anchorHorizon is how far ahead a new schedule's first fire is looked for.
	anchorHorizon = 5 * 366 * 24 * time.Hour
)

// Config configures a Scheduler.
type Config struct {
	// Store records schedules, fires and runs. Required.
	Store *store.Store
	// Estate defines the schedules, blackouts and services; EstateSource is its file's bytes
	// and EstateFile its path (recorded with each fired run). Estate and EstateSource required.
	Estate       *drills.Estate
	EstateSource []byte
	EstateFile   string
	// LoadPlan reads a schedule's plan: path is the schedule's plan as written in the estate;
	// the function resolves it (relative to the estate file). Required.
	LoadPlan func(path string) (*drills.Plan, []byte, error)
	// Clock defaults to the wall clock.
	Clock clock.Clock
	// Logger defaults to a logger that discards.
	Logger *slog.Logger
	// Owner names this replica in the lease and in each decision; unique per replica. Required.
	Owner string
	// LeaseFor is how long the scheduler lease lasts without renewal. Defaults to 15s.
	LeaseFor time.Duration
	// Tick is the longest wait between two passes (a pass also runs at each fire time).
	// Defaults to 1s.
	Tick time.Duration
	// MissedGrace: a fire older than this when first seen was missed (no replica was deciding
	// at its time) and is settled by the schedule's missed-fire policy. Defaults to 2*Tick.
	MissedGrace time.Duration
	// OnFire, optional, is called with each run this replica's decisions create (e.g. to
	// notify). It must not block.
	OnFire func(ctx context.Context, run *store.Run)
	// Metrics records how late each fired run was created. Optional (nil records nothing).
	Metrics *metrics.Metrics
}

// Scheduler decides the fires of the estate's schedules. Create it with New.
type Scheduler struct {
	cfg Config
	log *slog.Logger
	// estateSHA is the digest of EstateSource: the snapshot fired runs reference.
	estateSHA string

	// tickMu serialises passes; the fields below it belong to the pass.
	tickMu     sync.Mutex
	synced     bool
	estateSent bool
	epoch      int64
	held       bool
	// due caches each schedule's next due time, loaded when this replica becomes the decider.
	due         []*dueEntry
	loaded      bool
	loadedEpoch int64

	mu      sync.Mutex
	cancel  context.CancelFunc
	done    chan struct{}
	stopped bool
}

// New checks cfg, applies defaults and returns a Scheduler, not started.
func New(cfg Config) (*Scheduler, error) {
	switch {
	case cfg.Store == nil:
		return nil, errors.New("scheduler: Store is required")
	case cfg.Estate == nil:
		return nil, errors.New("scheduler: Estate is required")
	case cfg.EstateSource == nil:
		return nil, errors.New("scheduler: EstateSource is required")
	case cfg.LoadPlan == nil:
		return nil, errors.New("scheduler: LoadPlan is required")
	case cfg.Owner == "":
		return nil, errors.New("scheduler: Owner is required")
	case cfg.LeaseFor < 0, cfg.Tick < 0, cfg.MissedGrace < 0:
		return nil, errors.New("scheduler: LeaseFor, Tick and MissedGrace must not be negative")
	}
	if cfg.Clock == nil {
		cfg.Clock = clock.Real{}
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.LeaseFor == 0 {
		cfg.LeaseFor = DefaultLeaseFor
	}
	if cfg.Tick == 0 {
		cfg.Tick = DefaultTick
	}
	if cfg.MissedGrace == 0 {
		cfg.MissedGrace = 2 * cfg.Tick
	}
	if cfg.LeaseFor <= cfg.Tick {
		return nil, fmt.Errorf("scheduler: LeaseFor (%s) must be longer than Tick (%s), or the lease lapses between passes", cfg.LeaseFor, cfg.Tick)
	}
	sum := sha256.Sum256(cfg.EstateSource)
	digest := hex.EncodeToString(sum[:])
	if cfg.Estate.SHA256 != "" && cfg.Estate.SHA256 != digest {
		return nil, errors.New("scheduler: EstateSource is not the source Estate was parsed from (SHA-256 differs)")
	}
	return &Scheduler{cfg: cfg, estateSHA: digest, log: cfg.Logger.With("component", "scheduler", "owner", cfg.Owner)}, nil
}

// Start records the estate's schedules (ScheduleSync) and starts deciding fires in the
// background until ctx ends or Stop is called.
func (s *Scheduler) Start(ctx context.Context) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.done != nil || s.stopped {
		return errors.New("scheduler: already started")
	}
	s.tickMu.Lock()
	err := s.sync(ctx)
	s.tickMu.Unlock()
	if err != nil {
		return err
	}
	ctx, s.cancel = context.WithCancel(ctx)
	s.done = make(chan struct{})
	go s.loop(ctx)
	return nil
}

// Stop stops the background loop, waits for it, and releases the lease so that another replica
// takes over at once. It is idempotent.
func (s *Scheduler) Stop() {
	s.mu.Lock()
	s.stopped = true
	cancel, done := s.cancel, s.done
	s.mu.Unlock()
	if cancel != nil {
		cancel()
		<-done
	}
	s.tickMu.Lock()
	defer s.tickMu.Unlock()
	if s.held {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if err := s.cfg.Store.LeaseRelease(ctx, &store.LeaseParams{Name: LeaseName, Owner: s.cfg.Owner, Epoch: s.epoch}); err != nil {
			s.log.Warn("scheduler lease not released; it expires on its own", "err", err)
		}
		s.held = false
		s.log.Info("scheduler lease released", "epoch", s.epoch)
	}
}

func (s *Scheduler) loop(ctx context.Context) {
	defer close(s.done)
	for {
		wait, err := s.pass(ctx)
		if err != nil && ctx.Err() == nil {
			s.log.ErrorContext(ctx, "scheduler pass failed", "err", err)
		}
		t := s.cfg.Clock.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return
		case <-t.C():
		}
	}
}

// Tick runs one pass: take or keep the lease and, holding it, decide every fire that came due.
// It is what the background loop runs; tests drive it directly.
func (s *Scheduler) Tick(ctx context.Context) error {
	_, err := s.pass(ctx)
	return err
}

// pass runs one pass and says how long to wait for the next: Tick, or less when a fire comes
// due sooner.
func (s *Scheduler) pass(ctx context.Context) (time.Duration, error) {
	s.tickMu.Lock()
	defer s.tickMu.Unlock()
	wait := s.cfg.Tick
	if !s.synced {
		if err := s.sync(ctx); err != nil {
			return wait, err
		}
	}
	// Every replica, deciding or not, records that it is alive: a fire is missed only when no
	// replica was (see decide).
	if err := s.cfg.Store.SchedulerHeartbeat(ctx, &store.SchedulerHeartbeatParams{
		Owner: s.cfg.Owner, Gap: s.cfg.LeaseFor, At: s.cfg.Clock.Now(),
	}); err != nil && ctx.Err() == nil {
		s.log.WarnContext(ctx, "scheduler heartbeat not recorded", "err", err)
	}
	epoch, held, err := s.cfg.Store.LeaseAcquire(ctx, &store.LeaseParams{Name: LeaseName, Owner: s.cfg.Owner, TTL: s.cfg.LeaseFor})
	if err != nil {
		return wait, err
	}
	switch {
	case held && (!s.held || epoch != s.epoch):
		s.log.InfoContext(ctx, "scheduler lease acquired", "epoch", epoch)
	case !held && s.held:
		s.log.InfoContext(ctx, "scheduler lease lost", "epoch", s.epoch)
	}
	s.held, s.epoch = held, epoch
	if !held {
		return wait, nil
	}
	if !s.loaded || s.loadedEpoch != epoch {
		// Newly the decider: another replica may have decided fires meanwhile.
		if err := s.load(ctx); err != nil {
			return wait, err
		}
		s.loaded, s.loadedEpoch = true, epoch
	}
	now := s.cfg.Clock.Now()
	err = s.decideAllDue(ctx, now)
	if errors.Is(err, store.ErrLeaseLost) {
		// Another replica decides from now on; this pass decides nothing more.
		s.log.WarnContext(ctx, "scheduler lease lost while deciding", "epoch", s.epoch, "err", err)
		s.held, s.loaded = false, false
		return wait, nil
	}
	if err != nil && ctx.Err() != nil {
		return wait, ctx.Err()
	}
	for _, e := range s.due {
		if !e.never {
			wait = min(wait, max(e.at.Sub(now), time.Millisecond))
		}
	}
	return wait, err
}

// dueEntry is when a schedule next needs a decision: its first fire after the last decided one.
// It is a cache; the store holds the truth. An entry that is early (another replica decided
// since) costs one read; one can never be late, because a fire is only ever decided after the
// watermark the entry was computed from.
type dueEntry struct {
	sch   *drills.Schedule
	at    time.Time
	never bool
}

// load computes every schedule's due time from the stored schedules.
func (s *Scheduler) load(ctx context.Context) error {
	stored, err := s.cfg.Store.ScheduleList(ctx)
	if err != nil {
		return err
	}
	byName := make(map[string]*store.Schedule, len(stored))
	for _, st := range stored {
		byName[st.Name] = st
	}
	s.due = s.due[:0]
	for _, sch := range s.cfg.Estate.Schedules {
		st := byName[sch.Name]
		if st == nil {
			// Defined after the sync (cannot happen with one estate): sync again next pass.
			s.synced, s.loaded = false, false
			continue
		}
		e := &dueEntry{sch: sch}
		s.setDue(e, st)
		s.due = append(s.due, e)
	}
	return nil
}

// setDue sets e from the stored schedule's watermark.
func (s *Scheduler) setDue(e *dueEntry, st *store.Schedule) {
	from, ok := watermark(st)
	if !ok {
		e.never = true
		return
	}
	s.setDueAfter(e, from)
}

// watermark is the instant after which a stored schedule's fires are undecided.
func watermark(st *store.Schedule) (time.Time, bool) {
	switch {
	case st.LastFireTime != nil:
		return *st.LastFireTime, true
	case st.NextFireTime != nil:
		return st.NextFireTime.Add(-time.Millisecond), true
	}
	return time.Time{}, false // never fires, or not anchored yet
}

// sync records the estate's schedules, anchoring new ones at their first fire from now.
func (s *Scheduler) sync(ctx context.Context) error {
	now := s.cfg.Clock.Now()
	defs := make([]store.ScheduleDef, 0, len(s.cfg.Estate.Schedules))
	planNames := make(map[string]string) // by plan file: many schedules may run one plan
	for _, sch := range s.cfg.Estate.Schedules {
		def := store.ScheduleDef{Name: sch.Name, PlanFile: sch.Plan, Spec: specOf(sch)}
		name, loaded := planNames[sch.Plan]
		if !loaded {
			if plan, _, err := s.cfg.LoadPlan(sch.Plan); err != nil {
				s.log.ErrorContext(ctx, "schedule's plan does not load; its fires wait until it does", "schedule", sch.Name, "plan_file", sch.Plan, "err", err)
			} else {
				name = plan.Name
			}
			planNames[sch.Plan] = name
		}
		def.PlanName = name
		if first, ok := s.firstFire(sch, now); ok {
			def.Anchor = &first
		}
		defs = append(defs, def)
	}
	if err := s.cfg.Store.ScheduleSync(ctx, defs); err != nil {
		return fmt.Errorf("scheduler: %w", err)
	}
	s.synced = true
	return nil
}

// firstFire is the first fire of sch after now, blacked out or not.
func (s *Scheduler) firstFire(sch *drills.Schedule, now time.Time) (time.Time, bool) {
	for window := time.Hour; ; window *= 4 {
		if window > anchorHorizon {
			window = anchorHorizon
		}
		if fs := s.cfg.Estate.Fires(sch, now, now.Add(window)); len(fs) > 0 {
			return fs[0].At, true
		}
		if window == anchorHorizon {
			return time.Time{}, false
		}
	}
}

// specDoc is how a schedule's definition is recorded for display.
type specDoc struct {
	Cron          string   `json:"cron"`
	TimeZone      string   `json:"time_zone"`
	StartWithinMS int64    `json:"start_within_ms"`
	Missed        string   `json:"missed"`
	Blackouts     []string `json:"blackouts"`
	ApprovalRoles []string `json:"approval_roles"`
}

func specOf(sch *drills.Schedule) json.RawMessage {
	d := specDoc{
		Cron: sch.Cron, TimeZone: sch.TimeZone, StartWithinMS: startWithin(sch).Milliseconds(),
		Missed: string(missedPolicy(sch)), Blackouts: sch.Blackouts, ApprovalRoles: sch.Approval.Roles,
	}
	if d.Blackouts == nil {
		d.Blackouts = []string{}
	}
	if d.ApprovalRoles == nil {
		d.ApprovalRoles = []string{}
	}
	b, _ := json.Marshal(d) // plain strings and slices: cannot fail
	return b
}

func startWithin(sch *drills.Schedule) time.Duration {
	if sch.StartWithin > 0 {
		return sch.StartWithin
	}
	return drills.DefaultStartWithin
}

func missedPolicy(sch *drills.Schedule) drills.MissedFirePolicy {
	if sch.Missed == "" {
		return drills.MissedSkip
	}
	return sch.Missed
}

// decision is what a pass decided for one fire, before it is recorded.
type decision struct {
	fire   drills.Fire
	kind   string
	reason string
}

// decide settles the fires of sch after its watermark up to now, to be recorded in order; more
// reports a backlog left for the next pass. alive memoizes, for the pass, the replicas alive
// since a first late fire (co-due schedules share it).
func (s *Scheduler) decide(ctx context.Context, sch *drills.Schedule, st *store.Schedule, now time.Time,
	aliveSince map[time.Time][]*store.SchedulerReplica) (ds []decision, more bool, err error) {
	from, ok := watermark(st)
	if !ok || !now.After(from) {
		return nil, false, nil // never fires, nothing new, or the clock stepped back
	}
	fires := s.cfg.Estate.Fires(sch, from, now)
	if len(fires) == 0 {
		return nil, false, nil
	}
	missedBefore := now.Add(-s.cfg.MissedGrace)
	// A fire seen late is missed only if no replica was alive at its time. When one was (the
	// deciding replica died just before the fire and its lease had to lapse first), the fire
	// runs late: the missed-fire policy is for downtime, not for a change of decider.
	var alive []*store.SchedulerReplica
	if fires[0].At.Before(missedBefore) {
		var seen bool
		if alive, seen = aliveSince[fires[0].At]; !seen {
			if alive, err = s.cfg.Store.SchedulerReplicasBetween(ctx, fires[0].At.Add(-s.cfg.Tick), now); err != nil {
				return nil, false, err
			}
			aliveSince[fires[0].At] = alive
		}
	}
	aliveAt := func(t time.Time) bool {
		for _, r := range alive {
			if r.AliveAt(t, s.cfg.Tick) {
				return true
			}
		}
		return false
	}
	// Under run_once, the latest missed fire runs unless a fire is due now (which then is the
	// one run): the others are superseded.
	runOnce := -1
	if missedPolicy(sch) == drills.MissedRunOnce {
		for i, f := range fires {
			if f.Suppressed() {
				continue
			}
			if f.At.Before(missedBefore) {
				runOnce = i
			} else {
				runOnce = -1
				break
			}
		}
	}
	ds = make([]decision, 0, min(len(fires), maxDecisionsPerPass))
	for i, f := range fires {
		if len(ds) == maxDecisionsPerPass {
			break
		}
		d := decision{fire: f}
		switch {
		case st.Paused:
			d.kind, d.reason = store.FireSkippedPaused, pausedReason(st)
		case f.Suppressed():
			d.kind, d.reason = store.FireSkippedBlackout, f.Blackout
		case !f.At.Before(missedBefore):
			d.kind = store.FireRun
		case aliveAt(f.At):
			d.kind, d.reason = store.FireRun, fmt.Sprintf("late: decided %s after its time, once the previous decider's lease lapsed", now.Sub(f.At).Round(time.Millisecond))
		case missedPolicy(sch) == drills.MissedSkip:
			d.kind, d.reason = store.FireSkippedMissed, fmt.Sprintf("missed: seen %s after its time", now.Sub(f.At).Round(time.Millisecond))
		case i == runOnce:
			d.kind, d.reason = store.FireRun, "missed; run once under the run_once policy"
		default:
			d.kind, d.reason = store.FireSuperseded, "missed; a later fire runs instead under the run_once policy"
		}
		ds = append(ds, d)
	}
	return ds, len(ds) < len(fires), nil
}

func pausedReason(st *store.Schedule) string {
	r := "paused by " + st.PausedBy.String()
	if st.PausedReason != "" {
		r += ": " + st.PausedReason
	}
	return r
}

// savePlan loads and validates sch's plan and records it, with the estate, as a manual
// submission does, so that a worker can execute the runs from the store alone.
func (s *Scheduler) savePlan(ctx context.Context, sch *drills.Schedule) (*drills.Plan, *store.PlanRecord, error) {
	plan, src, err := s.cfg.LoadPlan(sch.Plan)
	if err != nil {
		return nil, nil, fmt.Errorf("load plan %s: %w", sch.Plan, err)
	}
	if diags := drills.ValidatePlanWith(s.cfg.Estate, plan, drills.ValidateOptions{}); diags.HasErrors() {
		return nil, nil, fmt.Errorf("plan %s is not valid against the estate: %w", sch.Plan, diags)
	}
	if !s.estateSent {
		if err := s.cfg.Store.EstateSave(ctx, s.cfg.Estate, s.cfg.EstateSource); err != nil {
			return nil, nil, err
		}
		s.estateSent = true
	}
	rec, err := s.cfg.Store.PlanSave(ctx, store.PlanSaveParams{Name: plan.Name, File: plan.File, Source: src, SHA256: plan.SHA256})
	if err != nil {
		return nil, nil, err
	}
	return plan, rec, nil
}

// runParams is the run a fire of sch creates.
func (s *Scheduler) runParams(sch *drills.Schedule, f drills.Fire, plan *drills.Plan, rec *store.PlanRecord) *store.RunInsertParams {
	p := &store.RunInsertParams{
		PlanID: rec.ID, PlanName: plan.Name, EstateSHA256: s.estateSHA, FromSite: plan.From, ToSite: plan.To,
		RequestedBy: drills.Actor{Kind: drills.ActorSchedule, Name: sch.Name}, State: drills.RunPending,
	}
	// A fire follows the policy a person's request would (the plan's, else the estate's
	// default), unless the schedule declares its own.
	if policy := drills.EffectiveApproval(s.cfg.Estate, plan, sch); policy.Required() {
		p.State, p.ApprovalRoles = drills.RunAwaitingApproval, policy.Roles
		within := policy.Within
		if within <= 0 {
			within = startWithin(sch)
		}
		deadline := f.At.Add(within)
		p.ApprovalDeadline = &deadline
	}
	return p
}
