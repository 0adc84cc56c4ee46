package control

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/firedrill/firedrill/drills"
	"github.com/firedrill/firedrill/orchestrator/store"
)

// LocalLayout is how fire times are shown: in the schedule's time zone, with its abbreviation.
const LocalLayout = "2006-01-02 15:04 MST"

// Defaults of the schedule views.
const (
	// DefaultRecentFires is how many decided fires ScheduleGet shows.
	DefaultRecentFires = 10
	// nextFiresShown is how many future fires ScheduleGet shows.
	nextFiresShown = 5
)

// estate returns the server's estate, or a conflict when it has none.
func (c *Control) estate() (*drills.Estate, error) {
	if c.cfg.Estate == nil || c.cfg.Estate.Estate == nil {
		return nil, conflictf("this server has no estate: start firedrill serve with --config")
	}
	return c.cfg.Estate.Estate, nil
}

// ScheduleList lists the schedules: the estate's, then recorded ones it no longer defines.
func (c *Control) ScheduleList(ctx context.Context, caller *Caller) ([]ScheduleView, error) {
	if err := c.authorize(ctx, caller, OpScheduleRead, "", ""); err != nil {
		return nil, err
	}
	est, err := c.estate()
	if err != nil {
		return nil, err
	}
	recs, err := c.cfg.Store.ScheduleList(ctx)
	if err != nil {
		return nil, internal(err)
	}
	return scheduleViewsOf(est, recs, c.cfg.Clock.Now()), nil
}

// ScheduleGet returns one schedule.
func (c *Control) ScheduleGet(ctx context.Context, caller *Caller, name string) (*ScheduleDetail, error) {
	if err := c.authorize(ctx, caller, OpScheduleRead, "", name); err != nil {
		return nil, err
	}
	if name == "" {
		return nil, invalidf("name", "the schedule's name is required")
	}
	est, err := c.estate()
	if err != nil {
		return nil, err
	}
	d, err := scheduleDetailOf(ctx, c.cfg.Store, est, name, DefaultRecentFires, c.cfg.Clock.Now())
	if err != nil {
		return nil, storeError(err, "schedule "+name, nil)
	}
	return d, nil
}

// SchedulePause pauses a schedule: its fires are skipped until it is resumed.
func (c *Control) SchedulePause(ctx context.Context, caller *Caller, p *SchedulePauseParams) (*ScheduleView, error) {
	return c.schedulePause(ctx, caller, p, true)
}

// ScheduleResume resumes a paused schedule.
func (c *Control) ScheduleResume(ctx context.Context, caller *Caller, p *SchedulePauseParams) (*ScheduleView, error) {
	return c.schedulePause(ctx, caller, p, false)
}

