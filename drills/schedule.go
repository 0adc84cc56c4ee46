package drills

import (
	"cmp"
	"math"
	"slices"
	"strconv"
	"time"

	"github.com/robfig/cron/v3"
)

// Defaults of schedules.
const (
	// DefaultStartWithin is how long after its fire a scheduled run may still start, when the
	// schedule does not say.
	DefaultStartWithin = time.Hour
)

// nextFireYears is how far NextFire looks before it gives up: a schedule that does not fire
// within it (every fire blacked out, or 30 February) is reported as never firing.
const nextFireYears = 5

// MissedFirePolicy says what happens to fires that passed while no replica was running.
type MissedFirePolicy string

// Missed-fire policies.
const (
	// MissedSkip drops missed fires; the next fire runs as usual. The default.
	MissedSkip MissedFirePolicy = "skip"
	// MissedRunOnce runs the latest missed fire once, however many were missed.
	MissedRunOnce MissedFirePolicy = "run_once"
)

// ApprovalPolicy says who must approve a run before it may start. It is declared on a
// schedule, on a plan, or as the estate's default for every run that touches production.
type ApprovalPolicy struct {
	// Roles lists the roles that must each approve, one distinct person per role (the same
	// person cannot fill two roles). Empty: no approval is needed.
	Roles []string
	// Within is how long approvers have, from the request, before the run ends blocked. Zero:
	// DefaultApprovalWithin for a run people asked for; a schedule's start window for a fire.
	Within time.Duration
}

// DefaultApprovalWithin is how long approvers have for a run a person asked for when the
// policy does not say.
const DefaultApprovalWithin = 24 * time.Hour

// EffectiveApproval is the policy a run of plan needs: the schedule's when a schedule fired
// it (sch non-nil and declaring one), else the plan's, else the estate's default. A policy
// with no roles means no approval is needed.
func EffectiveApproval(estate *Estate, plan *Plan, sch *Schedule) ApprovalPolicy {
	switch {
	case sch != nil && sch.Approval.Required():
		return sch.Approval
	case plan != nil && plan.Approval.Required():
		return plan.Approval
	case estate != nil:
		return estate.DefaultApproval
	}
	return ApprovalPolicy{}
}

// Required reports whether a run needs approvals before it starts.
func (a ApprovalPolicy) Required() bool { return len(a.Roles) > 0 }

// Schedule says when a plan runs: a cron expression read in an IANA time zone, blackout
// windows that suppress fires, a start window and an approval policy. It is declared as a
// schedule block in the estate file.
//
// Fires are computed in local wall-clock time of Location, from the cron fields, and each
// local time that the fields select fires exactly once:
//
//   - a local time that does not exist (skipped by a spring-forward change) fires once at the
//     local time shifted forward by the gap: 02:30 on the day America/New_York goes from 02:00
//     to 03:00 fires at 03:30 EDT. It is never skipped. If the shifted time is also selected
//     (a 03:30 fire the same day), the two are one fire.
//   - a local time that happens twice (a fall-back change) fires once, at its first
//     occurrence: 01:30 on the day America/New_York goes from 02:00 back to 01:00 fires at
//     01:30 EDT, not again at 01:30 EST.
//
// robfig/cron's own Next skips the first case and fires the second twice; it is used here
// only to parse the expression.
type Schedule struct {
	Name string
	// Plan is the path of the plan file, relative to the estate file.
	Plan string
	// Cron is the expression as written: five fields (minute hour day-of-month month
	// day-of-week) or a descriptor such as @weekly, read in TimeZone.
	Cron string
	// TimeZone is the IANA name of the zone the expression and blackouts are read in.
	TimeZone string
	// Location is TimeZone loaded; nil reads as UTC.
	Location *time.Location
	// StartWithin is the window: the run of a fire must start by the fire plus StartWithin, and
	// approvals given for it expire then. Defaults to DefaultStartWithin.
	StartWithin time.Duration
	// Missed says what to do with fires missed while no replica ran. Defaults to MissedSkip.
	Missed MissedFirePolicy
	// Blackouts names the blackout windows, in the order they are checked, that suppress fires.
	Blackouts []string
	Approval  ApprovalPolicy
	Pos       Pos

	// spec is Cron parsed; nil for a Schedule built by hand, which is then parsed on use.
	spec *cron.SpecSchedule
}

// cronSpec returns the parsed expression, or nil when Cron is not a calendar expression.
func (s *Schedule) cronSpec() *cron.SpecSchedule {
	if s.spec != nil {
		return s.spec
	}
	spec, err := parseCron(s.Cron)
	if err != nil {
		return nil
	}
	return spec
}

