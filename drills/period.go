package drills

import (
	"fmt"
	"regexp"
	"strconv"
	"time"
)

// Period is the span a report covers: [Start, End), both in UTC.
type Period struct {
	// Name is how the period was written: "2026", "2026-H1", "2026-Q3" or
	// "2026-01-01..2026-06-30".
	Name       string
	Start, End time.Time
}

// Contains reports whether t falls within the period.
func (p Period) Contains(t time.Time) bool {
	return !t.Before(p.Start) && t.Before(p.End)
}

var (
	periodYear    = regexp.MustCompile(`^(\d{4})$`)
	periodHalf    = regexp.MustCompile(`^(\d{4})-H([12])$`)
	periodQuarter = regexp.MustCompile(`^(\d{4})-Q([1-4])$`)
	periodRange   = regexp.MustCompile(`^(\d{4}-\d{2}-\d{2})\.\.(\d{4}-\d{2}-\d{2})$`)
)

// ParsePeriod reads a report period: a year ("2026"), a half ("2026-H1"), a quarter
// ("2026-Q3") or a range of days, both included ("2026-01-01..2026-06-30"). The boundaries
// are midnights in loc (the institution's time zone: a Korean bank's year starts at 00:00
// KST), returned in UTC. A nil loc means UTC.
func ParsePeriod(s string, loc *time.Location) (Period, error) {
	if loc == nil {
		loc = time.UTC
	}
	out := Period{Name: s}
	year := func(v string) int { n, _ := strconv.Atoi(v); return n }
	switch {
	case periodYear.MatchString(s):
		y := year(s)
		out.Start = time.Date(y, 1, 1, 0, 0, 0, 0, loc)
		out.End = out.Start.AddDate(1, 0, 0)
	case periodHalf.MatchString(s):
		m := periodHalf.FindStringSubmatch(s)
		h, _ := strconv.Atoi(m[2])
		out.Start = time.Date(year(m[1]), time.Month(1+6*(h-1)), 1, 0, 0, 0, 0, loc)
		out.End = out.Start.AddDate(0, 6, 0)
	case periodQuarter.MatchString(s):
		m := periodQuarter.FindStringSubmatch(s)
		q, _ := strconv.Atoi(m[2])
		out.Start = time.Date(year(m[1]), time.Month(1+3*(q-1)), 1, 0, 0, 0, 0, loc)
		out.End = out.Start.AddDate(0, 3, 0)
	case periodRange.MatchString(s):
		m := periodRange.FindStringSubmatch(s)
		from, err := time.ParseInLocation(time.DateOnly, m[1], loc)
		if err != nil {
			return Period{}, fmt.Errorf("period %q: %s is not a date", s, m[1])
		}
		to, err := time.ParseInLocation(time.DateOnly, m[2], loc)
		if err != nil {
			return Period{}, fmt.Errorf("period %q: %s is not a date", s, m[2])
		}
		if to.Before(from) {
			return Period{}, fmt.Errorf("period %q: ends before it starts", s)
		}
		out.Start = from
		// The last day is included: the period ends at the next midnight.
		out.End = to.AddDate(0, 0, 1)
	default:
		return Period{}, fmt.Errorf("period %q: write a year (2026), a half (2026-H1), a quarter (2026-Q3) or days (2026-01-01..2026-06-30)", s)
	}
	if out.Start.Year() < 2000 || out.Start.Year() > 9998 {
		return Period{}, fmt.Errorf("period %q: the year must be between 2000 and 9998", s)
	}
	out.Start, out.End = out.Start.UTC(), out.End.UTC()
	return out, nil
}

// Label is the period as a sentence names it: "2026", "the first half of 2026",
// "2026년 상반기", "2026년 3분기".
func (p Period) Label(lang string) string {
	ko := lang == "ko"
	switch {
	case periodYear.MatchString(p.Name):
		if ko {
			return p.Name + "년"
		}
		return p.Name
	case periodHalf.MatchString(p.Name):
		m := periodHalf.FindStringSubmatch(p.Name)
		if ko {
			return m[1] + "년 " + map[string]string{"1": "상반기", "2": "하반기"}[m[2]]
		}
		return "the " + map[string]string{"1": "first", "2": "second"}[m[2]] + " half of " + m[1]
	case periodQuarter.MatchString(p.Name):
		m := periodQuarter.FindStringSubmatch(p.Name)
		if ko {
			return m[1] + "년 " + m[2] + "분기"
		}
		return "Q" + m[2] + " " + m[1]
	case periodRange.MatchString(p.Name):
		m := periodRange.FindStringSubmatch(p.Name)
		if ko {
			return m[1] + "~" + m[2]
		}
		return m[1] + " to " + m[2]
	}
	return p.Name
}
