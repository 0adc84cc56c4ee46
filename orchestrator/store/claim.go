package store

import (
	"context"
	"errors"
	"fmt"
	"time"

	"gorm.io/gorm"
	"gorm.io/gorm/clause"

	"github.com/firedrill/firedrill/drills"
)

// Takeover event kinds.
const (
	// EventStepUnknown: a takeover found a non-idempotent step that may or may not have had its
	// effect; it waits for an operator's decision.
	EventStepUnknown = "step_unknown"
)

// RunClaimNextParams are the arguments of RunClaimNext.
type RunClaimNextParams struct {
	// Owner identifies the claiming replica; required.
	Owner string
	// LeaseFor is how long the lease lasts without renewal or a fenced write; required.
	LeaseFor time.Duration
	// Now is the moment leases are compared with. Defaults to the store's clock.
	Now time.Time
}

// RunClaimNext claims the oldest run that needs a replica: pending, running or waiting for an
// operator, whose lease is unset or expired (lease_expires_at < now). The claim bumps the epoch,
// sets owner and expiry and records a run_claimed event naming the previous owner, all in the
// transaction that chose the run. On PostgreSQL the candidate is read with FOR UPDATE SKIP
// LOCKED, so concurrent claimers never get the same run and never wait on each other; SQLite
// has one writer (IMMEDIATE transactions), which serialises claimers. ErrNotFound when no run
// is claimable.
func (s *Store) RunClaimNext(ctx context.Context, p *RunClaimNextParams) (*Run, int64, error) {
	if p == nil || p.Owner == "" {
		return nil, 0, errors.New("run claim next: Owner is required")
	}
	if p.LeaseFor <= 0 {
		return nil, 0, fmt.Errorf("run claim next: LeaseFor must be positive, got %s", p.LeaseFor)
	}
	now := s.now(p.Now)
	var (
		cur   runModel
		epoch int64
	)
	err := s.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		q := tx
		if s.dialect == DialectPostgres {
			q = q.Clauses(clause.Locking{Strength: clause.LockingStrengthUpdate, Options: clause.LockingOptionsSkipLocked})
		}
		err := q.Where("state IN ? AND (lease_expires_at IS NULL OR lease_expires_at < ?)", claimableStates, now).
			Order("created_at, id").Limit(1).Take(&cur).Error
		if err != nil {
			return err
		}
		epoch, err = claimLocked(tx, &cur, p.Owner, p.LeaseFor, now)
		return err
	})
	if err != nil {
		return nil, 0, fmt.Errorf("run claim next for %s: %w", p.Owner, translate(err))
	}
	cur.LeaseEpoch = epoch
	cur.LeaseOwner = p.Owner
	expires := utcMS(now.Add(p.LeaseFor))
	cur.LeaseExpiresAt = &expires
	cur.LeaseDurationMS = msOf(p.LeaseFor)
	return runOf(&cur), epoch, nil
}

// claimLocked gives the run cur, which the caller has locked in tx (FOR UPDATE on PostgreSQL,
// the writer lock on SQLite), to owner at the next epoch, and records the run_claimed event.
// It is the one place a claim is written (RunClaim and RunClaimNext). A claim is for running
// the run: a run in a state that cannot move to running (awaiting approval, ended) is refused
// with ErrInvalidTransition.
func claimLocked(tx *gorm.DB, cur *runModel, owner string, leaseFor time.Duration, now time.Time) (int64, error) {
	if err := checkTransition(drills.RunState(cur.State), drills.RunRunning); err != nil {
		return 0, fmt.Errorf("claim: %w", err)
	}
	expires := utcMS(now.Add(leaseFor))
	epoch := cur.LeaseEpoch + 1
	res := tx.Table("runs").Where("id = ? AND lease_epoch = ?", cur.ID, cur.LeaseEpoch).UpdateColumns(map[string]any{
		"lease_epoch":       epoch,
		"lease_owner":       owner,
		"lease_expires_at":  expires,
		"lease_duration_ms": msOf(leaseFor),
		"updated_at":        now,
	})
	if res.Error != nil {
		return 0, res.Error
	}
	if res.RowsAffected != 1 {
		return 0, ErrLeaseLost
	}
	data := map[string]any{
		"owner": owner, "epoch": epoch, "previous_owner": cur.LeaseOwner,
		"lease_expires_at": expires, "state": cur.State,
	}
	if cur.LeaseExpiresAt != nil {
		data["previous_lease_expired_at"] = cur.LeaseExpiresAt.UTC()
	}
	if err := appendEvent(tx, cur.ID, now, EventRunClaimed, "", owner, data); err != nil {
		return 0, err
	}
	return epoch, nil
}

// StepMarkUnknownParams are the arguments of StepMarkUnknown.
type StepMarkUnknownParams struct {
	RunID  string
	Epoch  int64
	StepID string
	// Note says why the outcome is unknown; it becomes the step's error and the event message.
	Note string
	// At defaults to the clock's now.
	At time.Time
}

