package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/jackc/pgx/v5/pgconn"

	"github.com/firedrill/firedrill/drills"
)

// The step writes a run makes on PostgreSQL, each as ONE statement: a call of an owner's
// SECURITY DEFINER function (migrations 00010 and 00015) whose single statement fences the
// run, writes the step, inserts its timeline event and queues the event's audit row (in
// audit_pending, for the chainer: auditchain.go), in data-modifying CTEs, committed as one
// autocommit statement. That is a single round trip where the generic path (fencedTx) takes
// seven, and no trigger: the audit row is queued by the statement, not by the run_events
// trigger, which skips the events marked audited_inline. The semantics are fencedTx's: nothing
// is written unless the run is at the caller's epoch and not terminal, and the write, its event
// and its audit copy commit together. The runtime role may call the functions (their audit
// copy always copies the event they insert) but not write audit_log, audit_pending,
// audit_head or the audited_inline column itself.

// terminalStatesPG is the terminal run states as a PostgreSQL text[] literal, passed to the
// step functions so that drills.RunStates stays their one definition.
var terminalStatesPG = func() string {
	var q []string
	for _, s := range drills.RunStates {
		if s.IsTerminal() {
			q = append(q, string(s))
		}
	}
	return "{" + strings.Join(q, ",") + "}"
}()

const stepStartPG = `SELECT firedrill_step_start($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14::jsonb, $15::text[])`

const stepFinishPG = `SELECT firedrill_step_finish($1, $2, $3, $4, $5, $6, $7::jsonb, $8::text[])`

// stepStartPostgres is StepStart's single-statement path.
func (s *Store) stepStartPostgres(ctx context.Context, p *StepStartParams, id string, attempt int, at time.Time) error {
	data, err := json.Marshal(map[string]any{
		"step_id": id, "seq": p.Seq, "attempt": attempt, "action": p.Action,
		"site": p.Site, "service": p.Service, "idempotent": p.Idempotent, "timeout_ms": msOf(p.Timeout),
	})
	if err != nil {
		return err
	}
	return translatePG(func() error {
		// The function returns the event's number, NULL when the fence stopped it.
		var seq sql.NullInt64
		err := s.sqlDB.QueryRowContext(ctx, stepStartPG, p.RunID, p.Epoch, at, id, p.Seq, p.Key, p.Name, p.Action,
			p.Site, p.Service, attempt, p.Idempotent, msOf(p.Timeout), string(data), terminalStatesPG).Scan(&seq)
		if err != nil || seq.Valid {
			return err
		}
		return s.whyUnfenced(ctx, p.RunID, p.Epoch)
	}())
}

// stepFinishPostgres is StepFinish's single-statement path.
func (s *Store) stepFinishPostgres(ctx context.Context, p *StepFinishParams, at time.Time) error {
	var evidence any
	if len(p.Evidence) > 0 {
		evidence = string(p.Evidence)
	}
	return translatePG(func() error {
		var seq sql.NullInt64
		err := s.sqlDB.QueryRowContext(ctx, stepFinishPG, p.RunID, p.Epoch, at, p.StepID, string(p.State), p.Error, evidence, terminalStatesPG).Scan(&seq)
		if err != nil || seq.Valid {
			return err
		}
		if err := s.whyUnfenced(ctx, p.RunID, p.Epoch); err != nil {
			return err
		}
		// The fence held: the step is unknown to this run or already finished.
		var state string
		var ended *time.Time
		err = s.sqlDB.QueryRowContext(ctx, `SELECT state, ended_at FROM step_results WHERE id = $1 AND run_id = $2`, p.StepID, p.RunID).Scan(&state, &ended)
		switch {
		case errors.Is(err, sql.ErrNoRows):
			return ErrNotFound
		case err != nil:
			return err
		}
		return fmt.Errorf("%w as %s", ErrStepFinished, state)
	}())
}

// whyUnfenced explains a fence that matched nothing: the run does not exist, has ended, or
// another replica claimed it.
func (s *Store) whyUnfenced(ctx context.Context, runID string, epoch int64) error {
	var state string
	var current int64
	err := s.sqlDB.QueryRowContext(ctx, `SELECT state, lease_epoch FROM runs WHERE id = $1`, runID).Scan(&state, &current)
	switch {
	case errors.Is(err, sql.ErrNoRows):
		return ErrNotFound
	case err != nil:
		return err
	case current != epoch:
		return ErrLeaseLost
	case drills.RunState(state).IsTerminal():
		return fmt.Errorf("%w (state %s)", ErrRunTerminal, state)
	}
	return nil
}

// translatePG maps a driver error of the fast path to the store's sentinels.
func translatePG(err error) error {
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) {
		switch pgErr.Code {
		case "23505":
			return fmt.Errorf("%w: %s", ErrDuplicate, pgErr.ConstraintName)
		case "23503":
			return fmt.Errorf("%w: referenced row: %s", ErrNotFound, pgErr.ConstraintName)
		}
	}
	return err
}
