package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"sort"
	"strconv"
	"time"

	"gorm.io/gorm"

	"github.com/firedrill/firedrill/internal/auditchain"
)

// The audit log (migration 00007) is one hash chain over every run event and every recorded
// control operation. On SQLite appendEvent and OperationRecordTx append the fact's row in the
// transaction that inserts it; on PostgreSQL a trigger (or the step functions) copies the
// fact's content into audit_pending in that transaction, and the chainer appends it shortly
// after (auditchain.go, migration 00015). Row n stores
//
//	hash(n) = AuditHash(hash(n-1), n, content(n))
//
// where content is the fact as a JSON object (its fields below) and hash(0) is
// AuditGenesis. The hash covers content's stored text byte for byte, so checking a link never
// re-encodes anything; comparing a row with the fact it copies (AuditVerify) compares the
// decoded JSON values, which is independent of key order and spacing (PostgreSQL writes
// json_build_object's text, the store Go's encoding/json with sorted keys). Timestamps in content are UTC with
// milliseconds, AuditTimeLayout.
//
// Content of a run event:
//
//	{"source":"run_event","run_id":..,"seq":..,"at":..,"kind":..,"step_key":..,"message":..,"data":..}
//
// Content of an operation:
//
//	{"source":"operation","id":..,"at":..,"actor":{"kind":..,"name":..,"via":..,"token_id":..},
//	 "operation":..,"target":..,"outcome":..,"message":..,"detail":..}

// AuditGenesis is the prev_hash of the first row of the chain.
const AuditGenesis = auditchain.Genesis

// AuditTimeLayout is how content writes a timestamp (always UTC).
const AuditTimeLayout = auditchain.TimeLayout

// Sources of audit rows.
const (
	AuditSourceRunEvent  = "run_event"
	AuditSourceOperation = "operation"
)

// AuditHash is the hash of the audit row numbered seq, whose predecessor's hash is prev:
// hex(SHA-256(prev + "\n" + decimal(seq) + "\n" + content)). The formula lives in
// internal/auditchain, which the report verifier shares.
func AuditHash(prev string, seq int64, content string) string {
	return auditchain.Hash(prev, seq, content)
}

type auditModel struct {
	Seq      int64     `gorm:"column:seq;primaryKey;autoIncrement:false"`
	At       time.Time `gorm:"column:at"`
	Source   string    `gorm:"column:source"`
	RunID    string    `gorm:"column:run_id"`
	Ref      int64     `gorm:"column:ref"`
	Content  string    `gorm:"column:content"`
	PrevHash string    `gorm:"column:prev_hash"`
	Hash     string    `gorm:"column:hash"`
}

func (auditModel) TableName() string { return "audit_log" }

type auditHeadModel struct {
	ID               int    `gorm:"column:id;primaryKey;autoIncrement:false"`
	Seq              int64  `gorm:"column:seq"`
	Hash             string `gorm:"column:hash"`
	PrevHash         string `gorm:"column:prev_hash"`
	EventsBefore     int64  `gorm:"column:events_before"`
	OperationsBefore int64  `gorm:"column:operations_before"`
}

func (auditHeadModel) TableName() string { return "audit_head" }

func auditTime(t time.Time) string { return t.UTC().Format(AuditTimeLayout) }

func rawOrNull(d *jsonDoc) json.RawMessage {
	if d == nil || len(*d) == 0 {
		return json.RawMessage("null")
	}
	return json.RawMessage(*d)
}

func eventContent(m *runEventModel) map[string]any {
	return map[string]any{
		"source": AuditSourceRunEvent, "run_id": m.RunID, "seq": m.Seq, "at": auditTime(m.At),
		"kind": m.Kind, "step_key": m.StepKey, "message": m.Message, "data": rawOrNull(m.Data),
	}
}

func operationContent(m *operationModel) map[string]any {
	return map[string]any{
		"source": AuditSourceOperation, "id": m.ID, "at": auditTime(m.At),
		"actor": map[string]any{
			"kind": m.Actor.Kind, "name": m.Actor.Name, "via": m.Actor.Via, "token_id": m.Actor.TokenID,
		},
		"operation": m.Operation, "target": m.Target, "outcome": m.Outcome, "message": m.Message,
		"detail": rawOrNull(m.Detail),
	}
}

