package orchestrator

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/firedrill/firedrill/drills"
	"github.com/firedrill/firedrill/orchestrator/store"
)

// A run's first claim has epoch 1: nothing can have been recorded for it before, so a fresh
// run pays no extra query per step. Every later epoch is a takeover (or a restart) and reads
// what earlier replicas left.
const firstEpoch = 1

// ErrOperatorAbort is returned (wrapped in the step's failure) when an operator decided to
// abort a run at a step whose outcome was unknown. The run's abort has also been requested in
// the store, so the abort and rollback path takes it from there.
var ErrOperatorAbort = errors.New("operator decided to abort the run")

// loadPrior restores from the run row what earlier replicas recorded (the milestones), so
// that a takeover continues where they stopped. A fresh run has nothing to restore.
// Step results are read step by step in resumeStep; milestones already stamped come from the
// run row, and observations of steps that succeeded come back as those steps are skipped.
func (x *execution) loadPrior(ctx context.Context, run *store.Run) {
	if x.epoch <= firstEpoch {
		return
	}
	if run.T0 != nil {
		x.t0 = *run.T0
	}
	if run.T1 != nil {
		x.t1 = *run.T1
	}
	x.log.InfoContext(ctx, "resuming run after a takeover", "epoch", x.epoch, "state", string(run.State),
		"t0_stamped", run.T0 != nil, "t1_stamped", run.T1 != nil)
}

// resumeStep decides what to do with a step instance given what earlier replicas recorded:
// skip it (it succeeded), run it as a new attempt, or stop for an operator (a non-idempotent
// step whose outcome is unknown). A fresh instance runs as attempt 1.
//
// The latest attempt decides:
//   - none: run attempt 1;
//   - succeeded (or skipped): skip, restoring its observations;
//   - failed: a failed step ends the run, so only the run's end was lost: the failure is
//     raised again;
//   - running or unknown, action idempotent: closed as unknown with a note, then re-run as the
//     next attempt (the action re-checks and continues);
//   - running or unknown, not idempotent: never repeated blindly. The step is marked unknown,
//     the run waits in waiting_operator for a decision (done, retry, failed or abort), and
//     continues as decided.
func (x *execution) resumeStep(ctx context.Context, seq int, inst drills.StepInstance) (skip bool, attempt int, err error) {
	if x.epoch <= firstEpoch {
		return false, 1, nil
	}
	st := x.r.cfg.Store
	latest, err := st.StepResultLatest(ctx, x.runID, inst.Key)
	switch {
	case errors.Is(err, store.ErrNotFound):
		return false, 1, nil
	case err != nil:
		return false, 0, fmt.Errorf("resume step %s: %w", inst.Key, err)
	}
	log := x.log.With("step", inst.Key, "attempt", latest.Attempt)
	switch latest.State {
	case drills.StepSucceeded, drills.StepSkipped:
		// Instances of a parallel step that were not skipped may be running already.
		x.mu.Lock()
		x.observations = append(x.observations, observationsOf(latest.Evidence)...)
		x.mu.Unlock()
		log.InfoContext(ctx, "step already done before the takeover; not repeated", "state", string(latest.State))
		return true, 0, nil
	case drills.StepFailed:
		return false, 0, &stepFailure{key: inst.Key, err: fmt.Errorf("attempt %d failed before the takeover: %s", latest.Attempt, latest.Error)}
	}
	if latest.EndedAt != nil {
		// Closed as unknown: by an earlier takeover that re-ran an idempotent step, or after an
		// operator's decision that did not end it as done or failed.
		return x.resumeClosedUnknown(ctx, inst, latest)
	}
	if latest.Idempotent {
		note := fmt.Sprintf("outcome unknown: the replica running attempt %d stopped; re-checked as attempt %d (the action is idempotent)",
			latest.Attempt, latest.Attempt+1)
		if err := x.closeStep(ctx, latest, drills.StepUnknown, note, nil); err != nil {
			return false, 0, err
		}
		log.WarnContext(ctx, "idempotent step interrupted by a takeover; running it again", "next_attempt", latest.Attempt+1)
		return false, latest.Attempt + 1, nil
	}
	return x.awaitOperator(ctx, inst, latest)
}

