package store

import (
	"context"
	"database/sql/driver"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"gorm.io/gorm"
	"gorm.io/gorm/clause"
)

// MaxScheduleFireBatch bounds one ScheduleFireBatch: its multi-row statements stay under both
// databases' limits on bound parameters.
const MaxScheduleFireBatch = 250

// ScheduleFireBatch decides many fires in one transaction, each as ScheduleFire decides it:
// a fire already decided is left as it is and returned with Created false. Results are in the
// order of ps. The fires must share one decider (DecidedBy, Lease, LeaseEpoch): the lease is
// checked once, and the whole batch is recorded or, on any error, nothing is.
//
// It exists for co-due schedules: one commit (one fsync) and a few multi-row statements for
// the whole batch, where a loop of ScheduleFire pays a commit and nine round trips per fire.
// Exactly-once holds as in ScheduleFire: every schedule of the batch is row-locked (in name
// order, so two batches cannot deadlock) before its decided fires are read, so the fires the
// batch inserts are exactly those no one decided; the primary key of schedule_fires and the
// unique (schedule_name, fire_time) of runs stay the last word.
func (s *Store) ScheduleFireBatch(ctx context.Context, ps []*ScheduleFireParams) ([]*ScheduleFireResult, error) {
	if len(ps) == 0 {
		return nil, nil
	}
	if len(ps) > MaxScheduleFireBatch {
		return nil, fmt.Errorf("schedule fire batch: %d fires, at most %d", len(ps), MaxScheduleFireBatch)
	}
	cs := make([]*checkedFire, len(ps))
	seen := make(map[fireKey]bool, len(ps))
	for i, p := range ps {
		c, err := checkScheduleFire(p)
		if err != nil {
			return nil, err
		}
		if p.DecidedBy != ps[0].DecidedBy || p.Lease != ps[0].Lease || p.LeaseEpoch != ps[0].LeaseEpoch {
			return nil, fmt.Errorf("%s: a batch has one decider (DecidedBy, Lease and LeaseEpoch of its first fire)", c.op)
		}
		k := fireKey{p.Schedule, c.fire.UnixMilli()}
		if seen[k] {
			return nil, fmt.Errorf("%s: twice in the batch", c.op)
		}
		seen[k] = true
		cs[i] = c
	}
	first := ps[0]
	results := make([]*ScheduleFireResult, len(ps))
	err := s.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		if first.Lease != "" {
			if err := s.checkLeaseHeld(tx, first.Lease, first.DecidedBy, first.LeaseEpoch, s.now(first.At)); err != nil {
				return err
			}
		}
		scheds, err := s.lockSchedules(tx, cs)
		if err != nil {
			return err
		}
		decided, err := decidedFires(tx, cs)
		if err != nil {
			return err
		}
		var fresh []*checkedFire
		for i, c := range cs {
			if decided[fireKey{c.p.Schedule, c.fire.UnixMilli()}] {
				results[i] = &ScheduleFireResult{}
				if err := loadFire(tx, c.p.Schedule, c.fire, results[i]); err != nil {
					return fmt.Errorf("%s: %w", c.op, err)
				}
				continue
			}
			results[i] = &ScheduleFireResult{Created: true}
			fresh = append(fresh, c)
		}
		if len(fresh) == 0 {
			return nil
		}
		runs, evs, err := s.insertFireRuns(tx, fresh)
		if err != nil {
			return err
		}
		fms := make([]scheduleFireModel, len(fresh))
		for i, c := range fresh {
			fms[i] = scheduleFireModel{
				ScheduleName: c.p.Schedule, FireTime: c.fire, Decision: c.p.Decision, Reason: c.p.Reason,
				DecidedBy: c.p.DecidedBy, DecidedAt: s.now(c.p.At),
			}
			if m := runs[c]; m != nil {
				fms[i].RunID = &m.ID
			}
		}
		// Under the schedules' locks no one else inserts these fires; a conflict would mean a
		// writer that does not lock, and the batch refuses to guess.
		ins := tx.Clauses(clause.OnConflict{DoNothing: true}).CreateInBatches(fms, MaxScheduleFireBatch)
		if ins.Error != nil {
			return ins.Error
		}
		if ins.RowsAffected != int64(len(fms)) {
			return fmt.Errorf("schedule fire batch: %d of %d fires inserted: decided meanwhile", ins.RowsAffected, len(fms))
		}
		i := 0
		for _, r := range results {
			if !r.Created {
				continue
			}
			r.Fire = fireRecordOf(&fms[i])
			if m := runs[fresh[i]]; m != nil {
				r.Run = runOf(m)
			}
			i++
		}
		if err := s.advanceSchedules(tx, scheds, fresh); err != nil {
			return err
		}
		// The run_created events' audit copies are queued for the chainer (migration 00015):
		// the batch takes no lock another writer waits for.
		return insertRunEvents(tx, evs)
	})
	if err != nil {
		return nil, fmt.Errorf("schedule fire batch of %d: %w", len(ps), translate(err))
	}
	return results, nil
}

