package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"text/tabwriter"
	"time"

	"github.com/google/uuid"
	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/firedrill/firedrill/drills"
	"github.com/firedrill/firedrill/internal/clock"
	"github.com/firedrill/firedrill/orchestrator/control"
	"github.com/firedrill/firedrill/orchestrator/scheduler"
	"github.com/firedrill/firedrill/orchestrator/store"
)

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
			rows := control.ScheduleViewsOf(cfg, recs, time.Now())
			if f.asJSON {
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
				fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\n", r.Name, r.Plan, orDash(r.Cron), orDash(r.TimeZone), r.State(), next)
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
			d, err := control.ScheduleDetailOf(ctx, st, cfg, name, recent, time.Now())
			switch {
			case errors.Is(err, store.ErrNotFound):
				return fmt.Errorf("no schedule %q in %s nor in the database", name, path)
			case err != nil:
				return err
			}
			if f.asJSON {
				return writeJSON(a.stdout, d)
			}
			printSchedule(a.stdout, &d.Schedule, d.RecentFires, d.NextFires)
			return nil
		},
	}
	f.register(cmd, true)
	cmd.Flags().IntVar(&recent, "recent", 10, "how many recent fires to show")
	return cmd
}

func printSchedule(w io.Writer, r *control.ScheduleView, fired []control.FireView, upcoming []control.UpcomingFire) {
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
	state := r.State()
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
			cal := control.CalendarOf(cfg, schedules, passed, from, to, time.Now())
			if f.asJSON {
				return writeJSON(a.stdout, cal)
			}
			printCalendar(a.stdout, cal.Fires, cal.Services)
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

func printCalendar(w io.Writer, fires []control.CalendarFire, dues []control.ServiceDue) {
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
