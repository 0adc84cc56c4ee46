package store

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"gorm.io/gorm"
	"gorm.io/gorm/clause"

	"github.com/firedrill/firedrill/drills"
)

// Findings: the problems drills reveal, tracked to closure. RunFinish creates the automatic
// ones (findingsAtFinishTx) and closes those a passing run covers; people add, update and
// accept the risk of findings through control. Nothing but a passing run sets
// drills.FindingRetested.

// Finding errors.
var (
	// ErrFindingClosed: the finding was retested by a passing drill; it no longer changes.
	ErrFindingClosed = errors.New("finding is closed")
	// ErrFindingStatus: the status cannot be set by hand (retested, risk_accepted have their
	// own ways) or is not a status.
	ErrFindingStatus = errors.New("finding status cannot be set this way")
)

// DefaultFindingDue is how long after a run ends its automatic findings are due, when
// Config.FindingDue is zero: 90 days.
const DefaultFindingDue = 90 * 24 * time.Hour

// DependencyLookback is how far back a drill of a dependency covers a service failed over
// without it: 12 months.
const DependencyLookback = 365 * 24 * time.Hour

// Finding list limits.
const (
	DefaultFindingListLimit = 100
	MaxFindingListLimit     = 1000
)

// OperationFindingsAtFinish is the operation under which RunFinish records the findings it
// created and retested.
const OperationFindingsAtFinish = "finding.at_finish"

func nonNilStrings(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}

// FindingDue is how long after it is recorded a finding is due by default (Config.FindingDue).
func (s *Store) FindingDue() time.Duration { return s.findingDue }

// FindingSystemActor is who creates and closes automatic findings: firedrill itself.
var FindingSystemActor = drills.Actor{Kind: drills.ActorSystem, Name: "firedrill"}

// Finding is a problem a drill revealed (or a person recorded), on its way to closure.
type Finding struct {
	// ID is "F-<Seq>".
	ID  string
	Seq int64
	// Kind says where it came from; drills.FindingManual for one a person added.
	Kind drills.FindingKind
	// RunID is the run that revealed it; empty for a finding added without one.
	RunID string
	// Service and Plan it concerns; empty when it concerns none in particular. A finding
	// without a service is covered by a passing run of its plan.
	Service, Plan string
	// StepKey is the failed step, for a step_failed finding.
	StepKey     string
	Title       string
	Description string
	Severity    drills.FindingSeverity
	Owner       string
	RootCause   string
	// DueAt is when it must be retested or carried by an accepted risk; nil: no date.
	DueAt  *time.Time
	Status drills.FindingStatus
	// RiskAcceptedBy, RiskAcceptedAt and RiskReason: who accepted the risk, when and why,
	// while Status is risk_accepted.
	RiskAcceptedBy drills.Actor
	RiskAcceptedAt *time.Time
	RiskReason     string
	// ClosedByRunID and ClosedAt: the passing run that retested it.
	ClosedByRunID string
	ClosedAt      *time.Time
	CreatedBy     drills.Actor
	CreatedAt     time.Time
	UpdatedAt     time.Time
}

// Overdue reports whether the finding is past its due date at now without being covered
// (retested or carried by an accepted risk).
func (f *Finding) Overdue(now time.Time) bool {
	return !f.Status.Covered() && f.DueAt != nil && now.After(*f.DueAt)
}

// FindingChange is one field's change in a finding's history.
type FindingChange struct {
	From string `json:"from"`
	To   string `json:"to"`
}

// FindingUpdate is one entry of a finding's append-only history.
type FindingUpdate struct {
	ID        int64
	FindingID string
	At        time.Time
	By        drills.Actor
	// Changes maps each changed field to its old and new value (text; times RFC 3339).
	Changes map[string]FindingChange
	Comment string
}

