package drills_test

import (
	"fmt"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/firedrill/firedrill/drills"
	"github.com/firedrill/firedrill/internal/clock/clocktest"
	"github.com/robfig/cron/v3"
)

// scheduleEstate is the language example of the schedule blocks, after the primary site.
const scheduleEstate = primary + `
blackout "month-end" {
  reason     = "month-end closing"
  month_days = [-2, -1] # last two days of every month
}
blackout "market-hours" {
  weekdays = ["mon", "tue", "wed", "thu", "fri"]
  from     = "09:00"
  to       = "15:30"
}
blackout "holidays" { dates = ["2027-01-01", "2027-02-16"] }

schedule "yearly-sangam-loss" {
  plan         = "plans/site-loss.hcl"
  cron         = "0 2 * * SAT"
  time_zone    = "Asia/Seoul"
  start_within = "3h"
  missed       = "run_once"
  blackouts    = ["month-end", "holidays"]
  approval { roles = ["sre", "compliance"] }
}
schedule "nightly" {
  plan      = "plans/nightly.hcl"
  cron      = "@daily"
  time_zone = "Europe/London"
}
service "payments" {
  criticality = "core"
  rto         = "1h"
  rpo         = "5s"
  drill_every = "365d"
}
`

func parseEstate(t testing.TB, src string) *drills.Estate {
	t.Helper()
	cfg, diags := drills.ParseEstate([]byte(src), "c.hcl")
	if len(diags) > 0 {
		t.Fatalf("ParseConfig = %v, want no diagnostics", diags)
	}
	return cfg
}

func mustZone(t testing.TB, name string) *time.Location {
	t.Helper()
	loc, err := time.LoadLocation(name)
	if err != nil {
		t.Fatal(err)
	}
	return loc
}

func TestParseConfigSchedules(t *testing.T) {
	t.Parallel()
	cfg := parseEstate(t, scheduleEstate)
	s := cfg.Schedule("yearly-sangam-loss")
	if s == nil {
		t.Fatal(`Schedule("yearly-sangam-loss") = nil`)
	}
	want := drills.Schedule{
		Name: "yearly-sangam-loss", Plan: "plans/site-loss.hcl", Cron: "0 2 * * SAT", TimeZone: "Asia/Seoul",
		StartWithin: 3 * time.Hour, Missed: drills.MissedRunOnce, Blackouts: []string{"month-end", "holidays"},
		Approval: drills.ApprovalPolicy{Roles: []string{"sre", "compliance"}},
		Pos:      drills.Pos{File: "c.hcl", Line: 20, Column: 1},
	}
	got := drills.Schedule{
		Name: s.Name, Plan: s.Plan, Cron: s.Cron, TimeZone: s.TimeZone, StartWithin: s.StartWithin,
		Missed: s.Missed, Blackouts: s.Blackouts, Approval: s.Approval, Pos: s.Pos,
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("schedule = %+v, want %+v", got, want)
	}
	if s.Location == nil || s.Location.String() != "Asia/Seoul" || !s.Approval.Required() {
		t.Errorf("schedule location %v, approval required %v, want Asia/Seoul and true", s.Location, s.Approval.Required())
	}
	n := cfg.Schedule("nightly")
	if n.StartWithin != drills.DefaultStartWithin || n.Missed != drills.MissedSkip || n.Approval.Required() || len(n.Blackouts) != 0 {
		t.Errorf("nightly = %+v, want the defaults", n)
	}
	if cfg.Schedule("nope") != nil || cfg.Blackout("nope") != nil {
		t.Error("lookup of an unknown name is not nil")
	}
	wantBlackouts := []drills.Blackout{
		{Name: "month-end", Reason: "month-end closing", MonthDays: []int{-2, -1}, Pos: drills.Pos{File: "c.hcl", Line: 9, Column: 1}},
		{Name: "market-hours", Weekdays: []time.Weekday{time.Monday, time.Tuesday, time.Wednesday, time.Thursday, time.Friday},
			From: "09:00", To: "15:30", Pos: drills.Pos{File: "c.hcl", Line: 13, Column: 1}},
		{Name: "holidays", Dates: []string{"2027-01-01", "2027-02-16"}, Pos: drills.Pos{File: "c.hcl", Line: 18, Column: 1}},
	}
	if len(cfg.Blackouts) != len(wantBlackouts) {
		t.Fatalf("blackouts = %d, want %d", len(cfg.Blackouts), len(wantBlackouts))
	}
	for i, w := range wantBlackouts {
		if !reflect.DeepEqual(*cfg.Blackouts[i], w) {
			t.Errorf("blackout %d = %+v, want %+v", i, *cfg.Blackouts[i], w)
		}
	}
	if got := cfg.Service("payments").DrillEvery; got != 365*24*time.Hour {
		t.Errorf("drill_every = %v, want 365d", got)
	}
}

// schedBlock is a valid schedule block starting on line 8 (after primary): plan on line 9,
// cron on 10, time_zone on 11, then extra lines from 12.
func schedBlock(name string, extra ...string) string {
	return "schedule \"" + name + "\" {\n  plan = \"p.hcl\"\n  cron = \"0 2 * * *\"\n  time_zone = \"Asia/Seoul\"\n" +
		strings.Join(extra, "\n") + "\n}\n"
}