// isSQLite tells whether tx talks to SQLite, where the store appends audit rows itself.
func isSQLite(tx *gorm.DB) bool { return tx.Dialector.Name() == "sqlite" }

// auditAppendSQLite appends the next audit row in tx. SQLite has one writer, and the update
// of the head row comes first, so nothing else can append between it and the commit.
func auditAppendSQLite(tx *gorm.DB, source, runID string, ref int64, at time.Time, content map[string]any) error {
	b, err := json.Marshal(content)
	if err != nil {
		return fmt.Errorf("audit %s: %w", source, err)
	}
	var heads []auditHeadModel
	if err := tx.Raw(`UPDATE audit_head SET seq = seq + 1 WHERE id = 1 RETURNING id, seq, hash, prev_hash, events_before, operations_before`).
		Scan(&heads).Error; err != nil {
		return fmt.Errorf("audit %s: head: %w", source, err)
	}
	if len(heads) != 1 {
		return fmt.Errorf("audit %s: the audit_head row is missing", source)
	}
	h := heads[0]
	row := auditModel{Seq: h.Seq, At: utcMS(at), Source: source, RunID: runID, Ref: ref, Content: string(b), PrevHash: h.Hash}
	row.Hash = AuditHash(row.PrevHash, row.Seq, row.Content)
	if err := tx.Create(&row).Error; err != nil {
		return fmt.Errorf("audit %s: %w", source, err)
	}
	if err := tx.Exec(`UPDATE audit_head SET hash = ?, prev_hash = ? WHERE id = 1`, row.Hash, row.PrevHash).Error; err != nil {
		return fmt.Errorf("audit %s: head: %w", source, err)
	}
	return nil
}

// AuditProblem is the first thing wrong that AuditVerify found.
type AuditProblem struct {
	// Seq is the audit row concerned; 0 when the problem is a fact missing from the log.
	Seq int64 `json:"seq"`
	// RunID and EventSeq name the run event concerned, when there is one.
	RunID    string `json:"run_id,omitempty"`
	EventSeq int64  `json:"event_seq,omitempty"`
	// OperationID names the operation concerned, when there is one.
	OperationID int64 `json:"operation_id,omitempty"`
	// Message says what is wrong, for a person.
	Message string `json:"message"`
}

func (p *AuditProblem) Error() string { return p.Message }

// AuditReport is the result of AuditVerify.
type AuditReport struct {
	// Rows is how many audit rows were checked.
	Rows int64 `json:"rows"`
	// HeadSeq and HeadHash are the chain's last row as the head records it.
	HeadSeq  int64  `json:"head_seq"`
	HeadHash string `json:"head_hash"`
	// Pending is how many of the facts checked were committed but not yet chained: their
	// copied content was checked against the fact, their place in the chain is still to come.
	Pending int64 `json:"pending,omitempty"`
	// Problem is the first problem found; nil when everything checked holds.
	Problem *AuditProblem `json:"problem,omitempty"`
}

// AuditVerifyParams are the arguments of AuditVerify.
type AuditVerifyParams struct {
	// RunID, when set, checks only that run's part: its audit rows' hashes and links to
	// their predecessors, its timeline against them, and its recorded state against the
	// state its audited events end in. Empty walks the whole chain.
	RunID string
}

// AuditVerify checks the audit log and the facts it copies, and reports the first row
// missing or altered. It first chains what is pending, so that what it checks is the chain
// up to the moment it was called; facts committed while it walks are reported as pending
// when their copy is still waiting to be chained. An error is returned only when the check
// itself could not run.
func (s *Store) AuditVerify(ctx context.Context, p *AuditVerifyParams) (*AuditReport, error) {
	if _, err := s.AuditChain(ctx); err != nil {
		return nil, fmt.Errorf("audit verify: %w", err)
	}
	return s.auditVerify(s.db.WithContext(ctx), p)
}

// auditVerify is AuditVerify on db, which may be a transaction.
func (s *Store) auditVerify(db *gorm.DB, p *AuditVerifyParams) (*AuditReport, error) {
	if p == nil {
		p = &AuditVerifyParams{}
	}
	return s.auditVerifyWith(db, func(head *auditHeadModel, rep *AuditReport) (*AuditProblem, int64, error) {
		if p.RunID != "" {
			return s.auditVerifyRun(db, head, rep, p.RunID)
		}
		return s.auditVerifyAll(db, head, rep)
	})
}