func (x *execution) resumeClosedUnknown(ctx context.Context, inst drills.StepInstance, latest *store.StepResult) (bool, int, error) {
	dec, err := x.r.cfg.Store.StepDecisionGet(ctx, latest.ID)
	switch {
	case errors.Is(err, store.ErrNotFound):
		if latest.Idempotent {
			return false, latest.Attempt + 1, nil
		}
		return false, 0, &stepFailure{key: inst.Key, err: fmt.Errorf("attempt %d of a non-idempotent step was closed as unknown without an operator's decision; not repeated", latest.Attempt)}
	case err != nil:
		return false, 0, fmt.Errorf("resume step %s: %w", inst.Key, err)
	}
	switch dec.Decision {
	case store.DecisionRetry:
		return false, latest.Attempt + 1, nil
	case store.DecisionAbort:
		return false, 0, x.abortFailure(ctx, inst, dec)
	default:
		return false, 0, &stepFailure{key: inst.Key, err: fmt.Errorf("attempt %d decided %s by %s: %s", latest.Attempt, dec.Decision, dec.By.String(), dec.Comment)}
	}
}

// awaitOperator handles a non-idempotent step a dead replica left open: it is marked unknown
// and the run waits in waiting_operator until a person decides what happened.
func (x *execution) awaitOperator(ctx context.Context, inst drills.StepInstance, latest *store.StepResult) (bool, int, error) {
	st := x.r.cfg.Store
	clk := x.r.cfg.Clock
	log := x.log.With("step", inst.Key, "attempt", latest.Attempt)
	dec, err := st.StepDecisionGet(ctx, latest.ID)
	if errors.Is(err, store.ErrNotFound) {
		// No decision yet (a manual step may have been decided while nobody held the run).
		reason := fmt.Sprintf("step %s's outcome is unknown after a takeover: decide with firedrill step done|retry|abort %s %s",
			inst.Key, x.runID, inst.Key)
		if latest.State == drills.StepRunning {
			if err := st.StepMarkUnknown(ctx, &store.StepMarkUnknownParams{
				RunID: x.runID, Epoch: x.epoch, StepID: latest.ID, At: clk.Now(),
				Note: fmt.Sprintf("outcome unknown: the replica running attempt %d stopped and the action (%s) is not idempotent", latest.Attempt, latest.Action),
			}); err != nil {
				return false, 0, fmt.Errorf("mark step %s unknown: %w", inst.Key, err)
			}
		}
		if err := st.RunStateSet(ctx, &store.RunStateSetParams{
			RunID: x.runID, Epoch: x.epoch, State: drills.RunWaitingOperator, Reason: reason, At: clk.Now(),
		}); err != nil {
			return false, 0, fmt.Errorf("wait for an operator on step %s: %w", inst.Key, err)
		}
		log.WarnContext(ctx, "waiting for an operator", "reason", reason)
		dec, err = x.waitDecision(ctx, latest.ID)
	}
	if err != nil {
		return false, 0, fmt.Errorf("decision on step %s: %w", inst.Key, err)
	}
	log.InfoContext(ctx, "operator decided", "decision", dec.Decision, "by", dec.By.String())
	if err := st.RunStateSet(ctx, &store.RunStateSetParams{
		RunID: x.runID, Epoch: x.epoch, State: drills.RunRunning, At: clk.Now(),
		Reason: fmt.Sprintf("step %s decided %s by %s", inst.Key, dec.Decision, dec.By.String()),
	}); err != nil {
		return false, 0, fmt.Errorf("resume run after the decision on step %s: %w", inst.Key, err)
	}
	evidence := map[string]any{"decision": dec.Decision, "decided_by": dec.By, "decided_at": dec.At, "comment": dec.Comment}
	note := fmt.Sprintf("%s decided %s", dec.By.String(), dec.Decision)
	if dec.Comment != "" {
		note += ": " + dec.Comment
	}
	switch dec.Decision {
	case store.DecisionDone:
		if err := x.closeStep(ctx, latest, drills.StepSucceeded, "", evidence); err != nil {
			return false, 0, err
		}
		return true, 0, nil
	case store.DecisionRetry:
		if err := x.closeStep(ctx, latest, drills.StepUnknown, note, evidence); err != nil {
			return false, 0, err
		}
		return false, latest.Attempt + 1, nil
	case store.DecisionAbort:
		if err := x.closeStep(ctx, latest, drills.StepUnknown, note, evidence); err != nil {
			return false, 0, err
		}
		return false, 0, x.abortFailure(ctx, inst, dec)
	default: // failed
		if err := x.closeStep(ctx, latest, drills.StepFailed, note, evidence); err != nil {
			return false, 0, err
		}
		return false, 0, &stepFailure{key: inst.Key, err: errors.New(note)}
	}
}

