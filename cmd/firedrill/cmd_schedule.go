package main

import (
	"context"
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
	"github.com/firedrill/firedrill/web/client"
)

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
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "list",
		Short: "List the schedules with their state and next fire in local time",
		Args:  cobra.NoArgs,
		RunE: a.withAPI(func(cmd *cobra.Command, _ []string, c *client.Client) error {
			rows, err := c.ScheduleList(cmd.Context())
			if err != nil {
				return err
			}
			if asJSON {
				if rows == nil {
					rows = []control.ScheduleView{}
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
				fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\n", r.Name, r.Plan, orDash(r.Cron), orDash(r.TimeZone), r.State(), next)
			}
			return tw.Flush()
		}),
	}
	cmd.Flags().BoolVar(&asJSON, "json", false, "print the result as JSON")
	return cmd
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

func (a *app) scheduleShowCommand() *cobra.Command {
	var asJSON bool
	var recent int
	cmd := &cobra.Command{
		Use:   "show NAME",
		Short: "Show a schedule: its definition, recent fires with their decisions and the next 5 fires",
		Args:  cobra.ExactArgs(1),
		RunE: a.withAPI(func(cmd *cobra.Command, args []string, c *client.Client) error {
			if recent <= 0 || recent > control.DefaultRecentFires {
				return fmt.Errorf("--recent must be between 1 and %d, got %d", control.DefaultRecentFires, recent)
			}
			d, err := c.ScheduleGet(cmd.Context(), args[0])
			if err != nil {
				return err
			}
			if len(d.RecentFires) > recent {
				d.RecentFires = d.RecentFires[:recent]
			}
			if d.RecentFires == nil {
				d.RecentFires = []control.FireView{}
			}
			if d.NextFires == nil {
				d.NextFires = []control.UpcomingFire{}
			}
			if asJSON {
				return writeJSON(a.stdout, d)
			}
			printSchedule(a.stdout, &d.Schedule, d.RecentFires, d.NextFires)
			return nil
		}),
	}
	cmd.Flags().BoolVar(&asJSON, "json", false, "print the result as JSON")
	cmd.Flags().IntVar(&recent, "recent", control.DefaultRecentFires, fmt.Sprintf("how many recent fires to show (at most %d)", control.DefaultRecentFires))
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
	var reason string
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "pause NAME --reason TEXT",
		Short: "Pause a schedule: its fires are recorded as skipped until it is resumed",
		Args:  cobra.ExactArgs(1),
		RunE: a.withAPI(func(cmd *cobra.Command, args []string, c *client.Client) error {
			v, err := c.SchedulePause(cmd.Context(), &control.SchedulePauseParams{Name: args[0], Reason: reason})
			if err != nil {
				return err
			}
			return a.printPaused(v, asJSON)
		}),
	}
	cmd.Flags().StringVar(&reason, "reason", "", "why, recorded (required)")
	cmd.Flags().BoolVar(&asJSON, "json", false, "print the schedule as JSON")
	return cmd
}

func (a *app) scheduleResumeCommand() *cobra.Command {
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "resume NAME",
		Short: "Resume a paused schedule; fires skipped while it was paused stay skipped",
		Args:  cobra.ExactArgs(1),
		RunE: a.withAPI(func(cmd *cobra.Command, args []string, c *client.Client) error {
			v, err := c.ScheduleResume(cmd.Context(), &control.SchedulePauseParams{Name: args[0]})
			if err != nil {
				return err
			}
			return a.printPaused(v, asJSON)
		}),
	}
	cmd.Flags().BoolVar(&asJSON, "json", false, "print the schedule as JSON")
	return cmd
}

// printPaused says what pausing or resuming did.
func (a *app) printPaused(v *control.ScheduleView, asJSON bool) error {
	if asJSON {
		return writeJSON(a.stdout, v)
	}
	if v.Paused {
		fmt.Fprintf(a.stdout, "schedule %s paused by %s: %s\n", v.Name, actorOrDash(v.PausedBy), v.PausedReason)
	} else {
		fmt.Fprintf(a.stdout, "schedule %s resumed\n", v.Name)
	}
	return nil
}

func (a *app) calendarCommand() *cobra.Command {
	var asJSON bool
	var fromFlag, toFlag, only string
	cmd := &cobra.Command{
		Use:   "calendar --from YYYY-MM-DD --to YYYY-MM-DD",
		Short: "Show every scheduled fire between two dates in local time, and which services are due",
		Long: `Show every fire of the server's estate's schedules whose local date lies between --from
and --to (both included), in the schedule's time zone; fires a blackout suppresses are shown
with the blackout's name. Then, for every service with a drill_every, when its next drill is
due (from its last passed drill) and whether it is overdue.`,
		Args: cobra.NoArgs,
		RunE: a.withAPI(func(cmd *cobra.Command, _ []string, c *client.Client) error {
			ctx := cmd.Context()
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
			cal, err := c.CalendarGet(ctx, &control.CalendarParams{From: from, To: to, Schedule: only})
			if only != "" && control.CategoryOf(err) == control.CategoryNotFound {
				return fmt.Errorf("--schedule: %w", err)
			}
			if err != nil {
				return err
			}
			if cal.Fires == nil {
				cal.Fires = []control.CalendarFire{}
			}
			if cal.Services == nil {
				cal.Services = []control.ServiceDue{}
			}
			if asJSON {
				return writeJSON(a.stdout, cal)
			}
			printCalendar(a.stdout, cal.Fires, cal.Services)
			return nil
		}),
	}
	cmd.Flags().BoolVar(&asJSON, "json", false, "print the result as JSON")
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
		OnFire: opts.onFire, Metrics: a.metrics,
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