// auditVerifyWith reads the head and reports what check finds against it.
func (s *Store) auditVerifyWith(db *gorm.DB, check func(head *auditHeadModel, rep *AuditReport) (*AuditProblem, int64, error)) (*AuditReport, error) {
	var head auditHeadModel
	if err := db.Where("id = 1").Take(&head).Error; err != nil {
		if errors.Is(err, gorm.ErrRecordNotFound) {
			return &AuditReport{Problem: &AuditProblem{Message: auditHeadMissing}}, nil
		}
		return nil, fmt.Errorf("audit verify: head: %w", translate(err))
	}
	rep := &AuditReport{HeadSeq: head.Seq, HeadHash: head.Hash}
	var err error
	if rep.Problem, rep.Rows, err = check(&head, rep); err != nil {
		return nil, fmt.Errorf("audit verify: %w", translate(err))
	}
	return rep, nil
}

const auditBatch = 1000

const auditHeadMissing = "the audit log's head row is missing"

// checkRow checks a row's own hash and its link to prevHash.
func checkRow(r *auditModel, prevHash string) *AuditProblem {
	if r.PrevHash != prevHash {
		return &AuditProblem{Seq: r.Seq, Message: fmt.Sprintf(
			"audit row %d does not link to row %d: its prev_hash %.12s… is not that row's hash %.12s… (a row was altered, removed or inserted)",
			r.Seq, r.Seq-1, r.PrevHash, prevHash)}
	}
	if got := AuditHash(r.PrevHash, r.Seq, r.Content); got != r.Hash {
		return &AuditProblem{Seq: r.Seq, Message: fmt.Sprintf("audit row %d was altered: its hash does not match its content", r.Seq)}
	}
	return nil
}

// sameContent tells whether the stored content holds the same JSON value as want.
func sameContent(stored string, want map[string]any) bool {
	var a, b any
	if json.Unmarshal([]byte(stored), &a) != nil {
		return false
	}
	wb, err := json.Marshal(want)
	if err != nil || json.Unmarshal(wb, &b) != nil {
		return false
	}
	return reflect.DeepEqual(a, b)
}

// eventProblem compares audit row r with its event ev.
func eventProblem(r *auditModel, ev *runEventModel) *AuditProblem {
	p := &AuditProblem{Seq: r.Seq, RunID: r.RunID, EventSeq: r.Ref}
	switch {
	case ev == nil:
		p.Message = fmt.Sprintf("run %s event %d is missing from the timeline (audit row %d records it)", r.RunID, r.Ref, r.Seq)
	case !contentIsEvent(r.Content, ev):
		p.Message = fmt.Sprintf("run %s event %d was altered after it was recorded (audit row %d differs)", r.RunID, r.Ref, r.Seq)
	default:
		return nil
	}
	return p
}

// pendingEventProblem compares the pending audit row r (not yet chained: no number) with its
// event ev.
func pendingEventProblem(r *auditModel, ev *runEventModel) *AuditProblem {
	p := &AuditProblem{RunID: r.RunID, EventSeq: r.Ref}
	switch {
	case ev == nil:
		p.Message = fmt.Sprintf("run %s event %d is missing from the timeline (its pending audit row records it)", r.RunID, r.Ref)
	case !contentIsEvent(r.Content, ev):
		p.Message = fmt.Sprintf("run %s event %d was altered after it was recorded (its pending audit row differs)", r.RunID, r.Ref)
	default:
		return nil
	}
	return p
}

