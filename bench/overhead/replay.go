package overhead

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
)

// The replay kinds send the runner's per-step SQL through pgx directly, on the store's own
// tables and a claimed run of the store: they split the runner's cost into what its SQL costs
// the database and the round trips, and what gorm, database/sql and the runner add on top.
// They are diagnostics, not the product; the statements mirror store.StepStart and
// store.StepFinish (fencedTx, appendEvent) as of this benchmark.
const (
	sqlFence = `UPDATE runs SET updated_at = $1 WHERE id = $2 AND lease_epoch = $3 RETURNING state, lease_duration_ms`
	sqlLease = `UPDATE runs SET lease_expires_at = $1 WHERE id = $2`
	sqlStep  = `INSERT INTO step_results (id, run_id, seq, step_key, step_name, action, site, service, attempt, state, idempotent, timeout_ms, started_at)
VALUES ($1, $2, $3, $4, $4, 'wait', '', '', 1, 'running', true, 86400000, $5)`
	sqlStepGet = `SELECT step_key, attempt, started_at, ended_at FROM step_results WHERE id = $1 AND run_id = $2 LIMIT 1`
	sqlStepEnd = `UPDATE step_results SET state = 'succeeded', ended_at = $1, duration_ms = $2, error = '', evidence = $3 WHERE id = $4`
	sqlMaxSeq  = `SELECT COALESCE(MAX(seq), 0) + 1 FROM run_events WHERE run_id = $1`
	sqlEvent   = `INSERT INTO run_events (run_id, seq, at, kind, step_key, message, data) VALUES ($1, $2, $3, $4, $5, '', $6) RETURNING id`
	// Pipelined: the lease folded into the fence, the step's event numbered by a subquery (a
	// statement of its own, so it sees the rows committed before the fence's row lock), the
	// step finish returning what StepFinish reads first.
	sqlFenceLease = `UPDATE runs SET updated_at = $1,
  lease_expires_at = CASE WHEN lease_duration_ms > 0 THEN $1::timestamptz + lease_duration_ms * interval '1 millisecond' ELSE lease_expires_at END
WHERE id = $2 AND lease_epoch = $3 RETURNING state`
	sqlEventSeq = `INSERT INTO run_events (run_id, seq, at, kind, step_key, message, data)
VALUES ($1, (SELECT COALESCE(MAX(seq), 0) + 1 FROM run_events WHERE run_id = $1), $2, $3, $4, '', $5)`
	sqlStepEndRet = `UPDATE step_results SET state = 'succeeded', ended_at = $1, duration_ms = $2, error = '', evidence = $3
WHERE id = $4 AND run_id = $5 AND ended_at IS NULL RETURNING attempt`
)

var errFenced = errors.New("replay: fence matched no run")

// replaySequential is one step as the store does it today: two transactions of 7 and 8 round
// trips (BEGIN, fence, lease, write, MAX(seq), event, COMMIT; StepFinish also reads the step).
func replaySequential(ctx context.Context, conn *pgx.Conn, runID string, seq int) error {
	id := uuid.Must(uuid.NewV7()).String()
	key := fmt.Sprintf("s%04d", seq)
	start := time.Now().UTC().Truncate(time.Millisecond)
	fenced := func(fn func(tx pgx.Tx) error) error {
		return pgx.BeginFunc(ctx, conn, func(tx pgx.Tx) error {
			now := time.Now().UTC().Truncate(time.Millisecond)
			var state string
			var leaseMS int64
			if err := tx.QueryRow(ctx, sqlFence, now, runID, 1).Scan(&state, &leaseMS); err != nil {
				if errors.Is(err, pgx.ErrNoRows) {
					return errFenced
				}
				return err
			}
			if _, err := tx.Exec(ctx, sqlLease, now.Add(time.Duration(leaseMS)*time.Millisecond), runID); err != nil {
				return err
			}
			return fn(tx)
		})
	}
	event := func(tx pgx.Tx, kind, data string) error {
		var next int
		if err := tx.QueryRow(ctx, sqlMaxSeq, runID).Scan(&next); err != nil {
			return err
		}
		var evID int64
		return tx.QueryRow(ctx, sqlEvent, runID, next, time.Now().UTC(), kind, key, data).Scan(&evID)
	}
	if err := fenced(func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, sqlStep, id, runID, seq, key, start); err != nil {
			return err
		}
		return event(tx, "step_started", startedData(id, seq))
	}); err != nil {
		return fmt.Errorf("replay step start %s: %w", key, err)
	}
	if err := fenced(func(tx pgx.Tx) error {
		var (
			k       string
			attempt int
			started time.Time
			ended   *time.Time
		)
		if err := tx.QueryRow(ctx, sqlStepGet, id, runID).Scan(&k, &attempt, &started, &ended); err != nil {
			return err
		}
		at := time.Now().UTC()
		if _, err := tx.Exec(ctx, sqlStepEnd, at, at.Sub(started).Milliseconds(), `{"requested_ms":0,"waited_ms":0,"took_ms":0}`, id); err != nil {
			return err
		}
		return event(tx, "step_finished", finishedData(id))
	}); err != nil {
		return fmt.Errorf("replay step finish %s: %w", key, err)
	}
	return nil
}

