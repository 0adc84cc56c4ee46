package store

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"time"

	"gorm.io/gorm"
	"gorm.io/gorm/clause"

	"github.com/firedrill/firedrill/drills"
)

// Fire decisions: what was decided for one fire of a schedule. Every fire is decided once.
const (
	// FireRun: the fire created a run.
	FireRun = "run"
	// FireSkippedMissed: the fire was missed (the engine was down) and the schedule's policy is
	// to skip missed fires.
	FireSkippedMissed = "skipped_missed"
	// FireSkippedBlackout: the fire fell in a blackout window (Reason names it).
	FireSkippedBlackout = "skipped_blackout"
	// FireSkippedPaused: the schedule was paused when the fire came due.
	FireSkippedPaused = "skipped_paused"
	// FireSuperseded: a missed fire replaced by a later missed fire under the run_once policy.
	FireSuperseded = "superseded"
)

// ScheduleOrphanedBy is the PausedBy of a schedule that ScheduleSync found no longer defined in
// the estate. Such a schedule keeps its row and its fire history, is paused so that it can never
// fire, and is reported with Orphaned set. If a later sync defines it again, that pause (and only
// that one: an operator's pause stays) is lifted.
var ScheduleOrphanedBy = drills.Actor{Kind: drills.ActorSystem, Name: "estate"}

// ScheduleResumedReason is the PausedReason of a schedule that was paused and resumed.
const ScheduleResumedReason = "resumed"

// scheduleOrphanedReason is the PausedReason of an orphaned schedule.
const scheduleOrphanedReason = "no longer defined in the estate"

// ScheduleDef is a schedule as the estate defines it.
type ScheduleDef struct {
	Name string
	// PlanName is the plan the schedule runs; PlanFile where it is written, as in the estate.
	PlanName string
	PlanFile string
	// Spec is the rest of the definition (cron, zone, blackouts, policies) as JSON, for display;
	// the engine always reads the definition from the estate itself.
	Spec json.RawMessage
	// Anchor, when set, becomes the next fire time of a schedule that has neither a decided
	// fire nor a next fire stored (a new schedule): the engine decides fires from there on, so a
	// new schedule never backfills history.
	Anchor *time.Time
}

// Schedule is a stored schedule with its state.
type Schedule struct {
	Name     string
	PlanName string
	PlanFile string
	Spec     json.RawMessage
	// Paused, with who paused it, why and when. When not paused, PausedBy and PausedAt tell who
	// resumed it last and when (PausedReason "resumed"), or are empty if it was never paused.
	Paused       bool
	PausedBy     drills.Actor
	PausedReason string
	PausedAt     *time.Time
	// Orphaned: the estate no longer defines the schedule (see ScheduleOrphanedBy).
	Orphaned bool
	// LastFireTime is the latest fire decided (whatever the decision); NextFireTime the next
	// one the engine expects. Nil until known.
	LastFireTime *time.Time
	NextFireTime *time.Time
	UpdatedAt    time.Time
}

// FireRecord is one decided fire of a schedule.
type FireRecord struct {
	Schedule string
	FireTime time.Time
	// Decision is one of the Fire* constants; Reason says why (the blackout's name, ...).
	Decision string
	Reason   string
	// RunID is the run the fire created (decision FireRun), else empty.
	RunID     string
	DecidedBy string
	DecidedAt time.Time
}

func scheduleOf(m *scheduleModel) *Schedule {
	return &Schedule{
		Name: m.Name, PlanName: m.PlanName, PlanFile: m.PlanFile, Spec: rawOf((*jsonDoc)(&m.Spec)),
		Paused: m.Paused, PausedBy: m.PausedBy.actor(), PausedReason: m.PausedReason, PausedAt: utcPtr(m.PausedAt),
		Orphaned:     m.Paused && m.PausedBy.actor() == ScheduleOrphanedBy,
		LastFireTime: utcPtr(m.LastFireTime), NextFireTime: utcPtr(m.NextFireTime),
		UpdatedAt: m.UpdatedAt.UTC(),
	}
}

func fireRecordOf(m *scheduleFireModel) *FireRecord {
	return &FireRecord{
		Schedule: m.ScheduleName, FireTime: m.FireTime.UTC(), Decision: m.Decision, Reason: m.Reason,
		RunID: deref(m.RunID), DecidedBy: m.DecidedBy, DecidedAt: m.DecidedAt.UTC(),
	}
}