type findingModel struct {
	ID             string     `gorm:"column:id;primaryKey"`
	Seq            int64      `gorm:"column:seq"`
	Kind           string     `gorm:"column:kind"`
	RunID          *string    `gorm:"column:run_id"`
	Service        *string    `gorm:"column:service"`
	Plan           *string    `gorm:"column:plan"`
	StepKey        string     `gorm:"column:step_key"`
	Title          string     `gorm:"column:title"`
	Description    string     `gorm:"column:description"`
	Severity       string     `gorm:"column:severity"`
	Owner          string     `gorm:"column:owner"`
	RootCause      string     `gorm:"column:root_cause"`
	DueAt          *time.Time `gorm:"column:due_at"`
	Status         string     `gorm:"column:status"`
	RiskAcceptedBy actorCols  `gorm:"embedded;embeddedPrefix:risk_accepted_by_"`
	RiskAcceptedAt *time.Time `gorm:"column:risk_accepted_at"`
	RiskReason     string     `gorm:"column:risk_reason"`
	ClosedByRunID  *string    `gorm:"column:closed_by_run_id"`
	ClosedAt       *time.Time `gorm:"column:closed_at"`
	CreatedBy      actorCols  `gorm:"embedded;embeddedPrefix:created_by_"`
	CreatedAt      time.Time  `gorm:"column:created_at"`
	UpdatedAt      time.Time  `gorm:"column:updated_at"`
}

func (findingModel) TableName() string { return "findings" }

type findingUpdateModel struct {
	ID        int64     `gorm:"column:id;primaryKey;autoIncrement"`
	FindingID string    `gorm:"column:finding_id"`
	At        time.Time `gorm:"column:at"`
	By        actorCols `gorm:"embedded;embeddedPrefix:by_"`
	Changes   jsonDoc   `gorm:"column:changes"`
	Comment   string    `gorm:"column:comment"`
}

func (findingUpdateModel) TableName() string { return "finding_updates" }

func nullable(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}

func findingOf(m *findingModel) *Finding {
	return &Finding{
		ID: m.ID, Seq: m.Seq, Kind: drills.FindingKind(m.Kind), RunID: deref(m.RunID), Service: deref(m.Service),
		Plan: deref(m.Plan), StepKey: m.StepKey, Title: m.Title, Description: m.Description,
		Severity: drills.FindingSeverity(m.Severity), Owner: m.Owner, RootCause: m.RootCause, DueAt: utcPtr(m.DueAt),
		Status: drills.FindingStatus(m.Status), RiskAcceptedBy: m.RiskAcceptedBy.actor(), RiskAcceptedAt: utcPtr(m.RiskAcceptedAt),
		RiskReason: m.RiskReason, ClosedByRunID: deref(m.ClosedByRunID), ClosedAt: utcPtr(m.ClosedAt),
		CreatedBy: m.CreatedBy.actor(), CreatedAt: m.CreatedAt.UTC(), UpdatedAt: m.UpdatedAt.UTC(),
	}
}

// FindingInsertParams are the arguments of FindingInsert.
type FindingInsertParams struct {
	// Kind defaults to drills.FindingManual.
	Kind                 drills.FindingKind
	RunID, Service, Plan string
	StepKey              string
	// Title is required.
	Title       string
	Description string
	// Severity is required.
	Severity  drills.FindingSeverity
	Owner     string
	RootCause string
	DueAt     *time.Time
	// By is who records it; required.
	By drills.Actor
	// Comment goes into the first history entry.
	Comment string
	// At defaults to the clock's now.
	At time.Time
}

// FindingInsert records a new open finding and the first entry of its history.
func (s *Store) FindingInsert(ctx context.Context, p *FindingInsertParams) (*Finding, error) {
	return inTx(ctx, s, p, s.FindingInsertTx)
}

// FindingInsertTx is FindingInsert in tx.
func (s *Store) FindingInsertTx(ctx context.Context, tx *Tx, p *FindingInsertParams) (*Finding, error) {
	if p == nil {
		return nil, errors.New("finding insert: params are required")
	}
	m, err := s.findingInsert(tx.with(ctx), p, s.now(p.At))
	if err != nil {
		return nil, fmt.Errorf("finding insert %q: %w", p.Title, translate(err))
	}
	return findingOf(m), nil
}

