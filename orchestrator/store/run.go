package store

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/google/uuid"
	"gorm.io/gorm"
	"gorm.io/gorm/clause"

	"github.com/firedrill/firedrill/drills"
)

// Run list limits.
const (
	DefaultRunListLimit = 50
	MaxRunListLimit     = 1000
)

// RunInsertParams are the arguments of RunInsert.
type RunInsertParams struct {
	PlanID       string
	PlanName     string
	EstateSHA256 string
	FromSite     string
	ToSite       string
	// RequestedBy is who or what asks for the run; required.
	RequestedBy drills.Actor
	// Forced: the plan was validated without its dependencies (recorded; never passes).
	Forced bool
	// State is the initial state: pending (the default) or awaiting_approval, which needs
	// ApprovalRoles.
	State drills.RunState
	// ScheduleName and FireTime identify the schedule fire that created the run; both or
	// neither. (schedule_name, fire_time) is unique: a fire creates one run at most
	// (ErrDuplicate). ScheduleFire sets them from its own fields.
	ScheduleName string
	FireTime     *time.Time
	// ApprovalRoles are the roles that must each approve the run (one distinct person per
	// role, never the requester) before it starts; set exactly when State is
	// awaiting_approval.
	ApprovalRoles []string
	// ApprovalDeadline: approvals expire if the run has not started by then; nil: never.
	ApprovalDeadline *time.Time
	// ClaimOwner, when set, creates the run already claimed by that replica for ClaimFor
	// (lease epoch 1), so no worker can take a run its creator is about to execute.
	ClaimOwner string
	ClaimFor   time.Duration
}

// RunInsert creates a run, unclaimed (lease epoch 0), and its run_created event.
func (s *Store) RunInsert(ctx context.Context, p *RunInsertParams) (*Run, error) {
	return inTx(ctx, s, p, s.RunInsertTx)
}

// RunInsertTx is RunInsert in tx.
func (s *Store) RunInsertTx(ctx context.Context, tx *Tx, p *RunInsertParams) (*Run, error) {
	if err := checkRunInsert(p); err != nil {
		return nil, err
	}
	m, err := s.runInsertTx(tx.with(ctx), p, s.now(time.Time{}))
	if err != nil {
		return nil, fmt.Errorf("run insert for plan %s: %w", p.PlanName, translate(err))
	}
	return runOf(m), nil
}

func checkRunInsert(p *RunInsertParams) error {
	if p == nil || p.PlanID == "" || p.PlanName == "" {
		return errors.New("run insert: PlanID and PlanName are required")
	}
	if err := checkActor("run insert: RequestedBy", p.RequestedBy); err != nil {
		return err
	}
	state := p.State
	if state == "" {
		state = drills.RunPending
	}
	if err := checkTransition("", state); err != nil {
		return fmt.Errorf("run insert: %w", err)
	}
	if (state == drills.RunAwaitingApproval) != (len(p.ApprovalRoles) > 0) {
		return errors.New("run insert: a run awaits approval exactly when it has ApprovalRoles")
	}
	if err := checkApprovalRoles(p.ApprovalRoles); err != nil {
		return fmt.Errorf("run insert: %w", err)
	}
	if (p.ScheduleName == "") != (p.FireTime == nil) {
		return errors.New("run insert: ScheduleName and FireTime go together")
	}
	if p.ClaimOwner != "" && p.ClaimFor < time.Second {
		return fmt.Errorf("run insert: ClaimFor must be at least 1s, got %s", p.ClaimFor)
	}
	if p.ClaimOwner != "" && state != drills.RunPending {
		return fmt.Errorf("run insert: a run created %s cannot be claimed", state)
	}
	return nil
}

// runInsertTx creates the run checked by checkRunInsert and its run_created event in tx.
func (s *Store) runInsertTx(tx *gorm.DB, p *RunInsertParams, now time.Time) (*runModel, error) {
	var shas []string
	if err := tx.Table("plans").Where("id = ?", p.PlanID).Pluck("sha256", &shas).Error; err != nil {
		return nil, err
	}
	if len(shas) == 0 {
		return nil, fmt.Errorf("plan %s: %w", p.PlanID, ErrNotFound)
	}
	m, err := s.newRunModel(p, shas[0], now)
	if err != nil {
		return nil, err
	}
	if err := tx.Create(m).Error; err != nil {
		if errors.Is(err, gorm.ErrForeignKeyViolated) {
			return nil, fmt.Errorf("plan %s: %w", p.PlanID, ErrNotFound)
		}
		return nil, err
	}
	if err := appendEvent(tx, m.ID, now, EventRunCreated, "", "", runCreatedData(p, m)); err != nil {
		return nil, err
	}
	return m, nil
}