func TestParseConfigScheduleDiagnostics(t *testing.T) {
	t.Parallel()
	sched := schedBlock("s")
	tests := []struct {
		name string
		src  string
		want string
	}{
		{"missing plan", strings.Replace(sched, `  plan = "p.hcl"`, ``, 1), `c.hcl:8:1: schedule "s": plan is required`},
		{"empty plan", strings.Replace(sched, `"p.hcl"`, `""`, 1), `c.hcl:9:10: plan: must not be empty`},
		{"missing cron", strings.Replace(sched, `  cron = "0 2 * * *"`, ``, 1), `c.hcl:8:1: schedule "s": cron is required`},
		{"four fields", strings.Replace(sched, `"0 2 * * *"`, `"0 2 * *"`, 1),
			`c.hcl:10:10: cron: expected exactly 5 fields, found 4: [0 2 * *]`},
		{"hour out of range", strings.Replace(sched, `"0 2 * * *"`, `"0 25 * * *"`, 1),
			`c.hcl:10:10: cron: end of range (25) above maximum (23): 25`},
		{"bad day name", strings.Replace(sched, `"0 2 * * *"`, `"0 2 * * SATURDAY"`, 1),
			`c.hcl:10:10: cron: failed to parse int from SATURDAY`},
		{"seconds", strings.Replace(sched, `"0 2 * * *"`, `"0 0 2 * * *"`, 1), `c.hcl:10:10: cron: expected exactly 5 fields, found 6`},
		{"every", strings.Replace(sched, `"0 2 * * *"`, `"@every 1h"`, 1), `c.hcl:10:10: cron: @every is not supported`},
		{"unknown descriptor", strings.Replace(sched, `"0 2 * * *"`, `"@fortnightly"`, 1),
			`c.hcl:10:10: cron: unrecognized descriptor: @fortnightly`},
		{"zone prefix", strings.Replace(sched, `"0 2 * * *"`, `"CRON_TZ=Asia/Seoul 0 2 * * *"`, 1),
			`c.hcl:10:10: cron: a TZ= prefix is not allowed: set time_zone instead`},
		{"zone prefix alone", strings.Replace(sched, `"0 2 * * *"`, `"TZ=UTC"`, 1), `c.hcl:10:10: cron: a TZ= prefix is not allowed`},
		{"never fires", strings.Replace(sched, `"0 2 * * *"`, `"0 2 30 2 *"`, 1),
			`c.hcl:10:10: cron: "0 2 30 2 *" never fires: no selected month has the selected days`},
		{"missing zone", strings.Replace(sched, `  time_zone = "Asia/Seoul"`, ``, 1), `c.hcl:8:1: schedule "s": time_zone is required`},
		{"unknown zone", strings.Replace(sched, `"Asia/Seoul"`, `"Asia/Sejong"`, 1),
			`c.hcl:11:15: time_zone: unknown time zone "Asia/Sejong" (use an IANA name such as "Asia/Seoul" or "UTC")`},
		{"local zone", strings.Replace(sched, `"Asia/Seoul"`, `"Local"`, 1), `c.hcl:11:15: time_zone: unknown time zone "Local"`},
		{"zero start_within", schedBlock("s", `  start_within = "0s"`), `c.hcl:12:18: start_within: must be greater than zero`},
		{"bad start_within", schedBlock("s", `  start_within = "soon"`), `c.hcl:12:18: start_within: "soon" is not a duration`},
		{"bad missed", schedBlock("s", `  missed = "always"`), `c.hcl:12:12: missed: "always" is not one of "skip", "run_once"`},
		{"unknown blackout", schedBlock("s", `  blackouts = ["month-end", "holiday"]`) + "blackout \"holidays\" { dates = [\"2027-01-01\"] }\n" +
			"blackout \"month-end\" { month_days = [-1] }\n",
			`c.hcl:12:29: blackouts: unknown blackout "holiday"; did you mean "holidays"?`},
		{"blackout twice", schedBlock("s", `  blackouts = ["b", "b"]`) + "blackout \"b\" { dates = [\"2027-01-01\"] }\n",
			`c.hcl:12:21: blackouts: "b" is listed twice`},
		{"blackouts not a list", schedBlock("s", `  blackouts = "b"`), `c.hcl:12:15: blackouts: must be a list of strings`},
		{"duplicate schedule", sched + schedBlock("s"), `c.hcl:14:10: schedule "s" is already declared at line 8`},
		{"bad schedule name", schedBlock("a b"), `c.hcl:8:10: schedule name "a b" must start with a letter or digit`},
		{"unknown attribute", schedBlock("s", `  window = "1h"`), `c.hcl:12:3: unsupported argument: an argument named "window" is not expected here`},
		{"two approvals", schedBlock("s", `  approval { roles = ["sre"] }`, `  approval { roles = ["sre"] }`),
			`c.hcl:13:3: schedule "s": only one approval block is allowed`},
		{"approval without roles", schedBlock("s", `  approval {}`), `c.hcl:12:3: approval: roles is required`},
		{"no roles", schedBlock("s", `  approval { roles = [] }`), `c.hcl:12:22: roles: must name at least one role`},
		{"empty role", schedBlock("s", `  approval { roles = ["sre", " "] }`), `c.hcl:12:30: roles: a role must not be empty`},
		{"role twice", schedBlock("s", `  approval { roles = ["sre", "sre"] }`), `c.hcl:12:30: roles: "sre" is listed twice`},
		{"duplicate blackout", "blackout \"b\" { dates = [\"2027-01-01\"] }\nblackout \"b\" { dates = [\"2027-01-02\"] }\n",
			`c.hcl:9:10: blackout "b" is already declared at line 8`},
		{"empty blackout", "blackout \"b\" { reason = \"why\" }\n",
			`c.hcl:8:1: blackout "b": set dates, weekdays, month_days or from/to`},
		{"impossible date", "blackout \"b\" { dates = [\"2027-01-01\", \"2027-02-30\"] }\n",
			`c.hcl:8:39: dates: "2027-02-30" is not a date (YYYY-MM-DD, e.g. "2027-01-01")`},
		{"short date", "blackout \"b\" { dates = [\"2027-1-1\"] }\n", `c.hcl:8:25: dates: "2027-1-1" is not a date`},
		{"date twice", "blackout \"b\" { dates = [\"2027-01-01\", \"2027-01-01\"] }\n", `c.hcl:8:39: dates: "2027-01-01" is listed twice`},
		{"bad weekday", "blackout \"b\" { weekdays = [\"mon\", \"monday\"] }\n",
			`c.hcl:8:35: weekdays: "monday" is not a day of the week (one of "sun", "mon", "tue", "wed", "thu", "fri", "sat")`},
		{"month day zero", "blackout \"b\" { month_days = [1, 0] }\n", `c.hcl:8:33: month_days: 0 is out of range (1 to 31, or -1 for the last day to -31)`},
		{"month day 32", "blackout \"b\" { month_days = [32] }\n", `c.hcl:8:30: month_days: 32 is out of range`},
		{"month day -32", "blackout \"b\" { month_days = [-32] }\n", `c.hcl:8:30: month_days: -32 is out of range`},
		{"month day fraction", "blackout \"b\" { month_days = [1.5] }\n", `c.hcl:8:30: month_days: must be whole numbers`},
		{"month day twice", "blackout \"b\" { month_days = [-1, -1] }\n", `c.hcl:8:34: month_days: -1 is listed twice`},
		{"month days not a list", "blackout \"b\" { month_days = 1 }\n", `c.hcl:8:29: month_days: must be a list of days`},
		{"bad from", "blackout \"b\" {\n  from = \"9:00\"\n}\n", `c.hcl:9:10: from: "9:00" is not a time of day (HH:MM, 00:00 to 23:59)`},
		{"to 24:00", "blackout \"b\" {\n  to = \"24:00\"\n}\n", `c.hcl:9:8: to: "24:00" is not a time of day`},
		{"from after to", "blackout \"b\" {\n  from = \"22:00\"\n  to   = \"02:00\"\n}\n",
			`c.hcl:10:10: blackout "b": to (02:00) must be after from (22:00)`},
		{"from equals to", "blackout \"b\" {\n  from = \"09:00\"\n  to   = \"09:00\"\n}\n", `c.hcl:10:10: blackout "b": to (09:00) must be after from (09:00)`},
		{"zone in blackout", "blackout \"b\" {\n  dates = [\"2027-01-01\"]\n  time_zone = \"UTC\"\n}\n",
			`c.hcl:10:3: unsupported argument: an argument named "time_zone" is not expected here`},
		{"zero drill_every", svc("x", `  drill_every = "0d"`), `c.hcl:12:17: drill_every: must be greater than zero`},
		{"bad drill_every", svc("x", `  drill_every = "yearly"`), `c.hcl:12:17: drill_every: "yearly" is not a duration`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			_, diags := drills.ParseEstate([]byte(primary+tt.src), "c.hcl")
			wantDiag(t, "ParseConfig", diags, tt.want)
		})
	}
}