func (s *Store) auditVerifyAll(db *gorm.DB, head *auditHeadModel, rep *AuditReport) (*AuditProblem, int64, error) {
	prev, last := AuditGenesis, int64(0)
	var n int64
	// The state-bearing events of each run, to hold the run rows to at the end.
	states := map[string][]auditRunRow{}
	for {
		var rows []auditModel
		// Up to the head read first: rows chained during the walk are newer than the check.
		if err := db.Where("seq > ? AND seq <= ?", last, head.Seq).Order("seq").Limit(auditBatch).Find(&rows).Error; err != nil {
			return nil, n, err
		}
		if len(rows) == 0 {
			break
		}
		events, ops, err := s.auditSources(db, rows)
		if err != nil {
			return nil, n, err
		}
		for i := range rows {
			r := &rows[i]
			if r.Seq != last+1 {
				return &AuditProblem{Seq: last + 1, Message: fmt.Sprintf("audit row %d is missing (the next row is %d)", last+1, r.Seq)}, n, nil
			}
			if pr := checkRow(r, prev); pr != nil {
				return pr, n, nil
			}
			switch r.Source {
			case AuditSourceRunEvent:
				ev := events[eventKey{r.RunID, r.Ref}]
				if pr := eventProblem(r, ev); pr != nil {
					return pr, n, nil
				}
				// The row holds ev's content: its kind is ev's.
				if stateBearing(ev.Kind) {
					states[r.RunID] = append(states[r.RunID], auditRunRow{auditModel: *r, content: decodeContent(r.Content)})
				}
			case AuditSourceOperation:
				op := ops[r.Ref]
				switch {
				case op == nil:
					return &AuditProblem{Seq: r.Seq, OperationID: r.Ref, Message: fmt.Sprintf("operation %d is missing from the operations log (audit row %d records it)", r.Ref, r.Seq)}, n, nil
				case !sameContent(r.Content, operationContent(op)):
					return &AuditProblem{Seq: r.Seq, OperationID: r.Ref, Message: fmt.Sprintf("operation %d was altered after it was recorded (audit row %d differs)", r.Ref, r.Seq)}, n, nil
				}
			default:
				return &AuditProblem{Seq: r.Seq, Message: fmt.Sprintf("audit row %d has an unknown source %q", r.Seq, r.Source)}, n, nil
			}
			prev, last = r.Hash, r.Seq
			n++
		}
	}
	if last != head.Seq || prev != head.Hash {
		return &AuditProblem{Seq: last + 1, Message: fmt.Sprintf("the audit log ends at row %d but its head records row %d: rows were removed", last, head.Seq)}, n, nil
	}
	ids := make([]string, 0, len(states))
	for id := range states {
		ids = append(ids, id)
	}
	sort.Strings(ids)
	for len(ids) > 0 {
		k := min(len(ids), auditBatch)
		var runs []runModel
		if err := db.Where("id IN ?", ids[:k]).Order("id").Find(&runs).Error; err != nil {
			return nil, n, err
		}
		for i := range runs {
			if pr := runStateProblem(&runs[i], states[runs[i].ID]); pr != nil {
				return pr, n, nil
			}
		}
		ids = ids[k:]
	}
	// Facts inserted around the log (by someone who could bypass its trigger) have no row,
	// chained or pending. The pending copies are checked against their facts.
	pr, err := s.auditCheckPending(db, rep)
	if pr != nil || err != nil {
		return pr, n, err
	}
	var ev runEventModel
	err = db.Raw(`SELECT * FROM run_events e WHERE e.id > ? AND NOT EXISTS (
        SELECT 1 FROM audit_log a WHERE a.source = 'run_event' AND a.run_id = e.run_id AND a.ref = e.seq) AND NOT EXISTS (
        SELECT 1 FROM audit_pending q WHERE q.source = 'run_event' AND q.run_id = e.run_id AND q.ref = e.seq) ORDER BY e.id LIMIT 1`,
		head.EventsBefore).Scan(&ev).Error
	if err != nil {
		return nil, n, err
	}
	if ev.ID != 0 {
		return &AuditProblem{RunID: ev.RunID, EventSeq: int64(ev.Seq), Message: fmt.Sprintf("run %s event %d is not in the audit log", ev.RunID, ev.Seq)}, n, nil
	}
	var op operationModel
	err = db.Raw(`SELECT * FROM operations o WHERE o.id > ? AND NOT EXISTS (
        SELECT 1 FROM audit_log a WHERE a.source = 'operation' AND a.run_id = '' AND a.ref = o.id) AND NOT EXISTS (
        SELECT 1 FROM audit_pending q WHERE q.source = 'operation' AND q.run_id = '' AND q.ref = o.id) ORDER BY o.id LIMIT 1`,
		head.OperationsBefore).Scan(&op).Error
	if err != nil {
		return nil, n, err
	}
	if op.ID != 0 {
		return &AuditProblem{OperationID: op.ID, Message: fmt.Sprintf("operation %d is not in the audit log", op.ID)}, n, nil
	}
	return nil, n, nil
}

