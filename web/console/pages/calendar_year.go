package pages

import (
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/firedrill/firedrill/orchestrator/control"
	"github.com/firedrill/firedrill/orchestrator/store"
)

var calendarYearMessages = map[string][2]string{
	"cal.year_view":      {"Year", "연간 보기"},
	"cal.legend_skips":   {"⊘ also marks a fire skipped for another reason, given in brackets (a paused schedule, a fire missed while the scheduler was down) · ▨ a whole-day blackout.", "⊘는 다른 사유로 건너뛴 실행도 표시하며 사유는 괄호 안에 있습니다 (일정 일시 정지, 스케줄러 중단 중 누락) · ▨ 종일 금지 기간."},
	"cal.month_view":     {"Month", "월간 보기"},
	"cal.this_year":      {"This year", "올해"},
	"cal.years":          {"Years", "연도 이동"},
	"cal.scheduled_n":    {"Scheduled: %d", "예정: %d회"},
	"cal.skipped_n":      {"Skipped: %d", "건너뜀: %d회"},
	"cal.ran_n":          {"Drills run: %d (%d passed)", "실시: %d회 (통과 %d회)"},
	"cal.due_in":         {"Due: %s", "기한 도래: %s"},
	"cal.due_none":       {"Nothing due", "기한 도래 없음"},
	"cal.overdue_now":    {"%s (overdue)", "%s (기한 초과)"},
	"cal.year_legend":    {"Each day: ◷ a drill scheduled · ⊘ a fire skipped (the reason is listed below) · ✓ a drill that passed · ✕ one that did not · hatched: a whole-day blackout. Dates in your zone.", "날짜별 표시: ◷ 예정된 훈련 · ⊘ 건너뛴 실행 (사유는 아래 목록) · ✓ 통과한 훈련 · ✕ 통과하지 못한 훈련 · 빗금: 종일 금지 기간. 날짜는 사용자 시간대 기준."},
	"cal.skipped_h":      {"Skipped fires and why", "건너뛴 실행과 사유"},
	"cal.skipped_none":   {"No fire is skipped this year.", "올해 건너뛴 실행이 없습니다."},
	"cal.partial_h":      {"Blackouts for part of the day", "시간대 금지 기간"},
	"cal.partial":        {"%s: %s–%s (%s), for %s", "%s: %s–%s (%s), 대상 일정 %s"},
	"cal.blackout_day":   {"Blackout: %s (%s)", "금지 기간: %s (%s)"},
	"cal.why_blackout":   {"blackout %s", "금지 기간 %s"},
	"cal.why_paused":     {"schedule paused: %s", "일정 일시 정지: %s"},
	"cal.why_missed":     {"missed while the scheduler was down: %s", "스케줄러 중단으로 누락: %s"},
	"cal.why_superseded": {"missed, replaced by a later fire (run once)", "누락되어 이후 실행으로 대체 (1회 실행 정책)"},
	"cal.started_run":    {"started run", "실행 시작"},
	"cal.day_marks":      {"%d scheduled, %d skipped, %d run", "예정 %d, 건너뜀 %d, 실시 %d"},
}

func init() { addMessages(calendarYearMessages) }

// calendarFire is a fire as the calendar shows it: whether it was (or will be) skipped, and
// why, in words.
type calendarFire struct {
	control.CalendarFire
	Skipped bool
	Why     string
}

func fireView(lang string, f control.CalendarFire) calendarFire {
	v := calendarFire{CalendarFire: f, Skipped: f.Skipped()}
	switch f.Decision {
	case store.FireSkippedBlackout:
		v.Why = fmt.Sprintf(tr(lang, "cal.why_blackout"), f.Reason)
	case store.FireSkippedPaused:
		v.Why = fmt.Sprintf(tr(lang, "cal.why_paused"), f.Reason)
	case store.FireSkippedMissed:
		v.Why = fmt.Sprintf(tr(lang, "cal.why_missed"), f.Reason)
	case store.FireSuperseded:
		v.Why = tr(lang, "cal.why_superseded")
	case "":
		if f.Blackout != "" {
			v.Why = fmt.Sprintf(tr(lang, "cal.why_blackout"), f.Blackout)
		}
	}
	return v
}

type calendarYearData struct {
	Year, Prev, Next int
	Months           []yearMonth
	Skipped          []calendarFire
	Partial          []string
	Services         []control.ServiceDue
	Weekdays         []string
}

// yearMonth is one small month of the year view with its drills scheduled, skipped, due and
// run.
type yearMonth struct {
	Month         time.Time
	Name, Param   string
	Weeks         [][]yearDay
	Scheduled     int
	Skipped       int
	Runs, Passed  int
	Due           []string
	ScheduledText string
	SkippedText   string
	RunsText      string
	DueText       string
}

// yearDay is one day of a small month.
type yearDay struct {
	Date      time.Time
	InMonth   bool
	Today     bool
	Blackout  string
	Scheduled int
	Skipped   int
	Passed    int
	Failed    int
	Label     string
}

// calendarRunPages bounds how many pages of runs the year view reads.
const calendarRunPages = 10

