package orchestrator

import (
	"context"
	"fmt"
	"time"

	"github.com/firedrill/firedrill/drills"
	"github.com/firedrill/firedrill/orchestrator/actions"
	"github.com/firedrill/firedrill/orchestrator/store"
)

// Timeline entries of the watcher.
const (
	// EventStopCondition records a breached stop condition (or one that cannot be evaluated).
	EventStopCondition = "stop_condition"
	// EventStepOverBudget records a step that ran past its budget.
	EventStepOverBudget = "step_over_budget"
)

// Stop conditions, as named in the plan language.
const (
	condProbeFailures  = "probe_failures"
	condReplicationLag = "max_replication_lag"
	condStepOverBudget = "step_over_budget"
	condRTOBudget      = "rto_budget"
)

// lagTimeout bounds one replication lag reading.
const lagTimeout = 10 * time.Second

// watch runs beside the steps until ctx ends: every WatchInterval it looks for an abort
// request in the run row and evaluates the plan's stop conditions. The first abort or breach
// cancels the steps with an *abortError as the cause; a breach is also recorded as the run's
// abort request, so that a replica taking over rolls back rather than carries on.
func (x *execution) watch(ctx context.Context, abort context.CancelCauseFunc) {
	sw := &stopWatch{x: x, probes: map[int]*probeCount{}, overBudget: map[string]bool{}}
	sw.init(ctx)
	for {
		t := x.r.cfg.Clock.NewTimer(x.r.cfg.WatchInterval)
		select {
		case <-ctx.Done():
			t.Stop()
			return
		case <-t.C():
		}
		run, err := x.r.cfg.Store.RunGet(ctx, x.runID)
		switch {
		case err != nil && ctx.Err() == nil:
			x.log.WarnContext(ctx, "reading the run for an abort request failed", "err", err)
		case err == nil:
			if ab := abortOfRun(run); ab != nil {
				x.log.WarnContext(ctx, "abort requested", "by", ab.by.String(), "reason", ab.reason)
				abort(ab)
				return
			}
		}
		if ab := sw.evaluate(ctx); ab != nil {
			x.breach(ctx, ab)
			abort(ab)
			return
		}
	}
}

// breach records a stop condition's breach: its event and the run's abort request.
func (x *execution) breach(ctx context.Context, ab *abortError) {
	x.log.WarnContext(ctx, "stop condition breached", "condition", ab.condition, "reason", ab.reason)
	x.event(ctx, EventStopCondition, ab.Error(), map[string]any{"condition": ab.condition, "breach": ab.reason})
	wctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), bookkeepingTimeout)
	defer cancel()
	if _, err := x.r.cfg.Store.RunAbortRequest(wctx, &store.RunAbortRequestParams{
		RunID: x.runID, By: stopActor(ab.condition), Reason: ab.reason, At: x.r.cfg.Clock.Now(),
	}); err != nil {
		x.log.WarnContext(ctx, "abort request of a breached stop condition not recorded", "err", err)
	}
}

// stopWatch evaluates a plan's stop conditions.
type stopWatch struct {
	x      *execution
	sc     *drills.StopConditions
	probes map[int]*probeCount
	// reporters are the running probes that can say what they have seen.
	reporters  map[int]actions.ProbeStatusReporter
	names      map[int]string
	overBudget map[string]bool
	lastLag    time.Time
	lagDBs     []string
}

// probeCount counts a probe's consecutive failed polls in the counting window. Reading the
// probe's totals each tick, a tick whose new polls all failed extends the streak exactly;
// one with a success in between restarts it at one (a lower bound), so the condition never
// fires early.
type probeCount struct {
	open            bool
	polls, failures int
	streak          int
}

func (sw *stopWatch) init(ctx context.Context) {
	x := sw.x
	sw.sc = x.d.Plan.StopWhen
	if sw.sc == nil {
		sw.sc = &drills.StopConditions{}
	}
	sw.reporters = map[int]actions.ProbeStatusReporter{}
	sw.names = map[int]string{}
	if sw.sc.ProbeFailures > 0 {
		for i, rp := range x.probes {
			name := x.d.Plan.Probes[i].Name
			if r, ok := rp.(actions.ProbeStatusReporter); ok {
				sw.reporters[i], sw.names[i] = r, name
				sw.probes[i] = &probeCount{}
				continue
			}
			x.event(ctx, EventStopCondition, "probe "+name+" cannot report its polls while it runs: probe_failures is not evaluated for it",
				map[string]any{"condition": condProbeFailures, "probe": name, "evaluated": false})
		}
	}
	if sw.sc.MaxReplicationLag > 0 {
		sw.lagDBs = drills.SharedDatabases(x.d.Estate.Site(x.d.Plan.From), x.d.Estate.Site(x.d.Plan.To))
	}
}

