package scheduler

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"time"

	"github.com/firedrill/firedrill/drills"
	"github.com/firedrill/firedrill/orchestrator/store"
)

// A pass decides every due schedule together, so that co-due schedules cost what one costs,
// not N times it: their stored state is read a chunk at a time, each plan is loaded, validated
// and saved once per pass, and the decisions are recorded in batches of
// store.MaxScheduleFireBatch, one transaction each, earliest fire first, by recordWorkers
// concurrent writers while the next chunk is being decided. Exactly-once is the store's
// (ScheduleFireBatch decides each fire once, under the lease's fence); a batch only shares a
// commit. OnFire is called from one goroutine at a time.

// recordWorkers is how many batches are recorded at once: one prepares its rows while another
// holds the audit chain's head (every run_created event appends to it) until its commit.
const recordWorkers = 3

// pending is one decision of a pass, ready to be recorded.
type pending struct {
	e      *dueEntry
	d      decision
	params *store.ScheduleFireParams
}

// recordedBatch is a batch as a worker recorded it, or failed to.
type recordedBatch struct {
	batch []*pending
	res   []*store.ScheduleFireResult
	err   error
}

// decideAllDue decides the fires of every schedule due at now and moves each on. It returns
// store.ErrLeaseLost (wrapped) when the lease is found lost; other errors are per schedule,
// joined, and the schedules concerned are retried at the next pass.
func (s *Scheduler) decideAllDue(ctx context.Context, now time.Time) error {
	var due []*dueEntry
	for _, e := range s.due {
		if !e.never && !e.at.After(now) {
			due = append(due, e)
		}
	}
	if len(due) == 0 {
		return nil
	}
	slices.SortStableFunc(due, func(a, b *dueEntry) int { return cmp.Or(a.at.Compare(b.at), cmp.Compare(a.sch.Name, b.sch.Name)) })

	var mu sync.Mutex
	failed := make(map[*dueEntry]error)
	fail := func(e *dueEntry, err error) {
		mu.Lock()
		defer mu.Unlock()
		if failed[e] == nil {
			failed[e] = err
		}
	}
	wctx, cancel := context.WithCancel(ctx)
	defer cancel()
	batches := make(chan []*pending)
	recorded := make(chan recordedBatch)
	var workers sync.WaitGroup
	for range recordWorkers {
		workers.Go(func() {
			for b := range batches {
				params := make([]*store.ScheduleFireParams, len(b))
				for i, p := range b {
					params[i] = p.params
				}
				res, err := s.cfg.Store.ScheduleFireBatch(wctx, params)
				recorded <- recordedBatch{batch: b, res: res, err: err}
			}
		})
	}
	var lost error // the lease's loss, found by the collector
	collected := make(chan struct{})
	go func() {
		defer close(collected)
		for r := range recorded {
			if lost != nil {
				continue
			}
			if err := s.collect(wctx, r, fail); err != nil {
				lost = err
				cancel()
			}
		}
	}()

	plans := make(map[string]*passPlan)
	alive := make(map[time.Time][]*store.SchedulerReplica)
	var all []*pending
	more := make(map[*dueEntry]bool)
	from := make(map[*dueEntry]time.Time)
	var stopped error
produce:
	for chunk := range slices.Chunk(due, store.MaxScheduleFireBatch) {
		bs, err := s.prepare(wctx, chunk, now, plans, alive, more, from, fail)
		if err != nil {
			stopped = err
			break
		}
		for _, b := range bs {
			all = append(all, b...)
			select {
			case batches <- b:
			case <-wctx.Done():
				break produce
			}
		}
	}
	close(batches)
	workers.Wait()
	close(recorded)
	<-collected
	switch {
	case lost != nil:
		return lost
	case stopped != nil && (errors.Is(stopped, store.ErrLeaseLost) || ctx.Err() != nil):
		return stopped
	case ctx.Err() != nil:
		return ctx.Err()
	}
	for _, p := range all {
		if failed[p.e] == nil && p.d.fire.At.After(from[p.e]) {
			from[p.e] = p.d.fire.At
		}
	}
	var errs []error
	for _, e := range due {
		switch {
		case failed[e] != nil:
			errs = append(errs, fmt.Errorf("schedule %s: %w", e.sch.Name, failed[e]))
			e.at = now.Add(s.cfg.Tick) // retried next pass
		case more[e]:
			e.at = now // a backlog: carry on at the next pass
		default:
			// Early if another replica decided later fires meanwhile (one read next time),
			// never late: nothing after this watermark was decided by this pass.
			w, ok := from[e]
			if !ok {
				e.never = true
				continue
			}
			s.setDueAfter(e, w)
		}
	}
	if stopped != nil {
		errs = append(errs, stopped)
	}
	return errors.Join(errs...)
}

