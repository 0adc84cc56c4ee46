package drills

import (
	"errors"
	"fmt"
	"math/big"
	"slices"
	"strings"
	"time"

	"github.com/hashicorp/hcl/v2"
	"github.com/robfig/cron/v3"
	"github.com/zclconf/go-cty/cty"
	"github.com/zclconf/go-cty/cty/convert"
)

var (
	scheduleSchema = &hcl.BodySchema{
		Attributes: []hcl.AttributeSchema{
			{Name: "plan"}, {Name: "cron"}, {Name: "time_zone"}, {Name: "start_within"},
			{Name: "missed"}, {Name: "blackouts"},
		},
		Blocks: []hcl.BlockHeaderSchema{{Type: "approval"}},
	}
	blackoutSchema = &hcl.BodySchema{Attributes: []hcl.AttributeSchema{
		{Name: "reason"}, {Name: "dates"}, {Name: "weekdays"}, {Name: "from"}, {Name: "to"}, {Name: "month_days"},
	}}
)

// weekdayNames are how blackouts write days of the week.
var weekdayNames = []string{"sun", "mon", "tue", "wed", "thu", "fri", "sat"}

// parseCron reads a calendar cron expression: five fields or a descriptor such as @weekly.
// The zone comes from time_zone, so a TZ= prefix is refused (robfig/cron also panics on one
// without a space); @every is refused because it fires at intervals, not calendar times.
func parseCron(expr string) (*cron.SpecSchedule, error) {
	expr = strings.TrimSpace(expr)
	if strings.HasPrefix(expr, "TZ=") || strings.HasPrefix(expr, "CRON_TZ=") {
		return nil, errors.New("a TZ= prefix is not allowed: set time_zone instead")
	}
	if strings.HasPrefix(expr, "@every") {
		return nil, errors.New("@every is not supported: a schedule fires at calendar times (use five fields or @hourly, @daily, @weekly, @monthly, @yearly)")
	}
	s, err := cron.ParseStandard(expr)
	if err != nil {
		return nil, err
	}
	spec, ok := s.(*cron.SpecSchedule)
	if !ok {
		return nil, fmt.Errorf("%q is not a calendar expression", expr)
	}
	// With a star day-of-week, the days of the month must exist in one of the months.
	const star = 1 << 63
	if spec.Dow&star != 0 && spec.Dom&star == 0 {
		exists := false
		for m := time.January; m <= time.December && !exists; m++ {
			if spec.Month&(1<<uint(m)) == 0 {
				continue
			}
			for d := 1; d <= daysIn(2028, m); d++ { // a leap year: 29 February exists
				if spec.Dom&(1<<uint(d)) != 0 {
					exists = true
					break
				}
			}
		}
		if !exists {
			return nil, fmt.Errorf("%q never fires: no selected month has the selected days", expr)
		}
	}
	return spec, nil
}

func (p *estateParser) schedule(b *hcl.Block, name string) *Schedule {
	s := &Schedule{Name: name, StartWithin: DefaultStartWithin, Missed: MissedSkip, Pos: p.pos(b.DefRange)}
	content, hd := b.Body.Content(scheduleSchema)
	p.hcl(hd)
	attrs := content.Attributes
	if a := attrs["plan"]; a != nil {
		s.Plan, _ = p.nonEmpty(a)
	} else {
		p.errorf(b.DefRange, "schedule %q: plan is required (the plan file, relative to this file)", name)
	}
	if a := attrs["cron"]; a != nil {
		if v, ok := p.nonEmpty(a); ok {
			s.Cron = v
			spec, err := parseCron(v)
			if err != nil {
				p.errorf(a.Expr.Range(), "cron: %v", err)
			}
			s.spec = spec
		}
	} else {
		p.errorf(b.DefRange, "schedule %q: cron is required (e.g. \"0 2 * * SAT\")", name)
	}
	if a := attrs["time_zone"]; a != nil {
		if v, ok := p.nonEmpty(a); ok {
			s.TimeZone = v
			s.Location, _ = p.timeZone(a, v)
		}
	} else {
		p.errorf(b.DefRange, "schedule %q: time_zone is required (an IANA name such as \"Asia/Seoul\")", name)
	}
	if a := attrs["start_within"]; a != nil {
		if d, ok := p.positiveDuration(a); ok {
			s.StartWithin = d
		}
	}
	if a := attrs["missed"]; a != nil {
		if v, ok := p.oneOf(a, string(MissedSkip), string(MissedRunOnce)); ok {
			s.Missed = MissedFirePolicy(v)
		}
	}
	if a := attrs["blackouts"]; a != nil {
		if l, ranges, ok := p.stringList(a); ok && p.noDuplicates(a, l, ranges) {
			s.Blackouts = l
			p.blackoutRefs[s] = ranges
		}
	}
	ab := p.approvals(content.Blocks, fmt.Sprintf("schedule %q", name))
	s.Approval = ab.policy
	// A fire's run must start within its start window, so approvals cannot be given later;
	// without within, the window is the deadline.
	if ab.within != nil && s.Approval.Within > s.StartWithin {
		p.errorf(*ab.within, "within: %s is longer than the schedule's start_within (%s): a fire's approvals must come before its run must start",
			formatDuration(s.Approval.Within), formatDuration(s.StartWithin))
		s.Approval = ApprovalPolicy{}
	}
	return s
}

