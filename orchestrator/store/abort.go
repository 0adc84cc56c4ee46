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
	RunID  string
	By     string
	Reason string
	// At defaults to the clock's now.
	At time.Time
}

// RunAbortRequest asks a run to abort. It is not fenced: the operator is not a replica. The
// replica holding the run sees the request, stops the current step, runs the rollback and
// records the end; a run nobody holds yet (pending, awaiting approval) is never started.
// The first request wins; later ones are recorded on the timeline only. ErrRunTerminal for a
// run that has ended.
func (s *Store) RunAbortRequest(ctx context.Context, p *RunAbortRequestParams) (*Run, error) {
	if p == nil || p.RunID == "" || p.By == "" || p.Reason == "" {
		return nil, errors.New("abort request: RunID, By and Reason are required")
	}
	at := s.now(p.At)
	var out *Run
	err := s.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		locked, err := lockRun(tx, p.RunID)
		if err != nil {
			return err
		}
		m := *locked
		if drills.RunState(m.State).IsTerminal() {
			return fmt.Errorf("%w (state %s)", ErrRunTerminal, m.State)
		}
		if m.AbortRequestedAt == nil {
			if err := tx.Model(&runModel{}).Where("id = ?", p.RunID).UpdateColumns(map[string]any{
				"abort_requested_at": at, "abort_requested_by": p.By, "abort_reason": p.Reason,
			}).Error; err != nil {
				return err
			}
			m.AbortRequestedAt, m.AbortRequestedBy, m.AbortReason = &at, p.By, p.Reason
		}
		out = runOf(&m)
		return appendEvent(tx, p.RunID, at, EventAbortRequested, "", p.Reason, map[string]any{"by": p.By})
	})
	if err != nil {
		return nil, fmt.Errorf("request abort of run %s: %w", p.RunID, translate(err))
	}
	return out, nil
}
