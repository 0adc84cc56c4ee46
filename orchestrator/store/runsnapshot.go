package store

import (
	"context"
	"database/sql"
	"fmt"

	"gorm.io/gorm"
)

// RunSnapshot is a run and everything recorded about it, read at one moment.
type RunSnapshot struct {
	Run          *Run
	Steps        []*StepResult
	Measurements []*Measurement
	Approvals    []*Approval
	Decisions    []*StepDecision
	Events       []*RunEvent
	// Audit is AuditVerify of the run, checked against the same rows.
	Audit *AuditReport
}

// RunSnapshotGet reads run id, its step results, measurements, approvals, step decisions,
// timeline and the audit check of that timeline in one snapshot, so that a view of a run that
// is executing never shows steps newer than its run row or events its audit check did not
// see. On PostgreSQL the reads share a REPEATABLE READ, READ ONLY transaction; on SQLite a
// transaction, whose snapshot is taken by its first read and kept (WAL). ErrNotFound for an
// unknown run.
func (s *Store) RunSnapshotGet(ctx context.Context, id string) (*RunSnapshot, error) {
	var opts *sql.TxOptions
	if s.dialect == DialectPostgres {
		opts = &sql.TxOptions{Isolation: sql.LevelRepeatableRead, ReadOnly: true}
	}
	var out RunSnapshot
	err := s.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		// The run's row and timeline are read as models: the audit check below uses them as
		// they are instead of reading them again.
		var run runModel
		if err := tx.Where("id = ?", id).Take(&run).Error; err != nil {
			return fmt.Errorf("run get %s: %w", id, translate(err))
		}
		out.Run = runOf(&run)
		var err error
		if out.Steps, err = stepResultList(tx, id); err != nil {
			return err
		}
		if out.Measurements, err = measurementList(tx, id); err != nil {
			return err
		}
		if out.Approvals, err = approvalList(tx, id); err != nil {
			return err
		}
		if out.Decisions, err = stepDecisionList(tx, id); err != nil {
			return err
		}
		evs, err := runEventRows(tx, id)
		if err != nil {
			return fmt.Errorf("run event list %s: %w", id, translate(err))
		}
		out.Events = make([]*RunEvent, len(evs))
		for i := range evs {
			out.Events[i] = runEventOf(&evs[i])
		}
		out.Audit, err = s.auditVerifyWith(tx, func(head *auditHeadModel, rep *AuditReport) (*AuditProblem, int64, error) {
			return s.auditVerifyRunRows(tx, head, rep, &run, evs)
		})
		return err
	}, opts)
	if err != nil {
		return nil, fmt.Errorf("run snapshot %s: %w", id, err)
	}
	return &out, nil
}

// runEventRows reads run id's timeline by seq, scanned by hand: a run's view reads it on
// every view, and gorm's reflection over its rows cost more than the rows.
func runEventRows(tx *gorm.DB, id string) ([]runEventModel, error) {
	rs, err := tx.Raw(`SELECT id, run_id, seq, at, kind, step_key, message, data FROM run_events WHERE run_id = ? ORDER BY seq`, id).Rows()
	if err != nil {
		return nil, err
	}
	defer rs.Close()
	var evs []runEventModel
	for rs.Next() {
		var m runEventModel
		if err := rs.Scan(&m.ID, &m.RunID, &m.Seq, &m.At, &m.Kind, &m.StepKey, &m.Message, &m.Data); err != nil {
			return nil, err
		}
		evs = append(evs, m)
	}
	return evs, rs.Err()
}