func (c *Control) schedulePause(ctx context.Context, caller *Caller, p *SchedulePauseParams, pause bool) (*ScheduleView, error) {
	if p == nil {
		p = &SchedulePauseParams{}
	}
	name := string(OpSchedulePause)
	if !pause {
		name = recScheduleResume
	}
	if err := c.authorize(ctx, caller, OpSchedulePause, name, p.Name); err != nil {
		return nil, err
	}
	fail := func(err error) error { return c.failed(ctx, caller, name, p.Name, err, "schedule "+p.Name, nil) }
	switch {
	case p.Name == "":
		return nil, fail(invalidf("name", "the schedule's name is required"))
	case pause && strings.TrimSpace(p.Reason) == "":
		return nil, fail(invalidf("reason", "reason is required: say why the schedule is paused; it is recorded"))
	case len(p.Reason) > maxComment:
		return nil, fail(invalidf("reason", "reason is longer than %d characters", maxComment))
	}
	// A schedule the estate declares but the database does not know yet can be paused before
	// its first fire: it is recorded first.
	recorded, err := c.recordSchedule(ctx, p.Name)
	if err != nil {
		return nil, fail(err)
	}
	var rec *store.Schedule
	err = c.cfg.Store.InTx(ctx, func(tx *store.Tx) error {
		sp := &store.SchedulePauseParams{Name: p.Name, By: caller.Actor, Reason: p.Reason, At: c.cfg.Clock.Now()}
		var err error
		if pause {
			rec, err = c.cfg.Store.SchedulePauseTx(ctx, tx, sp)
		} else {
			rec, err = c.cfg.Store.ScheduleResumeTx(ctx, tx, sp)
		}
		if err != nil {
			return err
		}
		msg := "schedule resumed"
		if pause {
			msg = "schedule paused"
		}
		detail := map[string]any{"reason": p.Reason}
		if recorded {
			detail["recorded"] = true
		}
		return c.recordTx(ctx, tx, caller, name, p.Name, msg, detail)
	})
	if err != nil {
		return nil, fail(err)
	}
	var est *drills.Estate
	var sch *drills.Schedule
	if c.cfg.Estate != nil && c.cfg.Estate.Estate != nil {
		est = c.cfg.Estate.Estate
		sch = est.Schedule(p.Name)
	}
	v := scheduleViewOf(est, sch, rec, c.cfg.Clock.Now())
	return &v, nil
}

// recordSchedule records the estate's schedule name when the database does not know it yet,
// and says whether it did. serve records the estate's schedules when its scheduler starts;
// until one has, a schedule is listed (recorded false) but has no row to pause.
//
// It records with ScheduleSync, which runs in a transaction of its own (the store has no Tx
// twin of it): recording is what a starting scheduler does anyway, so an operation that then
// fails leaves the schedule recorded and active, as serve would have. Every other stored
// schedule is passed back as stored, so the sync creates the one row and changes nothing else
// (orphaned schedules are left out: they stay as they are). The new row has no anchor: the
// first scheduler that syncs it anchors it at its own next fire, so it never backfills fires
// from before that scheduler ran.
func (c *Control) recordSchedule(ctx context.Context, name string) (bool, error) {
	if c.cfg.Estate == nil || c.cfg.Estate.Estate == nil {
		return false, nil
	}
	sch := c.cfg.Estate.Estate.Schedule(name)
	if sch == nil {
		return false, nil
	}
	recs, err := c.cfg.Store.ScheduleList(ctx)
	if err != nil {
		return false, err
	}
	defs := make([]store.ScheduleDef, 0, len(recs)+1)
	for _, r := range recs {
		if r.Name == name {
			return false, nil // recorded already
		}
		if !r.Orphaned {
			defs = append(defs, store.ScheduleDef{Name: r.Name, PlanName: r.PlanName, PlanFile: r.PlanFile, Spec: r.Spec})
		}
	}
	defs = append(defs, store.ScheduleDef{Name: sch.Name, PlanFile: sch.Plan})
	if err := c.cfg.Store.ScheduleSync(ctx, defs); err != nil {
		return false, err
	}
	c.log.InfoContext(ctx, "schedule recorded ahead of the scheduler", "schedule", name)
	return true, nil
}

