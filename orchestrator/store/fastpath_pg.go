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

// The step writes a run makes on PostgreSQL, each as ONE statement: the lease fence, the
// write and its timeline event in data-modifying CTEs, committed as one autocommit statement.
// That is a single round trip where the generic path (fencedTx) takes seven, which is what a
// step's bookkeeping costs on a database across a network. The semantics are fencedTx's:
// nothing is written unless the run is at the caller's epoch and not terminal, and the write
// and its event commit together.

// terminalStatesSQL lists the terminal run states for a NOT IN clause.
var terminalStatesSQL = func() string {
	var q []string
	for _, s := range drills.RunStates {
		if s.IsTerminal() {
			q = append(q, "'"+string(s)+"'")
		}
	}
	return strings.Join(q, ", ")
}()

// fence is fencedTx's fence: touch the run at the caller's epoch, extend its lease and take
// the next timeline number. $1 run id, $2 epoch, $3 now; extra is a further condition that
// must hold for the write to happen, so that a fence that passes always leads to an event
// (no number is given out for nothing). The UPDATE row-locks the run, and a writer that
// waited for the lock re-reads the row, so event_seq + 1 is always the next free number.
func fence(extra string) string {
	return `fence AS (
    UPDATE runs SET updated_at = $3, event_seq = event_seq + 1,
        lease_expires_at = CASE WHEN lease_duration_ms > 0
            THEN $3::timestamptz + lease_duration_ms * interval '1 millisecond' ELSE lease_expires_at END
    WHERE id = $1 AND lease_epoch = $2 AND state NOT IN (` + terminalStatesSQL + `)` + extra + `
    RETURNING id, event_seq
)`
}

var stepStartPG = `WITH ` + fence("") + `, step AS (
    INSERT INTO step_results (id, run_id, seq, step_key, step_name, action, site, service, attempt, state,
                              idempotent, timeout_ms, started_at, error)
    SELECT $4, id, $5, $6, $7, $8, $9, $10, $11, 'running', $12, $13, $3, '' FROM fence
    RETURNING id
)
INSERT INTO run_events (run_id, seq, at, kind, step_key, message, data)
SELECT $1, fence.event_seq, $3, '` + EventStepStarted + `', $6, $8, $14::jsonb FROM step, fence
RETURNING seq`

var stepFinishPG = `WITH ` + fence(`
      AND EXISTS (SELECT 1 FROM step_results WHERE id = $4 AND run_id = $1 AND ended_at IS NULL)`) + `, step AS (
    UPDATE step_results SET state = $5, ended_at = $3,
        duration_ms = GREATEST(0, floor(extract(epoch FROM ($3::timestamptz - started_at)) * 1000))::bigint,
        error = $6, evidence = $7::jsonb
    WHERE id = $4 AND run_id = $1 AND ended_at IS NULL AND EXISTS (SELECT 1 FROM fence)
    RETURNING step_key, attempt, duration_ms
)
INSERT INTO run_events (run_id, seq, at, kind, step_key, message, data)
SELECT $1, fence.event_seq, $3, '` + EventStepFinished + `', step_key, $6,
       jsonb_build_object('step_id', $4::text, 'attempt', attempt, 'state', $5::text, 'duration_ms', duration_ms)
FROM step, fence
RETURNING seq`

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
		var seq int
		err := s.sqlDB.QueryRowContext(ctx, stepStartPG, p.RunID, p.Epoch, at, id, p.Seq, p.Key, p.Name, p.Action,
			p.Site, p.Service, attempt, p.Idempotent, msOf(p.Timeout), string(data)).Scan(&seq)
		if errors.Is(err, sql.ErrNoRows) {
			return s.whyUnfenced(ctx, p.RunID, p.Epoch)
		}
		return err
	}())
}

// stepFinishPostgres is StepFinish's single-statement path.
func (s *Store) stepFinishPostgres(ctx context.Context, p *StepFinishParams, at time.Time) error {
	var evidence any
	if len(p.Evidence) > 0 {
		evidence = string(p.Evidence)
	}
	return translatePG(func() error {
		var seq int
		err := s.sqlDB.QueryRowContext(ctx, stepFinishPG, p.RunID, p.Epoch, at, p.StepID, string(p.State), p.Error, evidence).Scan(&seq)
		if !errors.Is(err, sql.ErrNoRows) {
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
