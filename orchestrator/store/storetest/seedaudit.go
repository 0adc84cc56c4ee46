package storetest

import (
	"context"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/firedrill/firedrill/orchestrator/store"
)

// AuditedSeedStats says what SeedAudited wrote on top of Seed.
type AuditedSeedStats struct {
	SeedStats
	// MeasurementEvents is the measurement run events added; AuditRows the audit chain's rows.
	MeasurementEvents, AuditRows int64
	// AuditTook is the time of the measurement events and the audit chain.
	AuditTook time.Duration
}

// SeedAudited is Seed for what a report export reads: after Seed's rows it gives every seeded
// measurement the run event RunFinish records with it (kind measurement, the raw inputs of its
// figures, just before run_finished, which moves up by the run's measurements), and then
// writes the audit chain over the whole timeline, run by run and each run's events in order,
// as migration 00007's trigger would have: the content is the trigger's own json_build_object
// text (PostgreSQL builds it), the hash store.AuditHash, and audit_head ends at the last row.
// store.AuditVerify and report.Verify accept the result. Without a superuser the triggers
// run during Seed (session_replication_role cannot be set) and the chain is theirs already:
// then only the measurement events are added, through the trigger too, and the queued rows
// are chained (migration 00015).
//
// The chain is computed in Go, one row after the other (a chain cannot be built set-wise),
// and copied in with COPY: about a minute per 5,000,000 events.
func SeedAudited(ctx context.Context, databaseURL string, p *SeedParams) (*AuditedSeedStats, error) {
	q, err := seedDefaults(p)
	if err != nil {
		return nil, err
	}
	st, err := Seed(ctx, databaseURL, &q)
	if err != nil {
		return nil, err
	}
	out := &AuditedSeedStats{SeedStats: *st}
	start := time.Now()
	conn, err := pgx.Connect(ctx, databaseURL)
	if err != nil {
		return nil, fmt.Errorf("seed audited: connect to %s: %w", store.RedactURL(databaseURL), err)
	}
	defer conn.Close(context.WithoutCancel(ctx))
	var rows int64
	if err := conn.QueryRow(ctx, "SELECT (SELECT count(*) FROM audit_log) + (SELECT count(*) FROM audit_pending)").Scan(&rows); err != nil {
		return nil, fmt.Errorf("seed audited: %w", err)
	}
	triggered := rows > 0
	if !triggered {
		_, _ = conn.Exec(ctx, "SET session_replication_role = replica")
	}
	args := pgx.NamedArgs{"steps": q.StepsPerRun, "meas": q.MeasurementsPerRun}
	for _, stmt := range []string{seedMoveFinishedSQL, seedMeasurementEventsSQL} {
		if _, err := conn.Exec(ctx, stmt, args); err != nil {
			return nil, fmt.Errorf("seed audited: measurement events: %w", err)
		}
	}
	out.MeasurementEvents = st.Measurements
	out.Events += st.Measurements
	if !triggered {
		if out.AuditRows, err = seedAuditChain(ctx, databaseURL, conn); err != nil {
			return nil, err
		}
	} else if err := conn.QueryRow(ctx, "SELECT seq FROM firedrill_audit_chained_head()").Scan(&out.AuditRows); err != nil {
		// The triggers queued the rows; chaining them all makes the head the row count.
		return nil, fmt.Errorf("seed audited: %w", err)
	}
	if _, err := conn.Exec(ctx, "VACUUM (ANALYZE) runs, run_events, audit_log"); err != nil {
		return nil, fmt.Errorf("seed audited: vacuum analyze: %w", err)
	}
	if _, err := conn.Exec(ctx, "CHECKPOINT"); err != nil {
		return nil, fmt.Errorf("seed audited: checkpoint: %w", err)
	}
	out.AuditTook = time.Since(start)
	return out, nil
}

// The run_finished event of each run moves up to make room for its measurement events, and
// the run's counter with it. (Run events are append-only for the runtime role; the seeding
// connection is their owner and the append-only trigger is off under replica.)
const seedMoveFinishedSQL = `
WITH f AS (
  UPDATE run_events SET seq = seq + @meas::int WHERE kind = 'run_finished' RETURNING run_id)
UPDATE runs SET event_seq = event_seq + @meas::int FROM f WHERE runs.id = f.run_id`

