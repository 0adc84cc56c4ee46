package store

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/google/uuid"
	"gorm.io/gorm"

	"github.com/firedrill/firedrill/drills"
)

// ErrNotAwaiting means the step is not waiting for a person's decision: it is not a running
// manual step nor a step whose outcome is unknown, or the run has ended.
var ErrNotAwaiting = errors.New("step is not waiting for a decision")

// Decisions a person can take on a step.
const (
	// DecisionDone: the manual step was performed (or the unknown step's effect is in place).
	DecisionDone = "done"
	// DecisionFailed: the manual step could not be performed; the run fails.
	DecisionFailed = "failed"
	// DecisionRetry: run the step whose outcome is unknown again (a new attempt).
	DecisionRetry = "retry"
	// DecisionAbort: abort the run (rollback and cleanup run).
	DecisionAbort = "abort"
)

// EventStepDecided is the timeline entry of a decision.
const EventStepDecided = "step_decided"

// StepDecision is a person's decision on a step, with who took it and when.
type StepDecision struct {
	ID       string
	RunID    string
	StepID   string
	StepKey  string
	Decision string
	By       drills.Actor
	Comment  string
	At       time.Time
}

// StepDecideParams are the arguments of StepDecide.
type StepDecideParams struct {
	RunID   string
	StepKey string
	// Decision is DecisionDone, DecisionFailed, DecisionRetry or DecisionAbort.
	Decision string
	// By is the person who decides; required, recorded for the report.
	By      drills.Actor
	Comment string
	// At defaults to the clock's now.
	At time.Time
}

// StepDecide records a person's decision on the latest attempt of a step that waits for one:
// a running manual step, or a step whose outcome is unknown. A step is decided once
// (ErrDuplicate after). It is not fenced by the lease: the person is not a replica; the runner
// holding the lease reads the decision and records the step's outcome itself.
func (s *Store) StepDecide(ctx context.Context, p *StepDecideParams) (*StepDecision, error) {
	return inTx(ctx, s, p, s.StepDecideTx)
}

// StepDecideTx is StepDecide in tx.
func (s *Store) StepDecideTx(ctx context.Context, tx *Tx, p *StepDecideParams) (*StepDecision, error) {
	if p == nil || p.RunID == "" || p.StepKey == "" {
		return nil, errors.New("step decide: RunID and StepKey are required")
	}
	switch p.Decision {
	case DecisionDone, DecisionFailed, DecisionRetry, DecisionAbort:
	default:
		return nil, fmt.Errorf("step decide: decision %q is not one of %s, %s, %s, %s", p.Decision, DecisionDone, DecisionFailed, DecisionRetry, DecisionAbort)
	}
	if err := checkPerson("step decide: By", p.By); err != nil {
		return nil, err
	}
	id, err := uuid.NewV7()
	if err != nil {
		return nil, err
	}
	at := s.now(p.At)
	d := stepDecisionModel{ID: id.String(), RunID: p.RunID, StepKey: p.StepKey, Decision: p.Decision,
		DecidedBy: colsOf(p.By), Comment: p.Comment, DecidedAt: at}
	err = func(tx *gorm.DB) error {
		// Locking the run row serialises the event sequence on PostgreSQL.
		run, err := lockRun(tx, p.RunID)
		if err != nil {
			return err
		}
		if drills.RunState(run.State).IsTerminal() {
			return fmt.Errorf("%w: run is %s", ErrNotAwaiting, run.State)
		}
		var step stepResultModel
		err = tx.Where("run_id = ? AND step_key = ?", p.RunID, p.StepKey).Order("attempt DESC").Take(&step).Error
		if err != nil {
			return translate(err)
		}
		awaiting := step.EndedAt == nil &&
			((step.Action == drills.ActionManual && step.State == string(drills.StepRunning)) || step.State == string(drills.StepUnknown))
		if !awaiting {
			return fmt.Errorf("%w: it is a %s step in state %s", ErrNotAwaiting, step.Action, step.State)
		}
		d.StepID = step.ID
		if err := tx.Create(&d).Error; err != nil {
			if err = translate(err); errors.Is(err, ErrDuplicate) {
				return fmt.Errorf("the step was already decided: %w", ErrDuplicate)
			}
			return err
		}
		return appendEvent(tx, p.RunID, at, EventStepDecided, p.StepKey, p.Comment, map[string]any{
			"step_id": step.ID, "decision": p.Decision, "decided_by": p.By,
		})
	}(tx.with(ctx))
	if err != nil {
		return nil, fmt.Errorf("decide step %s of run %s: %w", p.StepKey, p.RunID, translate(err))
	}
	return decisionOf(&d), nil
}

// StepDecisionGet returns the decision taken on a step result, or ErrNotFound.
func (s *Store) StepDecisionGet(ctx context.Context, stepID string) (*StepDecision, error) {
	var d stepDecisionModel
	if err := s.db.WithContext(ctx).Where("step_id = ?", stepID).Take(&d).Error; err != nil {
		return nil, fmt.Errorf("step decision of %s: %w", stepID, translate(err))
	}
	return decisionOf(&d), nil
}

// StepDecisionList returns every decision taken in a run, oldest first.
func (s *Store) StepDecisionList(ctx context.Context, runID string) ([]*StepDecision, error) {
	return stepDecisionList(s.db.WithContext(ctx), runID)
}

func stepDecisionList(db *gorm.DB, runID string) ([]*StepDecision, error) {
	var ms []stepDecisionModel
	if err := db.Where("run_id = ?", runID).Order("decided_at, id").Find(&ms).Error; err != nil {
		return nil, fmt.Errorf("step decisions of run %s: %w", runID, translate(err))
	}
	out := make([]*StepDecision, 0, len(ms))
	for i := range ms {
		out = append(out, decisionOf(&ms[i]))
	}
	return out, nil
}

func decisionOf(m *stepDecisionModel) *StepDecision {
	return &StepDecision{ID: m.ID, RunID: m.RunID, StepID: m.StepID, StepKey: m.StepKey, Decision: m.Decision,
		By: m.DecidedBy.actor(), Comment: m.Comment, At: m.DecidedAt.UTC()}
}
