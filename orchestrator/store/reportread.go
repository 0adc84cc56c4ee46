package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/firedrill/firedrill/drills"
)

// Reads that a report export pages through: the ended runs of a period, oldest first, and the
// step results and audited timelines of a page of them. Each read is bounded by its page, so
// an export's memory does not grow with the period.

// RunEndedPageParams are the arguments of RunEndedPage.
type RunEndedPageParams struct {
	// From and To bound the runs' created_at, [From, To).
	From, To time.Time
	// EndedBefore, when set, keeps the runs that ended before it: an export fixes its runs
	// when it starts, so that each of its walks sees the same ones.
	EndedBefore time.Time
	// After, when set, continues after that run (the last of the previous page).
	After *RunCursor
	// Limit defaults to 100, at most MaxRunListLimit.
	Limit int
	// KeysOnly reads each run's ID and CreatedAt alone (the other fields are zero), for a walk
	// that needs no more than the runs' IDs.
	KeysOnly bool
}

// RunEndedPage returns the next page of the runs created in [From, To) that have ended,
// oldest first: by created_at, then id.
func (s *Store) RunEndedPage(ctx context.Context, p *RunEndedPageParams) ([]*Run, error) {
	if p == nil || !p.From.Before(p.To) {
		return nil, errors.New("run ended page: the period does not end after it starts")
	}
	limit := pageLimit(p.Limit, 100, MaxRunListLimit)
	var terminal []string
	for _, st := range drills.RunStates {
		if st.IsTerminal() {
			terminal = append(terminal, string(st))
		}
	}
	q := s.db.WithContext(ctx).Where("created_at >= ? AND created_at < ? AND state IN ?", utcMS(p.From), utcMS(p.To), terminal)
	if !p.EndedBefore.IsZero() {
		q = q.Where("ended_at < ?", utcMS(p.EndedBefore))
	}
	if p.After != nil {
		at := utcMS(p.After.CreatedAt)
		if s.dialect == DialectPostgres {
			// A row comparison is an index condition on runs_created_at_idx: the scan starts
			// at the cursor. The OR form is a filter, and every page scanned the period from
			// its start (95 ms for a page late in 100,000 runs, against 0.2 ms).
			q = q.Where("(created_at, id) > (?, ?)", at, p.After.ID)
		} else {
			q = q.Where("(created_at > ? OR (created_at = ? AND id > ?))", at, at, p.After.ID)
		}
	}
	if p.KeysOnly {
		q = q.Select("id", "created_at")
	}
	var ms []runModel
	if err := q.Order("created_at, id").Limit(limit).Find(&ms).Error; err != nil {
		return nil, fmt.Errorf("run ended page: %w", translate(err))
	}
	out := make([]*Run, len(ms))
	for i := range ms {
		out[i] = runOf(&ms[i])
	}
	return out, nil
}

// StepResultListRuns returns the step results of several runs, by run ID, each run's in the
// order of StepResultList, without their evidence (Evidence is nil): a report shows none, and
// the evidence is most of a step result's bytes.
func (s *Store) StepResultListRuns(ctx context.Context, runIDs []string) (map[string][]*StepResult, error) {
	out := map[string][]*StepResult{}
	if len(runIDs) == 0 {
		return out, nil
	}
	if s.dialect == DialectPostgres {
		if err := s.stepResultListRunsPG(ctx, runIDs, out); err != nil {
			return nil, fmt.Errorf("step result list of %d runs: %w", len(runIDs), translate(err))
		}
		return out, nil
	}
	var ms []stepResultModel
	if err := s.db.WithContext(ctx).Omit("evidence").Where("run_id IN ?", runIDs).Order("run_id, seq, attempt, started_at").Find(&ms).Error; err != nil {
		return nil, fmt.Errorf("step result list of %d runs: %w", len(runIDs), translate(err))
	}
	for i := range ms {
		out[ms[i].RunID] = append(out[ms[i].RunID], stepResultOf(&ms[i]))
	}
	return out, nil
}

// stepResultListRunsPG is StepResultListRuns's query on PostgreSQL, scanned column by column:
// an export reads every step result of its period, and gorm's reflection was most of the
// time it took.
func (s *Store) stepResultListRunsPG(ctx context.Context, runIDs []string, out map[string][]*StepResult) error {
	rows, err := s.sqlDB.QueryContext(ctx, `SELECT id, run_id, seq, step_key, step_name, action, site, service, attempt,
       state, idempotent, timeout_ms, started_at, ended_at, duration_ms, error
FROM step_results WHERE run_id = ANY($1) ORDER BY run_id, seq, attempt, started_at`, runIDs)
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		var m stepResultModel
		var ended sql.NullTime
		var dur sql.NullInt64
		if err := rows.Scan(&m.ID, &m.RunID, &m.Seq, &m.StepKey, &m.StepName, &m.Action, &m.Site, &m.Service, &m.Attempt,
			&m.State, &m.Idempotent, &m.TimeoutMS, &m.StartedAt, &ended, &dur, &m.Error); err != nil {
			return err
		}
		if ended.Valid {
			m.EndedAt = &ended.Time
		}
		if dur.Valid {
			m.DurationMS = &dur.Int64
		}
		out[m.RunID] = append(out[m.RunID], stepResultOf(&m))
	}
	return rows.Err()
}