func (s *Store) findingInsert(db *gorm.DB, p *FindingInsertParams, now time.Time) (*findingModel, error) {
	kind := p.Kind
	if kind == "" {
		kind = drills.FindingManual
	}
	switch {
	case strings.TrimSpace(p.Title) == "":
		return nil, errors.New("the title is required")
	case !slices.Contains(drills.FindingSeverities, p.Severity):
		return nil, fmt.Errorf("severity %q is not one of %v", p.Severity, drills.FindingSeverities)
	}
	if err := checkActor("By", p.By); err != nil {
		return nil, err
	}
	seq, err := s.findingNextSeq(db)
	if err != nil {
		return nil, err
	}
	m := findingModel{
		ID: "F-" + strconv.FormatInt(seq, 10), Seq: seq, Kind: string(kind), RunID: nullable(p.RunID),
		Service: nullable(p.Service), Plan: nullable(p.Plan), StepKey: p.StepKey, Title: p.Title,
		Description: p.Description, Severity: string(p.Severity), Owner: p.Owner, RootCause: p.RootCause,
		DueAt: utcMSPtr(p.DueAt), Status: string(drills.FindingOpen), CreatedBy: colsOf(p.By),
		CreatedAt: now, UpdatedAt: now,
	}
	if err := db.Create(&m).Error; err != nil {
		if errors.Is(err, gorm.ErrForeignKeyViolated) {
			return nil, fmt.Errorf("run %s: %w", p.RunID, ErrNotFound)
		}
		return nil, err
	}
	changes := map[string]FindingChange{"status": {To: string(drills.FindingOpen)}, "severity": {To: m.Severity}}
	if m.DueAt != nil {
		changes["due_at"] = FindingChange{To: m.DueAt.Format(time.RFC3339)}
	}
	if m.Owner != "" {
		changes["owner"] = FindingChange{To: m.Owner}
	}
	if err := findingHistory(db, m.ID, p.By, now, changes, p.Comment); err != nil {
		return nil, err
	}
	return &m, nil
}

// findingNextSeq gives out the next finding number: a sequence on PostgreSQL (concurrent
// transactions never share one); the largest plus one on SQLite, whose one writer holds the
// database for the whole IMMEDIATE transaction.
func (s *Store) findingNextSeq(db *gorm.DB) (int64, error) {
	var seq int64
	q := `SELECT nextval('findings_seq')`
	if isSQLite(db) {
		q = `SELECT COALESCE(MAX(seq), 0) + 1 FROM findings`
	}
	if err := db.Raw(q).Scan(&seq).Error; err != nil {
		return 0, fmt.Errorf("next finding number: %w", err)
	}
	return seq, nil
}

func findingHistory(db *gorm.DB, id string, by drills.Actor, at time.Time, changes map[string]FindingChange, comment string) error {
	u := findingUpdateModel{FindingID: id, At: at, By: colsOf(by), Changes: mustJSON(changes), Comment: comment}
	if err := db.Create(&u).Error; err != nil {
		return fmt.Errorf("history of %s: %w", id, err)
	}
	return nil
}

// FindingGet returns the finding id, or ErrNotFound.
func (s *Store) FindingGet(ctx context.Context, id string) (*Finding, error) {
	var m findingModel
	if err := s.db.WithContext(ctx).Where("id = ?", id).Take(&m).Error; err != nil {
		return nil, fmt.Errorf("finding get %s: %w", id, translate(err))
	}
	return findingOf(&m), nil
}

// FindingUpdateList returns the history of finding id, oldest first.
func (s *Store) FindingUpdateList(ctx context.Context, id string) ([]*FindingUpdate, error) {
	var ms []findingUpdateModel
	if err := s.db.WithContext(ctx).Where("finding_id = ?", id).Order("id").Find(&ms).Error; err != nil {
		return nil, fmt.Errorf("finding history %s: %w", id, translate(err))
	}
	out := make([]*FindingUpdate, 0, len(ms))
	for i := range ms {
		u := &FindingUpdate{ID: ms[i].ID, FindingID: ms[i].FindingID, At: ms[i].At.UTC(), By: ms[i].By.actor(), Comment: ms[i].Comment}
		if err := json.Unmarshal(ms[i].Changes, &u.Changes); err != nil {
			return nil, fmt.Errorf("finding history %s entry %d: %w", id, ms[i].ID, err)
		}
		out = append(out, u)
	}
	return out, nil
}

// FindingListParams filter and page FindingList, in finding-number order.
type FindingListParams struct {
	// Statuses, when set, keep the findings in one of them.
	Statuses []drills.FindingStatus
	// Service, RunID and Plan, when set, keep the findings of that service, run or plan.
	Service, RunID, Plan string
	// OverdueAt, when set, keeps the findings overdue at that time: a due date before it and
	// not covered (retested or risk accepted).
	OverdueAt *time.Time
	// AfterSeq continues a list after that finding number (the Next of the previous page).
	AfterSeq int64
	// Limit defaults to DefaultFindingListLimit and is capped at MaxFindingListLimit.
	Limit int
}