type fireKey struct {
	schedule string
	fireMS   int64
}

// lockSchedules row-locks the batch's schedules in name order and returns them by name; one
// that does not exist is ErrNotFound.
func (s *Store) lockSchedules(tx *gorm.DB, cs []*checkedFire) (map[string]*scheduleModel, error) {
	var names []string
	for _, c := range cs {
		names = append(names, c.p.Schedule)
	}
	slices.Sort(names)
	names = slices.Compact(names)
	q := tx
	if s.dialect == DialectPostgres {
		q = q.Clauses(clause.Locking{Strength: clause.LockingStrengthUpdate})
	}
	var ms []scheduleModel
	if err := q.Where("name IN ?", names).Order("name").Find(&ms).Error; err != nil {
		return nil, err
	}
	out := make(map[string]*scheduleModel, len(ms))
	for i := range ms {
		out[ms[i].Name] = &ms[i]
	}
	for _, n := range names {
		if out[n] == nil {
			return nil, fmt.Errorf("schedule %s: %w", n, ErrNotFound)
		}
	}
	return out, nil
}

// decidedFires returns which of the batch's fires are already decided.
func decidedFires(tx *gorm.DB, cs []*checkedFire) (map[fireKey]bool, error) {
	var names []string
	var fires []time.Time
	for _, c := range cs {
		names = append(names, c.p.Schedule)
		fires = append(fires, c.fire)
	}
	slices.Sort(names)
	names = slices.Compact(names)
	slices.SortFunc(fires, time.Time.Compare)
	fires = slices.CompactFunc(fires, time.Time.Equal)
	var ms []scheduleFireModel
	if err := tx.Select("schedule_name", "fire_time").Where("schedule_name IN ? AND fire_time IN ?", names, fires).Find(&ms).Error; err != nil {
		return nil, err
	}
	out := make(map[fireKey]bool, len(ms))
	for i := range ms {
		out[fireKey{ms[i].ScheduleName, ms[i].FireTime.UnixMilli()}] = true
	}
	return out, nil
}

// insertFireRuns creates the runs of the fresh fires that create one, as runInsertTx does for
// one, and returns them with their run_created events, for insertRunEvents.
func (s *Store) insertFireRuns(tx *gorm.DB, fresh []*checkedFire) (map[*checkedFire]*runModel, []*runEventModel, error) {
	var planIDs []string
	for _, c := range fresh {
		if c.run != nil {
			planIDs = append(planIDs, c.run.PlanID)
		}
	}
	if len(planIDs) == 0 {
		return nil, nil, nil
	}
	slices.Sort(planIDs)
	planIDs = slices.Compact(planIDs)
	var plans []struct{ ID, SHA256 string }
	if err := tx.Table("plans").Select("id", "sha256").Where("id IN ?", planIDs).Find(&plans).Error; err != nil {
		return nil, nil, err
	}
	shaOf := make(map[string]string, len(plans))
	for _, p := range plans {
		shaOf[p.ID] = p.SHA256
	}
	out := make(map[*checkedFire]*runModel, len(fresh))
	var ms []*runModel
	var evs []*runEventModel
	for _, c := range fresh {
		if c.run == nil {
			continue
		}
		sha, ok := shaOf[c.run.PlanID]
		if !ok {
			return nil, nil, fmt.Errorf("%s: run: plan %s: %w", c.op, c.run.PlanID, ErrNotFound)
		}
		at := s.now(c.p.At)
		m, err := s.newRunModel(c.run, sha, at)
		if err != nil {
			return nil, nil, err
		}
		// The run_created event is the run's first: appendEvent would number it 1.
		m.EventSeq = 1
		d := mustJSON(runCreatedData(c.run, m))
		evs = append(evs, &runEventModel{RunID: m.ID, Seq: 1, At: at, Kind: EventRunCreated, Data: &d})
		ms = append(ms, m)
		out[c] = m
	}
	if err := tx.CreateInBatches(ms, MaxScheduleFireBatch).Error; err != nil {
		return nil, nil, fmt.Errorf("runs: %w", err)
	}
	return out, evs, nil
}

