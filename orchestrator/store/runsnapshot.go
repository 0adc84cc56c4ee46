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
		var err error
		if out.Run, err = runGet(tx, id); err != nil {
			return err
		}
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
		if out.Events, err = runEventList(tx, id); err != nil {
			return err
		}
		out.Audit, err = s.auditVerify(tx, &AuditVerifyParams{RunID: id})
		return err
	}, opts)
	if err != nil {
		return nil, fmt.Errorf("run snapshot %s: %w", id, err)
	}
	return &out, nil
}