// FindingPage is one page of findings.
type FindingPage struct {
	Findings []*Finding
	// Next is the AfterSeq of the next page; zero on the last page.
	Next int64
}

// FindingList returns a page of findings by number. A report reads every finding page by
// page, so memory stays bounded however many the estate has.
func (s *Store) FindingList(ctx context.Context, p *FindingListParams) (*FindingPage, error) {
	if p == nil {
		p = &FindingListParams{}
	}
	limit := pageLimit(p.Limit, DefaultFindingListLimit, MaxFindingListLimit)
	q := s.db.WithContext(ctx).Model(&findingModel{})
	if len(p.Statuses) > 0 {
		sts := make([]string, len(p.Statuses))
		for i, st := range p.Statuses {
			sts[i] = string(st)
		}
		q = q.Where("status IN ?", sts)
	}
	if p.Service != "" {
		q = q.Where("service = ?", p.Service)
	}
	if p.RunID != "" {
		q = q.Where("run_id = ?", p.RunID)
	}
	if p.Plan != "" {
		q = q.Where("plan = ?", p.Plan)
	}
	if p.OverdueAt != nil {
		q = q.Where("due_at < ? AND status NOT IN ?", utcMS(*p.OverdueAt),
			[]string{string(drills.FindingRetested), string(drills.FindingRiskAccepted)})
	}
	if p.AfterSeq > 0 {
		q = q.Where("seq > ?", p.AfterSeq)
	}
	var ms []findingModel
	if err := q.Order("seq").Limit(limit + 1).Find(&ms).Error; err != nil {
		return nil, fmt.Errorf("finding list: %w", translate(err))
	}
	page := &FindingPage{Findings: make([]*Finding, 0, min(len(ms), limit))}
	for i := range ms {
		if i == limit {
			page.Next = page.Findings[limit-1].Seq
			break
		}
		page.Findings = append(page.Findings, findingOf(&ms[i]))
	}
	return page, nil
}

// FindingUpdateParams are the arguments of FindingUpdate. A nil field is left as it is.
type FindingUpdateParams struct {
	ID          string
	Title       *string
	Description *string
	Owner       *string
	RootCause   *string
	DueAt       *time.Time
	Severity    *drills.FindingSeverity
	// Status may be open, in_progress or fixed; setting one withdraws an accepted risk.
	Status *drills.FindingStatus
	// Comment is recorded in the history; a comment alone is an update.
	Comment string
	// By is who changes it; required.
	By drills.Actor
	At time.Time
}

// FindingUpdate changes a finding and appends what changed to its history. A retested
// finding no longer changes (ErrFindingClosed); retested and risk_accepted are not set here
// (ErrFindingStatus). An update that changes nothing and has no comment changes nothing and
// records nothing.
func (s *Store) FindingUpdate(ctx context.Context, p *FindingUpdateParams) (*Finding, error) {
	return inTx(ctx, s, p, s.FindingUpdateTx)
}