// replayPipelined is the same two transactions, each as one pipelined batch (BEGIN, fence with
// the lease, write, event) then COMMIT, or ROLLBACK when the fence matched nothing: 2 round
// trips per transaction instead of 7 or 8, still 2 commits per step.
func replayPipelined(ctx context.Context, conn *pgx.Conn, runID string, seq int) error {
	id := uuid.Must(uuid.NewV7()).String()
	key := fmt.Sprintf("s%04d", seq)
	tx := func(write string, writeArgs []any, kind, data string) error {
		now := time.Now().UTC().Truncate(time.Millisecond)
		b := &pgx.Batch{}
		b.Queue("BEGIN")
		b.Queue(sqlFenceLease, now, runID, 1)
		b.Queue(write, writeArgs...)
		b.Queue(sqlEventSeq, runID, now, kind, key, data)
		res := conn.SendBatch(ctx, b)
		_, err := res.Exec()
		fenced := false
		if err == nil {
			var state string
			err = res.QueryRow().Scan(&state)
			if errors.Is(err, pgx.ErrNoRows) {
				fenced, err = true, nil
			}
		}
		if err == nil {
			var tag interface{ RowsAffected() int64 }
			tag, err = res.Exec()
			if err == nil && tag.RowsAffected() != 1 {
				err = fmt.Errorf("step write affected %d rows, want 1", tag.RowsAffected())
			}
		}
		if err == nil {
			_, err = res.Exec()
		}
		if cerr := res.Close(); err == nil {
			err = cerr
		}
		end := "COMMIT"
		if err != nil || fenced {
			end = "ROLLBACK"
		}
		if _, eerr := conn.Exec(ctx, end); err == nil {
			err = eerr
		}
		if err == nil && fenced {
			err = errFenced
		}
		return err
	}
	start := time.Now().UTC().Truncate(time.Millisecond)
	if err := tx(sqlStep, []any{id, runID, seq, key, start}, "step_started", startedData(id, seq)); err != nil {
		return fmt.Errorf("pipelined step start %s: %w", key, err)
	}
	at := time.Now().UTC()
	args := []any{at, at.Sub(start).Milliseconds(), `{"requested_ms":0,"waited_ms":0,"took_ms":0}`, id, runID}
	if err := tx(sqlStepEndRet, args, "step_finished", finishedData(id)); err != nil {
		return fmt.Errorf("pipelined step finish %s: %w", key, err)
	}
	return nil
}

func startedData(id string, seq int) string {
	return fmt.Sprintf(`{"step_id":%q,"seq":%d,"attempt":1,"action":"wait","site":"","service":"","idempotent":true,"timeout_ms":86400000}`, id, seq)
}

func finishedData(id string) string {
	return fmt.Sprintf(`{"step_id":%q,"attempt":1,"state":"succeeded","duration_ms":0}`, id)
}
