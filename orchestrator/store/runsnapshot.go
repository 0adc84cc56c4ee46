package store

import (
	"cmp"
	"context"
	"database/sql/driver"
	"errors"
	"fmt"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/stdlib"
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
	// Plan is the plan the run recorded (PlanGet of Run.PlanID).
	Plan *PlanRecord
	// Participants, Notes and Findings are RunParticipantsList's, RunNotesList's and the
	// run's findings by seq (FindingList with RunID): never nil.
	Participants []*RunParticipant
	Notes        []*RunNote
	Findings     []*Finding
}

// runSnapshotRows is a snapshot's rows as read, before they become its values.
type runSnapshotRows struct {
	run          runModel
	plan         planModel
	head         *auditHeadModel
	steps        []stepResultModel
	measurements []measurementModel
	approvals    []approvalModel
	decisions    []stepDecisionModel
	events       []runEventModel
	audit        []auditRunRow
	participants []runParticipantModel
	notes        []runNoteModel
	findings     []findingModel
}

// RunSnapshotGet reads run id, its step results, measurements, approvals, step decisions,
// timeline, audit check, recorded plan, participants, notes and findings as one moment would
// see them. On PostgreSQL the reads are one REPEATABLE READ, READ ONLY transaction sent in a
// single round trip (a pgx batch); on SQLite a transaction, whose snapshot is taken by its
// first read and kept (WAL). ErrNotFound for an unknown run.
func (s *Store) RunSnapshotGet(ctx context.Context, id string) (*RunSnapshot, error) {
	var rows *runSnapshotRows
	var err error
	if s.dialect == DialectPostgres {
		rows, err = s.runSnapshotRowsPG(ctx, id)
	} else {
		rows, err = s.runSnapshotRowsTx(ctx, id)
	}
	if err != nil {
		return nil, fmt.Errorf("run snapshot %s: %w", id, err)
	}
	return rows.snapshot()
}

// snapshot turns the rows into the snapshot, checking the run's audit rows.
func (r *runSnapshotRows) snapshot() (*RunSnapshot, error) {
	out := &RunSnapshot{Run: runOf(&r.run), Plan: planRecordOf(&r.plan),
		Steps: recordsOf(r.steps, stepResultOf), Measurements: recordsOf(r.measurements, measurementOf),
		Approvals: recordsOf(r.approvals, approvalOf), Decisions: recordsOf(r.decisions, decisionOf),
		Events: recordsOf(r.events, runEventOf), Notes: recordsOf(r.notes, runNoteOf),
		Findings: recordsOf(r.findings, findingOf)}
	out.Participants = participantsOf(r.participants)[r.run.ID]
	if out.Participants == nil {
		out.Participants = []*RunParticipant{}
	}
	if r.head == nil {
		out.Audit = &AuditReport{Problem: &AuditProblem{Message: auditHeadMissing}}
		return out, nil
	}
	out.Audit = &AuditReport{HeadSeq: r.head.Seq, HeadHash: r.head.Hash}
	var err error
	if out.Audit.Problem, out.Audit.Rows, err = auditCheckRunRows(r.head, out.Audit, &r.run, r.events, r.audit); err != nil {
		return nil, fmt.Errorf("run snapshot %s: audit verify: %w", r.run.ID, err)
	}
	return out, nil
}

// recordsOf is the records of models ms, each made by of; never nil.
func recordsOf[M, R any](ms []M, of func(*M) *R) []*R {
	out := make([]*R, len(ms))
	for i := range ms {
		out[i] = of(&ms[i])
	}
	return out
}

// The columns of the models a snapshot reads, as gorm maps them.
var (
	runColumns         = newModelColumns[runModel]()
	planColumns        = newModelColumns[planModel]()
	measurementColumns = newModelColumns[measurementModel]()
	approvalColumns    = newModelColumns[approvalModel]()
	decisionColumns    = newModelColumns[stepDecisionModel]()
	participantColumns = newModelColumns[runParticipantModel]()
	noteColumns        = newModelColumns[runNoteModel]()
	findingColumns     = newModelColumns[findingModel]()
)

// The snapshot's statements on PostgreSQL, each of $1, the run's id. The run's row comes with
// its plan (runs.plan_id references it) and the audit log's head, which may be missing (a
// tampered log, reported by the check, not an error).
var (
	snapshotRunPG = `SELECT ` + runColumns.list("r") + `, ` + planColumns.list("p") + `,
        h.id, h.seq, h.hash, h.prev_hash, h.events_before, h.operations_before
        FROM runs r JOIN plans p ON p.id = r.plan_id LEFT JOIN audit_head h ON h.id = 1 WHERE r.id = $1`
	snapshotMeasurementsPG = `SELECT ` + measurementColumns.list("") + ` FROM measurements WHERE run_id = $1 ORDER BY service`
	snapshotApprovalsPG    = `SELECT ` + approvalColumns.list("") + ` FROM approvals WHERE run_id = $1 ORDER BY decided_at, id`
	snapshotDecisionsPG    = `SELECT ` + decisionColumns.list("") + ` FROM step_decisions WHERE run_id = $1 ORDER BY decided_at, id`
	snapshotParticipantsPG = `SELECT ` + participantColumns.list("") + ` FROM run_participants WHERE run_id = $1 ORDER BY id`
	snapshotNotesPG        = `SELECT ` + noteColumns.list("") + ` FROM run_notes WHERE run_id = $1 ORDER BY id`
	snapshotFindingsPG     = `SELECT ` + findingColumns.list("") + ` FROM findings WHERE run_id = $1 ORDER BY seq`
	snapshotStepsPG        = stepResultsSQL + "$1" + stepResultsOrder
	snapshotEventsPG       = runEventsSQL + "$1" + runEventsOrder
	snapshotAuditPG        = auditRunRowsSQL("$2", "$1")
)