// newRunModel is the row of a new run checked by checkRunInsert whose plan has planSHA.
func (s *Store) newRunModel(p *RunInsertParams, planSHA string, now time.Time) (*runModel, error) {
	state := p.State
	if state == "" {
		state = drills.RunPending
	}
	id, err := uuid.NewV7()
	if err != nil {
		return nil, err
	}
	m := runModel{
		ID:               id.String(),
		PlanID:           p.PlanID,
		PlanName:         p.PlanName,
		PlanSHA256:       planSHA,
		EstateSHA256:     p.EstateSHA256,
		FromSite:         p.FromSite,
		ToSite:           p.ToSite,
		State:            string(state),
		RequestedBy:      colsOf(p.RequestedBy),
		Forced:           p.Forced,
		FiredrillVersion: s.version,
		FiredrillCommit:  s.commit,
		CreatedAt:        now,
		UpdatedAt:        now,
		FireTime:         utcMSPtr(p.FireTime),
		ApprovalDeadline: utcMSPtr(p.ApprovalDeadline),
	}
	if len(p.ApprovalRoles) > 0 {
		d := mustJSON(ApprovalPolicy{Roles: p.ApprovalRoles})
		m.ApprovalPolicy = &d
	}
	if p.ClaimOwner != "" {
		expires := utcMS(now.Add(p.ClaimFor))
		m.LeaseOwner, m.LeaseEpoch, m.LeaseExpiresAt, m.LeaseDurationMS = p.ClaimOwner, 1, &expires, msOf(p.ClaimFor)
	}
	if p.ScheduleName != "" {
		name := p.ScheduleName
		m.ScheduleName = &name
	}
	return &m, nil
}

// runCreatedData is the data of a new run's run_created event.
func runCreatedData(p *RunInsertParams, m *runModel) map[string]any {
	state := drills.RunState(m.State)
	data := map[string]any{
		"plan_id": p.PlanID, "plan_name": p.PlanName, "state": state,
		"from_site": p.FromSite, "to_site": p.ToSite, "requested_by": p.RequestedBy,
		"firedrill_version": m.FiredrillVersion, "firedrill_commit": m.FiredrillCommit,
	}
	if p.Forced {
		data["forced"] = true
	}
	if m.ScheduleName != nil {
		data["schedule_name"] = p.ScheduleName
		data["fire_time"] = m.FireTime
	}
	if len(p.ApprovalRoles) > 0 {
		data["approval_roles"] = p.ApprovalRoles
	}
	if m.ApprovalDeadline != nil {
		data["approval_deadline"] = m.ApprovalDeadline
	}
	return data
}

// RunClaimParams are the arguments of RunClaim.
type RunClaimParams struct {
	RunID string
	// Owner identifies the claiming replica (host/pid or similar); required.
	Owner string
	// LeaseFor is how long the lease lasts without renewal or a fenced write; required.
	LeaseFor time.Duration
}

// RunClaim takes the run's lease for p.Owner, whoever held it before, and returns the new epoch:
// the fencing token every later write must present. The previous holder's writes fail with
// ErrLeaseLost from then on. Choosing which runs to claim (unclaimed or expired leases) is the
// caller's business. A terminal run gives ErrRunTerminal, an unknown one ErrNotFound.
func (s *Store) RunClaim(ctx context.Context, p *RunClaimParams) (int64, error) {
	if p == nil || p.RunID == "" || p.Owner == "" {
		return 0, errors.New("run claim: RunID and Owner are required")
	}
	if p.LeaseFor <= 0 {
		return 0, fmt.Errorf("run claim %s: LeaseFor must be positive, got %s", p.RunID, p.LeaseFor)
	}
	now := s.now(time.Time{})
	var epoch int64
	err := s.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		q := tx
		if s.dialect == DialectPostgres {
			// SQLite transactions are IMMEDIATE: the writer lock is already held.
			q = q.Clauses(clause.Locking{Strength: clause.LockingStrengthUpdate})
		}
		var cur runModel
		if err := q.Where("id = ?", p.RunID).Take(&cur).Error; err != nil {
			return err
		}
		var err error
		epoch, err = claimLocked(tx, &cur, p.Owner, p.LeaseFor, now)
		return err
	})
	if err != nil {
		return 0, fmt.Errorf("run claim %s: %w", p.RunID, translate(err))
	}
	return epoch, nil
}