// prepare reads the stored state of a chunk of due schedules and returns their decisions in
// batches, earliest fire first. A schedule's fires are never split between two batches (the
// batches are recorded concurrently, and a schedule's fires must be decided in order); one
// whose fires cannot all be prepared records none of them and is marked failed.
func (s *Scheduler) prepare(ctx context.Context, chunk []*dueEntry, now time.Time, plans map[string]*passPlan,
	alive map[time.Time][]*store.SchedulerReplica, more map[*dueEntry]bool, from map[*dueEntry]time.Time,
	fail func(*dueEntry, error)) ([][]*pending, error) {
	names := make([]string, len(chunk))
	for i, e := range chunk {
		names[i] = e.sch.Name
	}
	stored, err := s.cfg.Store.ScheduleGetMany(ctx, names)
	if err != nil {
		if ctx.Err() != nil {
			return nil, err
		}
		for _, e := range chunk {
			fail(e, err)
		}
		return nil, nil
	}
	var groups [][]*pending
	for _, e := range chunk {
		st := stored[e.sch.Name]
		if st == nil {
			s.synced, s.loaded = false, false // removed meanwhile: sync again
			continue
		}
		if w, ok := watermark(st); ok {
			from[e] = w
		}
		ds, backlog, err := s.decide(ctx, e.sch, st, now, alive)
		if err != nil {
			if errors.Is(err, store.ErrLeaseLost) || ctx.Err() != nil {
				return nil, err
			}
			fail(e, err)
			continue
		}
		more[e] = backlog
		var mine []*pending
		for _, d := range ds {
			p, err := s.fireParams(ctx, e.sch, d, plans)
			if err != nil {
				fail(e, err)
				mine = nil
				break
			}
			mine = append(mine, &pending{e: e, d: d, params: p})
		}
		if len(mine) > 0 {
			groups = append(groups, mine) // in fire order, at most maxDecisionsPerPass
		}
	}
	earliest := func(a, b *pending) int {
		return cmp.Or(a.d.fire.At.Compare(b.d.fire.At), cmp.Compare(a.e.sch.Name, b.e.sch.Name))
	}
	slices.SortStableFunc(groups, func(a, b []*pending) int { return earliest(a[0], b[0]) })
	var batches [][]*pending
	var cur []*pending
	for _, g := range groups {
		if len(cur)+len(g) > store.MaxScheduleFireBatch {
			batches, cur = append(batches, cur), nil
		}
		cur = append(cur, g...)
	}
	if len(cur) > 0 {
		batches = append(batches, cur)
	}
	for _, b := range batches {
		slices.SortStableFunc(b, earliest)
	}
	return batches, nil
}