// runSnapshotRowsPG reads the snapshot in one round trip: a run's page reads it on every
// view, and its twelve statements one at a time cost a dozen waits for the database and as
// many trips through database/sql and gorm.
func (s *Store) runSnapshotRowsPG(ctx context.Context, id string) (*runSnapshotRows, error) {
	conn, err := s.sqlDB.Conn(ctx)
	if err != nil {
		return nil, err
	}
	defer conn.Close()
	var out *runSnapshotRows
	err = conn.Raw(func(dc any) error {
		sc, ok := dc.(*stdlib.Conn)
		if !ok {
			return fmt.Errorf("the PostgreSQL connection is a %T, not pgx's", dc)
		}
		pc := sc.Conn()
		b := &pgx.Batch{}
		b.Queue("BEGIN ISOLATION LEVEL REPEATABLE READ, READ ONLY")
		b.Queue(snapshotRunPG, id)
		var err error
		paused := s.snapshotPause != nil
		if paused {
			br := pc.SendBatch(ctx, b)
			out, err = readSnapshotRun(br)
			if err = cmp.Or(err, br.Close()); err == nil {
				s.snapshotPause()
			}
			b = &pgx.Batch{}
		}
		if err == nil {
			b.Queue(snapshotStepsPG, id)
			b.Queue(snapshotMeasurementsPG, id)
			b.Queue(snapshotApprovalsPG, id)
			b.Queue(snapshotDecisionsPG, id)
			b.Queue(snapshotEventsPG, id)
			b.Queue(snapshotAuditPG, id, AuditSourceRunEvent)
			b.Queue(snapshotParticipantsPG, id)
			b.Queue(snapshotNotesPG, id)
			b.Queue(snapshotFindingsPG, id)
			b.Queue("COMMIT")
			br := pc.SendBatch(ctx, b)
			if !paused {
				out, err = readSnapshotRun(br)
			}
			if err == nil {
				err = readSnapshotRest(br, out)
			}
			err = cmp.Or(err, br.Close())
		}
		if pc.PgConn().TxStatus() != 'I' {
			// A statement failed, so the batch's COMMIT was skipped. pgx would have the pool
			// drop a connection left inside a transaction; ending it keeps the connection.
			if _, rerr := pc.Exec(context.WithoutCancel(ctx), "ROLLBACK"); rerr != nil {
				return errors.Join(cmp.Or(err, rerr), driver.ErrBadConn)
			}
		}
		return err
	})
	if err != nil {
		return nil, translate(err)
	}
	return out, nil
}