// seedMeasurementEventsSQL writes each measurement's event as store.RunFinish does
// (measurementEvidence): the run's T0, the restoring time, the figures and, for a service with
// a canary, the canary's rows that give its RPO (the last one the DR copy holds 1,200 ms
// before the last the primary acknowledged).
const seedMeasurementEventsSQL = `
INSERT INTO run_events (run_id, seq, at, kind, step_key, message, data)
SELECT m.run_id, r.event_seq - @meas::int + (row_number() OVER (PARTITION BY m.run_id ORDER BY m.service))::int - 1,
       r.ended_at - interval '1 ms', 'measurement', '', m.reason,
       jsonb_build_object('service', m.service, 't0', r.t0, 'restored_at', m.restored_at,
         'rto_objective_ms', m.rto_objective_ms, 'rto_ms', m.rto_actual_ms,
         'rpo_objective_ms', m.rpo_objective_ms, 'rpo_ms', m.rpo_actual_ms, 'lost_rows', m.rpo_lost_rows,
         'resolution_ms', m.resolution_ms,
         'rpo_inputs', CASE WHEN m.rpo_actual_ms IS NOT NULL THEN jsonb_build_object(
           'first_primary_seq', 1, 'first_primary_at', r.t0 - interval '60 s',
           'last_primary_seq', 60, 'last_primary_at', r.t0 - interval '100 ms',
           'last_dr_seq', 48, 'last_dr_at', r.t0 - interval '100 ms' - make_interval(secs => m.rpo_actual_ms / 1000.0),
           'evidenced', true) END)
FROM measurements m JOIN runs r ON r.id = m.run_id`

// seedAuditContentSQL reads the timeline in chain order with each event's audit content, built
// by the same expression as migration 00007's audit_run_event().
const seedAuditContentSQL = `
SELECT run_id, seq, at, json_build_object(
        'source', 'run_event', 'run_id', run_id, 'seq', seq,
        'at', to_char(at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"'),
        'kind', kind, 'step_key', step_key, 'message', message, 'data', data)::text
FROM run_events ORDER BY run_id, seq`

// seedAuditChain reads the events on conn and copies their chain into audit_log through a
// second connection.
func seedAuditChain(ctx context.Context, databaseURL string, conn *pgx.Conn) (int64, error) {
	w, err := pgx.Connect(ctx, databaseURL)
	if err != nil {
		return 0, fmt.Errorf("seed audited: connect: %w", err)
	}
	defer w.Close(context.WithoutCancel(ctx))
	rows, err := conn.Query(ctx, seedAuditContentSQL)
	if err != nil {
		return 0, fmt.Errorf("seed audited: read events: %w", err)
	}
	src := &auditChainSource{rows: rows, prev: store.AuditGenesis}
	n, err := w.CopyFrom(ctx, pgx.Identifier{"audit_log"},
		[]string{"seq", "at", "source", "run_id", "ref", "content", "prev_hash", "hash"}, src)
	rows.Close()
	if err == nil {
		err = rows.Err()
	}
	if err != nil {
		return 0, fmt.Errorf("seed audited: audit chain: %w", err)
	}
	if _, err := w.Exec(ctx, `UPDATE audit_head SET seq = $1, hash = $2, prev_hash = $3 WHERE id = 1`,
		src.seq, src.prev, src.before); err != nil {
		return 0, fmt.Errorf("seed audited: audit head: %w", err)
	}
	return n, nil
}

// auditChainSource turns the events, in order, into audit_log rows.
type auditChainSource struct {
	rows         pgx.Rows
	seq          int64
	prev, before string
	row          []any
	err          error
}

func (s *auditChainSource) Next() bool {
	if !s.rows.Next() {
		return false
	}
	var runID, content string
	var ref int32
	var at time.Time
	if s.err = s.rows.Scan(&runID, &ref, &at, &content); s.err != nil {
		return false
	}
	s.seq++
	hash := store.AuditHash(s.prev, s.seq, content)
	s.row = []any{s.seq, at, store.AuditSourceRunEvent, runID, int64(ref), content, s.prev, hash}
	s.before, s.prev = s.prev, hash
	return true
}

func (s *auditChainSource) Values() ([]any, error) { return s.row, s.err }
func (s *auditChainSource) Err() error             { return s.err }