func (h *handler) calendarYear(q *req) (string, string, any, error) {
	now := q.now.In(q.loc)
	year := now.Year()
	if y := q.r.URL.Query().Get("year"); y != "" {
		n, err := strconv.Atoi(y)
		if err != nil || n < 2000 || n > 2200 {
			return "", "", nil, errorf(control.CategoryInvalid, "year", "year %q is not a year from 2000 to 2200", y)
		}
		year = n
	}
	first := time.Date(year, 1, 1, 0, 0, 0, 0, q.loc)
	end := first.AddDate(1, 0, 0)
	cal, err := h.cfg.Control.CalendarGet(q.ctx, q.caller, &control.CalendarParams{From: first.AddDate(0, 0, -1), To: end})
	if err != nil {
		return "", "", nil, err
	}
	d := &calendarYearData{Year: year, Prev: year - 1, Next: year + 1, Services: cal.Services}
	for i := range 7 {
		d.Weekdays = append(d.Weekdays, weekdayName(q.lang, time.Weekday((i+1)%7)))
	}
	days := map[string]*yearDay{}
	for m := range 12 {
		start := first.AddDate(0, m, 0)
		ym := yearMonth{Month: start, Param: start.Format("2006-01"), Name: monthName(q.lang, start.Month())}
		lead := (int(start.Weekday()) + 6) % 7
		for day := start.AddDate(0, 0, -lead); day.Before(start.AddDate(0, 1, 0)) || day.Weekday() != time.Monday; day = day.AddDate(0, 0, 1) {
			if day.Weekday() == time.Monday {
				ym.Weeks = append(ym.Weeks, nil)
			}
			w := &ym.Weeks[len(ym.Weeks)-1]
			*w = append(*w, yearDay{Date: day, InMonth: day.Month() == start.Month(), Today: day.Format(time.DateOnly) == now.Format(time.DateOnly)})
		}
		d.Months = append(d.Months, ym)
	}
	for mi := range d.Months {
		for wi := range d.Months[mi].Weeks {
			for di := range d.Months[mi].Weeks[wi] {
				if day := &d.Months[mi].Weeks[wi][di]; day.InMonth {
					days[day.Date.Format(time.DateOnly)] = day
				}
			}
		}
	}
	partial := map[string]bool{}
	for _, b := range cal.BlackoutDays {
		if b.From != "" || b.To != "" {
			if !partial[b.Blackout] {
				partial[b.Blackout] = true
				from, to := b.From, b.To
				if from == "" {
					from = "00:00"
				}
				if to == "" {
					to = "24:00"
				}
				d.Partial = append(d.Partial, fmt.Sprintf(tr(q.lang, "cal.partial"), b.Blackout, from, to, b.Reason, strings.Join(b.Schedules, ", ")))
			}
			continue
		}
		if day := days[b.Date]; day != nil {
			day.Blackout = fmt.Sprintf(tr(q.lang, "cal.blackout_day"), b.Blackout, b.Reason)
		}
	}
	for _, f := range cal.Fires {
		at := f.At.In(q.loc)
		day := days[at.Format(time.DateOnly)]
		if day == nil {
			continue
		}
		fv := fireView(q.lang, f)
		m := &d.Months[at.Month()-1]
		if fv.Skipped {
			day.Skipped++
			m.Skipped++
			d.Skipped = append(d.Skipped, fv)
		} else {
			day.Scheduled++
			m.Scheduled++
		}
	}
	if q.may(control.OpRunRead) {
		p := &control.RunListParams{Since: &first, Until: &end, Limit: control.MaxRunListLimit}
		for range calendarRunPages {
			list, err := h.cfg.Control.RunListGet(q.ctx, q.caller, p)
			if err != nil {
				return "", "", nil, err
			}
			for _, r := range list.Runs {
				at := r.CreatedAt
				if r.T0 != nil {
					at = *r.T0
				}
				at = at.In(q.loc)
				day := days[at.Format(time.DateOnly)]
				if day == nil || r.EndedAt == nil {
					continue
				}
				m := &d.Months[at.Month()-1]
				m.Runs++
				if r.Passed {
					day.Passed++
					m.Passed++
				} else {
					day.Failed++
				}
			}
			if list.NextCursor == "" {
				break
			}
			p.Cursor = list.NextCursor
		}
	}
	for _, s := range cal.Services {
		switch {
		case (s.Overdue || s.NeverDrilled) && year == now.Year():
			m := &d.Months[now.Month()-1]
			m.Due = append(m.Due, fmt.Sprintf(tr(q.lang, "cal.overdue_now"), s.Service))
		case s.NextDue != nil && s.NextDue.In(q.loc).Year() == year:
			m := &d.Months[s.NextDue.In(q.loc).Month()-1]
			m.Due = append(m.Due, s.Service)
		}
	}
	for mi := range d.Months {
		m := &d.Months[mi]
		m.ScheduledText = fmt.Sprintf(tr(q.lang, "cal.scheduled_n"), m.Scheduled)
		m.SkippedText = fmt.Sprintf(tr(q.lang, "cal.skipped_n"), m.Skipped)
		m.RunsText = fmt.Sprintf(tr(q.lang, "cal.ran_n"), m.Runs, m.Passed)
		m.DueText = tr(q.lang, "cal.due_none")
		if len(m.Due) > 0 {
			m.DueText = fmt.Sprintf(tr(q.lang, "cal.due_in"), strings.Join(m.Due, ", "))
		}
		for wi := range m.Weeks {
			for di := range m.Weeks[wi] {
				day := &m.Weeks[wi][di]
				day.Label = day.Date.Format(time.DateOnly) + ": " + fmt.Sprintf(tr(q.lang, "cal.day_marks"), day.Scheduled, day.Skipped, day.Passed+day.Failed)
				if day.Blackout != "" {
					day.Label += "; " + day.Blackout
				}
			}
		}
	}
	return "calendar_year", "nav.calendar", d, nil
}

func monthName(lang string, m time.Month) string {
	if lang == "ko" {
		return fmt.Sprintf("%d월", int(m))
	}
	return m.String()
}