func TestParseConfigSchedulesJSON(t *testing.T) {
	t.Parallel()
	src := `{
  "site": {"a": {"role": "primary", "nomad": {"address": "http://a:4646", "region": "r"}}},
  "blackout": {"h": {"dates": ["2027-01-01"]}},
  "schedule": {"s": {"plan": "p.hcl", "cron": "0 2 * * *", "time_zone": "UTC", "blackouts": ["h", "x"]}}
}`
	cfg, diags := drills.ParseEstate([]byte(src), "c.json")
	wantDiag(t, "ParseConfig(json)", diags, `c.json:4:99: blackouts: unknown blackout "x"`)
	if s := cfg.Schedule("s"); s == nil || s.Location != time.UTC {
		t.Errorf("Schedule(s) = %+v", s)
	}
}

// Every problem of the schedule blocks is reported, not only the first.
func TestParseConfigSchedulesCollectAllProblems(t *testing.T) {
	t.Parallel()
	src := primary + "schedule \"s\" {\n  plan = \"p.hcl\"\n  cron = \"0 2 * *\"\n  time_zone = \"Mars/Olympus\"\n  missed = \"no\"\n}\n" +
		"blackout \"b\" {\n  from = \"10:00\"\n  to = \"09:00\"\n}\n"
	_, diags := drills.ParseEstate([]byte(src), "c.hcl")
	want := []string{`c.hcl:10:10: cron`, `c.hcl:11:15: time_zone`, `c.hcl:12:12: missed`, `c.hcl:16:8: blackout "b": to`}
	if len(diags) != len(want) {
		t.Fatalf("ParseConfig = %v, want %d diagnostics", diags, len(want))
	}
	for i, w := range want {
		if !strings.HasPrefix(diags[i].String(), w) {
			t.Errorf("diagnostic %d = %q, want prefix %q", i, diags[i], w)
		}
	}
}

