package control

import (
	"cmp"
	"slices"
	"time"

	"github.com/firedrill/firedrill/drills"
	"github.com/firedrill/firedrill/orchestrator/store"
)

// withDecisions puts the scheduler's recorded decisions on the calendar's fires, and adds the
// decided fires the estate's schedules no longer compute (a changed cron, a removed
// schedule) whose local date lies in from..to: a skipped fire stays on the calendar with its
// reason.
func withDecisions(cal *Calendar, estate *drills.Estate, recs []*store.FireRecord, from, to time.Time) {
	type key struct {
		schedule string
		at       int64
	}
	at := make(map[key]int, len(cal.Fires))
	for i, f := range cal.Fires {
		at[key{f.Schedule, f.At.UnixMilli()}] = i
	}
	first, last := from.Format(time.DateOnly), to.Format(time.DateOnly)
	added := false
	for _, r := range recs {
		if i, ok := at[key{r.Schedule, r.FireTime.UnixMilli()}]; ok {
			cal.Fires[i].Decision, cal.Fires[i].Reason, cal.Fires[i].RunID = r.Decision, r.Reason, r.RunID
			continue
		}
		loc, plan := time.UTC, ""
		if sch := estate.Schedule(r.Schedule); sch != nil {
			plan = sch.Plan
			if sch.Location != nil {
				loc = sch.Location
			}
		}
		local := r.FireTime.In(loc)
		if d := local.Format(time.DateOnly); d < first || d > last {
			continue
		}
		cal.Fires = append(cal.Fires, CalendarFire{Schedule: r.Schedule, Plan: plan, At: r.FireTime, Local: local.Format(LocalLayout),
			TimeZone: loc.String(), Decision: r.Decision, Reason: r.Reason, RunID: r.RunID})
		added = true
	}
	if added {
		slices.SortStableFunc(cal.Fires, func(a, b CalendarFire) int {
			return cmp.Or(a.At.Compare(b.At), cmp.Compare(a.Schedule, b.Schedule))
		})
	}
}

// blackoutDays are the local dates from..to that each blackout a schedule names covers, wholly
// or for part of the day. It reads nothing.
func blackoutDays(estate *drills.Estate, schedules []*drills.Schedule, from, to time.Time) []BlackoutDay {
	out := []BlackoutDay{}
	for _, b := range estate.Blackouts {
		var names []string
		for _, sch := range schedules {
			if slices.Contains(sch.Blackouts, b.Name) {
				names = append(names, sch.Name)
			}
		}
		if len(names) == 0 {
			continue
		}
		hh, mm := 0, 0
		if t, err := time.Parse("15:04", b.From); err == nil {
			hh, mm = t.Hour(), t.Minute()
		}
		for day := dateOf(from); !day.After(dateOf(to)); day = day.AddDate(0, 0, 1) {
			// The window's start that day: a blackout covering any of the day covers it then.
			if b.Covers(time.Date(day.Year(), day.Month(), day.Day(), hh, mm, 0, 0, time.UTC)) {
				out = append(out, BlackoutDay{Date: day.Format(time.DateOnly), Blackout: b.Name, Reason: b.Reason,
					From: b.From, To: b.To, Schedules: slices.Clone(names)})
			}
		}
	}
	slices.SortStableFunc(out, func(a, b BlackoutDay) int { return cmp.Compare(a.Date, b.Date) })
	return out
}
