package main

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/google/uuid"
	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/firedrill/firedrill/drills"
	"github.com/firedrill/firedrill/internal/clock"
	"github.com/firedrill/firedrill/orchestrator/scheduler"
	"github.com/firedrill/firedrill/orchestrator/store"
)

// localLayout is how fire times are shown: in the schedule's time zone, with its abbreviation.
const localLayout = "2006-01-02 15:04 MST"

// scheduleFlags are the flags every schedule and calendar command shares.
type scheduleFlags struct {
	configPath, databaseURL string
	asJSON                  bool
}

func (f *scheduleFlags) register(cmd *cobra.Command, withConfig bool) {
	fs := cmd.Flags()
	if withConfig {
		fs.StringVar(&f.configPath, "config", "", "estate file (env FIREDRILL_CONFIG); default: firedrill.hcl in the working directory or above")
	}
	fs.StringVar(&f.databaseURL, "database-url", defaultDatabaseURL, "postgres://... or sqlite:PATH (env FIREDRILL_DATABASE_URL)")
	fs.BoolVar(&f.asJSON, "json", false, "print the result as JSON")
}

// estate loads the estate the flags name.
func (f *scheduleFlags) estate() (*drills.Estate, []byte, string, error) {
	path, err := findConfig(f.configPath, nil)
	if err != nil {
		return nil, nil, "", err
	}
	cfg, src, err := loadEstate(path)
	if err != nil {
		return nil, nil, "", err
	}
	return cfg, src, path, nil
}

// schedulePlanLoader reads a schedule's plan, written relative to the estate file.
func schedulePlanLoader(estatePath string) func(string) (*drills.Plan, []byte, error) {
	dir := filepath.Dir(estatePath)
	return func(path string) (*drills.Plan, []byte, error) {
		if !filepath.IsAbs(path) {
			path = filepath.Join(dir, path)
		}
		return loadPlan(path)
	}
}

func (a *app) scheduleCommand() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "schedule",
		Short: "List, show, pause and resume the estate's drill schedules",
		Long: `Schedules are declared in the estate file (schedule blocks) and fired by the replica of
` + "`firedrill serve`" + ` that holds the scheduler lease. Each fire is decided once and recorded: a run
(pending, or awaiting approval), or skipped (paused, blackout, missed), with the reason.
Fire times are shown in each schedule's time zone.`,
	}
	cmd.AddCommand(a.scheduleListCommand(), a.scheduleShowCommand(), a.schedulePauseCommand(), a.scheduleResumeCommand())
	return cmd
}

// scheduleRow is one schedule as list and show print it.
type scheduleRow struct {
	Name         string     `json:"name"`
	Plan         string     `json:"plan"`
	PlanName     string     `json:"plan_name,omitempty"`
	Cron         string     `json:"cron"`
	TimeZone     string     `json:"time_zone"`
	Missed       string     `json:"missed"`
	StartWithin  string     `json:"start_within"`
	Blackouts    []string   `json:"blackouts"`
	Approval     []string   `json:"approval_roles"`
	InEstate     bool       `json:"in_estate"`
	Recorded     bool       `json:"recorded"`
	Paused       bool       `json:"paused"`
	PausedBy     string     `json:"paused_by,omitempty"`
	PausedReason string     `json:"paused_reason,omitempty"`
	PausedAt     *time.Time `json:"paused_at,omitempty"`
	LastFire     *time.Time `json:"last_fire,omitempty"`
	NextFire     *time.Time `json:"next_fire,omitempty"`
	NextFireLoc  string     `json:"next_fire_local,omitempty"`
}