// yearEstate holds the schedules of the year-long test: two daily schedules at the times New
// York's DST changes skip (02:30 in March) and repeat (01:30 in November), and one in Seoul,
// which has no DST. The blackouts apply to the 01:30 and Seoul schedules.
const yearEstate = primary + `
blackout "month-end" { month_days = [-1] }
blackout "holidays" { dates = ["2027-01-01", "2027-02-16", "2027-12-25"] }
schedule "ny-0230" {
  plan      = "p.hcl"
  cron      = "30 2 * * *"
  time_zone = "America/New_York"
}
schedule "ny-0130" {
  plan      = "p.hcl"
  cron      = "30 1 * * *"
  time_zone = "America/New_York"
  blackouts = ["month-end", "holidays"]
}
schedule "seoul-0200" {
  plan      = "p.hcl"
  cron      = "0 2 * * *"
  time_zone = "Asia/Seoul"
  blackouts = ["holidays", "month-end"]
}
`

// A fake clock drives each schedule through 2027, always to its next fire: every local day
// has exactly one fire at the right local time, across both DST changes, and none in a
// blackout; Fires shows the suppressed ones.
func TestNextFireYearAcrossDST(t *testing.T) {
	t.Parallel()
	cfg := parseEstate(t, yearEstate)
	tests := []struct {
		schedule   string
		hour, min  int
		blackedOut bool
	}{
		{"ny-0230", 2, 30, false},
		{"ny-0130", 1, 30, true},
		{"seoul-0200", 2, 0, true},
	}
	for _, tt := range tests {
		t.Run(tt.schedule, func(t *testing.T) {
			t.Parallel()
			s := cfg.Schedule(tt.schedule)
			loc := s.Location
			start := time.Date(2027, 1, 1, 0, 0, 0, 0, loc)
			end := time.Date(2028, 1, 1, 0, 0, 0, 0, loc)
			clk := clocktest.New(start.Add(-time.Nanosecond))

			byDay := map[string]drills.Fire{}
			var prev time.Time
			for {
				f, ok := cfg.NextFire(s, clk.Now())
				if !ok {
					t.Fatalf("NextFire(%v) found no fire", clk.Now())
				}
				if !f.At.After(clk.Now()) || !f.At.After(prev) {
					t.Fatalf("NextFire(%v) = %v: not after the previous fire %v", clk.Now(), f.At, prev)
				}
				if !f.At.Before(end) {
					break
				}
				clk.Set(f.At)
				prev = f.At
				if f.At.Location() != time.UTC || !f.Local.Equal(f.At) || f.Local.Location() != loc || f.Schedule != s.Name {
					t.Fatalf("fire %+v: want At in UTC and Local in %v", f, loc)
				}
				if f.Blackout != "" {
					t.Fatalf("NextFire returned a suppressed fire %+v", f)
				}
				if name, in := cfg.BlackoutAt(s, f.At); in {
					t.Fatalf("fire %v is inside blackout %q", f.Local, name)
				}
				day := f.Local.Format(time.DateOnly)
				if _, dup := byDay[day]; dup {
					t.Fatalf("two fires on %s: %v and %v", day, byDay[day].Local, f.Local)
				}
				byDay[day] = f
			}

			all := cfg.Fires(s, start.Add(-time.Nanosecond), end.Add(-time.Nanosecond))
			if len(all) != 365 {
				t.Fatalf("Fires over 2027 = %d fires, want 365 (one per day)", len(all))
			}
			suppressed := 0
			for i, f := range all {
				day := time.Date(2027, 1, 1+i, 0, 0, 0, 0, loc)
				date := day.Format(time.DateOnly)
				if got := f.Local.Format(time.DateOnly); got != date {
					t.Fatalf("fire %d is on %s, want %s", i, got, date)
				}
				wantH, wantM := tt.hour, tt.min
				if s.TimeZone == "America/New_York" && date == "2027-03-14" && tt.hour == 2 {
					wantH = 3 // 02:30 does not exist that day: shifted by the one-hour gap
				}
				if f.Local.Hour() != wantH || f.Local.Minute() != wantM {
					t.Errorf("fire on %s at %s, want %02d:%02d", date, f.Local.Format("15:04 MST"), wantH, wantM)
				}
				holiday := date == "2027-01-01" || date == "2027-02-16" || date == "2027-12-25"
				monthEnd := day.AddDate(0, 0, 1).Day() == 1
				wantSuppressed := tt.blackedOut && (holiday || monthEnd)
				if (f.Blackout != "") != wantSuppressed {
					t.Errorf("fire on %s has blackout %q, want suppressed %v", date, f.Blackout, wantSuppressed)
				}
				if wantSuppressed {
					suppressed++
					if _, fired := byDay[date]; fired {
						t.Errorf("NextFire fired on %s, inside blackout %q", date, f.Blackout)
					}
				} else if nf, ok := byDay[date]; !ok || !nf.At.Equal(f.At) {
					t.Errorf("NextFire on %s = %v, want %v", date, nf.Local, f.Local)
				}
			}
			if len(byDay)+suppressed != 365 {
				t.Errorf("NextFire fired on %d days, %d suppressed, want 365 in all", len(byDay), suppressed)
			}
			if tt.blackedOut && suppressed != 15 { // 12 month ends and 3 holidays, none at a month end
				t.Errorf("suppressed %d fires, want 15", suppressed)
			}
		})
	}
	// The two DST days, by instant.
	ny := cfg.Schedule("ny-0230")
	spring, _ := cfg.NextFire(ny, time.Date(2027, 3, 14, 0, 0, 0, 0, time.UTC))
	if want := time.Date(2027, 3, 14, 7, 30, 0, 0, time.UTC); !spring.At.Equal(want) || spring.Local.Format("15:04 MST") != "03:30 EDT" {
		t.Errorf("spring-forward fire = %v (%v), want %v (03:30 EDT)", spring.At, spring.Local, want)
	}
	fall, _ := cfg.NextFire(cfg.Schedule("ny-0130"), time.Date(2027, 11, 7, 0, 0, 0, 0, time.UTC))
	if want := time.Date(2027, 11, 7, 5, 30, 0, 0, time.UTC); !fall.At.Equal(want) || fall.Local.Format("15:04 MST") != "01:30 EDT" {
		t.Errorf("fall-back fire = %v (%v), want %v (01:30 EDT, the first occurrence)", fall.At, fall.Local, want)
	}
}