// readSnapshotRun reads the first results of runSnapshotRowsPG's batch: the transaction's
// start, then the run with its plan and the audit head (one row, or none for an unknown run).
func readSnapshotRun(br pgx.BatchResults) (*runSnapshotRows, error) {
	if _, err := br.Exec(); err != nil {
		return nil, err
	}
	out := &runSnapshotRows{}
	err := queryRows(br, func(rs pgx.Rows) error {
		if !rs.Next() {
			if err := rs.Err(); err != nil {
				return err
			}
			return fmt.Errorf("run get: %w", ErrNotFound)
		}
		var head struct {
			id, seq, eventsBefore, operationsBefore *int64
			hash, prevHash                          *string
		}
		dst := runColumns.dest(nil, &out.run)
		dst = planColumns.dest(dst, &out.plan)
		dst = append(dst, &head.id, &head.seq, &head.hash, &head.prevHash, &head.eventsBefore, &head.operationsBefore)
		if err := rs.Scan(dst...); err != nil {
			return err
		}
		if head.id != nil {
			out.head = &auditHeadModel{ID: int(*head.id), Seq: deref64(head.seq), Hash: deref(head.hash), PrevHash: deref(head.prevHash),
				EventsBefore: deref64(head.eventsBefore), OperationsBefore: deref64(head.operationsBefore)}
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// readSnapshotRest reads the rest of runSnapshotRowsPG's batch into out, in its order.
func readSnapshotRest(br pgx.BatchResults, out *runSnapshotRows) error {
	reads := []func(pgx.Rows) error{
		func(rs pgx.Rows) (err error) { out.steps, err = scanStepResults(rs); return },
		func(rs pgx.Rows) (err error) { out.measurements, err = measurementColumns.scanAll(rs); return },
		func(rs pgx.Rows) (err error) { out.approvals, err = approvalColumns.scanAll(rs); return },
		func(rs pgx.Rows) (err error) { out.decisions, err = decisionColumns.scanAll(rs); return },
		func(rs pgx.Rows) (err error) { out.events, err = scanRunEvents(rs, eventsHint(&out.run)); return },
		func(rs pgx.Rows) (err error) { out.audit, err = scanAuditRunRows(rs, len(out.events)); return },
		func(rs pgx.Rows) (err error) { out.participants, err = participantColumns.scanAll(rs); return },
		func(rs pgx.Rows) (err error) { out.notes, err = noteColumns.scanAll(rs); return },
		func(rs pgx.Rows) (err error) { out.findings, err = findingColumns.scanAll(rs); return },
	}
	for _, read := range reads {
		if err := queryRows(br, read); err != nil {
			return err
		}
	}
	_, err := br.Exec()
	return err
}

// queryRows reads the batch's next result with read, and closes it.
func queryRows(br pgx.BatchResults, read func(pgx.Rows) error) error {
	rs, err := br.Query()
	if err != nil {
		return err
	}
	defer rs.Close()
	if err := read(rs); err != nil {
		return err
	}
	rs.Close()
	return rs.Err()
}

// eventsHint is how many events run likely has: as many as it numbered, within reason.
func eventsHint(run *runModel) int { return int(min(max(run.EventSeq, 0), 1024)) }

func deref64(p *int64) int64 {
	if p == nil {
		return 0
	}
	return *p
}

// runSnapshotRowsTx reads the snapshot in one transaction, statement by statement (SQLite).
func (s *Store) runSnapshotRowsTx(ctx context.Context, id string) (*runSnapshotRows, error) {
	out := &runSnapshotRows{}
	err := s.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		if err := tx.Where("id = ?", id).Take(&out.run).Error; err != nil {
			return fmt.Errorf("run get: %w", translate(err))
		}
		if err := tx.Where("id = ?", out.run.PlanID).Take(&out.plan).Error; err != nil {
			return fmt.Errorf("plan get %s: %w", out.run.PlanID, translate(err))
		}
		var head auditHeadModel
		switch err := tx.Where("id = 1").Take(&head).Error; {
		case err == nil:
			out.head = &head
		case !errors.Is(err, gorm.ErrRecordNotFound):
			return fmt.Errorf("audit verify: head: %w", translate(err))
		}
		var err error
		if out.steps, err = stepResultRows(tx, id); err != nil {
			return fmt.Errorf("step result list: %w", translate(err))
		}
		if out.events, err = runEventRows(tx, id); err != nil {
			return fmt.Errorf("run event list: %w", translate(err))
		}
		rs, err := tx.Raw(auditRunRowsSQL("?", "?"), AuditSourceRunEvent, id, AuditSourceRunEvent, id).Rows()
		if err != nil {
			return fmt.Errorf("audit verify: %w", translate(err))
		}
		defer rs.Close()
		if out.audit, err = scanAuditRunRows(rs, len(out.events)); err != nil {
			return fmt.Errorf("audit verify: %w", translate(err))
		}
		for _, q := range []struct {
			dst   any
			order string
		}{
			{&out.measurements, "service"}, {&out.approvals, "decided_at, id"}, {&out.decisions, "decided_at, id"},
			{&out.participants, "id"}, {&out.notes, "id"}, {&out.findings, "seq"},
		} {
			if err := tx.Where("run_id = ?", id).Order(q.order).Find(q.dst).Error; err != nil {
				return translate(err)
			}
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// runEventRows reads run id's timeline by seq, scanned by hand: a run's view reads it on
// every view, and gorm's reflection over its rows cost more than the rows.
func runEventRows(tx *gorm.DB, id string) ([]runEventModel, error) {
	rs, err := tx.Raw(runEventsSQL+"?"+runEventsOrder, id).Rows()
	if err != nil {
		return nil, err
	}
	defer rs.Close()
	return scanRunEvents(rs, 0)
}

// runEventsSQL, the run's id, then runEventsOrder is the read scanRunEvents scans.
const (
	runEventsSQL   = `SELECT id, run_id, seq, at, kind, step_key, message, data FROM run_events WHERE run_id = `
	runEventsOrder = ` ORDER BY seq`
)

// scanRunEvents scans a run's timeline; n is how many events it is likely to hold.
func scanRunEvents(rs rowScanner, n int) ([]runEventModel, error) {
	evs := make([]runEventModel, 0, n)
	for rs.Next() {
		var m runEventModel
		if err := rs.Scan(&m.ID, &m.RunID, &m.Seq, &m.At, &m.Kind, &m.StepKey, &m.Message, &m.Data); err != nil {
			return nil, err
		}
		evs = append(evs, m)
	}
	return evs, rs.Err()
}