// auditCheckPending compares each pending audit row with the fact it copies and counts them
// into rep.Pending. A pending row whose fact is gone or differs is reported like a chained one.
func (s *Store) auditCheckPending(db *gorm.DB, rep *AuditReport) (*AuditProblem, error) {
	var last int64
	for {
		var rows []auditPendingModel
		if err := db.Where("id > ?", last).Order("id").Limit(auditBatch).Find(&rows).Error; err != nil {
			return nil, err
		}
		if len(rows) == 0 {
			return nil, nil
		}
		as := make([]auditModel, len(rows))
		for i, r := range rows {
			as[i] = auditModel{At: r.At, Source: r.Source, RunID: r.RunID, Ref: r.Ref, Content: r.Content}
		}
		events, ops, err := s.auditSources(db, as)
		if err != nil {
			return nil, err
		}
		for i := range as {
			r := &as[i]
			switch r.Source {
			case AuditSourceRunEvent:
				if pr := pendingEventProblem(r, events[eventKey{r.RunID, r.Ref}]); pr != nil {
					return pr, nil
				}
			case AuditSourceOperation:
				op := ops[r.Ref]
				switch {
				case op == nil:
					return &AuditProblem{OperationID: r.Ref, Message: fmt.Sprintf("operation %d is missing from the operations log (its pending audit row records it)", r.Ref)}, nil
				case !sameContent(r.Content, operationContent(op)):
					return &AuditProblem{OperationID: r.Ref, Message: fmt.Sprintf("operation %d was altered after it was recorded (its pending audit row differs)", r.Ref)}, nil
				}
			}
			rep.Pending++
		}
		last = rows[len(rows)-1].ID
	}
}

type eventKey struct {
	runID string
	seq   int64
}

// auditSources loads the facts a batch of audit rows copies.
func (s *Store) auditSources(db *gorm.DB, rows []auditModel) (map[eventKey]*runEventModel, map[int64]*operationModel, error) {
	runSet, opIDs := map[string]bool{}, []int64{}
	for _, r := range rows {
		if r.Source == AuditSourceRunEvent {
			runSet[r.RunID] = true
		} else {
			opIDs = append(opIDs, r.Ref)
		}
	}
	events := map[eventKey]*runEventModel{}
	if len(runSet) > 0 {
		runIDs := make([]string, 0, len(runSet))
		for id := range runSet {
			runIDs = append(runIDs, id)
		}
		var evs []runEventModel
		if err := db.Where("run_id IN ? AND seq >= ? AND seq <= ?", runIDs, 0, maxRef(rows)).Find(&evs).Error; err != nil {
			return nil, nil, err
		}
		for i := range evs {
			events[eventKey{evs[i].RunID, int64(evs[i].Seq)}] = &evs[i]
		}
	}
	ops := map[int64]*operationModel{}
	if len(opIDs) > 0 {
		var ms []operationModel
		if err := db.Where("id IN ?", opIDs).Find(&ms).Error; err != nil {
			return nil, nil, err
		}
		for i := range ms {
			ops[ms[i].ID] = &ms[i]
		}
	}
	return events, ops, nil
}

func maxRef(rows []auditModel) int64 {
	var m int64
	for _, r := range rows {
		if r.Source == AuditSourceRunEvent && r.Ref > m {
			m = r.Ref
		}
	}
	return m
}

// auditRunRow is a run's audit row with the hash of the row before it in the chain.
type auditRunRow struct {
	auditModel
	BeforeSeq  *int64
	BeforeHash *string
	// content is Content decoded, once: the comparison with its event and the run's state
	// check both read it.
	content map[string]any
}

func (s *Store) auditVerifyRun(db *gorm.DB, head *auditHeadModel, rep *AuditReport, runID string) (*AuditProblem, int64, error) {
	var run runModel
	if err := db.Where("id = ?", runID).Take(&run).Error; err != nil {
		return nil, 0, fmt.Errorf("run %s: %w", runID, err)
	}
	var evs []runEventModel
	if err := db.Where("run_id = ?", runID).Order("seq").Find(&evs).Error; err != nil {
		return nil, 0, err
	}
	return s.auditVerifyRunRows(db, head, rep, &run, evs)
}