// Fires on the DST days themselves, for schedules that select many times of the day.
func TestFiresOnDSTDays(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, cron, zone string
		day              time.Time // local midnight, as a date
		wantCount        int
		wantAt           []string // UTC instants that must fire (MM-DD HH:MM)
		wantNot          []string // UTC instants that must not
	}{
		// 23 local hours: 02:00 and 02:30 are shifted onto 03:00 and 03:30, which also fire: one each.
		{"new york spring, half-hourly", "0,30 * * * *", "America/New_York", time.Date(2027, 3, 14, 0, 0, 0, 0, time.UTC),
			46, []string{"03-14 06:30", "03-14 07:00", "03-14 07:30", "03-14 08:00"}, nil},
		// 25 local hours: 01:00 and 01:30 fire at their first occurrence only (EDT, 05:00Z and 05:30Z).
		{"new york fall, half-hourly", "0,30 * * * *", "America/New_York", time.Date(2027, 11, 7, 0, 0, 0, 0, time.UTC),
			48, []string{"11-07 05:00", "11-07 05:30", "11-07 07:00"}, []string{"11-07 06:00", "11-07 06:30"}},
		{"new york spring, 02:15 only", "15 2 * * *", "America/New_York", time.Date(2027, 3, 14, 0, 0, 0, 0, time.UTC),
			1, []string{"03-14 07:15"}, nil},
		{"new york fall, 01:59 only", "59 1 * * *", "America/New_York", time.Date(2027, 11, 7, 0, 0, 0, 0, time.UTC),
			1, []string{"11-07 05:59"}, nil},
		// London: 01:00 GMT becomes 02:00 BST on 28 March; 02:00 BST becomes 01:00 GMT on 31 October.
		{"london spring", "30 1 * * *", "Europe/London", time.Date(2027, 3, 28, 0, 0, 0, 0, time.UTC),
			1, []string{"03-28 01:30"}, nil},
		{"london fall", "30 1 * * *", "Europe/London", time.Date(2027, 10, 31, 0, 0, 0, 0, time.UTC),
			1, []string{"10-31 00:30"}, []string{"10-31 01:30"}},
		// 01:00 BST is 00:00Z; 01:00 GMT (01:00Z) is its second occurrence.
		{"london fall, hourly", "0 * * * *", "Europe/London", time.Date(2027, 10, 31, 0, 0, 0, 0, time.UTC),
			24, []string{"10-30 23:00", "10-31 00:00", "10-31 02:00"}, []string{"10-31 01:00"}},
		// Lord Howe moves by half an hour: 02:00 becomes 02:30 on 3 October 2027 (+1030 to +11).
		{"lord howe spring", "15 2 * * *", "Australia/Lord_Howe", time.Date(2027, 10, 3, 0, 0, 0, 0, time.UTC),
			1, []string{"10-02 15:45"}, nil},
		{"seoul", "0,30 * * * *", "Asia/Seoul", time.Date(2027, 3, 14, 0, 0, 0, 0, time.UTC), 48, nil, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			loc := mustZone(t, tt.zone)
			s := &drills.Schedule{Name: "s", Cron: tt.cron, TimeZone: tt.zone, Location: loc}
			cfg := &drills.Estate{Schedules: []*drills.Schedule{s}}
			y, m, d := tt.day.Date()
			from := time.Date(y, m, d, 0, 0, 0, 0, loc).Add(-time.Nanosecond)
			to := time.Date(y, m, d+1, 0, 0, 0, 0, loc).Add(-time.Nanosecond)
			fires := cfg.Fires(s, from, to)
			if len(fires) != tt.wantCount {
				t.Errorf("Fires = %d fires, want %d", len(fires), tt.wantCount)
			}
			at := map[string]bool{}
			for i, f := range fires {
				if i > 0 && !f.At.After(fires[i-1].At) {
					t.Errorf("fire %d at %v is not after %v", i, f.At, fires[i-1].At)
				}
				at[f.At.Format("01-02 15:04")] = true
			}
			for _, w := range tt.wantAt {
				if !at[w] {
					t.Errorf("no fire at %sZ", w)
				}
			}
			for _, w := range tt.wantNot {
				if at[w] {
					t.Errorf("a fire at %sZ, the second occurrence", w)
				}
			}
		})
	}
}