func scheduleRowOf(cfg *drills.Estate, sch *drills.Schedule, rec *store.Schedule, now time.Time) scheduleRow {
	r := scheduleRow{Blackouts: []string{}, Approval: []string{}}
	if sch != nil {
		r.Name, r.Plan, r.Cron, r.TimeZone, r.InEstate = sch.Name, sch.Plan, sch.Cron, sch.TimeZone, true
		r.Missed = string(sch.Missed)
		if r.Missed == "" {
			r.Missed = string(drills.MissedSkip)
		}
		within := sch.StartWithin
		if within <= 0 {
			within = drills.DefaultStartWithin
		}
		r.StartWithin = shortDuration(within)
		if sch.Blackouts != nil {
			r.Blackouts = sch.Blackouts
		}
		if sch.Approval.Roles != nil {
			r.Approval = sch.Approval.Roles
		}
	}
	if rec != nil {
		r.Name, r.PlanName, r.Recorded = rec.Name, rec.PlanName, true
		if sch == nil {
			r.Plan = rec.PlanFile
		}
		r.Paused, r.PausedBy, r.PausedReason, r.PausedAt = rec.Paused, rec.PausedBy.Name, rec.PausedReason, rec.PausedAt
		if !rec.Paused && rec.PausedReason == store.ScheduleResumedReason {
			r.PausedBy, r.PausedReason, r.PausedAt = "", "", nil
		}
		r.LastFire = rec.LastFireTime
	}
	if sch != nil && !r.Paused {
		if f, ok := cfg.NextFire(sch, now); ok {
			at := f.At
			r.NextFire, r.NextFireLoc = &at, f.Local.Format(localLayout)
		}
	}
	return r
}

// scheduleRows merges the estate's schedules with the recorded ones: estate order first, then
// recorded schedules the estate no longer defines.
func scheduleRows(cfg *drills.Estate, recs []*store.Schedule, now time.Time) []scheduleRow {
	byName := map[string]*store.Schedule{}
	for _, r := range recs {
		byName[r.Name] = r
	}
	var rows []scheduleRow
	for _, sch := range cfg.Schedules {
		rows = append(rows, scheduleRowOf(cfg, sch, byName[sch.Name], now))
		delete(byName, sch.Name)
	}
	for _, r := range recs {
		if byName[r.Name] != nil {
			rows = append(rows, scheduleRowOf(cfg, nil, r, now))
		}
	}
	return rows
}

func (r *scheduleRow) state() string {
	switch {
	case !r.InEstate:
		return "not in estate"
	case r.Paused:
		return "paused by " + r.PausedBy
	case !r.Recorded:
		return "active (not yet recorded: start firedrill serve)"
	}
	return "active"
}

func (a *app) scheduleListCommand() *cobra.Command {
	var f scheduleFlags
	cmd := &cobra.Command{
		Use:   "list",
		Short: "List the schedules with their state and next fire in local time",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			cfg, _, _, err := f.estate()
			if err != nil {
				return err
			}
			st, err := a.openStore(cmd.Context(), f.databaseURL, false)
			if err != nil {
				return err
			}
			defer st.Close()
			recs, err := st.ScheduleList(cmd.Context())
			if err != nil {
				return err
			}
			rows := scheduleRows(cfg, recs, time.Now())
			if f.asJSON {
				if rows == nil {
					rows = []scheduleRow{}
				}
				return writeJSON(a.stdout, map[string]any{"schedules": rows})
			}
			if len(rows) == 0 {
				fmt.Fprintln(a.stdout, "no schedules: declare schedule blocks in the estate file")
				return nil
			}
			tw := tabwriter.NewWriter(a.stdout, 0, 4, 2, ' ', 0)
			fmt.Fprintln(tw, "NAME\tPLAN\tCRON\tTIME ZONE\tSTATE\tNEXT FIRE")
			for _, r := range rows {
				next := r.NextFireLoc
				if next == "" {
					next = "-"
				}
				fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\n", r.Name, r.Plan, orDash(r.Cron), orDash(r.TimeZone), r.state(), next)
			}
			return tw.Flush()
		},
	}
	f.register(cmd, true)
	return cmd
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

// fireRow is one decided fire.
type fireRow struct {
	FireTime  time.Time `json:"fire_time"`
	Local     string    `json:"local"`
	Decision  string    `json:"decision"`
	Reason    string    `json:"reason,omitempty"`
	RunID     string    `json:"run_id,omitempty"`
	DecidedBy string    `json:"decided_by"`
}

// upcomingRow is one future fire.
type upcomingRow struct {
	At       time.Time `json:"at"`
	Local    string    `json:"local"`
	Blackout string    `json:"blackout,omitempty"`
}