// CalendarGet returns the calendar.
func (c *Control) CalendarGet(ctx context.Context, caller *Caller, p *CalendarParams) (*Calendar, error) {
	if p == nil {
		p = &CalendarParams{}
	}
	if err := c.authorize(ctx, caller, OpScheduleRead, "", ""); err != nil {
		return nil, err
	}
	switch {
	case p.From.IsZero():
		return nil, invalidf("from", "from is required (YYYY-MM-DD)")
	case p.To.IsZero():
		return nil, invalidf("to", "to is required (YYYY-MM-DD)")
	case dateOf(p.To).Before(dateOf(p.From)):
		return nil, invalidf("to", "to %s is before from %s", p.To.Format(time.DateOnly), p.From.Format(time.DateOnly))
	case dateOf(p.To).Sub(dateOf(p.From)) > 3*366*24*time.Hour:
		return nil, invalidf("to", "the calendar spans at most three years")
	}
	est, err := c.estate()
	if err != nil {
		return nil, err
	}
	schedules := est.Schedules
	if p.Schedule != "" {
		sch := est.Schedule(p.Schedule)
		if sch == nil {
			e := notFoundf("the estate defines no schedule %q", p.Schedule)
			e.Field = "schedule"
			return nil, e
		}
		schedules = []*drills.Schedule{sch}
	}
	passed, err := c.cfg.Store.LastPassedRuns(ctx)
	if err != nil {
		return nil, internal(err)
	}
	cal := calendarOf(est, schedules, passed, p.From, p.To, c.cfg.Clock.Now())
	// The decided fires, skipped ones with their reason, from a day before the period's first
	// local midnight anywhere to a day after its last.
	recs, err := c.cfg.Store.ScheduleFireList(ctx, &store.ScheduleFireListParams{Schedule: p.Schedule,
		From: dateOf(p.From).AddDate(0, 0, -1), To: dateOf(p.To).AddDate(0, 0, 2)})
	if err != nil {
		return nil, internal(err)
	}
	withDecisions(cal, est, recs, p.From, p.To)
	return cal, nil
}

// ServiceList lists the estate's services with their due status.
func (c *Control) ServiceList(ctx context.Context, caller *Caller) ([]ServiceView, error) {
	if err := c.authorize(ctx, caller, OpEstateRead, "", ""); err != nil {
		return nil, err
	}
	est, err := c.estate()
	if err != nil {
		return nil, err
	}
	passed, err := c.cfg.Store.LastPassedRuns(ctx)
	if err != nil {
		return nil, internal(err)
	}
	dues := map[string]drills.DueStatus{}
	for _, d := range drills.DueStatuses(est, passed, c.cfg.Clock.Now()) {
		dues[d.Service] = d
	}
	out := make([]ServiceView, 0, len(est.Services))
	for _, svc := range est.Services {
		if svc == nil {
			continue
		}
		v := ServiceView{
			Name: svc.Name, Description: svc.Description, Owner: svc.Owner, Criticality: string(svc.Criticality),
			RTOMS: svc.RTO.Milliseconds(), RPOMS: svc.RPO.Milliseconds(), DependsOn: nonNil(slices.Clone(svc.DependsOn)),
		}
		if d, ok := dues[svc.Name]; ok {
			due := serviceDueOf(d)
			v.DrillEvery, v.LastPassed, v.NextDue, v.Overdue, v.NeverDrilled = due.Every, due.LastPassed, due.NextDue, due.Overdue, due.NeverDrilled
		}
		out = append(out, v)
	}
	return out, nil
}

// SiteList lists the estate's sites.
func (c *Control) SiteList(ctx context.Context, caller *Caller) ([]SiteView, error) {
	if err := c.authorize(ctx, caller, OpEstateRead, "", ""); err != nil {
		return nil, err
	}
	est, err := c.estate()
	if err != nil {
		return nil, err
	}
	out := make([]SiteView, 0, len(est.Sites))
	for _, s := range est.Sites {
		if s == nil {
			continue
		}
		v := SiteView{Name: s.Name, Role: string(s.Role), Ingress: s.Ingress, Databases: []string{}}
		if n := s.Nomad; n != nil {
			v.Nomad = &NomadView{Address: n.Address, Region: n.Region, Datacenter: n.Datacenter, Namespace: n.Namespace}
		}
		for _, d := range s.Databases {
			if d != nil {
				v.Databases = append(v.Databases, d.Name)
			}
		}
		out = append(out, v)
	}
	return out, nil
}