// RunLeaseRenewParams are the arguments of RunLeaseRenew.
type RunLeaseRenewParams struct {
	RunID string
	Epoch int64
	// LeaseFor is the new lease from now; positive.
	LeaseFor time.Duration
}

// RunLeaseRenew extends the lease held at p.Epoch to now+p.LeaseFor, and makes LeaseFor the
// extension every later fenced write applies. ErrLeaseLost when the epoch moved on.
func (s *Store) RunLeaseRenew(ctx context.Context, p *RunLeaseRenewParams) error {
	if p == nil {
		return errors.New("run lease renew: params are required")
	}
	runID, epoch, leaseFor := p.RunID, p.Epoch, p.LeaseFor
	if leaseFor <= 0 {
		return fmt.Errorf("run lease renew %s: leaseFor must be positive, got %s", runID, leaseFor)
	}
	now := s.now(time.Time{})
	err := s.fencedTx(ctx, runID, epoch, now, func(tx *gorm.DB, _ *fenceRow) error {
		return tx.Table("runs").Where("id = ?", runID).UpdateColumns(map[string]any{
			"lease_expires_at":  utcMS(now.Add(leaseFor)),
			"lease_duration_ms": msOf(leaseFor),
		}).Error
	})
	if err != nil {
		return fmt.Errorf("run lease renew %s epoch %d: %w", runID, epoch, err)
	}
	return nil
}

// RunStateSetParams are the arguments of RunStateSet.
type RunStateSetParams struct {
	RunID string
	Epoch int64
	// State must not be terminal: a run ends through RunFinish.
	State  drills.RunState
	Reason string
	// At defaults to the clock's now.
	At time.Time
}

// RunStateSet moves a run to a non-terminal state, stamping started_at the first time it
// enters running, and records a run_state event. Fenced.
func (s *Store) RunStateSet(ctx context.Context, p *RunStateSetParams) error {
	if p == nil || p.RunID == "" || p.State == "" {
		return errors.New("run state set: RunID and State are required")
	}
	if p.State.IsTerminal() {
		return fmt.Errorf("run state set %s: state %q is terminal; use RunFinish", p.RunID, p.State)
	}
	at := s.now(p.At)
	err := s.fencedTx(ctx, p.RunID, p.Epoch, at, func(tx *gorm.DB, cur *fenceRow) error {
		if err := checkTransition(drills.RunState(cur.State), p.State); err != nil {
			return err
		}
		set := map[string]any{"state": string(p.State), "state_reason": p.Reason}
		if p.State == drills.RunRunning {
			set["started_at"] = gorm.Expr("COALESCE(started_at, ?)", at)
		}
		if err := tx.Table("runs").Where("id = ?", p.RunID).UpdateColumns(set).Error; err != nil {
			return err
		}
		return appendEvent(tx, p.RunID, at, EventRunState, "", p.Reason, map[string]any{
			"from": cur.State, "to": p.State,
		})
	})
	if err != nil {
		return fmt.Errorf("run state set %s to %s: %w", p.RunID, p.State, err)
	}
	return nil
}

// RunMilestoneParams are the arguments of RunMilestone.
type RunMilestoneParams struct {
	RunID     string
	Epoch     int64
	Milestone drills.Milestone
	// At defaults to the clock's now.
	At time.Time
}

// RunMilestone stamps T0 (disaster) or T1 (restored) and records a milestone event. The first
// stamp wins: a step repeated after a takeover does not move the milestone (the event is still
// recorded). Fenced.
func (s *Store) RunMilestone(ctx context.Context, p *RunMilestoneParams) error {
	if p == nil || p.RunID == "" {
		return errors.New("run milestone: RunID is required")
	}
	var column string
	switch p.Milestone {
	case drills.MilestoneDisaster:
		column = "t0"
	case drills.MilestoneRestored:
		column = "t1"
	default:
		return fmt.Errorf("run milestone %s: unknown milestone %q", p.RunID, p.Milestone)
	}
	at := s.now(p.At)
	err := s.fencedTx(ctx, p.RunID, p.Epoch, at, func(tx *gorm.DB, _ *fenceRow) error {
		if err := tx.Table("runs").Where("id = ?", p.RunID).
			UpdateColumn(column, gorm.Expr("COALESCE("+column+", ?)", at)).Error; err != nil {
			return err
		}
		return appendEvent(tx, p.RunID, at, EventMilestone, "", string(p.Milestone), map[string]any{
			"milestone": p.Milestone,
		})
	})
	if err != nil {
		return fmt.Errorf("run milestone %s %s: %w", p.RunID, p.Milestone, err)
	}
	return nil
}