// AuditedEvent is a run event with the audit row that chains it; Audit is nil for an event
// recorded before the audit log began.
type AuditedEvent struct {
	RunEvent
	Audit *AuditRow
}

// AuditRow is one row of the audit chain: Hash = AuditHash(PrevHash, Seq, Content).
type AuditRow struct {
	Seq      int64
	PrevHash string
	Hash     string
	Content  string
}

// RunEventAuditedListRuns returns the timelines of several runs with their audit rows, by run
// ID, each in seq order.
func (s *Store) RunEventAuditedListRuns(ctx context.Context, runIDs []string) (map[string][]*AuditedEvent, error) {
	out := map[string][]*AuditedEvent{}
	if len(runIDs) == 0 {
		return out, nil
	}
	if s.dialect == DialectPostgres {
		if err := s.runEventAuditedListRunsPG(ctx, runIDs, out); err != nil {
			return nil, fmt.Errorf("audited events of %d runs: %w", len(runIDs), translate(err))
		}
		return out, nil
	}
	db := s.db.WithContext(ctx)
	var evs []runEventModel
	if err := db.Where("run_id IN ?", runIDs).Order("run_id, seq").Find(&evs).Error; err != nil {
		return nil, fmt.Errorf("audited events of %d runs: %w", len(runIDs), translate(err))
	}
	var rows []auditModel
	if err := db.Where("source = ? AND run_id IN ?", AuditSourceRunEvent, runIDs).Find(&rows).Error; err != nil {
		return nil, fmt.Errorf("audited events of %d runs: audit rows: %w", len(runIDs), translate(err))
	}
	byEvent := make(map[eventKey]*auditModel, len(rows))
	for i := range rows {
		byEvent[eventKey{rows[i].RunID, rows[i].Ref}] = &rows[i]
	}
	for i := range evs {
		ae := &AuditedEvent{RunEvent: *runEventOf(&evs[i])}
		if r := byEvent[eventKey{evs[i].RunID, int64(evs[i].Seq)}]; r != nil {
			ae.Audit = &AuditRow{Seq: r.Seq, PrevHash: r.PrevHash, Hash: r.Hash, Content: r.Content}
		}
		out[evs[i].RunID] = append(out[evs[i].RunID], ae)
	}
	return out, nil
}

// runEventAuditedListRunsPG is RunEventAuditedListRuns on PostgreSQL: one query joining each
// event to its audit row (audit_log_source_ref_key finds it), scanned column by column.
func (s *Store) runEventAuditedListRunsPG(ctx context.Context, runIDs []string, out map[string][]*AuditedEvent) error {
	rows, err := s.sqlDB.QueryContext(ctx, `SELECT e.id, e.run_id, e.seq, e.at, e.kind, e.step_key, e.message, e.data::text,
       a.seq, a.prev_hash, a.hash, a.content
FROM run_events e
LEFT JOIN audit_log a ON a.source = 'run_event' AND a.run_id = e.run_id AND a.ref = e.seq
WHERE e.run_id = ANY($1) ORDER BY e.run_id, e.seq`, runIDs)
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		var ae AuditedEvent
		var data, prev, hash, content sql.NullString
		var seq sql.NullInt64
		e := &ae.RunEvent
		if err := rows.Scan(&e.ID, &e.RunID, &e.Seq, &e.At, &e.Kind, &e.StepKey, &e.Message, &data, &seq, &prev, &hash, &content); err != nil {
			return err
		}
		e.At = e.At.UTC()
		if data.Valid {
			e.Data = json.RawMessage(data.String)
		}
		if seq.Valid {
			ae.Audit = &AuditRow{Seq: seq.Int64, PrevHash: prev.String, Hash: hash.String, Content: content.String}
		}
		out[e.RunID] = append(out[e.RunID], &ae)
	}
	return rows.Err()
}

// AuditHead is the audit chain's last row: its number and hash (0 and AuditGenesis when
// the chain is empty). On PostgreSQL it first chains every pending row (in the same round
// trip), so the head covers every fact committed before the call: what is computed from
// the facts and keyed on the head (a report, the caches) then holds at that head.
func (s *Store) AuditHead(ctx context.Context) (seq int64, hash string, err error) {
	if s.dialect == DialectPostgres {
		err := s.sqlDB.QueryRowContext(ctx, "SELECT seq, hash FROM firedrill_audit_chained_head()").Scan(&seq, &hash)
		if err == nil {
			return seq, hash, nil
		}
		if !isUndefinedObject(err) {
			return 0, "", fmt.Errorf("audit head: %w", translate(err))
		}
		// A schema before migration 00015, which chained every row at once: the head is
		// the table's.
	}
	var head auditHeadModel
	if err := s.db.WithContext(ctx).Where("id = 1").Take(&head).Error; err != nil {
		return 0, "", fmt.Errorf("audit head: %w", translate(err))
	}
	return head.Seq, head.Hash, nil
}