// scheduleViewsOf merges the estate's schedules with the recorded ones: the estate's in its
// order, then recorded schedules it no longer defines. It reads nothing.
func scheduleViewsOf(estate *drills.Estate, recs []*store.Schedule, now time.Time) []ScheduleView {
	byName := map[string]*store.Schedule{}
	for _, r := range recs {
		byName[r.Name] = r
	}
	out := []ScheduleView{}
	if estate != nil {
		for _, sch := range estate.Schedules {
			out = append(out, scheduleViewOf(estate, sch, byName[sch.Name], now))
			delete(byName, sch.Name)
		}
	}
	for _, r := range recs {
		if byName[r.Name] != nil {
			out = append(out, scheduleViewOf(estate, nil, r, now))
		}
	}
	return out
}

// scheduleViewOf is one schedule from its definition (nil when the estate no longer defines
// it) and its record (nil before serve recorded it).
func scheduleViewOf(estate *drills.Estate, sch *drills.Schedule, rec *store.Schedule, now time.Time) ScheduleView {
	v := ScheduleView{Blackouts: []string{}, Approval: []string{}}
	if sch != nil {
		v.Name, v.Plan, v.Cron, v.TimeZone, v.InEstate = sch.Name, sch.Plan, sch.Cron, sch.TimeZone, true
		v.Missed = string(sch.Missed)
		if v.Missed == "" {
			v.Missed = string(drills.MissedSkip)
		}
		within := sch.StartWithin
		if within <= 0 {
			within = drills.DefaultStartWithin
		}
		v.StartWithin = shortDuration(within)
		if sch.Blackouts != nil {
			v.Blackouts = sch.Blackouts
		}
		if policy := drills.EffectiveApproval(estate, nil, sch); policy.Roles != nil {
			v.Approval = policy.Roles
		}
	}
	if rec != nil {
		v.Name, v.PlanName, v.Recorded = rec.Name, rec.PlanName, true
		if sch == nil {
			v.Plan = rec.PlanFile
		}
		v.Paused, v.PausedReason, v.PausedAt = rec.Paused, rec.PausedReason, rec.PausedAt
		v.PausedBy = actorPtr(rec.PausedBy)
		if !rec.Paused {
			// When not paused, the record keeps who resumed it last: not a pause to show.
			v.PausedBy, v.PausedReason, v.PausedAt = nil, "", nil
		}
		v.LastFire = rec.LastFireTime
	}
	if sch != nil && !v.Paused && estate != nil {
		if f, ok := estate.NextFire(sch, now); ok {
			at := f.At
			v.NextFire, v.NextFireLoc = &at, f.Local.Format(LocalLayout)
		}
	}
	return v
}

// scheduleDetailOf reads one schedule, its latest recent decided fires and its next fires.
// ErrNotFound when neither the estate nor the database knows it. It authorizes nothing:
// ScheduleGet does.
func scheduleDetailOf(ctx context.Context, st *store.Store, estate *drills.Estate, name string, recent int, now time.Time) (*ScheduleDetail, error) {
	if recent <= 0 {
		recent = DefaultRecentFires
	}
	var sch *drills.Schedule
	if estate != nil {
		sch = estate.Schedule(name)
	}
	rec, err := st.ScheduleGet(ctx, name)
	switch {
	case errors.Is(err, store.ErrNotFound):
		rec = nil
		if sch == nil {
			return nil, fmt.Errorf("schedule %s: %w", name, store.ErrNotFound)
		}
	case err != nil:
		return nil, err
	}
	d := &ScheduleDetail{Schedule: scheduleViewOf(estate, sch, rec, now), RecentFires: []FireView{}, NextFires: []UpcomingFire{}}
	loc := time.UTC
	if sch != nil && sch.Location != nil {
		loc = sch.Location
	}
	if rec != nil {
		fs, err := st.ScheduleFireRecent(ctx, name, recent)
		if err != nil {
			return nil, err
		}
		for _, fr := range fs {
			d.RecentFires = append(d.RecentFires, FireView{FireTime: fr.FireTime, Local: fr.FireTime.In(loc).Format(LocalLayout),
				Decision: fr.Decision, Reason: fr.Reason, RunID: fr.RunID, DecidedBy: fr.DecidedBy})
		}
	}
	if sch != nil {
		d.NextFires = nextFires(estate, sch, now, nextFiresShown)
	}
	return d, nil
}