// RunFinishParams are the arguments of RunFinish.
type RunFinishParams struct {
	RunID string
	Epoch int64
	// State must be terminal.
	State  drills.RunState
	Reason string
	// At defaults to the clock's now.
	At            time.Time
	RTOActual     *time.Duration
	ObjectivesMet *bool
	Measurements  []MeasurementInput
	// T0 is the disaster's moment as the run measured from it, at full precision; nil when
	// the disaster never struck. Each measurement event records it with the service's
	// restored moment, so the RTO can be recomputed from the timeline.
	T0 *time.Time
}

// RunFinish ends a run in one transaction: its measurements, the terminal state, ended_at, the
// lease released (no owner, no expiry; the epoch stays so stale writers still fail), a
// run_finished event, and the run's findings: a passing run retests those it covers, and what
// the run revealed (failed steps, missed or unevidenced objectives, a failed rollback,
// uncovered dependencies) becomes findings due Config.FindingDue later, recorded as the
// operation OperationFindingsAtFinish. Fenced.
func (s *Store) RunFinish(ctx context.Context, p *RunFinishParams) error {
	if p == nil || p.RunID == "" {
		return errors.New("run finish: RunID is required")
	}
	if !p.State.IsTerminal() {
		return fmt.Errorf("run finish %s: state %q is not terminal", p.RunID, p.State)
	}
	for i, m := range p.Measurements {
		if m.Service == "" {
			return fmt.Errorf("run finish %s: measurement %d: Service is required", p.RunID, i)
		}
		if err := checkJSON(m.Evidence); err != nil {
			return fmt.Errorf("run finish %s: measurement %s: evidence: %w", p.RunID, m.Service, err)
		}
	}
	at := s.now(p.At)
	err := s.fencedTx(ctx, p.RunID, p.Epoch, at, func(tx *gorm.DB, cur *fenceRow) error {
		if err := checkTransition(drills.RunState(cur.State), p.State); err != nil {
			return err
		}
		for _, in := range p.Measurements {
			id, err := uuid.NewV7()
			if err != nil {
				return err
			}
			m := measurementModel{
				ID:             id.String(),
				RunID:          p.RunID,
				Service:        in.Service,
				Criticality:    string(in.Criticality),
				RTOObjectiveMS: msOf(in.RTOObjective),
				RTOActualMS:    msPtr(in.RTOActual),
				Restored:       in.Restored,
				RestoredAt:     utcMSPtr(in.RestoredAt),
				RTOMet:         in.RTOMet,
				RPOObjectiveMS: msOf(in.RPOObjective),
				RPOActualMS:    msPtr(in.RPOActual),
				RPOLostRows:    in.RPOLostRows,
				RPOMet:         in.RPOMet,
				ResolutionMS:   msOf(in.Resolution),
				Reason:         in.Reason,
				Evidence:       jsonDocOf(in.Evidence),
			}
			if err := tx.Create(&m).Error; err != nil {
				return fmt.Errorf("measurement %s: %w", in.Service, translate(err))
			}
			if err := appendEvent(tx, p.RunID, at, drills.EventMeasurement, "", in.Reason, measurementEvidence(p.T0, &in)); err != nil {
				return err
			}
		}
		if err := tx.Table("runs").Where("id = ?", p.RunID).UpdateColumns(map[string]any{
			"state":             string(p.State),
			"state_reason":      p.Reason,
			"ended_at":          at,
			"rto_actual_ms":     msPtr(p.RTOActual),
			"objectives_met":    p.ObjectivesMet,
			"lease_owner":       "",
			"lease_expires_at":  nil,
			"lease_duration_ms": 0,
		}).Error; err != nil {
			return err
		}
		data := map[string]any{"state": p.State, "measurements": len(p.Measurements)}
		if p.RTOActual != nil {
			data["rto_actual_ms"] = msOf(*p.RTOActual)
		}
		if p.ObjectivesMet != nil {
			data["objectives_met"] = *p.ObjectivesMet
		}
		if err := appendEvent(tx, p.RunID, at, EventRunFinished, "", p.Reason, data); err != nil {
			return err
		}
		created, closed, err := s.findingsAtFinish(tx, p.RunID, at)
		if err != nil {
			return fmt.Errorf("findings: %w", err)
		}
		if len(created) == 0 && len(closed) == 0 {
			return nil
		}
		// Into the operations log, and so the audit chain, with the run's end.
		_, err = s.OperationRecordTx(ctx, &Tx{db: tx}, &OperationRecordParams{
			Actor: FindingSystemActor, Operation: OperationFindingsAtFinish, Target: p.RunID, Outcome: OutcomeOK,
			Message: fmt.Sprintf("%d finding(s) recorded, %d retested", len(created), len(closed)),
			Detail:  map[string]any{"created": nonNilStrings(created), "retested": nonNilStrings(closed)}, At: at,
		})
		return err
	})
	if err != nil {
		return fmt.Errorf("run finish %s as %s: %w", p.RunID, p.State, err)
	}
	return nil
}