// auditVerifyRunRows is auditVerifyRun of a run and its timeline (by seq) already read in
// db's transaction (RunSnapshotGet reads them anyway).
func (s *Store) auditVerifyRunRows(db *gorm.DB, head *auditHeadModel, rep *AuditReport, run *runModel, evs []runEventModel) (*AuditProblem, int64, error) {
	runID := run.ID
	// The run's rows, each with the row before it in the chain (which may be another run's),
	// then its pending rows (seq 0: not chained yet), in one statement: db is one snapshot
	// (RunSnapshotGet's), where a row is either chained or pending, never both or neither.
	// A run's events are chained in their order, so its pending rows follow its chained ones.
	// Scanned by hand: these rows are read on every view of a run, and gorm's reflection
	// cost more than the check itself. The check reads neither their time nor more columns.
	rs, err := db.Raw(auditRunRowsSQL("?", "?"), AuditSourceRunEvent, runID, AuditSourceRunEvent, runID).Rows()
	if err != nil {
		return nil, 0, err
	}
	defer rs.Close()
	rows, err := scanAuditRunRows(rs, len(evs))
	if err != nil {
		return nil, 0, err
	}
	return auditCheckRunRows(head, rep, run, evs, rows)
}

// auditRunRowsSQL is the read scanAuditRunRows scans, the source and the run's id written
// as source and runID (placeholders).
func auditRunRowsSQL(source, runID string) string {
	return `SELECT a.seq, a.run_id, a.ref, a.content, a.prev_hash, a.hash, b.seq AS before_seq, b.hash AS before_hash
        FROM audit_log a LEFT JOIN audit_log b ON b.seq = a.seq - 1
        WHERE a.source = ` + source + ` AND a.run_id = ` + runID + `
        UNION ALL
        SELECT 0, q.run_id, q.ref, q.content, '', '', NULL, NULL FROM audit_pending q WHERE q.source = ` + source + ` AND q.run_id = ` + runID + `
        ORDER BY 3`
}

func scanAuditRunRows(rs rowScanner, n int) ([]auditRunRow, error) {
	rows := make([]auditRunRow, 0, n)
	for rs.Next() {
		r := auditRunRow{auditModel: auditModel{Source: AuditSourceRunEvent}}
		var beforeSeq sql.NullInt64
		var beforeHash sql.NullString
		if err := rs.Scan(&r.Seq, &r.RunID, &r.Ref, &r.Content, &r.PrevHash, &r.Hash, &beforeSeq, &beforeHash); err != nil {
			return nil, err
		}
		if beforeSeq.Valid && beforeHash.Valid {
			r.BeforeSeq, r.BeforeHash = &beforeSeq.Int64, &beforeHash.String
		}
		rows = append(rows, r)
	}
	return rows, rs.Err()
}