// collect reports a recorded batch (logs, OnFire). When the batch failed for another reason
// than the lease, each of its decisions is recorded on its own, so that one schedule's failure
// does not hold back the others. It returns an error only for the lease's loss (or the end of
// ctx), after which nothing more is recorded.
func (s *Scheduler) collect(ctx context.Context, r recordedBatch, fail func(*dueEntry, error)) error {
	if r.err == nil {
		for i, p := range r.batch {
			s.recorded(ctx, p.e.sch, p.d, r.res[i])
		}
		return nil
	}
	if errors.Is(r.err, store.ErrLeaseLost) || ctx.Err() != nil {
		return r.err
	}
	s.log.WarnContext(ctx, "scheduler batch not recorded; recording its fires one by one", "fires", len(r.batch), "err", r.err)
	gaveUp := make(map[*dueEntry]bool)
	for _, p := range r.batch {
		if gaveUp[p.e] {
			continue // a schedule's fires are decided in order: the rest waits for the next pass
		}
		res, err := s.cfg.Store.ScheduleFire(ctx, p.params)
		if err != nil {
			if errors.Is(err, store.ErrLeaseLost) || ctx.Err() != nil {
				return err
			}
			fail(p.e, err)
			gaveUp[p.e] = true
			continue
		}
		s.recorded(ctx, p.e.sch, p.d, res)
	}
	return nil
}

// setDueAfter sets e to its schedule's first fire after w.
func (s *Scheduler) setDueAfter(e *dueEntry, w time.Time) {
	e.at, e.never = time.Time{}, false
	if first, ok := s.firstFire(e.sch, w); ok {
		e.at = first
	} else {
		e.never = true
	}
}

// passPlan is a plan as loaded, validated and saved once in a pass.
type passPlan struct {
	plan *drills.Plan
	rec  *store.PlanRecord
	err  error
}

// fireParams is what records decision d of sch.
func (s *Scheduler) fireParams(ctx context.Context, sch *drills.Schedule, d decision, plans map[string]*passPlan) (*store.ScheduleFireParams, error) {
	p := &store.ScheduleFireParams{
		Schedule: sch.Name, FireTime: d.fire.At, Decision: d.kind, Reason: d.reason, DecidedBy: s.cfg.Owner,
		Lease: LeaseName, LeaseEpoch: s.epoch, At: s.cfg.Clock.Now(),
	}
	if next, ok := s.cfg.Estate.NextFire(sch, d.fire.At); ok {
		p.NextFireTime = &next.At
	}
	if d.kind == store.FireRun {
		pp := plans[sch.Plan]
		if pp == nil {
			pp = &passPlan{}
			pp.plan, pp.rec, pp.err = s.savePlan(ctx, sch)
			plans[sch.Plan] = pp
		}
		if pp.err != nil {
			return nil, fmt.Errorf("fire at %s: %w", d.fire.At.Format(time.RFC3339), pp.err)
		}
		p.Run = s.runParams(sch, d.fire, pp.plan, pp.rec)
	}
	return p, nil
}

// recorded logs a recorded decision and tells OnFire of the run it created.
func (s *Scheduler) recorded(ctx context.Context, sch *drills.Schedule, d decision, res *store.ScheduleFireResult) {
	runID := ""
	if res.Run != nil {
		runID = res.Run.ID
	}
	attrs := []any{"run_id", runID, "schedule", sch.Name, "fire_time", res.Fire.FireTime,
		"fire_local", d.fire.Local.Format("2006-01-02 15:04 MST"), "decision", res.Fire.Decision}
	if res.Fire.Reason != "" {
		attrs = append(attrs, "reason", res.Fire.Reason)
	}
	if !res.Created {
		s.log.DebugContext(ctx, "schedule fire already decided", append(attrs, "decided_by", res.Fire.DecidedBy)...)
		return
	}
	s.log.InfoContext(ctx, "schedule fire decided", attrs...)
	if res.Run != nil {
		s.cfg.Metrics.ScheduleFired(res.Run.CreatedAt.Sub(d.fire.At))
	}
	if res.Run != nil && s.cfg.OnFire != nil {
		s.cfg.OnFire(ctx, res.Run)
	}
}