// StepMarkUnknown records that a step attempt a dead replica left running may or may not have
// had its effect: its state becomes unknown, but it stays open (no ended_at) so that an operator
// can decide it with StepDecide (done, retry, failed or abort); the runner then closes it with
// StepFinish. A step already unknown is left as it is. Fenced.
func (s *Store) StepMarkUnknown(ctx context.Context, p *StepMarkUnknownParams) error {
	if p == nil || p.RunID == "" || p.StepID == "" {
		return errors.New("step mark unknown: RunID and StepID are required")
	}
	at := s.now(p.At)
	err := s.fencedTx(ctx, p.RunID, p.Epoch, at, func(tx *gorm.DB, _ *fenceRow) error {
		var m stepResultModel
		if err := tx.Where("id = ? AND run_id = ?", p.StepID, p.RunID).Take(&m).Error; err != nil {
			return translate(err)
		}
		if m.EndedAt != nil {
			return fmt.Errorf("step already finished as %s", m.State)
		}
		if m.State == string(drills.StepUnknown) {
			return nil
		}
		if err := tx.Model(&stepResultModel{}).Where("id = ?", p.StepID).UpdateColumns(map[string]any{
			"state": string(drills.StepUnknown),
			"error": p.Note,
		}).Error; err != nil {
			return err
		}
		return appendEvent(tx, p.RunID, at, EventStepUnknown, m.StepKey, p.Note, map[string]any{
			"step_id": m.ID, "attempt": m.Attempt, "action": m.Action,
		})
	})
	if err != nil {
		return fmt.Errorf("step mark unknown %s/%s: %w", p.RunID, p.StepID, err)
	}
	return nil
}

// Estate is a stored snapshot of an estate's source, as a run recorded it.
type Estate struct {
	// SHA256 is the hex digest of Source.
	SHA256    string
	File      string
	Source    []byte
	CreatedAt time.Time
}

// EstateGet returns the estate snapshot with the given digest (a run's EstateSHA256), or
// ErrNotFound.
func (s *Store) EstateGet(ctx context.Context, sha256 string) (*Estate, error) {
	var m estateSnapshotModel
	if err := s.db.WithContext(ctx).Where("sha256 = ?", sha256).Take(&m).Error; err != nil {
		return nil, fmt.Errorf("estate get %s: %w", sha256, translate(err))
	}
	return &Estate{SHA256: m.SHA256, File: m.File, Source: []byte(m.Source), CreatedAt: m.CreatedAt.UTC()}, nil
}

// StepResultLatest returns the latest attempt of the run's step key, or ErrNotFound when the
// step never started. A takeover reads it to decide what to do with the step.
func (s *Store) StepResultLatest(ctx context.Context, runID, key string) (*StepResult, error) {
	var m stepResultModel
	err := s.db.WithContext(ctx).Where("run_id = ? AND step_key = ?", runID, key).Order("attempt DESC").Limit(1).Take(&m).Error
	if err != nil {
		return nil, fmt.Errorf("step result latest %s/%s: %w", runID, key, translate(err))
	}
	return stepResultOf(&m), nil
}

// EventRunReleased is the timeline entry of a replica handing a run back (it is stopping).
const EventRunReleased = "run_released"

// RunReleaseParams are the arguments of RunRelease.
type RunReleaseParams struct {
	RunID string
	// Epoch is the epoch the stopping replica holds.
	Epoch int64
	// Reason is recorded on the timeline.
	Reason string
}

// RunRelease hands back a run held at epoch by a replica that is stopping: the epoch is bumped
// (so anything the stopping replica still tries to write fails with ErrLeaseLost, exactly as
// after a takeover), the owner and expiry are cleared (so another replica can claim it at once)
// and a run_released event is recorded. The run's state is kept: the next holder resumes it.
// ErrLeaseLost when the epoch already moved on.
func (s *Store) RunRelease(ctx context.Context, p *RunReleaseParams) error {
	if p == nil {
		return errors.New("run release: params are required")
	}
	runID, epoch, reason := p.RunID, p.Epoch, p.Reason
	now := s.now(time.Time{})
	err := s.fencedTx(ctx, runID, epoch, now, func(tx *gorm.DB, _ *fenceRow) error {
		res := tx.Table("runs").Where("id = ? AND lease_epoch = ?", runID, epoch).UpdateColumns(map[string]any{
			"lease_epoch":       epoch + 1,
			"lease_owner":       "",
			"lease_expires_at":  nil,
			"lease_duration_ms": 0,
		})
		if res.Error != nil {
			return res.Error
		}
		return appendEvent(tx, runID, now, EventRunReleased, "", reason, map[string]any{"epoch": epoch + 1})
	})
	if err != nil {
		return fmt.Errorf("run release %s epoch %d: %w", runID, epoch, err)
	}
	return nil
}