// auditCheckRunRows checks run's audit rows against its timeline evs (by seq) and head,
// counting the pending ones into rep.Pending.
func auditCheckRunRows(head *auditHeadModel, rep *AuditReport, run *runModel, evs []runEventModel, rows []auditRunRow) (*AuditProblem, int64, error) {
	runID := run.ID
	bySeq := map[int64]*runEventModel{}
	for i := range evs {
		bySeq[int64(evs[i].Seq)] = &evs[i]
	}
	var n int64
	var lastRef int64
	pending := false
	for i := range rows {
		r := &rows[i]
		if r.Seq == 0 {
			pending = true
		} else if pending {
			// The query orders by event: a chained row after a pending one means the run's
			// events were chained out of their order.
			return &AuditProblem{Seq: r.Seq, RunID: runID, EventSeq: r.Ref, Message: fmt.Sprintf("run %s event %d is chained (audit row %d) but an earlier event of the run is still pending", runID, r.Ref, r.Seq)}, n, nil
		}
		if !pending {
			prev := AuditGenesis
			if r.Seq > 1 {
				if r.BeforeSeq == nil {
					return &AuditProblem{Seq: r.Seq - 1, RunID: runID, Message: fmt.Sprintf("audit row %d, before run %s event %d, is missing", r.Seq-1, runID, r.Ref)}, n, nil
				}
				prev = *r.BeforeHash
			}
			if pr := checkRow(&r.auditModel, prev); pr != nil {
				pr.RunID, pr.EventSeq = runID, r.Ref
				return pr, n, nil
			}
		}
		if i > 0 && r.Ref != lastRef+1 {
			return &AuditProblem{Seq: r.Seq, RunID: runID, EventSeq: lastRef + 1, Message: fmt.Sprintf("run %s event %d is missing from the audit log (the next audited event is %d)", runID, lastRef+1, r.Ref)}, n, nil
		}
		ev := bySeq[r.Ref]
		check := eventProblem
		if pending {
			check = pendingEventProblem
			rep.Pending++
		}
		if pr := check(&r.auditModel, ev); pr != nil {
			return pr, n, nil
		}
		// The row holds ev's content: its kind is ev's, and only these rows' data is read.
		if stateBearing(ev.Kind) {
			r.content = decodeContent(r.Content)
		}
		lastRef = r.Ref
		if !pending {
			n++
		}
	}
	audited := map[int64]bool{}
	for _, r := range rows {
		audited[r.Ref] = true
	}
	for _, ev := range evs {
		if ev.ID > head.EventsBefore && !audited[int64(ev.Seq)] {
			return &AuditProblem{RunID: runID, EventSeq: int64(ev.Seq), Message: fmt.Sprintf("run %s event %d is not in the audit log", runID, ev.Seq)}, n, nil
		}
	}
	if len(rows) > 0 && run.EventSeq != lastRef {
		return &AuditProblem{RunID: runID, EventSeq: lastRef + 1, Message: fmt.Sprintf("run %s numbered %d events but the audit log ends at event %d: events were removed", runID, run.EventSeq, lastRef)}, n, nil
	}
	if len(rows) == 0 && len(evs) > 0 && evs[len(evs)-1].ID > head.EventsBefore {
		return &AuditProblem{RunID: runID, Message: fmt.Sprintf("run %s has no audited events", runID)}, n, nil
	}
	return runStateProblem(run, rows), n, nil
}

// stateBearing tells whether a run event of kind k sets the run's state.
func stateBearing(k string) bool {
	return k == EventRunCreated || k == EventRunState || k == EventRunFinished
}

// runStateProblem compares the run row's state (and, once finished, its verdict) with what
// its audited events say: the run row is updated in place, the events are not.
func runStateProblem(run *runModel, rows []auditRunRow) *AuditProblem {
	var state string
	var finished map[string]any
	for _, r := range rows {
		// Every row here matched its event, so its content has exactly eventContent's keys;
		// content is decoded for the state-bearing rows (nil otherwise, and skipped).
		kind, data, ok := kindAndData(r.content)
		if !ok {
			continue
		}
		switch kind {
		case EventRunCreated, EventRunFinished:
			if v, ok := data["state"].(string); ok {
				state = v
			}
			if kind == EventRunFinished {
				finished = data
			}
		case EventRunState:
			if v, ok := data["to"].(string); ok {
				state = v
			}
		}
	}
	if state == "" {
		return nil
	}
	bad := func(what string) *AuditProblem {
		return &AuditProblem{RunID: run.ID, Message: fmt.Sprintf("run %s was altered after it was recorded: %s", run.ID, what)}
	}
	if run.State != state {
		return bad(fmt.Sprintf("its state is %s but its audited events end in %s", run.State, state))
	}
	if finished != nil {
		if v, ok := finished["objectives_met"].(bool); ok && (run.ObjectivesMet == nil || *run.ObjectivesMet != v) {
			return bad(fmt.Sprintf("objectives_met is %s but the audited run_finished event says %t", boolText(run.ObjectivesMet), v))
		}
		if _, ok := finished["objectives_met"]; !ok && run.ObjectivesMet != nil {
			return bad(fmt.Sprintf("objectives_met is %t but the audited run_finished event has none", *run.ObjectivesMet))
		}
		if v, ok := finished["rto_actual_ms"].(float64); ok && (run.RTOActualMS == nil || float64(*run.RTOActualMS) != v) {
			return bad(fmt.Sprintf("rto_actual_ms is %s but the audited run_finished event says %d", int64Text(run.RTOActualMS), int64(v)))
		}
	}
	return nil
}

func boolText(b *bool) string {
	if b == nil {
		return "unset"
	}
	return strconv.FormatBool(*b)
}

func int64Text(v *int64) string {
	if v == nil {
		return "unset"
	}
	return strconv.FormatInt(*v, 10)
}