// Away from DST changes the fires are exactly robfig/cron's.
func TestFiresAgreeWithRobfig(t *testing.T) {
	t.Parallel()
	exprs := []string{"0 2 * * SAT", "*/7 */5 * * *", "0 0 1,15 * *", "0 12 * * 1-5", "30 6 13 * FRI", "@monthly", "@weekly", "0 9 29 2 *", "5 4 -1 * *"}
	// Not Australia/Lord_Howe: robfig loses the fire a week after its half-hour changes.
	zones := []string{"UTC", "Asia/Seoul", "America/New_York", "Europe/London", "Australia/Sydney"}
	for _, expr := range exprs {
		for _, zone := range zones {
			loc := mustZone(t, zone)
			s := &drills.Schedule{Name: "s", Cron: expr, TimeZone: zone, Location: loc}
			cfg := &drills.Estate{Schedules: []*drills.Schedule{s}}
			from := time.Date(2027, 1, 1, 0, 0, 0, 0, loc)
			to := from.AddDate(1, 0, 0)
			sched, err := cron.ParseStandard("CRON_TZ=" + zone + " " + expr)
			if err != nil {
				if expr == "5 4 -1 * *" {
					continue // robfig refuses it, and so must the schedule
				}
				t.Fatal(err)
			}
			// robfig's fires on days without an offset change.
			var want []time.Time
			for at := sched.Next(from); !at.After(to); at = sched.Next(at) {
				if !dstDay(at.In(loc)) {
					want = append(want, at)
				}
			}
			var got []time.Time
			for _, f := range cfg.Fires(s, from, to) {
				if !dstDay(f.Local) {
					got = append(got, f.At)
				}
			}
			if !slices.EqualFunc(got, want, time.Time.Equal) {
				t.Errorf("Fires(%q in %s) = %d fires, robfig %d", expr, zone, len(got), len(want))
			}
		}
	}
	s := &drills.Schedule{Name: "s", Cron: "5 4 -1 * *", Location: time.UTC}
	if f := (&drills.Estate{}).Fires(s, time.Time{}, time.Now()); f != nil {
		t.Errorf("Fires of an invalid expression = %v, want none", f)
	}
}

// dstDay reports whether the local date of t has an offset change.
func dstDay(t time.Time) bool {
	y, m, d := t.Date()
	_, a := time.Date(y, m, d, 0, 0, 0, 0, t.Location()).Zone()
	_, b := time.Date(y, m, d+1, 0, 0, 0, 0, t.Location()).Add(-time.Second).Zone()
	return a != b
}

func TestBlackoutCovers(t *testing.T) {
	t.Parallel()
	market := &drills.Blackout{Weekdays: []time.Weekday{time.Monday, time.Tuesday, time.Wednesday, time.Thursday, time.Friday}, From: "09:00", To: "15:30"}
	lastTwo := &drills.Blackout{MonthDays: []int{-2, -1}}
	tests := []struct {
		name string
		b    *drills.Blackout
		at   string // local, in UTC here
		want bool
	}{
		{"market open", market, "2027-03-15 09:00:00", true},
		{"market before open", market, "2027-03-15 08:59:59", false},
		{"market last second", market, "2027-03-15 15:29:59", true},
		{"market closed", market, "2027-03-15 15:30:00", false},
		{"market saturday", market, "2027-03-13 10:00:00", false},
		{"feb 28 is second to last, non-leap", lastTwo, "2027-02-27 12:00:00", true},
		{"feb 28 is last, non-leap", lastTwo, "2027-02-28 00:00:00", true},
		{"feb 26, non-leap", lastTwo, "2027-02-26 23:59:59", false},
		{"feb 27, leap", lastTwo, "2028-02-27 12:00:00", false},
		{"feb 28, leap", lastTwo, "2028-02-28 12:00:00", true},
		{"feb 29, leap", lastTwo, "2028-02-29 12:00:00", true},
		{"march 1", lastTwo, "2028-03-01 00:00:00", false},
		{"day 31 in april", &drills.Blackout{MonthDays: []int{31}}, "2027-04-30 12:00:00", false},
		{"day -31 in february", &drills.Blackout{MonthDays: []int{-31}}, "2027-02-01 12:00:00", false},
		{"day -31 in january", &drills.Blackout{MonthDays: []int{-31}}, "2027-01-01 12:00:00", true},
		{"date", &drills.Blackout{Dates: []string{"2027-02-16"}}, "2027-02-16 23:59:59", true},
		{"next date", &drills.Blackout{Dates: []string{"2027-02-16"}}, "2027-02-17 00:00:00", false},
		{"from only", &drills.Blackout{From: "22:00"}, "2027-02-17 23:59:59", true},
		{"from only, before", &drills.Blackout{From: "22:00"}, "2027-02-17 21:59:59", false},
		{"to only", &drills.Blackout{To: "06:00"}, "2027-02-17 00:00:00", true},
		{"to only, after", &drills.Blackout{To: "06:00"}, "2027-02-17 06:00:00", false},
		{"last friday: both match", &drills.Blackout{Weekdays: []time.Weekday{time.Friday}, MonthDays: []int{-1}}, "2027-04-30 12:00:00", true},
		{"last friday: not friday", &drills.Blackout{Weekdays: []time.Weekday{time.Friday}, MonthDays: []int{-1}}, "2027-03-31 12:00:00", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			at, err := time.Parse(time.DateTime, tt.at)
			if err != nil {
				t.Fatal(err)
			}
			if got := tt.b.Covers(at); got != tt.want {
				t.Errorf("Covers(%s) = %v, want %v", tt.at, got, tt.want)
			}
		})
	}
}