func (s *Schedule) location() *time.Location {
	if s.Location == nil {
		return time.UTC
	}
	return s.Location
}

// Blackout is a recurring or dated window in which no scheduled fire runs (month-end closing,
// public holidays, market hours). It is read in the time zone of the schedule that uses it.
//
// Every selector that is set must match: weekdays = ["fri"] with month_days = [-1] is the last
// day of a month when it is a Friday. From and To narrow the matching days to a time range.
type Blackout struct {
	Name   string
	Reason string
	// Dates are local calendar dates, YYYY-MM-DD.
	Dates    []string
	Weekdays []time.Weekday
	// From and To are local times of day, HH:MM; the window is [From, To). An empty From is the
	// start of the day, an empty To its end.
	From, To string
	// MonthDays are days of the month: 1 to 31, or -1 (the last day) to -31. A day that a month
	// does not have matches nothing in that month.
	MonthDays []int
	Pos       Pos
}

// Covers reports whether the local time t (already in the zone the blackout is read in) falls
// inside the blackout.
func (b *Blackout) Covers(t time.Time) bool {
	if len(b.Dates) > 0 && !slices.Contains(b.Dates, t.Format(time.DateOnly)) {
		return false
	}
	if len(b.Weekdays) > 0 && !slices.Contains(b.Weekdays, t.Weekday()) {
		return false
	}
	if len(b.MonthDays) > 0 {
		last := daysIn(t.Year(), t.Month())
		if !slices.ContainsFunc(b.MonthDays, func(d int) bool { return d == t.Day() || last+1+d == t.Day() }) {
			return false
		}
	}
	sec := t.Hour()*3600 + t.Minute()*60 + t.Second()
	if from, ok := clockMinutes(b.From); ok && sec < from*60 {
		return false
	}
	if to, ok := clockMinutes(b.To); ok && sec >= to*60 {
		return false
	}
	return true
}

// daysIn returns the number of days of a month.
func daysIn(year int, month time.Month) int {
	return time.Date(year, month+1, 0, 0, 0, 0, 0, time.UTC).Day()
}

// clockMinutes reads a time of day written HH:MM as minutes after midnight.
func clockMinutes(s string) (int, bool) {
	if len(s) != 5 || s[2] != ':' {
		return 0, false
	}
	h, err1 := strconv.Atoi(s[:2])
	m, err2 := strconv.Atoi(s[3:])
	if err1 != nil || err2 != nil || s[0] == '+' || s[0] == '-' || s[3] == '+' || s[3] == '-' ||
		h < 0 || h > 23 || m < 0 || m > 59 {
		return 0, false
	}
	return h*60 + m, true
}

// Fire is one moment a schedule selects.
type Fire struct {
	Schedule string
	// At is the instant, in UTC.
	At time.Time
	// Local is At in the schedule's time zone.
	Local time.Time
	// Blackout, when set, names the blackout that suppresses the fire: it does not run.
	Blackout string
}

// Suppressed reports whether a blackout suppresses the fire.
func (f Fire) Suppressed() bool { return f.Blackout != "" }

// Fires returns every fire of s in (from, to], in order, suppressed ones included with their
// Blackout set. The work grows with the days and the fires in the range.
func (c *Estate) Fires(s *Schedule, from, to time.Time) []Fire {
	spec := s.cronSpec()
	if spec == nil {
		return nil
	}
	loc := s.location()
	times := fireTimes(spec, loc, from, to)
	fires := make([]Fire, len(times))
	for i, t := range times {
		fires[i] = c.fire(s, t)
	}
	return fires
}

// NextFire returns the first fire of s strictly after after that no blackout suppresses, or
// false when there is none within five years.
func (c *Estate) NextFire(s *Schedule, after time.Time) (Fire, bool) {
	spec := s.cronSpec()
	if spec == nil {
		return Fire{}, false
	}
	loc := s.location()
	horizon := after.AddDate(nextFireYears, 0, 0)
	// Look ahead in growing windows, so a frequent schedule computes few fires. Once a fire is
	// suppressed, the rest of its blackout window is skipped, so a frequent schedule does not
	// test each of its fires against a long blackout.
	from := after
	var skip time.Time
	for window := time.Hour; from.Before(horizon); window *= 2 {
		to := from.Add(window)
		if to.After(horizon) {
			to = horizon
		}
		for _, t := range fireTimes(spec, loc, from, to) {
			if t.Before(skip) {
				continue
			}
			f := c.fire(s, t)
			if !f.Suppressed() {
				return f, true
			}
			skip = c.blackoutEnd(s, f)
		}
		from = to
		if skip.After(to) {
			// Start small again after the skipped window.
			from, window = skip.Add(-time.Nanosecond), time.Hour/2
		}
	}
	return Fire{}, false
}