// measurementEvidence is the data of a measurement's run event: the raw inputs of its figures.
func measurementEvidence(t0 *time.Time, in *MeasurementInput) *drills.MeasurementEvidence {
	ev := &drills.MeasurementEvidence{
		Service: in.Service, RTOObjectiveMS: msOf(in.RTOObjective), RTOMS: msPtr(in.RTOActual),
		RPOObjectiveMS: msOf(in.RPOObjective), RPOMS: msPtr(in.RPOActual), LostRows: in.RPOLostRows,
		ResolutionMS: msOf(in.Resolution), RPO: in.RPOInputs,
	}
	if t0 != nil {
		v := t0.UTC()
		ev.T0 = &v
	}
	if in.RestoredAt != nil {
		v := in.RestoredAt.UTC()
		ev.RestoredAt = &v
	}
	return ev
}

// RunGet returns the run id, or ErrNotFound.
func (s *Store) RunGet(ctx context.Context, id string) (*Run, error) {
	return runGet(s.db.WithContext(ctx), id)
}

func runGet(db *gorm.DB, id string) (*Run, error) {
	var m runModel
	if err := db.Where("id = ?", id).Take(&m).Error; err != nil {
		return nil, fmt.Errorf("run get %s: %w", id, translate(err))
	}
	return runOf(&m), nil
}

// RunListParams filter and page RunList. The list is newest first: by created_at, then id,
// both descending.
type RunListParams struct {
	// PlanName, when set, keeps the runs of that plan.
	PlanName string
	// States, when set, keeps the runs in one of these states.
	States []drills.RunState
	// ScheduleName, when set, keeps the runs that schedule fired.
	ScheduleName string
	// RequestedBy, when set, keeps the runs that person (a user or a local person) asked for.
	RequestedBy string
	// Since and Until, when set, keep runs created at or after Since and before Until.
	Since, Until *time.Time
	// After, when set, continues a list after that run: the Next of the previous page.
	After *RunCursor
	// Limit defaults to DefaultRunListLimit and is capped at MaxRunListLimit.
	Limit int
	// Published, when set, keeps the runs a published report covers: what an auditor reads.
	Published bool
}

// RunCursor is a position in the run list: the created_at and id of the last run seen.
type RunCursor struct {
	CreatedAt time.Time
	ID        string
}

// RunPage is one page of runs.
type RunPage struct {
	Runs []*Run
	// Next continues the list; nil on the last page.
	Next *RunCursor
}