// nextFires returns the next n fires of sch after now, blacked-out ones included.
func nextFires(estate *drills.Estate, sch *drills.Schedule, now time.Time, n int) []UpcomingFire {
	out := []UpcomingFire{}
	from := now
	for window := 24 * time.Hour; len(out) < n && window <= 8*366*24*time.Hour; window *= 2 {
		to := from.Add(window)
		for _, fr := range estate.Fires(sch, from, to) {
			if len(out) == n {
				break
			}
			out = append(out, UpcomingFire{At: fr.At, Local: fr.Local.Format(LocalLayout), Blackout: fr.Blackout})
		}
		from = to
	}
	return out
}

// calendarOf is the calendar of schedules on the local dates from..to (both included) and the
// due status of every service with a drill_every, given each one's last passed drill. It reads
// nothing.
func calendarOf(estate *drills.Estate, schedules []*drills.Schedule, passed map[string]time.Time, from, to, now time.Time) *Calendar {
	cal := &Calendar{From: from.Format(time.DateOnly), To: to.Format(time.DateOnly), Fires: []CalendarFire{}, Services: []ServiceDue{}}
	for _, sch := range schedules {
		loc := sch.Location
		if loc == nil {
			loc = time.UTC
		}
		start := time.Date(from.Year(), from.Month(), from.Day(), 0, 0, 0, 0, loc)
		end := time.Date(to.Year(), to.Month(), to.Day()+1, 0, 0, 0, 0, loc)
		for _, fr := range estate.Fires(sch, start.Add(-time.Nanosecond), end.Add(-time.Nanosecond)) {
			cal.Fires = append(cal.Fires, CalendarFire{Schedule: sch.Name, Plan: sch.Plan, At: fr.At, Local: fr.Local.Format(LocalLayout),
				TimeZone: loc.String(), Blackout: fr.Blackout})
		}
	}
	slices.SortStableFunc(cal.Fires, func(a, b CalendarFire) int {
		return cmp.Or(a.At.Compare(b.At), cmp.Compare(a.Schedule, b.Schedule))
	})
	for _, d := range drills.DueStatuses(estate, passed, now) {
		cal.Services = append(cal.Services, serviceDueOf(d))
	}
	cal.BlackoutDays = blackoutDays(estate, schedules, from, to)
	return cal
}

func serviceDueOf(d drills.DueStatus) ServiceDue {
	s := ServiceDue{Service: d.Service, Every: formatEvery(d.Every), Overdue: d.Overdue, NeverDrilled: d.NeverDrilled}
	if !d.LastPassed.IsZero() {
		lp, nd := d.LastPassed.UTC(), d.NextDue.UTC()
		s.LastPassed, s.NextDue = &lp, &nd
	}
	return s
}

// dateOf is t's calendar date, at midnight UTC.
func dateOf(t time.Time) time.Time {
	return time.Date(t.Year(), t.Month(), t.Day(), 0, 0, 0, 0, time.UTC)
}

// shortDuration drops a duration's zero minutes and seconds: 1h, 1h30m, 90s.
func shortDuration(d time.Duration) string {
	s := d.String()
	if strings.HasSuffix(s, "m0s") {
		s = strings.TrimSuffix(s, "0s")
	}
	if strings.HasSuffix(s, "h0m") {
		s = strings.TrimSuffix(s, "0m")
	}
	return s
}

// formatEvery shows whole days as "365d", anything else as a Go duration.
func formatEvery(d time.Duration) string {
	if d > 0 && d%(24*time.Hour) == 0 {
		return fmt.Sprintf("%dd", d/(24*time.Hour))
	}
	return d.String()
}