// timeZone loads an IANA zone. "Local" is refused: it would make fires depend on the host.
func (p *estateParser) timeZone(a *hcl.Attribute, name string) (*time.Location, bool) {
	loc, err := time.LoadLocation(name)
	if err != nil || name == "Local" {
		p.errorf(a.Expr.Range(), "%s: unknown time zone %q (use an IANA name such as \"Asia/Seoul\" or \"UTC\")", a.Name, name)
		return nil, false
	}
	return loc, true
}

func (p *estateParser) blackout(b *hcl.Block, name string) *Blackout {
	bo := &Blackout{Name: name, Pos: p.pos(b.DefRange)}
	content, hd := b.Body.Content(blackoutSchema)
	p.hcl(hd)
	attrs := content.Attributes
	if a := attrs["reason"]; a != nil {
		bo.Reason, _ = p.str(a)
	}
	if a := attrs["dates"]; a != nil {
		if l, ranges, ok := p.stringList(a); ok && p.noDuplicates(a, l, ranges) {
			for i, d := range l {
				if t, err := time.Parse(time.DateOnly, d); err != nil || t.Format(time.DateOnly) != d {
					p.errorf(ranges[i], "dates: %q is not a date (YYYY-MM-DD, e.g. \"2027-01-01\")", d)
					ok = false
				}
			}
			if ok {
				bo.Dates = l
			}
		}
	}
	if a := attrs["weekdays"]; a != nil {
		if l, ranges, ok := p.stringList(a); ok && p.noDuplicates(a, l, ranges) {
			for i, d := range l {
				n := slices.Index(weekdayNames, strings.ToLower(d))
				if n < 0 {
					p.errorf(ranges[i], "weekdays: %q is not a day of the week (one of %s)", d, quoteList(weekdayNames))
					ok = false
					continue
				}
				bo.Weekdays = append(bo.Weekdays, time.Weekday(n))
			}
			if !ok {
				bo.Weekdays = nil
			}
		}
	}
	if a := attrs["month_days"]; a != nil {
		bo.MonthDays, _ = p.monthDays(a)
	}
	var from, to int
	fromOK, toOK := false, false
	if a := attrs["from"]; a != nil {
		bo.From, from, fromOK = p.clock(a)
	}
	if a := attrs["to"]; a != nil {
		bo.To, to, toOK = p.clock(a)
	}
	if fromOK && toOK && from >= to {
		p.errorf(attrs["to"].Expr.Range(), "blackout %q: to (%s) must be after from (%s); split a window that spans midnight in two blackouts", name, bo.To, bo.From)
		bo.From, bo.To = "", ""
	}
	if len(attrs) == 0 || (len(attrs) == 1 && attrs["reason"] != nil) {
		p.errorf(b.DefRange, "blackout %q: set dates, weekdays, month_days or from/to: an empty blackout would suppress every fire", name)
	}
	return bo
}

// clock reads a time of day written HH:MM.
func (p *estateParser) clock(a *hcl.Attribute) (string, int, bool) {
	v, ok := p.str(a)
	if !ok {
		return "", 0, false
	}
	m, ok := clockMinutes(v)
	if !ok {
		p.errorf(a.Expr.Range(), "%s: %q is not a time of day (HH:MM, 00:00 to 23:59)", a.Name, v)
		return "", 0, false
	}
	return v, m, true
}

func (p *estateParser) monthDays(a *hcl.Attribute) ([]int, bool) {
	v, ok := p.value(a)
	if !ok {
		return nil, false
	}
	exprs, _ := hcl.ExprList(a.Expr)
	if !v.Type().IsListType() && !v.Type().IsTupleType() {
		p.errorf(a.Expr.Range(), "month_days: must be a list of days, e.g. [1, 15, -1]")
		return nil, false
	}
	var out []int
	ok = true
	for i, e := range v.AsValueSlice() {
		r := a.Expr.Range()
		if len(exprs) == v.LengthInt() {
			r = exprs[i].Range()
		}
		n, isInt := wholeNumber(e)
		switch {
		case !isInt:
			p.errorf(r, "month_days: must be whole numbers, e.g. [1, 15, -1]")
			return nil, false
		case n == 0 || n < -31 || n > 31:
			p.errorf(r, "month_days: %d is out of range (1 to 31, or -1 for the last day to -31)", n)
			ok = false
		case slices.Contains(out, int(n)):
			p.errorf(r, "month_days: %d is listed twice", n)
			ok = false
		default:
			out = append(out, int(n))
		}
	}
	if !ok {
		return nil, false
	}
	return out, true
}

// wholeNumber reads a list element as an integer.
func wholeNumber(v cty.Value) (int64, bool) {
	if v.IsNull() || !v.IsKnown() {
		return 0, false
	}
	v, err := convert.Convert(v, cty.Number)
	if err != nil || v.IsNull() {
		return 0, false
	}
	bf := v.AsBigFloat()
	if bf.IsInf() || !bf.IsInt() {
		return 0, false
	}
	n, acc := bf.Int64()
	return n, acc == big.Exact
}

// checkSchedules reports blackout names that no blackout block declares.
func (p *estateParser) checkSchedules(cfg *Estate) {
	names := make([]string, len(cfg.Blackouts))
	for i, b := range cfg.Blackouts {
		names[i] = b.Name
	}
	for _, s := range cfg.Schedules {
		for i, n := range s.Blackouts {
			if cfg.Blackout(n) == nil {
				p.errorf(p.blackoutRefs[s][i], "blackouts: unknown blackout %q%s", n, suggest(n, names))
			}
		}
	}
}
