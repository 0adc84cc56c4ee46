package orchestrator

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/google/uuid"

	"github.com/firedrill/firedrill/drills"
	"github.com/firedrill/firedrill/orchestrator/store"
)

// Backoff of a bookkeeping write retried after a transient database error.
const (
	recordBackoffMin = 50 * time.Millisecond
	recordBackoffMax = 2 * time.Second
)

// errLeaseLapsed stops a run whose bookkeeping could not reach the database in time (before
// its lease ran out, or within the write's deadline): another replica may claim the run by
// then, so this one stops without further writes, exactly as when the lease is lost, and the
// takeover resumes the run. It is never a step's failure and never starts a rollback.
var errLeaseLapsed = fmt.Errorf("the database stayed unreachable; the run is left to a takeover: %w", store.ErrLeaseLost)

// leaseConfirmed notes that the run's lease was extended to at least from+LeaseFor.
func (x *execution) leaseConfirmed(from time.Time) {
	until := from.Add(x.r.cfg.LeaseFor).UnixNano()
	for {
		cur := x.leaseUntil.Load()
		if cur >= until || x.leaseUntil.CompareAndSwap(cur, until) {
			return
		}
	}
}

// record performs one bookkeeping call of the run (fn), retrying it with backoff while the
// error is transient (store.IsTransient: a reset connection, a restarting or failing-over
// server; or a call that got no answer within bookkeepingTimeout) and the run's lease, as
// last confirmed, outlasts the wait. fn is told whether an earlier attempt failed (retry), so
// that it can recognise a write that did commit before its connection went away. Any other error is returned at once: a lost lease stays fatal. When
// the lease or ctx's deadline runs out first, the run is stopped with errLeaseLapsed (see
// there); when ctx is cancelled (an abort, a shutdown), its cause is returned.
func (x *execution) record(ctx context.Context, what string, fn func(ctx context.Context, retry bool) error) error {
	clk := x.r.cfg.Clock
	backoff := recordBackoffMin
	for attempt := 1; ; attempt++ {
		// Each call has its own deadline: a database that stops answering without closing
		// the connection (a stalled network) would otherwise hold a call without one for
		// as long as the stall lasts, and the lease would lapse under it.
		callCtx, cancel := context.WithTimeout(ctx, bookkeepingTimeout)
		err := fn(callCtx, attempt > 1)
		// A call cut off by its deadline, or by ctx's (the 15 s a write after an interrupt
		// gets), did not reach a database that stayed silent: that is an outage, to retry
		// while the lease lasts, never the step's failure. A cancelled ctx is not.
		timedOut := err != nil && errors.Is(callCtx.Err(), context.DeadlineExceeded)
		cancel()
		if err == nil || (!timedOut && !store.IsTransient(err)) {
			if err == nil && attempt > 1 {
				x.log.InfoContext(ctx, "bookkeeping recorded after transient database errors", "what", what, "attempts", attempt)
			}
			return err
		}
		leaseEnd := time.Unix(0, x.leaseUntil.Load())
		wake := clk.Now().Add(backoff)
		dl, hasDeadline := ctx.Deadline()
		if wake.After(leaseEnd) || (hasDeadline && wake.After(dl)) {
			// The write cannot be made in time. Failing the step over it would roll a healthy
			// drill back: the run stops instead, without further writes, and is resumed by
			// a takeover (of this replica or another) once its lease lapses.
			x.log.ErrorContext(ctx, "bookkeeping gave up on a database that stayed unreachable; leaving the run to a takeover",
				"what", what, "attempts", attempt, "err", err)
			if x.stopRun != nil {
				x.stopRun(errLeaseLapsed)
			}
			return fmt.Errorf("%s: %d attempts: %w (%w)", what, attempt, errLeaseLapsed, err)
		}
		x.log.WarnContext(ctx, "bookkeeping failed on a transient database error; retrying", "what", what,
			"attempt", attempt, "backoff", backoff.String(), "err", err)
		t := clk.NewTimer(backoff)
		select {
		case <-ctx.Done():
			t.Stop()
			return fmt.Errorf("%s: %w (after %w)", what, context.Cause(ctx), err)
		case <-t.C():
		}
		backoff = min(backoff*2, recordBackoffMax)
	}
}