// RunList returns a page of runs, newest first. It reads one row more than the page to know
// whether another page follows; on PostgreSQL each filter has an index in list order, so a
// page deep in a long history costs what the first one does.
func (s *Store) RunList(ctx context.Context, p *RunListParams) (*RunPage, error) {
	if p == nil {
		p = &RunListParams{}
	}
	limit := pageLimit(p.Limit, DefaultRunListLimit, MaxRunListLimit)
	q := s.db.WithContext(ctx).Model(&runModel{})
	if p.PlanName != "" {
		q = q.Where("plan_name = ?", p.PlanName)
	}
	if len(p.States) > 0 {
		states := make([]string, len(p.States))
		for i, st := range p.States {
			states[i] = string(st)
		}
		q = q.Where("state IN ?", states)
	}
	if p.ScheduleName != "" {
		q = q.Where("schedule_name = ?", p.ScheduleName)
	}
	if p.RequestedBy != "" {
		q = q.Where("requested_name = ? AND requested_kind IN ?", p.RequestedBy,
			[]string{string(drills.ActorUser), string(drills.ActorLocal)})
	}
	if p.Since != nil {
		q = q.Where("created_at >= ?", utcMS(*p.Since))
	}
	if p.Until != nil {
		q = q.Where("created_at < ?", utcMS(*p.Until))
	}
	if p.After != nil {
		at := utcMS(p.After.CreatedAt)
		// A row comparison, which PostgreSQL answers from the (created_at, id) indexes.
		q = q.Where("(created_at, id) < (?, ?)", at, p.After.ID)
	}
	if p.Published {
		q = coveredByPublished(q)
	}
	var ms []runModel
	if err := q.Order("created_at DESC, id DESC").Limit(limit + 1).Find(&ms).Error; err != nil {
		return nil, fmt.Errorf("run list: %w", translate(err))
	}
	page := &RunPage{Runs: make([]*Run, 0, min(len(ms), limit))}
	for i := range ms {
		if i == limit {
			last := page.Runs[limit-1]
			page.Next = &RunCursor{CreatedAt: last.CreatedAt, ID: last.ID}
			break
		}
		page.Runs = append(page.Runs, runOf(&ms[i]))
	}
	return page, nil
}

// fenceRow is the run as the fence found it.
type fenceRow struct {
	State           string `gorm:"column:state"`
	LeaseDurationMS int64  `gorm:"column:lease_duration_ms"`
}

// fencedTx runs fn in a transaction that first proves the caller still holds the run's lease
// at epoch: the fencing UPDATE (which also row-locks the run on PostgreSQL, serialising event
// sequence numbers) matches zero rows once another replica has claimed the run. It extends the
// lease by its last granted duration, since a writing holder is alive.
func (s *Store) fencedTx(ctx context.Context, runID string, epoch int64, now time.Time, fn func(tx *gorm.DB, cur *fenceRow) error) error {
	if runID == "" {
		return errors.New("run id is required")
	}
	err := s.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		var rows []fenceRow
		res := tx.Raw(`UPDATE runs SET updated_at = ? WHERE id = ? AND lease_epoch = ? RETURNING state, lease_duration_ms`,
			now, runID, epoch).Scan(&rows)
		if res.Error != nil {
			return res.Error
		}
		if len(rows) == 0 {
			var n int64
			if err := tx.Table("runs").Where("id = ?", runID).Count(&n).Error; err != nil {
				return err
			}
			if n == 0 {
				return ErrNotFound
			}
			return ErrLeaseLost
		}
		cur := &rows[0]
		if drills.RunState(cur.State).IsTerminal() {
			return fmt.Errorf("%w (state %s)", ErrRunTerminal, cur.State)
		}
		if cur.LeaseDurationMS > 0 {
			if err := tx.Table("runs").Where("id = ?", runID).
				UpdateColumn("lease_expires_at", utcMS(now.Add(durOf(cur.LeaseDurationMS)))).Error; err != nil {
				return err
			}
		}
		return fn(tx, cur)
	})
	return translate(err)
}

// appendEvent adds the next entry of the run's timeline, numbered from the run's counter.
func appendEvent(tx *gorm.DB, runID string, at time.Time, kind, stepKey, message string, data any) error {
	// The counter on the run row is bumped under the row's lock, which every writer of the
	// run's timeline takes: numbers are unique and gapless.
	var nexts []int
	if err := tx.Raw(`UPDATE runs SET event_seq = event_seq + 1 WHERE id = ? RETURNING event_seq`, runID).Scan(&nexts).Error; err != nil {
		return fmt.Errorf("event %s: %w", kind, err)
	}
	if len(nexts) == 0 {
		return fmt.Errorf("event %s: run %s: %w", kind, runID, ErrNotFound)
	}
	next := nexts[0]
	ev := runEventModel{RunID: runID, Seq: next, At: at, Kind: kind, StepKey: stepKey, Message: message}
	if data != nil {
		d := mustJSON(data)
		ev.Data = &d
	}
	if err := tx.Create(&ev).Error; err != nil {
		return fmt.Errorf("event %s: %w", kind, err)
	}
	if isSQLite(tx) {
		// On PostgreSQL a trigger appends the audit row (migration 00007).
		return auditAppendSQLite(tx, AuditSourceRunEvent, runID, int64(next), at, eventContent(&ev))
	}
	return nil
}