// ScheduleSync makes the stored schedules match the estate's, in one transaction: new ones are
// created, existing ones get the new definition and keep their pause state and fire history.
// Schedules the estate no longer defines are kept and paused as orphaned (ScheduleOrphanedBy);
// one defined again loses that pause.
func (s *Store) ScheduleSync(ctx context.Context, defs []ScheduleDef) error {
	seen := make(map[string]bool, len(defs))
	for i, d := range defs {
		if d.Name == "" {
			return fmt.Errorf("schedule sync: schedule %d: Name is required", i)
		}
		if seen[d.Name] {
			return fmt.Errorf("schedule sync: schedule %s is defined twice", d.Name)
		}
		seen[d.Name] = true
		if err := checkJSON(d.Spec); err != nil {
			return fmt.Errorf("schedule sync: schedule %s: spec: %w", d.Name, err)
		}
	}
	now := s.now(time.Time{})
	err := s.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		var existing []scheduleModel
		if err := tx.Find(&existing).Error; err != nil {
			return err
		}
		byName := make(map[string]*scheduleModel, len(existing))
		for i := range existing {
			byName[existing[i].Name] = &existing[i]
		}
		for _, d := range defs {
			spec := jsonDoc(d.Spec)
			if len(spec) == 0 {
				spec = jsonDoc("{}")
			}
			cur, ok := byName[d.Name]
			if !ok {
				m := scheduleModel{Name: d.Name, PlanName: d.PlanName, PlanFile: d.PlanFile, Spec: spec, UpdatedAt: now,
					NextFireTime: utcMSPtr(d.Anchor)}
				if err := tx.Clauses(clause.OnConflict{DoNothing: true}).Create(&m).Error; err != nil {
					return fmt.Errorf("schedule %s: %w", d.Name, err)
				}
				continue
			}
			set := map[string]any{"plan_name": d.PlanName, "plan_file": d.PlanFile, "spec": spec, "updated_at": now}
			if cur.Paused && cur.PausedBy.actor() == ScheduleOrphanedBy {
				set["paused"], set["paused_reason"], set["paused_at"] = false, "", nil
				setActor(set, "paused_by_", drills.Actor{})
			}
			if cur.LastFireTime == nil && cur.NextFireTime == nil && d.Anchor != nil {
				set["next_fire_time"] = utcMS(*d.Anchor)
			}
			if err := tx.Table("schedules").Where("name = ?", d.Name).UpdateColumns(set).Error; err != nil {
				return fmt.Errorf("schedule %s: %w", d.Name, err)
			}
		}
		for _, cur := range existing {
			if seen[cur.Name] || cur.Paused {
				continue
			}
			if err := tx.Table("schedules").Where("name = ?", cur.Name).UpdateColumns(setActor(map[string]any{
				"paused": true, "paused_reason": scheduleOrphanedReason,
				"paused_at": now, "next_fire_time": nil, "updated_at": now,
			}, "paused_by_", ScheduleOrphanedBy)).Error; err != nil {
				return fmt.Errorf("schedule %s: %w", cur.Name, err)
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("schedule sync: %w", translate(err))
	}
	return nil
}

// ScheduleList returns every stored schedule by name, orphaned ones included.
func (s *Store) ScheduleList(ctx context.Context) ([]*Schedule, error) {
	var ms []scheduleModel
	if err := s.db.WithContext(ctx).Order("name").Find(&ms).Error; err != nil {
		return nil, fmt.Errorf("schedule list: %w", translate(err))
	}
	out := make([]*Schedule, len(ms))
	for i := range ms {
		out[i] = scheduleOf(&ms[i])
	}
	return out, nil
}

// ScheduleGet returns the schedule name, or ErrNotFound.
func (s *Store) ScheduleGet(ctx context.Context, name string) (*Schedule, error) {
	var m scheduleModel
	if err := s.db.WithContext(ctx).Where("name = ?", name).Take(&m).Error; err != nil {
		return nil, fmt.Errorf("schedule get %s: %w", name, translate(err))
	}
	return scheduleOf(&m), nil
}

// SchedulePauseParams are the arguments of SchedulePause and ScheduleResume.
type SchedulePauseParams struct {
	Name string
	// By is who pauses or resumes; required.
	By drills.Actor
	// Reason says why the schedule is paused (ignored by ScheduleResume).
	Reason string
	// At defaults to the clock's now.
	At time.Time
}

// SchedulePause pauses a schedule: its fires are recorded as skipped_paused until it is resumed.
// Who paused it and why are recorded. Pausing a paused schedule replaces who and why.
func (s *Store) SchedulePause(ctx context.Context, p *SchedulePauseParams) (*Schedule, error) {
	return inTx(ctx, s, p, s.SchedulePauseTx)
}

// SchedulePauseTx is SchedulePause in tx.
func (s *Store) SchedulePauseTx(ctx context.Context, tx *Tx, p *SchedulePauseParams) (*Schedule, error) {
	if p == nil || p.Name == "" {
		return nil, errors.New("schedule pause: Name is required")
	}
	if err := checkActor("schedule pause "+p.Name+": By", p.By); err != nil {
		return nil, err
	}
	return scheduleSet(tx.with(ctx), "schedule pause "+p.Name, p.Name, setActor(map[string]any{
		"paused": true, "paused_reason": p.Reason, "paused_at": s.now(p.At),
	}, "paused_by_", p.By))
}

// ScheduleResume lifts a schedule's pause; fires that came due while it was paused stay
// skipped. Who resumed it and when are recorded in place of the pause (reason "resumed").
// An orphaned schedule cannot be resumed (ErrOrphaned).
func (s *Store) ScheduleResume(ctx context.Context, p *SchedulePauseParams) (*Schedule, error) {
	return inTx(ctx, s, p, s.ScheduleResumeTx)
}

// ErrOrphaned: the schedule is no longer defined in the estate (see ScheduleOrphanedBy).
var ErrOrphaned = errors.New("the estate no longer defines the schedule")

// ScheduleResumeTx is ScheduleResume in tx.
func (s *Store) ScheduleResumeTx(ctx context.Context, tx *Tx, p *SchedulePauseParams) (*Schedule, error) {
	if p == nil || p.Name == "" {
		return nil, errors.New("schedule resume: Name is required")
	}
	if err := checkActor("schedule resume "+p.Name+": By", p.By); err != nil {
		return nil, err
	}
	db := tx.with(ctx)
	var cur scheduleModel
	if err := db.Where("name = ?", p.Name).Take(&cur).Error; err != nil {
		return nil, fmt.Errorf("schedule resume %s: %w", p.Name, translate(err))
	}
	if scheduleOf(&cur).Orphaned {
		return nil, fmt.Errorf("schedule resume %s: %w", p.Name, ErrOrphaned)
	}
	return scheduleSet(db, "schedule resume "+p.Name, p.Name, setActor(map[string]any{
		"paused": false, "paused_reason": ScheduleResumedReason, "paused_at": s.now(p.At),
	}, "paused_by_", p.By))
}

func scheduleSet(db *gorm.DB, op, name string, set map[string]any) (*Schedule, error) {
	var m scheduleModel
	res := db.Table("schedules").Where("name = ?", name).UpdateColumns(set)
	if res.Error != nil {
		return nil, fmt.Errorf("%s: %w", op, translate(res.Error))
	}
	if res.RowsAffected == 0 {
		return nil, fmt.Errorf("%s: %w", op, ErrNotFound)
	}
	if err := db.Where("name = ?", name).Take(&m).Error; err != nil {
		return nil, fmt.Errorf("%s: %w", op, translate(err))
	}
	return scheduleOf(&m), nil
}

// ScheduleFireParams are the arguments of ScheduleFire.
type ScheduleFireParams struct {
	Schedule string
	FireTime time.Time
	// Decision is one of the Fire* constants.
	Decision string
	Reason   string
	// DecidedBy names the replica (or person) that decided.
	DecidedBy string
	// Lease and LeaseEpoch, when Lease is set, fence the decision: it is recorded only while
	// DecidedBy holds that lease, unexpired, at that epoch; otherwise ErrLeaseLost and nothing
	// changes. A decider that paused past its lease can so never decide for the next one.
	Lease      string
	LeaseEpoch int64
	// Run is the run to create for decision FireRun (required then, forbidden otherwise). Its
	// ScheduleName and FireTime are set from the fire.
	Run *RunInsertParams
	// NextFireTime, when set, is stored as the schedule's next expected fire, provided this
	// fire is the schedule's latest.
	NextFireTime *time.Time
	// At is when the decision was taken; defaults to the clock's now.
	At time.Time
}

// ScheduleFireResult is what ScheduleFire did or found.
type ScheduleFireResult struct {
	Fire *FireRecord
	// Run is the fire's run, if its decision created one.
	Run *Run
	// Created is false when the fire had already been decided (by another replica, or before a
	// restart or clock step): Fire and Run are then what was decided first.
	Created bool
}

// ScheduleFire decides one fire of a schedule, in one transaction: the decision row, for
// FireRun the run (unique on schedule and fire time), and the schedule's last and next fire
// times. A fire is decided once: if it already was, nothing changes and the first decision is
// returned with Created false; this is not an error.
func (s *Store) ScheduleFire(ctx context.Context, p *ScheduleFireParams) (*ScheduleFireResult, error) {
	c, err := checkScheduleFire(p)
	if err != nil {
		return nil, err
	}
	fire, op, runParams := c.fire, c.op, c.run
	at := s.now(p.At)
	res := &ScheduleFireResult{}
	err = s.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		if p.Lease != "" {
			if err := s.checkLeaseHeld(tx, p.Lease, p.DecidedBy, p.LeaseEpoch, at); err != nil {
				return err
			}
		}
		// Lock the schedule: concurrent deciders of the same schedule queue here.
		q := tx
		if s.dialect == DialectPostgres {
			q = q.Clauses(clause.Locking{Strength: clause.LockingStrengthUpdate})
		}
		var sched scheduleModel
		if err := q.Where("name = ?", p.Schedule).Take(&sched).Error; err != nil {
			return err
		}
		fm := scheduleFireModel{
			ScheduleName: p.Schedule, FireTime: fire, Decision: p.Decision, Reason: p.Reason,
			DecidedBy: p.DecidedBy, DecidedAt: at,
		}
		ins := tx.Clauses(clause.OnConflict{DoNothing: true}).Create(&fm)
		if ins.Error != nil {
			return ins.Error
		}
		if ins.RowsAffected == 0 {
			return loadFire(tx, p.Schedule, fire, res)
		}
		res.Created = true
		if p.Run != nil {
			rm, err := s.runInsertTx(tx, runParams, at)
			if err != nil {
				return fmt.Errorf("run: %w", err)
			}
			if err := tx.Table("schedule_fires").Where("schedule_name = ? AND fire_time = ?", p.Schedule, fire).
				UpdateColumn("run_id", rm.ID).Error; err != nil {
				return err
			}
			fm.RunID = &rm.ID
			res.Run = runOf(rm)
		}
		res.Fire = fireRecordOf(&fm)
		if sched.LastFireTime == nil || !sched.LastFireTime.After(fire) {
			set := map[string]any{"last_fire_time": fire}
			if p.NextFireTime != nil {
				set["next_fire_time"] = utcMS(*p.NextFireTime)
			}
			return tx.Table("schedules").Where("name = ?", p.Schedule).UpdateColumns(set).Error
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("%s: %w", op, translate(err))
	}
	return res, nil
}

// checkedFire is a ScheduleFireParams that checkScheduleFire accepted.
type checkedFire struct {
	p *ScheduleFireParams
	// fire is the fire time as stored; op names the fire in errors.
	fire time.Time
	op   string
	// run is the run to create (p.Run with the fire set), nil for a decision that creates none.
	run *RunInsertParams
}

func checkScheduleFire(p *ScheduleFireParams) (*checkedFire, error) {
	if p == nil || p.Schedule == "" || p.FireTime.IsZero() {
		return nil, errors.New("schedule fire: Schedule and FireTime are required")
	}
	c := &checkedFire{p: p, fire: utcMS(p.FireTime)}
	c.op = fmt.Sprintf("schedule fire %s at %s", p.Schedule, c.fire.Format(time.RFC3339))
	switch p.Decision {
	case FireRun:
		if p.Run == nil {
			return nil, fmt.Errorf("%s: decision %s needs Run", c.op, p.Decision)
		}
	case FireSkippedMissed, FireSkippedBlackout, FireSkippedPaused, FireSuperseded:
		if p.Run != nil {
			return nil, fmt.Errorf("%s: decision %s creates no run", c.op, p.Decision)
		}
	default:
		return nil, fmt.Errorf("%s: decision %q is not one of %s, %s, %s, %s, %s", c.op, p.Decision,
			FireRun, FireSkippedMissed, FireSkippedBlackout, FireSkippedPaused, FireSuperseded)
	}
	if p.Run != nil {
		run := *p.Run
		run.ScheduleName = p.Schedule
		run.FireTime = &c.fire
		if err := checkRunInsert(&run); err != nil {
			return nil, fmt.Errorf("%s: %w", c.op, err)
		}
		c.run = &run
	}
	return c, nil
}

func loadFire(tx *gorm.DB, schedule string, fire time.Time, res *ScheduleFireResult) error {
	var fm scheduleFireModel
	if err := tx.Where("schedule_name = ? AND fire_time = ?", schedule, fire).Take(&fm).Error; err != nil {
		return fmt.Errorf("decided fire: %w", err)
	}
	res.Fire = fireRecordOf(&fm)
	if fm.RunID != nil {
		var rm runModel
		if err := tx.Where("id = ?", *fm.RunID).Take(&rm).Error; err != nil {
			return fmt.Errorf("decided fire's run %s: %w", *fm.RunID, err)
		}
		res.Run = runOf(&rm)
	}
	return nil
}

// ScheduleFireListParams are the arguments of ScheduleFireList.
type ScheduleFireListParams struct {
	// Schedule names the schedule; empty for every schedule.
	Schedule string
	// From and To bound the fire time: From <= fire time < To. A zero end is open.
	From, To time.Time
}

// ScheduleFireList returns the decided fires that p selects, oldest first.
func (s *Store) ScheduleFireList(ctx context.Context, p *ScheduleFireListParams) ([]*FireRecord, error) {
	if p == nil {
		p = &ScheduleFireListParams{}
	}
	name, from, to := p.Schedule, p.From, p.To
	q := s.db.WithContext(ctx).Model(&scheduleFireModel{})
	if name != "" {
		q = q.Where("schedule_name = ?", name)
	}
	if !from.IsZero() {
		q = q.Where("fire_time >= ?", utcMS(from))
	}
	if !to.IsZero() {
		q = q.Where("fire_time < ?", utcMS(to))
	}
	var ms []scheduleFireModel
	if err := q.Order("fire_time, schedule_name").Find(&ms).Error; err != nil {
		return nil, fmt.Errorf("schedule fire list %s: %w", name, translate(err))
	}
	out := make([]*FireRecord, len(ms))
	for i := range ms {
		out[i] = fireRecordOf(&ms[i])
	}
	return out, nil
}

// ScheduleFireRecent returns the latest limit decided fires of schedule name, newest first.
func (s *Store) ScheduleFireRecent(ctx context.Context, name string, limit int) ([]*FireRecord, error) {
	if limit <= 0 {
		limit = 10
	}
	var ms []scheduleFireModel
	if err := s.db.WithContext(ctx).Where("schedule_name = ?", name).Order("fire_time DESC").Limit(limit).Find(&ms).Error; err != nil {
		return nil, fmt.Errorf("schedule fire recent %s: %w", name, translate(err))
	}
	out := make([]*FireRecord, len(ms))
	for i := range ms {
		out[i] = fireRecordOf(&ms[i])
	}
	return out, nil
}

// checkLeaseHeld is the fence of a write made under a named lease: owner holds it at epoch and
// it has not expired at now. On PostgreSQL the lease row stays locked until tx ends, so the
// lease cannot change hands before the write commits.
func (s *Store) checkLeaseHeld(tx *gorm.DB, name, owner string, epoch int64, now time.Time) error {
	q := tx
	if s.dialect == DialectPostgres {
		q = q.Clauses(clause.Locking{Strength: clause.LockingStrengthShare})
	}
	var cur leaseModel
	err := q.Where("name = ?", name).Take(&cur).Error
	switch {
	case errors.Is(err, gorm.ErrRecordNotFound):
		return fmt.Errorf("lease %s is not held: %w", name, ErrLeaseLost)
	case err != nil:
		return err
	case cur.Owner != owner || cur.Epoch != epoch:
		return fmt.Errorf("lease %s is held by %q at epoch %d, not %q at %d: %w", name, cur.Owner, cur.Epoch, owner, epoch, ErrLeaseLost)
	case !cur.ExpiresAt.After(now):
		return fmt.Errorf("lease %s of %q expired at %s: %w", name, owner, cur.ExpiresAt.UTC().Format(time.RFC3339Nano), ErrLeaseLost)
	}
	return nil
}

// ScheduleGetMany returns the stored schedules of names, by name; names not stored are absent.
func (s *Store) ScheduleGetMany(ctx context.Context, names []string) (map[string]*Schedule, error) {
	out := make(map[string]*Schedule, len(names))
	for chunk := range slices.Chunk(names, 1000) {
		var ms []scheduleModel
		if err := s.db.WithContext(ctx).Where("name IN ?", chunk).Find(&ms).Error; err != nil {
			return nil, fmt.Errorf("schedule get of %d: %w", len(names), translate(err))
		}
		for i := range ms {
			out[ms[i].Name] = scheduleOf(&ms[i])
		}
	}
	return out, nil
}