// Blackouts are read in the schedule's zone, not in UTC or the host's.
func TestBlackoutAtUsesScheduleZone(t *testing.T) {
	t.Parallel()
	cfg := parseEstate(t, scheduleEstate)
	s := cfg.Schedule("yearly-sangam-loss") // Asia/Seoul, UTC+9
	tests := []struct {
		at   time.Time
		want string
	}{
		{time.Date(2027, 1, 31, 14, 59, 0, 0, time.UTC), "month-end"}, // 23:59 on 31 January in Seoul
		{time.Date(2027, 1, 31, 15, 0, 0, 0, time.UTC), ""},           // 1 February in Seoul, still 31 January in UTC
		{time.Date(2026, 12, 31, 15, 0, 0, 0, time.UTC), "holidays"},  // 1 January in Seoul, also not a month end there
		{time.Date(2027, 1, 29, 15, 0, 0, 0, time.UTC), "month-end"},  // 30 January in Seoul
		{time.Date(2027, 1, 29, 14, 0, 0, 0, time.UTC), ""},           // 29 January in Seoul
	}
	for _, tt := range tests {
		if got, in := cfg.BlackoutAt(s, tt.at); got != tt.want || in != (tt.want != "") {
			t.Errorf("BlackoutAt(%v) = %q, %v, want %q", tt.at, got, in, tt.want)
		}
	}
}

func TestNextFireNone(t *testing.T) {
	t.Parallel()
	src := primary + `
blackout "always" { weekdays = ["sun", "mon", "tue", "wed", "thu", "fri", "sat"] }
blackout "leap-day" { dates = ["2028-02-29"] }
schedule "never" {
  plan      = "p.hcl"
  cron      = "0 2 * * *"
  time_zone = "Europe/London"
  blackouts = ["always"]
}
schedule "leap" {
  plan      = "p.hcl"
  cron      = "0 9 29 2 *"
  time_zone = "Europe/London"
  blackouts = ["leap-day"]
}
`
	cfg := parseEstate(t, src)
	from := time.Date(2027, 3, 1, 0, 0, 0, 0, time.UTC)
	if f, ok := cfg.NextFire(cfg.Schedule("never"), from); ok {
		t.Errorf("NextFire(never) = %+v, want none", f)
	}
	f, ok := cfg.NextFire(cfg.Schedule("leap"), from)
	if want := time.Date(2032, 2, 29, 9, 0, 0, 0, time.UTC); !ok || !f.At.Equal(want) {
		t.Errorf("NextFire(leap) = %v, %v, want %v (2028 blacked out)", f.At, ok, want)
	}
	if f, ok := cfg.NextFire(cfg.Schedule("leap"), time.Date(2032, 3, 1, 0, 0, 0, 0, time.UTC)); !ok || f.At.Year() != 2036 {
		t.Errorf("NextFire(leap after 2032) = %v, %v, want 2036", f.At, ok)
	}
	// Five years is the horizon: 2032-02-29 is past it from 2027-01-01.
	if f, ok := cfg.NextFire(cfg.Schedule("leap"), time.Date(2027, 1, 1, 0, 0, 0, 0, time.UTC)); ok {
		t.Errorf("NextFire(leap) beyond five years = %v, want none", f.At)
	}
	all := cfg.Fires(cfg.Schedule("never"), from, from.AddDate(0, 0, 7))
	if len(all) != 7 || !slices.ContainsFunc(all, drills.Fire.Suppressed) || slices.ContainsFunc(all, func(f drills.Fire) bool { return f.Blackout != "always" }) {
		t.Errorf("Fires(never) over a week = %+v, want 7 suppressed by always", all)
	}
}

// NextFire skips the rest of a blackout window at once; it must still find exactly the first
// fire that Fires does not show suppressed, across DST changes and windows of every shape.
func TestNextFireSkipsBlackoutWindows(t *testing.T) {
	t.Parallel()
	cfg := parseEstate(t, primary+`
blackout "market-hours" {
  weekdays = ["mon", "tue", "wed", "thu", "fri"]
  from     = "09:00"
  to       = "15:30"
}
blackout "night" { to = "03:00" }
blackout "late" { from = "22:00" }
blackout "month-end" { month_days = [-1] }
blackout "always" { from = "00:00" }
schedule "quarter-hourly" {
  plan      = "p.hcl"
  cron      = "*/15 * * * *"
  time_zone = "America/New_York"
  blackouts = ["market-hours", "night", "late", "month-end"]
}
schedule "never" {
  plan      = "p.hcl"
  cron      = "* * * * *"
  time_zone = "America/New_York"
  blackouts = ["always"]
}
`)
	s := cfg.Schedule("quarter-hourly")
	for _, month := range []time.Month{time.March, time.November} {
		from := time.Date(2027, month, 1, 0, 0, 0, 0, time.UTC)
		to := from.AddDate(0, 1, 0)
		var want, got []time.Time
		for _, f := range cfg.Fires(s, from, to) {
			if !f.Suppressed() {
				want = append(want, f.At)
			}
		}
		for at := from; ; {
			f, ok := cfg.NextFire(s, at)
			if !ok || f.At.After(to) {
				break
			}
			got = append(got, f.At)
			at = f.At
		}
		if len(want) == 0 || !slices.EqualFunc(got, want, time.Time.Equal) {
			t.Errorf("%v: NextFire walk = %d fires, unsuppressed Fires = %d", month, len(got), len(want))
		}
	}
	if f, ok := cfg.NextFire(cfg.Schedule("never"), time.Date(2027, 1, 1, 0, 0, 0, 0, time.UTC)); ok {
		t.Errorf("NextFire(never) = %v, want none", f.At)
	}
}

