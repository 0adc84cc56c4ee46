package main

import (
	"fmt"
	"io"
	"slices"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/firedrill/firedrill/drills"
	"github.com/firedrill/firedrill/orchestrator/control"
	"github.com/firedrill/firedrill/orchestrator/store"
	"github.com/firedrill/firedrill/web/client"
)

func (a *app) runsCommand() *cobra.Command {
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "runs",
		Short: "List runs and show one with its evidence, as the server recorded them",
	}
	cmd.PersistentFlags().BoolVar(&asJSON, "json", false, "print the result as JSON")

	var p control.RunListParams
	var states []string
	var since, until string
	list := &cobra.Command{
		Use:   "list [--state STATE] [--plan NAME] [--schedule NAME] [--requested-by USER] [--since T] [--until T] [--limit N] [--cursor C]",
		Short: "List runs, newest first, a page at a time",
		Long: `List runs, newest first. Filters combine: --state (repeat or comma-separate), --plan,
--schedule (runs it fired), --requested-by (runs a user asked for), --since and --until
(creation time, RFC 3339 or YYYY-MM-DD in UTC). At most --limit runs are listed (the server's
default is 50); when there are more, the next page's --cursor is printed on stderr (in the
JSON, next_cursor).`,
		Args: cobra.NoArgs,
		RunE: a.withAPI(func(cmd *cobra.Command, _ []string, c *client.Client) error {
			q := p
			q.States = nil
			for _, s := range states {
				if !slices.Contains(drills.RunStates, drills.RunState(s)) {
					return fmt.Errorf("--state: %q is not a run state (%v)", s, drills.RunStates)
				}
				q.States = append(q.States, drills.RunState(s))
			}
			var err error
			if q.Since, err = parseTimeFlag("--since", since); err != nil {
				return err
			}
			if q.Until, err = parseTimeFlag("--until", until); err != nil {
				return err
			}
			page, err := c.RunList(cmd.Context(), &q)
			if err != nil {
				return err
			}
			if asJSON {
				if page.Runs == nil {
					page.Runs = []control.RunSummary{}
				}
				return writeJSON(a.stdout, page)
			}
			tw := tabwriter.NewWriter(a.stdout, 0, 4, 2, ' ', 0)
			fmt.Fprintln(tw, "RUN\tPLAN\tSTATE\tCREATED (UTC)\tREQUESTED BY")
			for _, r := range page.Runs {
				fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", r.ID, r.Plan, r.State, r.CreatedAt.UTC().Format("2006-01-02 15:04:05"), r.RequestedBy)
			}
			if err := tw.Flush(); err != nil {
				return err
			}
			if page.NextCursor != "" {
				fmt.Fprintf(a.stderr, "more runs: --cursor %s\n", page.NextCursor)
			}
			return nil
		}),
	}
	lf := list.Flags()
	lf.StringSliceVar(&states, "state", nil, "only runs in these states (repeat or comma-separate)")
	lf.StringVar(&p.Plan, "plan", "", "only runs of this plan")
	lf.StringVar(&p.Schedule, "schedule", "", "only runs this schedule fired")
	lf.StringVar(&p.RequestedBy, "requested-by", "", "only runs this user asked for")
	lf.StringVar(&since, "since", "", "only runs created at or after this time (RFC 3339, or YYYY-MM-DD in UTC)")
	lf.StringVar(&until, "until", "", "only runs created before this time (RFC 3339, or YYYY-MM-DD in UTC)")
	lf.IntVar(&p.Limit, "limit", 0, "at most this many runs (default: the server's, 50; at most 1000)")
	lf.StringVar(&p.Cursor, "cursor", "", "the page after the one that printed this cursor")
	cmd.AddCommand(list)

	var wait, events bool
	var poll time.Duration
	show := &cobra.Command{
		Use:   "show RUN_ID [--wait] [--events]",
		Short: "Show a run: its timeline, each service's RTO and RPO, approvals, decisions, the verdict",
		Long: `Show a run as the server recorded it: who asked for it and who approved it, the timeline of
its steps with millisecond timestamps, each service's measured RTO and RPO against its
objectives, the decisions people took, and the verdict.

With --wait, first wait until the run has ended (printing each state it passes through on
stderr), then show it and exit as firedrill run does: 0 when the drill passed, 2 when it
ended otherwise.`,
		Args: cobra.ExactArgs(1),
		RunE: a.withAPI(func(cmd *cobra.Command, args []string, c *client.Client) error {
			ctx := cmd.Context()
			v, err := c.RunGet(ctx, args[0])
			if err != nil {
				return err
			}
			if wait {
				if poll <= 0 {
					return fmt.Errorf("--poll must be positive, got %s", poll)
				}
				tick := time.NewTicker(poll)
				defer tick.Stop()
				var last drills.RunState
				for !v.Run.State.IsTerminal() {
					if v.Run.State != last {
						fmt.Fprintf(a.stderr, "run %s is %s\n", v.Run.ID, v.Run.State)
						last = v.Run.State
					}
					select {
					case <-ctx.Done():
						return ctx.Err()
					case <-tick.C:
					}
					if v, err = c.RunGet(ctx, args[0]); err != nil {
						return err
					}
				}
			}
			if asJSON {
				if err := writeJSON(a.stdout, v); err != nil {
					return err
				}
			} else {
				printRunView(a.stdout, v, "by firedrill at "+c.Address())
				if events {
					printEvents(a.stdout, v.Timeline)
				}
			}
			if wait && !v.Run.Passed {
				return &exitCodeError{code: exitDrillFailed, err: fmt.Errorf("run %s ended %s without passing", v.Run.ID, v.Run.State)}
			}
			return nil
		}),
	}
	show.Flags().BoolVar(&events, "events", false, "also print the raw timeline: every recorded event with its data (JSON carries it always)")
	show.Flags().BoolVar(&wait, "wait", false, "wait until the run has ended; exit 2 unless the drill passed")
	show.Flags().DurationVar(&poll, "poll", time.Second, "how often --wait asks the server")
	cmd.AddCommand(show)
	cmd.AddCommand(a.runsRecordCommand(&asJSON))
	return cmd
}