// FindingUpdateTx is FindingUpdate in tx.
func (s *Store) FindingUpdateTx(ctx context.Context, tx *Tx, p *FindingUpdateParams) (*Finding, error) {
	if p == nil || p.ID == "" {
		return nil, errors.New("finding update: ID is required")
	}
	if err := checkActor("finding update "+p.ID, p.By); err != nil {
		return nil, err
	}
	if p.Status != nil {
		switch *p.Status {
		case drills.FindingOpen, drills.FindingInProgress, drills.FindingFixed:
		default:
			return nil, fmt.Errorf("finding update %s: status %q: %w", p.ID, *p.Status, ErrFindingStatus)
		}
	}
	if p.Severity != nil && !slices.Contains(drills.FindingSeverities, *p.Severity) {
		return nil, fmt.Errorf("finding update %s: severity %q is not one of %v", p.ID, *p.Severity, drills.FindingSeverities)
	}
	now := s.now(p.At)
	db := tx.with(ctx)
	m, err := s.findingLocked(db, p.ID)
	if err != nil {
		return nil, fmt.Errorf("finding update %s: %w", p.ID, err)
	}
	if m.Status == string(drills.FindingRetested) {
		return nil, fmt.Errorf("finding update %s: retested by run %s: %w", p.ID, deref(m.ClosedByRunID), ErrFindingClosed)
	}
	changes := map[string]FindingChange{}
	set := map[string]any{}
	text := func(field string, cur *string, to *string) {
		if to != nil && *to != *cur {
			changes[field] = FindingChange{From: *cur, To: *to}
			set[field] = *to
			*cur = *to
		}
	}
	text("title", &m.Title, p.Title)
	text("description", &m.Description, p.Description)
	text("owner", &m.Owner, p.Owner)
	text("root_cause", &m.RootCause, p.RootCause)
	if p.Severity != nil {
		sev := string(*p.Severity)
		text("severity", &m.Severity, &sev)
	}
	if p.DueAt != nil {
		due := utcMS(*p.DueAt)
		if m.DueAt == nil || !m.DueAt.Equal(due) {
			from := ""
			if m.DueAt != nil {
				from = m.DueAt.UTC().Format(time.RFC3339)
			}
			changes["due_at"] = FindingChange{From: from, To: due.Format(time.RFC3339)}
			set["due_at"] = due
			m.DueAt = &due
		}
	}
	if p.Status != nil && string(*p.Status) != m.Status {
		if m.Status == string(drills.FindingRiskAccepted) {
			// Work resumes: the accepted risk no longer carries the finding.
			changes["risk_reason"] = FindingChange{From: m.RiskReason}
			setActor(set, "risk_accepted_by_", drills.Actor{})
			set["risk_accepted_at"], set["risk_reason"] = nil, ""
			m.RiskAcceptedBy, m.RiskAcceptedAt, m.RiskReason = actorCols{}, nil, ""
		}
		st := string(*p.Status)
		text("status", &m.Status, &st)
	}
	if len(changes) == 0 && p.Comment == "" {
		return findingOf(m), nil
	}
	if len(set) > 0 {
		set["updated_at"] = now
		m.UpdatedAt = now
		if err := db.Model(&findingModel{}).Where("id = ?", m.ID).UpdateColumns(set).Error; err != nil {
			return nil, fmt.Errorf("finding update %s: %w", p.ID, translate(err))
		}
	}
	if err := findingHistory(db, m.ID, p.By, now, changes, p.Comment); err != nil {
		return nil, fmt.Errorf("finding update %s: %w", p.ID, translate(err))
	}
	return findingOf(m), nil
}

// findingLocked reads a finding for update: row-locked on PostgreSQL (SQLite's writer lock is
// already held).
func (s *Store) findingLocked(db *gorm.DB, id string) (*findingModel, error) {
	q := db
	if !isSQLite(db) {
		q = q.Clauses(clause.Locking{Strength: clause.LockingStrengthUpdate})
	}
	var m findingModel
	if err := q.Where("id = ?", id).Take(&m).Error; err != nil {
		return nil, translate(err)
	}
	return &m, nil
}

// FindingAcceptRiskParams are the arguments of FindingAcceptRisk.
type FindingAcceptRiskParams struct {
	ID string
	// Reason says why the risk is accepted; required.
	Reason string
	// By is who accepts it; required, a person.
	By drills.Actor
	At time.Time
}

// FindingAcceptRisk records that By accepts the finding's risk, and why: the finding is then
// covered (drills.FindingStatus.Covered) without being closed. A retested finding gives
// ErrFindingClosed; accepting again replaces the acceptor and the reason.
func (s *Store) FindingAcceptRisk(ctx context.Context, p *FindingAcceptRiskParams) (*Finding, error) {
	return inTx(ctx, s, p, s.FindingAcceptRiskTx)
}