// blackoutEnd returns an instant up to which the blackout that suppresses f suppresses every
// fire: the end of its window on f's local date, or f itself when an offset change in between
// makes that unsure.
func (c *Estate) blackoutEnd(s *Schedule, f Fire) time.Time {
	b := c.Blackout(f.Blackout)
	if b == nil {
		return f.At
	}
	loc := s.location()
	y, m, d := f.Local.Date()
	end := localInstant(loc, y, m, d+1, 0, 0)
	if b.From == "" && b.To == "" {
		// Only the local date matters: the whole day is covered, whatever its length.
		return end
	}
	if to, ok := clockMinutes(b.To); ok {
		end = localInstant(loc, y, m, d, to/60, to%60)
	}
	// Without an offset change the local time only grows up to end, inside [From, To).
	if _, zoneEnd := f.Local.ZoneBounds(); zoneEnd.IsZero() || !zoneEnd.Before(end) {
		return end
	}
	return f.At
}

func (c *Estate) fire(s *Schedule, t time.Time) Fire {
	f := Fire{Schedule: s.Name, At: t.UTC(), Local: t.In(s.location())}
	f.Blackout, _ = c.BlackoutAt(s, t)
	return f
}

// BlackoutAt reports whether the instant t lies inside one of the schedule's blackouts, read
// in the schedule's time zone, and names the first such blackout in the schedule's order.
func (c *Estate) BlackoutAt(s *Schedule, t time.Time) (name string, in bool) {
	local := t.In(s.location())
	for _, n := range s.Blackouts {
		if b := c.Blackout(n); b != nil && b.Covers(local) {
			return n, true
		}
	}
	return "", false
}

// fireTimes returns the instants in (from, to] that spec selects in loc, in order, each once.
func fireTimes(spec *cron.SpecSchedule, loc *time.Location, from, to time.Time) []time.Time {
	if !to.After(from) {
		return nil
	}
	// Each wall time is read as a naive instant (its fields taken as UTC); its real instant
	// is the naive one minus a UTC offset in force that day, or in a gap the offset before
	// it. Offsets stay within reach, so the margin holds every day that can land in range.
	const margin = offsetReach
	lo, hi := from.Add(-margin), to.Add(margin)
	fromU, toU := from.Unix(), to.Unix()
	hours := bitsSet(spec.Hour, 0, 23)
	minutes := bitsSet(spec.Minute, 0, 59)
	var out []time.Time
	ly, lm, ld := lo.UTC().Date()
	for day := time.Date(ly, lm, ld, 0, 0, 0, 0, time.UTC); !day.After(hi); day = day.AddDate(0, 0, 1) {
		if !dayMatches(spec, day) {
			continue
		}
		minOff, maxOff := offsetsAround(loc, day)
		y, m, d := day.Date()
		base := day.Unix()
		for _, h := range hours {
			for _, mi := range minutes {
				// Only wall times whose instant can be in range are converted.
				naive := base + int64(h)*3600 + int64(mi)*60
				if naive-minOff < fromU || naive-maxOff > toU {
					continue
				}
				if t := localInstant(loc, y, m, d, h, mi); t.After(from) && !t.After(to) {
					out = append(out, t)
				}
			}
		}
	}
	// A wall time shifted over a gap can meet or pass one selected after it.
	slices.SortFunc(out, func(a, b time.Time) int { return a.Compare(b) })
	return slices.CompactFunc(out, func(a, b time.Time) bool { return a.Equal(b) })
}

// offsetReach bounds how far a UTC offset, or the shift of a DST gap, moves a wall time from
// its instant: offsets run from -12h to +14h, and historical local mean times a little past.
const offsetReach = 26 * time.Hour

// offsetsAround returns the smallest and largest UTC offset, in seconds, in force in loc at
// any instant whose wall time can be on the civil date day.
func offsetsAround(loc *time.Location, day time.Time) (minOff, maxOff int64) {
	reach := int64(offsetReach / time.Second)
	first, last := day.Unix()-reach, day.Unix()+86400+reach
	cursor := time.Unix(first, 0).In(loc)
	minOff, maxOff = math.MaxInt64, math.MinInt64
	for {
		_, off := cursor.Zone()
		minOff, maxOff = min(minOff, int64(off)), max(maxOff, int64(off))
		_, end := cursor.ZoneBounds()
		if end.IsZero() || end.Unix() > last || !end.After(cursor) {
			return minOff, maxOff
		}
		cursor = end.In(loc)
	}
}