func (a *app) scheduleShowCommand() *cobra.Command {
	var f scheduleFlags
	var recent int
	cmd := &cobra.Command{
		Use:   "show NAME",
		Short: "Show a schedule: its definition, recent fires with their decisions and the next 5 fires",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx := cmd.Context()
			name := args[0]
			if recent <= 0 {
				return fmt.Errorf("--recent must be positive, got %d", recent)
			}
			cfg, _, path, err := f.estate()
			if err != nil {
				return err
			}
			st, err := a.openStore(ctx, f.databaseURL, false)
			if err != nil {
				return err
			}
			defer st.Close()
			sch := cfg.Schedule(name)
			rec, err := st.ScheduleGet(ctx, name)
			switch {
			case errors.Is(err, store.ErrNotFound):
				rec = nil
				if sch == nil {
					return fmt.Errorf("no schedule %q in %s nor in the database", name, path)
				}
			case err != nil:
				return err
			}
			row := scheduleRowOf(cfg, sch, rec, time.Now())
			loc := time.UTC
			if sch != nil && sch.Location != nil {
				loc = sch.Location
			}
			var fired []fireRow
			if rec != nil {
				fs, err := st.ScheduleFireRecent(ctx, name, recent)
				if err != nil {
					return err
				}
				for _, fr := range fs {
					fired = append(fired, fireRow{FireTime: fr.FireTime, Local: fr.FireTime.In(loc).Format(localLayout),
						Decision: fr.Decision, Reason: fr.Reason, RunID: fr.RunID, DecidedBy: fr.DecidedBy})
				}
			}
			var upcoming []upcomingRow
			if sch != nil {
				upcoming = nextFires(cfg, sch, time.Now(), 5)
			}
			if f.asJSON {
				if fired == nil {
					fired = []fireRow{}
				}
				if upcoming == nil {
					upcoming = []upcomingRow{}
				}
				return writeJSON(a.stdout, map[string]any{"schedule": row, "recent_fires": fired, "next_fires": upcoming})
			}
			printSchedule(a.stdout, &row, fired, upcoming)
			return nil
		},
	}
	f.register(cmd, true)
	cmd.Flags().IntVar(&recent, "recent", 10, "how many recent fires to show")
	return cmd
}

// nextFires returns the next n fires of sch after now, blacked-out ones included (they show why
// a date is skipped).
func nextFires(cfg *drills.Estate, sch *drills.Schedule, now time.Time, n int) []upcomingRow {
	var out []upcomingRow
	from := now
	for window := 24 * time.Hour; len(out) < n && window <= 8*366*24*time.Hour; window *= 2 {
		to := from.Add(window)
		for _, fr := range cfg.Fires(sch, from, to) {
			if len(out) == n {
				break
			}
			out = append(out, upcomingRow{At: fr.At, Local: fr.Local.Format(localLayout), Blackout: fr.Blackout})
		}
		from = to
	}
	return out
}

func printSchedule(w io.Writer, r *scheduleRow, fired []fireRow, upcoming []upcomingRow) {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintf(tw, "schedule\t%s\n", r.Name)
	fmt.Fprintf(tw, "plan\t%s\n", r.Plan)
	if r.InEstate {
		fmt.Fprintf(tw, "cron\t%s (%s)\n", r.Cron, r.TimeZone)
		fmt.Fprintf(tw, "start within\t%s\n", r.StartWithin)
		fmt.Fprintf(tw, "missed fires\t%s\n", r.Missed)
		fmt.Fprintf(tw, "blackouts\t%s\n", joinOrNone(r.Blackouts))
		fmt.Fprintf(tw, "approval\t%s\n", joinOrNone(r.Approval))
	}
	state := r.state()
	if r.Paused && r.PausedReason != "" {
		state += ": " + r.PausedReason
	}
	if r.PausedAt != nil {
		state += " (since " + r.PausedAt.Format(time.RFC3339) + ")"
	}
	fmt.Fprintf(tw, "state\t%s\n", state)
	_ = tw.Flush()
	fmt.Fprintln(w, "\nrecent fires:")
	if len(fired) == 0 {
		fmt.Fprintln(w, "  none")
	}
	tw = tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	for _, fr := range fired {
		detail := fr.Reason
		if fr.RunID != "" {
			detail = "run " + fr.RunID
		}
		fmt.Fprintf(tw, "  %s\t%s\t%s\n", fr.Local, fr.Decision, detail)
	}
	_ = tw.Flush()
	fmt.Fprintln(w, "\nnext fires:")
	if len(upcoming) == 0 {
		fmt.Fprintln(w, "  none")
	}
	for _, u := range upcoming {
		if u.Blackout != "" {
			fmt.Fprintf(w, "  %s  skipped: blackout %s\n", u.Local, u.Blackout)
			continue
		}
		fmt.Fprintf(w, "  %s\n", u.Local)
	}
}