// FindingAcceptRiskTx is FindingAcceptRisk in tx.
func (s *Store) FindingAcceptRiskTx(ctx context.Context, tx *Tx, p *FindingAcceptRiskParams) (*Finding, error) {
	if p == nil || p.ID == "" {
		return nil, errors.New("finding accept risk: ID is required")
	}
	if strings.TrimSpace(p.Reason) == "" {
		return nil, fmt.Errorf("finding accept risk %s: Reason is required", p.ID)
	}
	if err := checkPerson("finding accept risk "+p.ID, p.By); err != nil {
		return nil, err
	}
	now := s.now(p.At)
	db := tx.with(ctx)
	m, err := s.findingLocked(db, p.ID)
	if err != nil {
		return nil, fmt.Errorf("finding accept risk %s: %w", p.ID, err)
	}
	if m.Status == string(drills.FindingRetested) {
		return nil, fmt.Errorf("finding accept risk %s: retested by run %s: %w", p.ID, deref(m.ClosedByRunID), ErrFindingClosed)
	}
	changes := map[string]FindingChange{"risk_reason": {From: m.RiskReason, To: p.Reason}, "risk_accepted_by": {From: m.RiskAcceptedBy.Name, To: p.By.Name}}
	if m.Status != string(drills.FindingRiskAccepted) {
		changes["status"] = FindingChange{From: m.Status, To: string(drills.FindingRiskAccepted)}
	}
	set := setActor(map[string]any{
		"status": string(drills.FindingRiskAccepted), "risk_accepted_at": now, "risk_reason": p.Reason, "updated_at": now,
	}, "risk_accepted_by_", p.By)
	if err := db.Model(&findingModel{}).Where("id = ?", m.ID).UpdateColumns(set).Error; err != nil {
		return nil, fmt.Errorf("finding accept risk %s: %w", p.ID, translate(err))
	}
	if err := findingHistory(db, m.ID, p.By, now, changes, ""); err != nil {
		return nil, fmt.Errorf("finding accept risk %s: %w", p.ID, translate(err))
	}
	m.Status, m.RiskAcceptedBy, m.RiskAcceptedAt, m.RiskReason, m.UpdatedAt = string(drills.FindingRiskAccepted), colsOf(p.By), &now, p.Reason, now
	return findingOf(m), nil
}

// findingsAtFinish is what RunFinish does for findings, in its transaction, once the run's
// state and measurements are written: a passing run first closes (retested) every finding it
// covers, then the run's own problems become findings, due findingDue after it ended. So no
// run ends without its findings, and a finding is never closed by the run that revealed it.
// It returns the ids created and closed.
func (s *Store) findingsAtFinish(db *gorm.DB, runID string, at time.Time) (created, closed []string, err error) {
	var run runModel
	if err := db.Where("id = ?", runID).Take(&run).Error; err != nil {
		return nil, nil, err
	}
	r := runOf(&run)
	var mms []measurementModel
	if err := db.Where("run_id = ?", runID).Order("service").Find(&mms).Error; err != nil {
		return nil, nil, err
	}
	ms := make([]*Measurement, len(mms))
	for i := range mms {
		ms[i] = measurementOf(&mms[i])
	}
	objs := RunObjectives(r, ms)
	if drills.Passed(r.State, r.Forced, objs) {
		if closed, err = s.findingsRetest(db, r, objs, at); err != nil {
			return nil, nil, err
		}
	}
	drafts, err := s.findingDrafts(db, r, ms, objs, at)
	if err != nil {
		return nil, nil, err
	}
	due := utcMS(at.Add(s.findingDue))
	for _, d := range drafts {
		d.RunID, d.Plan, d.DueAt, d.By, d.At = r.ID, r.PlanName, &due, FindingSystemActor, at
		m, err := s.findingInsert(db, d, at)
		if err != nil {
			return nil, nil, fmt.Errorf("finding %q: %w", d.Title, err)
		}
		created = append(created, m.ID)
	}
	return created, closed, nil
}

// findingsRetest closes every open, in-progress or fixed finding the passing run r covers:
// one of a service r counts as a drill of (drills.CountsAsDrillOf), or one without a service
// of r's plan.
func (s *Store) findingsRetest(db *gorm.DB, r *Run, objs []drills.ServiceObjectives, at time.Time) ([]string, error) {
	var drilled []string
	for _, o := range objs {
		if drills.CountsAsDrillOf(r.State, r.Forced, o.Service, objs) {
			drilled = append(drilled, o.Service)
		}
	}
	open := []string{string(drills.FindingOpen), string(drills.FindingInProgress), string(drills.FindingFixed)}
	q := db.Model(&findingModel{}).Where("status IN ?", open)
	if len(drilled) > 0 {
		q = q.Where("(service IN ? OR (service IS NULL AND plan = ?))", drilled, r.PlanName)
	} else {
		q = q.Where("service IS NULL AND plan = ?", r.PlanName)
	}
	if !isSQLite(db) {
		q = q.Clauses(clause.Locking{Strength: clause.LockingStrengthUpdate})
	}
	var ms []findingModel
	if err := q.Order("seq").Find(&ms).Error; err != nil {
		return nil, err
	}
	ids := make([]string, 0, len(ms))
	for i := range ms {
		m := &ms[i]
		if err := db.Model(&findingModel{}).Where("id = ?", m.ID).UpdateColumns(map[string]any{
			"status": string(drills.FindingRetested), "closed_by_run_id": r.ID, "closed_at": at, "updated_at": at,
		}).Error; err != nil {
			return nil, fmt.Errorf("close finding %s: %w", m.ID, err)
		}
		changes := map[string]FindingChange{
			"status":           {From: m.Status, To: string(drills.FindingRetested)},
			"closed_by_run_id": {To: r.ID},
		}
		if err := findingHistory(db, m.ID, FindingSystemActor, at, changes, "retested by passing run "+r.ID); err != nil {
			return nil, err
		}
		ids = append(ids, m.ID)
	}
	return ids, nil
}