// evaluate returns the first breached condition, or nil.
func (sw *stopWatch) evaluate(ctx context.Context) *abortError {
	x := sw.x
	now := x.r.cfg.Clock.Now()
	x.mu.Lock()
	t0, t1 := x.t0, x.t1
	running := make(map[string]runningStep, len(x.running))
	for k, v := range x.running {
		running[k] = v
	}
	x.mu.Unlock()

	for key, rs := range running {
		if rs.budget <= 0 || sw.overBudget[key] || now.Sub(rs.started) <= rs.budget {
			continue
		}
		sw.overBudget[key] = true
		msg := fmt.Sprintf("step %s has run %s, over its budget %s", key, now.Sub(rs.started).Round(time.Millisecond), rs.budget)
		x.log.WarnContext(ctx, "step over budget", "step", key, "budget", rs.budget.String())
		x.event(ctx, EventStepOverBudget, msg, map[string]any{"step": key, "budget_ms": rs.budget.Milliseconds(), "abort": sw.sc.StepOverBudget})
		if sw.sc.StepOverBudget {
			return &abortError{by: stopActor(condStepOverBudget), condition: condStepOverBudget, reason: msg}
		}
	}
	if b := sw.sc.RTOBudget; b > 0 && !t0.IsZero() && t1.IsZero() && now.Sub(t0) > b {
		return &abortError{by: stopActor(condRTOBudget), condition: condRTOBudget,
			reason: fmt.Sprintf("%s since T0 without the restored milestone, over the RTO budget %s", now.Sub(t0).Round(time.Millisecond), b)}
	}
	if n := sw.sc.ProbeFailures; n > 0 && !t0.IsZero() {
		open := !now.Before(t0.Add(x.d.Plan.EffectiveProbeGrace(x.d.Estate)))
		for i, r := range sw.reporters {
			st := r.Status()
			pc := sw.probes[i]
			if !open {
				continue
			}
			if !pc.open {
				// The window opens: only polls from now on count.
				pc.open, pc.polls, pc.failures = true, st.Polls, st.Failures
				continue
			}
			dp, df := st.Polls-pc.polls, st.Failures-pc.failures
			pc.polls, pc.failures = st.Polls, st.Failures
			switch {
			case !st.Down:
				pc.streak = 0
			case dp == df:
				pc.streak += df
			default:
				pc.streak = 1
			}
			if pc.streak >= n {
				return &abortError{by: stopActor(condProbeFailures), condition: condProbeFailures,
					reason: fmt.Sprintf("probe %s failed %d polls in a row after T0 + %s (limit %d)", sw.names[i], pc.streak, x.d.Plan.EffectiveProbeGrace(x.d.Estate), n)}
			}
		}
	}
	if limit := sw.sc.MaxReplicationLag; limit > 0 && t0.IsZero() && x.r.cfg.Lag != nil && now.Sub(sw.lastLag) >= x.r.cfg.LagInterval {
		sw.lastLag = now
		from, to := x.d.Estate.Site(x.d.Plan.From), x.d.Estate.Site(x.d.Plan.To)
		for _, db := range sw.lagDBs {
			lctx, cancel := context.WithTimeout(ctx, lagTimeout)
			lag, err := x.r.cfg.Lag.ReplicationLag(lctx, from, to, db)
			cancel()
			if err != nil {
				// The pre-flight read it; a failed reading is reported, not a breach.
				if ctx.Err() == nil {
					x.log.WarnContext(ctx, "replication lag not measured", "database", db, "err", err)
				}
				continue
			}
			if lag > limit {
				return &abortError{by: stopActor(condReplicationLag), condition: condReplicationLag,
					reason: fmt.Sprintf("database %s on %s lags %s behind %s, over %s", db, to.Name, lag, from.Name, limit)}
			}
		}
	}
	return nil
}

// stopActor is who asks for the abort of a run whose stop condition was breached.
func stopActor(condition string) drills.Actor {
	return drills.Actor{Kind: drills.ActorStopCondition, Name: condition}
}