func joinOrNone(ss []string) string {
	if len(ss) == 0 {
		return "none"
	}
	out := ss[0]
	for _, s := range ss[1:] {
		out += ", " + s
	}
	return out
}

func (a *app) schedulePauseCommand() *cobra.Command {
	var f scheduleFlags
	var by, reason string
	cmd := &cobra.Command{
		Use:   "pause NAME",
		Short: "Pause a schedule: its fires are recorded as skipped until it is resumed",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if reason == "" {
				return errors.New("--reason is required: say why the schedule is paused; it is recorded")
			}
			if by == "" {
				by = currentUser()
			}
			return a.scheduleSetPaused(cmd.Context(), &f, args[0], func(st *store.Store) (*store.Schedule, error) {
				return st.SchedulePause(cmd.Context(), &store.SchedulePauseParams{Name: args[0], By: localPerson(by), Reason: reason})
			})
		},
	}
	f.register(cmd, false)
	cmd.Flags().StringVar(&by, "by", "", "who pauses, recorded (env FIREDRILL_BY); default: the OS user")
	cmd.Flags().StringVar(&reason, "reason", "", "why, recorded (required)")
	return cmd
}

func (a *app) scheduleResumeCommand() *cobra.Command {
	var f scheduleFlags
	var by string
	cmd := &cobra.Command{
		Use:   "resume NAME",
		Short: "Resume a paused schedule; fires skipped while it was paused stay skipped",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if by == "" {
				by = currentUser()
			}
			return a.scheduleSetPaused(cmd.Context(), &f, args[0], func(st *store.Store) (*store.Schedule, error) {
				return st.ScheduleResume(cmd.Context(), &store.SchedulePauseParams{Name: args[0], By: localPerson(by)})
			})
		},
	}
	f.register(cmd, false)
	cmd.Flags().StringVar(&by, "by", "", "who resumes, recorded (env FIREDRILL_BY); default: the OS user")
	return cmd
}

func (a *app) scheduleSetPaused(ctx context.Context, f *scheduleFlags, name string, set func(*store.Store) (*store.Schedule, error)) error {
	st, err := a.openStore(ctx, f.databaseURL, false)
	if err != nil {
		return err
	}
	defer st.Close()
	rec, err := set(st)
	if errors.Is(err, store.ErrNotFound) {
		return fmt.Errorf("no schedule %q in the database (schedules are recorded when `firedrill serve` starts with the estate)", name)
	}
	if err != nil {
		return err
	}
	if f.asJSON {
		return writeJSON(a.stdout, map[string]any{
			"name": rec.Name, "paused": rec.Paused, "by": rec.PausedBy.Name, "reason": rec.PausedReason, "at": rec.PausedAt,
		})
	}
	if rec.Paused {
		fmt.Fprintf(a.stdout, "schedule %s paused by %s: %s\n", rec.Name, rec.PausedBy.Name, rec.PausedReason)
	} else {
		fmt.Fprintf(a.stdout, "schedule %s resumed by %s\n", rec.Name, rec.PausedBy.Name)
	}
	return nil
}

// calendarFire is one fire in the calendar.
type calendarFire struct {
	Schedule string    `json:"schedule"`
	Plan     string    `json:"plan"`
	At       time.Time `json:"at"`
	Local    string    `json:"local"`
	TimeZone string    `json:"time_zone"`
	Blackout string    `json:"blackout,omitempty"`
}

