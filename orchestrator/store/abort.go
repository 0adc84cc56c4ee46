package store

import (
	"context"
	"errors"
	"fmt"
	"time"

	"gorm.io/gorm"

	"github.com/firedrill/firedrill/drills"
)

// EventAbortRequested is the timeline entry of an abort request.
const EventAbortRequested = "abort_requested"

// RunAbortRequestParams are the arguments of RunAbortRequest.
type RunAbortRequestParams struct {
	RunID string
	// By is who asks: a person, the system (a freeze), or a stop condition (its name is then
	// recorded as the run's AbortStopCondition). Required.
	By     drills.Actor
	Reason string
	// At defaults to the clock's now.
	At time.Time
}

// RunAbortRequest asks a run to abort. It is not fenced: the operator is not a replica. The
// replica holding the run sees the request, stops the current step, runs the rollback and
// records the end; a pending run is never started (the worker that claims it ends it). A run
// awaiting approval, which no replica will ever claim, ends aborted at once. The first request
// wins; later ones are recorded on the timeline only. ErrRunTerminal for a run that has ended.
func (s *Store) RunAbortRequest(ctx context.Context, p *RunAbortRequestParams) (*Run, error) {
	return inTx(ctx, s, p, s.RunAbortRequestTx)
}

// RunAbortRequestTx is RunAbortRequest in tx.
func (s *Store) RunAbortRequestTx(ctx context.Context, tx *Tx, p *RunAbortRequestParams) (*Run, error) {
	if p == nil || p.RunID == "" || p.Reason == "" {
		return nil, errors.New("abort request: RunID and Reason are required")
	}
	if err := checkActor("abort request: By", p.By); err != nil {
		return nil, err
	}
	out, err := abortRequestTx(tx.with(ctx), p, s.now(p.At))
	if err != nil {
		return nil, fmt.Errorf("request abort of run %s: %w", p.RunID, translate(err))
	}
	return out, nil
}

func abortRequestTx(tx *gorm.DB, p *RunAbortRequestParams, at time.Time) (*Run, error) {
	locked, err := lockRun(tx, p.RunID)
	if err != nil {
		return nil, err
	}
	m := *locked
	if drills.RunState(m.State).IsTerminal() {
		return nil, fmt.Errorf("%w (state %s)", ErrRunTerminal, m.State)
	}
	if m.AbortRequestedAt == nil {
		set := map[string]any{"abort_requested_at": at, "abort_reason": p.Reason, "abort_stop_condition": ""}
		if p.By.Kind == drills.ActorStopCondition {
			set["abort_stop_condition"] = p.By.Name
		}
		setActor(set, "abort_by_", p.By)
		if err := tx.Model(&runModel{}).Where("id = ?", p.RunID).UpdateColumns(set).Error; err != nil {
			return nil, err
		}
		m.AbortRequestedAt, m.AbortBy, m.AbortReason = &at, colsOf(p.By), p.Reason
		m.AbortStopCondition, _ = set["abort_stop_condition"].(string)
	}
	if err := appendEvent(tx, p.RunID, at, EventAbortRequested, "", p.Reason, map[string]any{"by": p.By}); err != nil {
		return nil, err
	}
	if m.State == string(drills.RunAwaitingApproval) {
		reason := fmt.Sprintf("aborted by %s before it was approved: %s", m.AbortBy.actor(), m.AbortReason)
		if err := endUnclaimed(tx, &m, at, drills.RunAborted, reason); err != nil {
			return nil, err
		}
	}
	return runOf(&m), nil
}

// RunAbortActiveParams are the arguments of RunAbortActiveTx.
type RunAbortActiveParams struct {
	By     drills.Actor
	Reason string
	At     time.Time
}

// RunAbortActiveTx asks every run that has not ended to abort (see RunAbortRequest), in tx,
// and returns their IDs oldest first: a freeze's abort of everything in flight.
func (s *Store) RunAbortActiveTx(ctx context.Context, tx *Tx, p *RunAbortActiveParams) ([]string, error) {
	if p == nil || p.Reason == "" {
		return nil, errors.New("abort active runs: Reason is required")
	}
	if err := checkActor("abort active runs: By", p.By); err != nil {
		return nil, err
	}
	db := tx.with(ctx)
	var active []string
	if err := db.Model(&runModel{}).Where("state NOT IN ?", terminalStates).Order("created_at, id").
		Pluck("id", &active).Error; err != nil {
		return nil, fmt.Errorf("abort active runs: %w", translate(err))
	}
	at := s.now(p.At)
	// Every run is locked before the first event is appended: that takes the audit log's
	// head lock (PostgreSQL), and a runner holding a later run's lock while it waits for the
	// head would otherwise deadlock with this transaction.
	for _, id := range active {
		if _, err := lockRun(db, id); err != nil {
			return nil, fmt.Errorf("abort active runs: run %s: %w", id, translate(err))
		}
	}
	for _, id := range active {
		if _, err := abortRequestTx(db, &RunAbortRequestParams{RunID: id, By: p.By, Reason: p.Reason}, at); err != nil {
			return nil, fmt.Errorf("abort active runs: run %s: %w", id, translate(err))
		}
	}
	if active == nil {
		active = []string{}
	}
	return active, nil
}

// terminalStates lists the terminal run states.
var terminalStates = func() []string {
	var out []string
	for _, s := range drills.RunStates {
		if s.IsTerminal() {
			out = append(out, string(s))
		}
	}
	return out
}()