func TestDueStatuses(t *testing.T) {
	t.Parallel()
	cfg := parseEstate(t, primary+svc("auth", `  drill_every = "365d"`)+svc("payments", `  drill_every = "365d"`)+
		svc("ledger", `  drill_every = "180d"`)+svc("batch", `  drill_every = "90d"`)+svc("docs")+svc("web", `  drill_every = "30d"`))
	now := time.Date(2027, 6, 1, 0, 0, 0, 0, time.UTC)
	day := 24 * time.Hour
	last := map[string]time.Time{
		"payments": now.Add(-400 * day),
		"ledger":   now.Add(-10 * day),
		"batch":    now.Add(-90 * day), // due exactly now: not yet overdue
		"docs":     now.Add(-1000 * day),
		"web":      {},
	}
	got := drills.DueStatuses(cfg, last, now)
	want := []drills.DueStatus{
		{Service: "auth", Every: 365 * day, Overdue: true, NeverDrilled: true},
		{Service: "web", Every: 30 * day, Overdue: true, NeverDrilled: true},
		{Service: "payments", Every: 365 * day, LastPassed: last["payments"], NextDue: now.Add(-35 * day), Overdue: true},
		{Service: "batch", Every: 90 * day, LastPassed: last["batch"], NextDue: now},
		{Service: "ledger", Every: 180 * day, LastPassed: last["ledger"], NextDue: now.Add(170 * day)},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("DueStatuses =\n%s\nwant\n%s", dueLines(got), dueLines(want))
	}
	if got := drills.DueStatuses(parseEstate(t, primary+svc("docs")), nil, now); len(got) != 0 {
		t.Errorf("DueStatuses without drill_every = %v, want none", got)
	}
}

func dueLines(l []drills.DueStatus) string {
	var b strings.Builder
	for _, s := range l {
		fmt.Fprintf(&b, "  %+v\n", s)
	}
	return b.String()
}

func FuzzParseEstateSchedules(f *testing.F) {
	f.Add([]byte(scheduleEstate), false)
	f.Add([]byte(yearEstate), false)
	f.Add([]byte(primary+schedBlock("s", `  blackouts = ["b"]`, `  approval { roles = ["sre"] }`)+"blackout \"b\" {\n  weekdays = [\"sat\"]\n  from = \"01:00\"\n  to = \"03:00\"\n}\n"), false)
	f.Add([]byte(`{"site": {"a": {"role": "primary", "nomad": {"address": "http://a:4646", "region": "r"}}}, "blackout": {"b": {"month_days": [-1, 15]}}, "schedule": {"s": {"plan": "p.hcl", "cron": "*/20 1-3 * 3,11 0", "time_zone": "America/New_York", "blackouts": ["b"]}}}`), true)
	from := time.Date(2027, 3, 10, 0, 0, 0, 0, time.UTC)
	to := from.AddDate(0, 0, 3)
	f.Fuzz(func(t *testing.T, src []byte, json bool) {
		name := fuzzName(json)
		cfg, diags := drills.ParseEstate(src, name)
		checkDiagPositions(t, "ParseConfig", name, diags)
		if cfg == nil || diags.HasErrors() {
			return
		}
		for _, s := range cfg.Schedules {
			if s.Location == nil || s.StartWithin <= 0 || (s.Missed != drills.MissedSkip && s.Missed != drills.MissedRunOnce) {
				t.Fatalf("valid schedule %+v has no zone, window or missed policy", s)
			}
			for _, b := range s.Blackouts {
				if cfg.Blackout(b) == nil {
					t.Fatalf("valid schedule %q names unknown blackout %q", s.Name, b)
				}
			}
			fires := cfg.Fires(s, from, to)
			for i, fr := range fires {
				if !fr.At.After(from) || fr.At.After(to) || (i > 0 && !fr.At.After(fires[i-1].At)) {
					t.Fatalf("Fires(%q) = %v: out of range or order at %d", s.Cron, fires, i)
				}
				if name, _ := cfg.BlackoutAt(s, fr.At); name != fr.Blackout {
					t.Fatalf("fire %v: Blackout %q, BlackoutAt %q", fr.At, fr.Blackout, name)
				}
			}
			if next, ok := cfg.NextFire(s, from); ok {
				if !next.At.After(from) || next.Suppressed() {
					t.Fatalf("NextFire(%q) = %+v", s.Cron, next)
				}
				if i := slices.IndexFunc(fires, func(f drills.Fire) bool { return !f.Suppressed() }); i >= 0 && !fires[i].At.Equal(next.At) {
					t.Fatalf("NextFire(%q) = %v, Fires' first unsuppressed %v", s.Cron, next.At, fires[i].At)
				}
			}
		}
	})
}

func BenchmarkNextFire(b *testing.B) {
	for _, expr := range []string{"* * * * *", "30 2 * * *", "0 2 * * SAT", "0 9 29 2 *"} {
		b.Run(expr, func(b *testing.B) {
			s := &drills.Schedule{Name: "s", Cron: expr, TimeZone: "America/New_York", Location: mustZone(b, "America/New_York")}
			cfg := &drills.Estate{Schedules: []*drills.Schedule{s}}
			start := time.Date(2027, 1, 1, 0, 0, 0, 0, time.UTC)
			at := start
			for b.Loop() {
				f, ok := cfg.NextFire(s, at)
				if !ok || f.At.Year() > 2090 {
					f.At = start // 29 February: 2100 is not a leap year
				}
				at = f.At
			}
		})
	}
}