// calendarDue is a service's drill due date.
type calendarDue struct {
	Service      string     `json:"service"`
	Every        string     `json:"every"`
	LastPassed   *time.Time `json:"last_passed,omitempty"`
	NextDue      *time.Time `json:"next_due,omitempty"`
	Overdue      bool       `json:"overdue"`
	NeverDrilled bool       `json:"never_drilled"`
}

func (a *app) calendarCommand() *cobra.Command {
	var f scheduleFlags
	var fromFlag, toFlag, only string
	cmd := &cobra.Command{
		Use:   "calendar --from YYYY-MM-DD --to YYYY-MM-DD",
		Short: "Show every scheduled fire between two dates in local time, and which services are due",
		Long: `Show every fire of the estate's schedules whose local date lies between --from and --to
(both included), in the schedule's time zone; fires a blackout suppresses are shown with the
blackout's name. Then, for every service with a drill_every, when its next drill is due
(from its last passed drill in the database) and whether it is overdue.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			from, err := parseDateFlag("--from", fromFlag)
			if err != nil {
				return err
			}
			to, err := parseDateFlag("--to", toFlag)
			if err != nil {
				return err
			}
			if to.Before(from) {
				return fmt.Errorf("--to %s is before --from %s", toFlag, fromFlag)
			}
			cfg, _, path, err := f.estate()
			if err != nil {
				return err
			}
			schedules := cfg.Schedules
			if only != "" {
				sch := cfg.Schedule(only)
				if sch == nil {
					return fmt.Errorf("--schedule: %s defines no schedule %q", path, only)
				}
				schedules = []*drills.Schedule{sch}
			}
			st, err := a.openStore(cmd.Context(), f.databaseURL, false)
			if err != nil {
				return err
			}
			defer st.Close()
			passed, err := st.LastPassedRuns(cmd.Context())
			if err != nil {
				return err
			}
			fires := calendarFires(cfg, schedules, from, to)
			dues := calendarDues(cfg, passed, time.Now())
			if f.asJSON {
				return writeJSON(a.stdout, map[string]any{"from": fromFlag, "to": toFlag, "fires": fires, "services": dues})
			}
			printCalendar(a.stdout, fires, dues)
			return nil
		},
	}
	f.register(cmd, true)
	cmd.Flags().StringVar(&fromFlag, "from", "", "first local date, YYYY-MM-DD (required)")
	cmd.Flags().StringVar(&toFlag, "to", "", "last local date, YYYY-MM-DD, included (required)")
	cmd.Flags().StringVar(&only, "schedule", "", "show only this schedule's fires")
	return cmd
}

func parseDateFlag(flag, v string) (time.Time, error) {
	if v == "" {
		return time.Time{}, fmt.Errorf("%s is required (YYYY-MM-DD)", flag)
	}
	d, err := time.Parse(time.DateOnly, v)
	if err != nil {
		return time.Time{}, fmt.Errorf("%s %q is not a date: want YYYY-MM-DD", flag, v)
	}
	return d, nil
}

// calendarFires returns the fires of schedules on local dates from..to (included), by time.
func calendarFires(cfg *drills.Estate, schedules []*drills.Schedule, from, to time.Time) []calendarFire {
	out := []calendarFire{}
	for _, sch := range schedules {
		loc := sch.Location
		if loc == nil {
			loc = time.UTC
		}
		start := time.Date(from.Year(), from.Month(), from.Day(), 0, 0, 0, 0, loc)
		end := time.Date(to.Year(), to.Month(), to.Day()+1, 0, 0, 0, 0, loc)
		for _, fr := range cfg.Fires(sch, start.Add(-time.Nanosecond), end.Add(-time.Nanosecond)) {
			out = append(out, calendarFire{Schedule: sch.Name, Plan: sch.Plan, At: fr.At, Local: fr.Local.Format(localLayout),
				TimeZone: loc.String(), Blackout: fr.Blackout})
		}
	}
	sortCalendar(out)
	return out
}

func sortCalendar(fs []calendarFire) {
	slices.SortStableFunc(fs, func(a, b calendarFire) int {
		return cmp.Or(a.At.Compare(b.At), cmp.Compare(a.Schedule, b.Schedule))
	})
}

func calendarDues(cfg *drills.Estate, passed map[string]time.Time, now time.Time) []calendarDue {
	out := []calendarDue{}
	for _, d := range drills.DueStatuses(cfg, passed, now) {
		c := calendarDue{Service: d.Service, Every: formatEvery(d.Every), Overdue: d.Overdue, NeverDrilled: d.NeverDrilled}
		if !d.LastPassed.IsZero() {
			lp, nd := d.LastPassed.UTC(), d.NextDue.UTC()
			c.LastPassed, c.NextDue = &lp, &nd
		}
		out = append(out, c)
	}
	return out
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

func printCalendar(w io.Writer, fires []calendarFire, dues []calendarDue) {
	if len(fires) == 0 {
		fmt.Fprintln(w, "no fires in this period")
	}
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	for _, f := range fires {
		note := f.Plan
		if f.Blackout != "" {
			note = "skipped: blackout " + f.Blackout
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\n", f.Local, f.Schedule, note)
	}
	_ = tw.Flush()
	if len(dues) == 0 {
		return
	}
	fmt.Fprintln(w, "\nservices due:")
	tw = tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	for _, d := range dues {
		last, next := "never passed", "due now"
		if d.LastPassed != nil {
			last = "last passed " + d.LastPassed.Format(time.DateOnly)
			next = "next due " + d.NextDue.Format(time.DateOnly)
		}
		status := "ok"
		if d.Overdue {
			status = "OVERDUE"
		}
		fmt.Fprintf(tw, "  %s\tevery %s\t%s\t%s\t%s\n", d.Service, d.Every, last, next, status)
	}
	_ = tw.Flush()
}

// schedulerOptions are serve's scheduler flags.
type schedulerOptions struct {
	configPath string
	tick       time.Duration
	leaseFor   time.Duration
	// onFire is told of every run a fire creates (notifications); optional.
	onFire func(ctx context.Context, run *store.Run)
}

func (o *schedulerOptions) register(fs *pflag.FlagSet) {
	fs.StringVar(&o.configPath, "config", "", "estate file whose schedules this replica fires (env FIREDRILL_CONFIG); default: firedrill.hcl in the working directory or above, else no scheduler")
	fs.DurationVar(&o.tick, "schedule-tick", scheduler.DefaultTick, "longest wait between two scheduler passes (env FIREDRILL_SCHEDULE_TICK)")
	fs.DurationVar(&o.leaseFor, "schedule-lease-for", scheduler.DefaultLeaseFor, "how long the scheduler lease lasts without renewal: another replica fires schedules after this once the holder dies (env FIREDRILL_SCHEDULE_LEASE_FOR)")
}

// startScheduler starts firing the estate's schedules; the returned stop stops it and releases
// the scheduler lease. Without an estate (none given, none found) there is nothing to fire.
func (a *app) startScheduler(ctx context.Context, st *store.Store, est *serveEstate, opts schedulerOptions) (stop func(), err error) {
	if est == nil {
		a.logger.InfoContext(ctx, "no estate file: schedules are not fired by this replica")
		return func() {}, nil
	}
	path, estate, src := est.path, est.cfg, est.src
	host, _ := os.Hostname()
	owner := fmt.Sprintf("%s/%d/%s", host, os.Getpid(), uuid.NewString()[:8])
	s, err := scheduler.New(scheduler.Config{
		Store: st, Estate: estate, EstateSource: src, EstateFile: path, LoadPlan: schedulePlanLoader(path),
		Clock: clock.Real{}, Logger: a.logger, Owner: owner, Tick: opts.tick, LeaseFor: opts.leaseFor,
		OnFire: opts.onFire,
	})
	if err == nil {
		err = s.Start(ctx)
	}
	if err != nil {
		return nil, fmt.Errorf("start scheduler: %w", err)
	}
	a.logger.InfoContext(ctx, "scheduler started", "owner", owner, "estate", path, "schedules", len(estate.Schedules))
	return s.Stop, nil
}