// waitDecision polls the store for a decision on the step result, like storeDecisions, but
// keeps every decision kind (retry and abort included).
func (x *execution) waitDecision(ctx context.Context, stepID string) (*store.StepDecision, error) {
	for {
		dec, err := x.r.cfg.Store.StepDecisionGet(ctx, stepID)
		switch {
		case err == nil:
			return dec, nil
		case ctx.Err() != nil:
			return nil, fmt.Errorf("waiting for a decision: %w", ctx.Err())
		case !errors.Is(err, store.ErrNotFound):
			// A store hiccup: the lease renewal decides whether this replica still owns the run.
			x.log.WarnContext(ctx, "reading the decision failed; trying again", "err", err)
		}
		t := x.r.cfg.Clock.NewTimer(x.r.cfg.DecisionPoll)
		select {
		case <-ctx.Done():
			t.Stop()
			return nil, fmt.Errorf("waiting for a decision: %w", context.Cause(ctx))
		case <-t.C():
		}
	}
}

// abortFailure requests the run's abort in the store (so the abort and rollback path sees it)
// and returns the step failure that ends the step loop.
func (x *execution) abortFailure(ctx context.Context, inst drills.StepInstance, dec *store.StepDecision) error {
	reason := fmt.Sprintf("%s decided to abort at step %s, whose outcome was unknown after a takeover", dec.By.String(), inst.Key)
	if dec.Comment != "" {
		reason += ": " + dec.Comment
	}
	if _, err := x.r.cfg.Store.RunAbortRequest(ctx, &store.RunAbortRequestParams{
		RunID: x.runID, By: dec.By, Reason: reason, At: x.r.cfg.Clock.Now(),
	}); err != nil {
		return fmt.Errorf("request abort of run %s: %w", x.runID, err)
	}
	return &stepFailure{key: inst.Key, err: fmt.Errorf("%w: %s", ErrOperatorAbort, reason)}
}

// closeStep records the outcome of an attempt a dead replica left open.
func (x *execution) closeStep(ctx context.Context, sr *store.StepResult, state drills.StepState, msg string, evidence map[string]any) error {
	var raw json.RawMessage
	if evidence != nil {
		b, err := json.Marshal(map[string]any{"takeover": evidence})
		if err != nil {
			return fmt.Errorf("encode evidence of step %s: %w", sr.Key, err)
		}
		raw = b
	}
	if err := x.r.cfg.Store.StepFinish(ctx, &store.StepFinishParams{
		RunID: x.runID, Epoch: x.epoch, StepID: sr.ID, State: state, Error: msg, Evidence: raw, At: x.r.cfg.Clock.Now(),
	}); err != nil {
		return fmt.Errorf("close attempt %d of step %s as %s: %w", sr.Attempt, sr.Key, state, err)
	}
	return nil
}

// observationsOf reads back the observations runStep recorded in a step's evidence.
func observationsOf(evidence json.RawMessage) []drills.ServiceObservation {
	if len(evidence) == 0 {
		return nil
	}
	var ev struct {
		Observations []struct {
			Service      string    `json:"service"`
			PassedAt     time.Time `json:"passed_at"`
			ResolutionMS int64     `json:"resolution_ms"`
		} `json:"observations"`
	}
	if err := json.Unmarshal(evidence, &ev); err != nil {
		return nil
	}
	out := make([]drills.ServiceObservation, 0, len(ev.Observations))
	for _, o := range ev.Observations {
		out = append(out, drills.ServiceObservation{
			Service: o.Service, PassedAt: o.PassedAt, Resolution: time.Duration(o.ResolutionMS) * time.Millisecond,
		})
	}
	return out
}

// canariesAfterTakeover stands in for startCanaries when an earlier replica had already passed
// T0: the canaries' last acknowledged rows died with it, and a canary started now would write
// after the disaster (or fail against a dead primary). The RPO is recorded as not measured,
// with that reason, rather than as a wrong number.
func (x *execution) canariesAfterTakeover() {
	for _, name := range x.d.Plan.Services {
		svc := x.d.Estate.Service(name)
		if svc == nil || svc.Canary == nil {
			continue
		}
		x.canaries[name] = nil
		x.canaryErrs[name] = errors.New("the replica holding the canary's last acknowledged row before T0 stopped; the run was taken over after T0")
	}
}