// dayMatches applies cron's day rule to a civil date: when day-of-month or day-of-week is a
// star both must match, otherwise either may (Vixie cron's rule, which robfig/cron keeps).
func dayMatches(spec *cron.SpecSchedule, day time.Time) bool {
	if 1<<uint(day.Month())&spec.Month == 0 {
		return false
	}
	const star = 1 << 63
	dom := 1<<uint(day.Day())&spec.Dom != 0
	dow := 1<<uint(day.Weekday())&spec.Dow != 0
	if spec.Dom&star != 0 || spec.Dow&star != 0 {
		return dom && dow
	}
	return dom || dow
}

func bitsSet(bits uint64, lo, hi int) []int {
	var out []int
	for i := lo; i <= hi; i++ {
		if bits&(1<<uint(i)) != 0 {
			out = append(out, i)
		}
	}
	return out
}

// localInstant returns the instant of the local wall time y-m-d h:mi in loc, by the policy in
// Schedule's comment: a time in a gap is shifted forward by the gap, a repeated time is its
// first occurrence. time.Date leaves both cases unspecified (and moves gap times backward).
func localInstant(loc *time.Location, y int, m time.Month, d, h, mi int) time.Time {
	t := time.Date(y, m, d, h, mi, 0, 0, loc)
	// Away from any offset change the wall time exists once and time.Date is exact.
	const near = 48 * time.Hour
	start, end := t.ZoneBounds()
	if (start.IsZero() || t.Sub(start) > near) && (end.IsZero() || end.Sub(t) > near) {
		return t
	}
	naive := time.Date(y, m, d, h, mi, 0, 0, time.UTC).Unix()
	// Walk the zone's periods around the wall time. In each period the wall time would be the
	// instant naive-offset; the first period that holds its own instant is the first
	// occurrence. A period whose instant falls past its end, followed by one whose instant
	// falls before its start, is a gap: the offset before it shifts the time forward.
	cursor := time.Unix(naive-30*3600, 0).In(loc)
	gap, inGap := int64(0), false
	for range 8 {
		_, off := cursor.Zone()
		start, end := cursor.ZoneBounds()
		u := naive - int64(off)
		afterStart := start.IsZero() || u >= start.Unix()
		beforeEnd := end.IsZero() || u < end.Unix()
		switch {
		case afterStart && beforeEnd:
			return time.Unix(u, 0).In(loc)
		case inGap && !afterStart:
			return time.Unix(gap, 0).In(loc)
		}
		gap, inGap = u, !beforeEnd
		if end.IsZero() || end.Unix() > naive+30*3600 {
			break
		}
		cursor = end.In(loc)
	}
	return t
}

// DueStatus says when a service must next be drilled to keep its required interval.
type DueStatus struct {
	Service string
	// Every is the service's DrillEvery.
	Every time.Duration
	// LastPassed is the last drill of the service that passed; zero when there is none.
	LastPassed time.Time
	// NextDue is LastPassed plus Every; zero when the service was never drilled (due at once).
	NextDue time.Time
	// Overdue is set when now is past NextDue, or the service was never drilled.
	Overdue      bool
	NeverDrilled bool
}

// DueStatuses returns the due status of every service with a DrillEvery, given the time of each
// service's last passed drill (by service name; missing or zero: never): overdue ones first,
// then by NextDue, then by name.
func DueStatuses(c *Estate, lastPassed map[string]time.Time, now time.Time) []DueStatus {
	var out []DueStatus
	for _, svc := range c.Services {
		if svc.DrillEvery <= 0 {
			continue
		}
		st := DueStatus{Service: svc.Name, Every: svc.DrillEvery, LastPassed: lastPassed[svc.Name]}
		if st.LastPassed.IsZero() {
			st.NeverDrilled, st.Overdue = true, true
		} else {
			st.NextDue = st.LastPassed.Add(svc.DrillEvery)
			st.Overdue = now.After(st.NextDue)
		}
		out = append(out, st)
	}
	slices.SortStableFunc(out, func(a, b DueStatus) int {
		if a.Overdue != b.Overdue {
			if a.Overdue {
				return -1
			}
			return 1
		}
		return cmp.Or(a.NextDue.Compare(b.NextDue), cmp.Compare(a.Service, b.Service))
	})
	return out
}
