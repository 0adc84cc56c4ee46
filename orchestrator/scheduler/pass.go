package scheduler

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/firedrill/firedrill/drills"
	"github.com/firedrill/firedrill/orchestrator/store"
)

// A pass decides every due schedule together, so that co-due schedules cost what one costs,
// not N times it: their stored state is read in one query, each plan is loaded, validated and
// saved once per pass, and the decisions are recorded in batches of store.MaxScheduleFireBatch,
// one transaction each, earliest fire first. Exactly-once is the store's (ScheduleFireBatch
// decides each fire once, under the lease's fence); the batch only shares the commit.

// pending is one decision of a pass, ready to be recorded.
type pending struct {
	e      *dueEntry
	d      decision
	params *store.ScheduleFireParams
}

// decideAllDue decides the fires of every schedule due at now and moves each on. It returns
// store.ErrLeaseLost (wrapped) as soon as the lease is found lost; other errors are per
// schedule, joined, and the schedules concerned are retried at the next pass.
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
	names := make([]string, len(due))
	for i, e := range due {
		names[i] = e.sch.Name
	}
	stored, err := s.cfg.Store.ScheduleGetMany(ctx, names)
	if err != nil {
		for _, e := range due {
			e.at = now.Add(s.cfg.Tick)
		}
		return err
	}
	failed := make(map[*dueEntry]error)
	fail := func(e *dueEntry, err error) {
		if failed[e] == nil {
			failed[e] = err
		}
	}
	plans := make(map[string]*passPlan)
	alive := make(map[time.Time][]*store.SchedulerReplica)
	var ps []*pending
	more := make(map[*dueEntry]bool)
	from := make(map[*dueEntry]time.Time)
	for _, e := range due {
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
				return err
			}
			fail(e, err)
			continue
		}
		more[e] = backlog
		for _, d := range ds {
			p, err := s.fireParams(ctx, e.sch, d, plans)
			if err != nil {
				fail(e, err)
				break
			}
			ps = append(ps, &pending{e: e, d: d, params: p})
		}
	}
	// A schedule whose fire could not be prepared records none of this pass's fires: its fires
	// are decided in order.
	ps = slices.DeleteFunc(ps, func(p *pending) bool { return failed[p.e] != nil })
	slices.SortStableFunc(ps, func(a, b *pending) int {
		return cmp.Or(a.d.fire.At.Compare(b.d.fire.At), cmp.Compare(a.e.sch.Name, b.e.sch.Name))
	})
	for batch := range slices.Chunk(ps, store.MaxScheduleFireBatch) {
		if err := s.recordBatch(ctx, batch, fail); err != nil {
			return err
		}
	}
	for _, p := range ps {
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
	return errors.Join(errs...)
}

// recordBatch records one batch of decisions in one transaction. When the batch fails for
// another reason than the lease, each of its decisions is recorded on its own, so that one
// schedule's failure does not hold back the others.
func (s *Scheduler) recordBatch(ctx context.Context, batch []*pending, fail func(*dueEntry, error)) error {
	params := make([]*store.ScheduleFireParams, len(batch))
	for i, p := range batch {
		params[i] = p.params
	}
	res, err := s.cfg.Store.ScheduleFireBatch(ctx, params)
	if err == nil {
		for i, p := range batch {
			s.recorded(ctx, p.e.sch, p.d, res[i])
		}
		return nil
	}
	if errors.Is(err, store.ErrLeaseLost) || ctx.Err() != nil {
		return err
	}
	s.log.WarnContext(ctx, "scheduler batch not recorded; recording its fires one by one", "fires", len(batch), "err", err)
	for _, p := range batch {
		r, err := s.cfg.Store.ScheduleFire(ctx, p.params)
		if err != nil {
			if errors.Is(err, store.ErrLeaseLost) || ctx.Err() != nil {
				return err
			}
			fail(p.e, err)
			continue
		}
		s.recorded(ctx, p.e.sch, p.d, r)
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
	if res.Run != nil && s.cfg.OnFire != nil {
		s.cfg.OnFire(ctx, res.Run)
	}
}