// findingDrafts lists the problems run r revealed, in a stable order: each step whose last
// attempt failed, a failed rollback, and, once the disaster struck, each objective missed or
// not evidenced and each dependency of a failed-over service that was neither failed over in
// r nor drilled (drills.CountsAsDrillOf) in the DependencyLookback before it. A run blocked
// before anything was touched reveals nothing about the estate.
func (s *Store) findingDrafts(db *gorm.DB, r *Run, ms []*Measurement, objs []drills.ServiceObjectives, at time.Time) ([]*FindingInsertParams, error) {
	if r.State == drills.RunBlocked {
		return nil, nil
	}
	var out []*FindingInsertParams
	var steps []stepResultModel
	if err := db.Where("run_id = ?", r.ID).Order("seq, attempt").Find(&steps).Error; err != nil {
		return nil, err
	}
	last := map[string]*stepResultModel{}
	var order []string
	for i := range steps {
		st := &steps[i]
		if _, ok := last[st.StepKey]; !ok {
			order = append(order, st.StepKey)
		}
		last[st.StepKey] = st
	}
	for _, key := range order {
		st := last[key]
		if drills.StepState(st.State) != drills.StepFailed {
			continue
		}
		d := &FindingInsertParams{Kind: drills.FindingStepFailed, Service: st.Service, StepKey: key, Severity: drills.SeverityHigh,
			Title: fmt.Sprintf("step %s (%s) failed", key, st.Action), Description: st.Error}
		out = append(out, d)
	}
	if r.State == drills.RunRollbackFailed {
		out = append(out, &FindingInsertParams{Kind: drills.FindingRollbackFailed, Severity: drills.SeverityCritical,
			Title:       "the rollback failed: the estate may not be back on its primary site",
			Description: r.StateReason})
	}
	if r.T0 == nil {
		return out, nil
	}
	for i, m := range ms {
		o := objs[i]
		severity := drills.SeverityHigh
		if m.Criticality == drills.CriticalityCore {
			severity = drills.SeverityCritical
		}
		for _, obj := range []struct {
			name       string
			ev         drills.Evidence
			objective  time.Duration
			actual     *time.Duration
			measureGap string
		}{
			{"RTO", o.RTO, m.RTOObjective, m.RTOActual, "the service was not seen restored"},
			{"RPO", o.RPO, m.RPOObjective, m.RPOActual, "no data-loss figure was measured"},
		} {
			switch obj.ev {
			case drills.EvidenceMissed:
				actual := "never restored"
				if obj.actual != nil {
					actual = obj.actual.String()
				}
				out = append(out, &FindingInsertParams{Kind: drills.FindingObjectiveMissed, Service: m.Service, Severity: severity,
					Title:       fmt.Sprintf("%s missed its %s objective: %s against %s", m.Service, obj.name, actual, obj.objective),
					Description: m.Reason})
			case drills.EvidenceNotEvidenced:
				out = append(out, &FindingInsertParams{Kind: drills.FindingObjectiveUnevidenced, Service: m.Service, Severity: drills.SeverityMedium,
					Title:       fmt.Sprintf("%s: the drill does not evidence its %s objective (%s)", m.Service, obj.name, obj.measureGap),
					Description: m.Reason})
			}
		}
	}
	deps, err := s.uncoveredDependencies(db, r, ms, at)
	if err != nil {
		return nil, err
	}
	return append(out, deps...), nil
}