// runsRecordCommand builds `runs record`: participants, deviations and lessons of a run.
func (a *app) runsRecordCommand(asJSON *bool) *cobra.Command {
	var participants, deviations, lessons []string
	cmd := &cobra.Command{
		Use:   "record RUN_ID [--participant NAME:ROLE[:absent]]... [--deviation TEXT]... [--lesson TEXT]...",
		Short: "Record who took part in a run, its deviations from the plan and its lessons",
		Long: `Record what the run's timeline cannot: who took part and in what role (a participant is
attended unless :absent follows the role; a person the plan's participant blocks name is
intended), the deviations from the plan and the lessons learned. Records are append-only: a
later record of the same name corrects the earlier one. Prints the run's participants and notes.`,
		Args: cobra.ExactArgs(1),
		RunE: a.withAPI(func(cmd *cobra.Command, args []string, c *client.Client) error {
			ctx := cmd.Context()
			if len(participants)+len(deviations)+len(lessons) == 0 {
				return fmt.Errorf("nothing to record: give --participant, --deviation or --lesson")
			}
			var ps []control.ParticipantParams
			for _, p := range participants {
				pp, err := parseParticipant(p)
				if err != nil {
					return err
				}
				ps = append(ps, pp)
			}
			if len(ps) > 0 {
				if _, err := c.RunParticipantsRecord(ctx, &control.RunParticipantsParams{RunID: args[0], Participants: ps}); err != nil {
					return err
				}
			}
			for _, n := range append(notesOf(store.NoteDeviation, deviations), notesOf(store.NoteLesson, lessons)...) {
				n.RunID = args[0]
				if _, err := c.RunNoteAdd(ctx, &n); err != nil {
					return err
				}
			}
			v, err := c.RunGet(ctx, args[0])
			if err != nil {
				return err
			}
			if *asJSON {
				return writeJSON(a.stdout, map[string]any{"participants": v.Participants, "notes": v.Notes})
			}
			printRunRecord(a.stdout, &control.RunView{Participants: v.Participants, Notes: v.Notes})
			return nil
		}),
	}
	f := cmd.Flags()
	f.StringArrayVar(&participants, "participant", nil, "NAME:ROLE, or NAME:ROLE:absent for one who did not take part (repeat)")
	f.StringArrayVar(&deviations, "deviation", nil, "a deviation from the plan (repeat)")
	f.StringArrayVar(&lessons, "lesson", nil, "a lesson learned (repeat)")
	return cmd
}

// parseParticipant reads NAME:ROLE[:absent].
func parseParticipant(v string) (control.ParticipantParams, error) {
	parts := strings.Split(v, ":")
	if len(parts) == 3 && parts[2] == "absent" {
		return control.ParticipantParams{Name: parts[0], Role: parts[1]}, nil
	}
	if len(parts) != 2 || strings.TrimSpace(parts[0]) == "" || strings.TrimSpace(parts[1]) == "" {
		return control.ParticipantParams{}, fmt.Errorf("--participant %q: want NAME:ROLE or NAME:ROLE:absent", v)
	}
	return control.ParticipantParams{Name: parts[0], Role: parts[1], Attended: true}, nil
}

func notesOf(kind string, texts []string) []control.RunNoteParams {
	out := make([]control.RunNoteParams, len(texts))
	for i, t := range texts {
		out[i] = control.RunNoteParams{Kind: kind, Text: t}
	}
	return out
}

// printEvents prints the run's raw timeline, one event a line: seq, time, kind, step, message
// and the event's data as recorded.
func printEvents(w io.Writer, evs []control.EventView) {
	fmt.Fprintf(w, "\nEvents (%d, UTC)\n", len(evs))
	for _, e := range evs {
		line := fmt.Sprintf("  %4d  %s  %s", e.Seq, e.At.UTC().Format("2006-01-02T15:04:05.000Z"), e.Kind)
		if e.StepKey != "" {
			line += "  step=" + e.StepKey
		}
		if e.Message != "" {
			line += "  " + e.Message
		}
		if len(e.Data) > 0 {
			line += "  " + string(e.Data)
		}
		fmt.Fprintln(w, line)
	}
}

// parseTimeFlag parses an RFC 3339 time or a UTC date; "" is no bound.
func parseTimeFlag(flag, v string) (*time.Time, error) {
	if v == "" {
		return nil, nil
	}
	if t, err := time.Parse(time.RFC3339Nano, v); err == nil {
		return &t, nil
	}
	if d, err := time.Parse(time.DateOnly, v); err == nil {
		return &d, nil
	}
	return nil, fmt.Errorf("%s %q is not a time: want RFC 3339 (2027-01-02T15:04:05Z) or YYYY-MM-DD", flag, v)
}