// stepStart records a step attempt's start (store.StepStart) and returns its ID. The ID is
// chosen here, so that a retry which meets ErrDuplicate knows whether its own first attempt
// committed.
func (x *execution) stepStart(ctx context.Context, p *store.StepStartParams) (string, error) {
	id, err := uuid.NewV7()
	if err != nil {
		return "", err
	}
	p.ID = id.String()
	err = x.record(ctx, "record start of step "+p.Key, func(ctx context.Context, retry bool) error {
		_, err := x.r.cfg.Store.StepStart(ctx, p)
		if retry && errors.Is(err, store.ErrDuplicate) {
			latest, lerr := x.r.cfg.Store.StepResultLatest(ctx, p.RunID, p.Key)
			switch {
			case lerr != nil:
				return lerr
			case latest.ID == p.ID:
				return nil
			}
		}
		return err
	})
	return p.ID, err
}

// stepFinish records a step attempt's outcome (store.StepFinish). A retry that finds the
// attempt finished met its own earlier write: only the holder of the run's lease finishes it.
func (x *execution) stepFinish(ctx context.Context, p *store.StepFinishParams) error {
	return x.record(ctx, "record result of step "+p.StepID, func(ctx context.Context, retry bool) error {
		err := x.r.cfg.Store.StepFinish(ctx, p)
		if retry && errors.Is(err, store.ErrStepFinished) {
			return nil
		}
		return err
	})
}

// runFinish records the run's end (store.RunFinish). A retry that finds the run ended in the
// very state it records met its own earlier write.
func (x *execution) runFinish(ctx context.Context, p *store.RunFinishParams) error {
	err := x.record(ctx, "record end of run", func(ctx context.Context, retry bool) error {
		err := x.r.cfg.Store.RunFinish(ctx, p)
		if retry && errors.Is(err, store.ErrRunTerminal) {
			run, gerr := x.r.cfg.Store.RunGet(ctx, p.RunID)
			switch {
			case gerr != nil:
				return gerr
			case run.State == p.State && run.LeaseEpoch == p.Epoch:
				return nil
			}
		}
		return err
	})
	if err == nil {
		x.r.cfg.Metrics.RunFinished(string(p.State))
	}
	return err
}

// eventAppend appends a timeline entry (store.RunEventAppend). A write cut off after its
// commit is retried too: the entry may then appear twice, never not at all.
func (x *execution) eventAppend(ctx context.Context, p *store.RunEventAppendParams) error {
	return x.record(ctx, "append "+p.Kind+" event", func(ctx context.Context, _ bool) error {
		return x.r.cfg.Store.RunEventAppend(ctx, p)
	})
}

// decisionGet reads an operator's decision on a step result (store.StepDecisionGet);
// ErrNotFound when there is none yet.
func (x *execution) decisionGet(ctx context.Context, stepID string) (*store.StepDecision, error) {
	var dec *store.StepDecision
	err := x.record(ctx, "read the decision on step "+stepID, func(ctx context.Context, _ bool) error {
		var err error
		dec, err = x.r.cfg.Store.StepDecisionGet(ctx, stepID)
		return err
	})
	return dec, err
}

// closeInterrupted closes, before a taken-over run is recorded as ended in state, every step
// attempt an earlier replica left open (running, or unknown awaiting a decision): the run
// ended before they were re-checked (an abort found at the takeover goes straight to the
// rollback), and a finished run holds no attempt still running. A run this replica started
// fresh has none: each of its attempts is closed by runStep.
func (x *execution) closeInterrupted(ctx context.Context, state drills.RunState) error {
	if x.epoch <= firstEpoch {
		return nil
	}
	var steps []*store.StepResult
	if err := x.record(ctx, "list steps", func(ctx context.Context, _ bool) error {
		var err error
		steps, err = x.r.cfg.Store.StepResultList(ctx, x.runID)
		return err
	}); err != nil {
		return fmt.Errorf("close interrupted steps of run %s: %w", x.runID, err)
	}
	for _, sr := range steps {
		if sr.EndedAt != nil {
			continue
		}
		note := fmt.Sprintf("outcome unknown: the replica running attempt %d stopped, and the run ended %s before the step was re-checked",
			sr.Attempt, state)
		if err := x.stepFinish(ctx, &store.StepFinishParams{
			RunID: x.runID, Epoch: x.epoch, StepID: sr.ID, State: drills.StepUnknown, Error: note, At: x.r.cfg.Clock.Now(),
		}); err != nil {
			return fmt.Errorf("close attempt %d of step %s: %w", sr.Attempt, sr.Key, err)
		}
		x.log.WarnContext(ctx, "interrupted attempt closed at the run's end", "step", sr.Key, "attempt", sr.Attempt)
	}
	return nil
}