// uncoveredDependencies is the Kakao lesson: a service failed over without what it depends on
// does not show that it can run on the DR site, unless that dependency was itself proven in
// r or in a drill of the last DependencyLookback.
func (s *Store) uncoveredDependencies(db *gorm.DB, r *Run, ms []*Measurement, at time.Time) ([]*FindingInsertParams, error) {
	inRun := map[string]bool{}
	names := make([]string, 0, len(ms))
	for _, m := range ms {
		inRun[m.Service] = true
		names = append(names, m.Service)
	}
	if len(names) == 0 {
		return nil, nil
	}
	var svcs []serviceModel
	if err := db.Where("name IN ?", names).Order("name").Find(&svcs).Error; err != nil {
		return nil, err
	}
	dependsOn := map[string][]string{}
	for _, sv := range svcs {
		var deps []string
		if err := json.Unmarshal(sv.DependsOn, &deps); err != nil {
			return nil, fmt.Errorf("service %s: depends_on: %w", sv.Name, err)
		}
		dependsOn[sv.Name] = deps
	}
	proven := map[string]bool{}
	var out []*FindingInsertParams
	for _, m := range ms {
		for _, dep := range dependsOn[m.Service] {
			if inRun[dep] {
				continue
			}
			ok, seen := proven[dep]
			if !seen {
				var err error
				if ok, err = drilledSince(db, dep, r.ID, at.Add(-DependencyLookback)); err != nil {
					return nil, err
				}
				proven[dep] = ok
			}
			if ok {
				continue
			}
			out = append(out, &FindingInsertParams{Kind: drills.FindingDependencyUncovered, Service: m.Service, Severity: drills.SeverityHigh,
				Title: fmt.Sprintf("%s was failed over without %s, which it depends on", m.Service, dep),
				Description: fmt.Sprintf("%s was not failed over in this drill, nor proven by a drill in the %d days before it: "+
					"the drill does not show %s can run on the DR site", dep, int(DependencyLookback.Hours()/24), m.Service)})
		}
	}
	return out, nil
}

// drilledSince reports whether a run other than exceptRun that ended at or after since counts
// as a drill of service (drills.CountsAsDrillOf: succeeded, not forced, both its objectives
// measured and met).
func drilledSince(db *gorm.DB, service, exceptRun string, since time.Time) (bool, error) {
	var rows []struct {
		RTOActualMS *int64     `gorm:"column:rto_actual_ms"`
		RTOMet      bool       `gorm:"column:rto_met"`
		RPOActualMS *int64     `gorm:"column:rpo_actual_ms"`
		RPOMet      *bool      `gorm:"column:rpo_met"`
		T0          *time.Time `gorm:"column:t0"`
	}
	err := db.Table("measurements").
		Select("measurements.rto_actual_ms, measurements.rto_met, measurements.rpo_actual_ms, measurements.rpo_met, runs.t0").
		Joins("JOIN runs ON runs.id = measurements.run_id").
		Where("measurements.service = ? AND runs.id <> ? AND runs.state = ? AND runs.forced = ? AND runs.ended_at >= ?",
			service, exceptRun, string(drills.RunSucceeded), false, utcMS(since)).
		Scan(&rows).Error
	if err != nil {
		return false, err
	}
	for _, row := range rows {
		m := MeasurementInput{Service: service, RTOActual: durPtr(row.RTOActualMS), RTOMet: row.RTOMet,
			RPOActual: durPtr(row.RPOActualMS), RPOMet: row.RPOMet}
		if m.Objectives(row.T0 != nil).Met() {
			return true, nil
		}
	}
	return false, nil
}

// FindingIDsOfRuns returns, by run ID, the IDs of the findings each run revealed, by number.
func (s *Store) FindingIDsOfRuns(ctx context.Context, runIDs []string) (map[string][]string, error) {
	out := make(map[string][]string, len(runIDs))
	if len(runIDs) == 0 {
		return out, nil
	}
	var rows []struct {
		ID    string
		RunID string
	}
	if err := s.db.WithContext(ctx).Model(&findingModel{}).Select("id, run_id").Where("run_id IN ?", runIDs).Order("seq").Scan(&rows).Error; err != nil {
		return nil, fmt.Errorf("findings of %d runs: %w", len(runIDs), translate(err))
	}
	for _, r := range rows {
		out[r.RunID] = append(out[r.RunID], r.ID)
	}
	return out, nil
}