// insertRunEvents inserts the batch's run_created events and their audit rows: on PostgreSQL
// the run_events trigger appends each, in insertion order; on SQLite the store does.
func insertRunEvents(tx *gorm.DB, evs []*runEventModel) error {
	if len(evs) == 0 {
		return nil
	}
	if err := tx.CreateInBatches(evs, MaxScheduleFireBatch).Error; err != nil {
		return fmt.Errorf("run_created events: %w", err)
	}
	if isSQLite(tx) {
		for _, ev := range evs {
			if err := auditAppendSQLite(tx, AuditSourceRunEvent, ev.RunID, int64(ev.Seq), ev.At, eventContent(ev)); err != nil {
				return err
			}
		}
	}
	return nil
}

// advanceSchedules moves each schedule's last and next fire times as the batch's fresh fires,
// applied one by one in fire-time order, would under ScheduleFire.
func (s *Store) advanceSchedules(tx *gorm.DB, scheds map[string]*scheduleModel, fresh []*checkedFire) error {
	byTime := slices.Clone(fresh)
	slices.SortStableFunc(byTime, func(a, b *checkedFire) int { return a.fire.Compare(b.fire) })
	type advance struct{ last, next *time.Time }
	moved := make(map[string]*advance)
	var order []string
	for _, c := range byTime {
		m := scheds[c.p.Schedule]
		a := moved[m.Name]
		if a == nil {
			a = &advance{last: m.LastFireTime, next: m.NextFireTime}
		}
		if a.last != nil && a.last.After(c.fire) {
			continue
		}
		if moved[m.Name] == nil {
			moved[m.Name] = a
			order = append(order, m.Name)
		}
		fire := c.fire
		a.last = &fire
		if c.p.NextFireTime != nil {
			next := utcMS(*c.p.NextFireTime)
			a.next = &next
		}
	}
	if len(order) == 0 {
		return nil
	}
	if s.dialect != DialectPostgres {
		for _, name := range order {
			a := moved[name]
			if err := tx.Table("schedules").Where("name = ?", name).
				UpdateColumns(map[string]any{"last_fire_time": *a.last, "next_fire_time": a.next}).Error; err != nil {
				return err
			}
		}
		return nil
	}
	// One statement for all, its rows as arrays: three parameters whatever the batch's size.
	names := make([]string, len(order))
	lasts := make([]string, len(order))
	nexts := make([]string, len(order)) // "" for none
	for i, name := range order {
		a := moved[name]
		names[i], lasts[i] = name, a.last.Format(time.RFC3339Nano)
		if a.next != nil {
			nexts[i] = a.next.Format(time.RFC3339Nano)
		}
	}
	sql := `UPDATE schedules AS s SET last_fire_time = u.last, next_fire_time = NULLIF(u.next, '')::timestamptz
FROM unnest(?::text[], ?::timestamptz[], ?::text[]) AS u(name, last, next) WHERE s.name = u.name`
	args := []any{pgTextArray(names), pgTextArray(lasts), pgTextArray(nexts)}
	res := tx.Exec(sql, args...)
	if res.Error != nil {
		return res.Error
	}
	if res.RowsAffected != int64(len(order)) {
		return errors.New("schedule fire batch: a locked schedule was not advanced")
	}
	return nil
}

// pgTextArray is a PostgreSQL array passed as its text literal (cast in the statement): gorm
// would expand a Go slice into a list of parameters.
type pgTextArray []string

var pgArrayEscaper = strings.NewReplacer(`\`, `\\`, `"`, `\"`)

func (a pgTextArray) Value() (driver.Value, error) {
	var b strings.Builder
	b.WriteByte('{')
	for i, v := range a {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteByte('"')
		b.WriteString(pgArrayEscaper.Replace(v))
		b.WriteByte('"')
	}
	b.WriteByte('}')
	return b.String(), nil
}
