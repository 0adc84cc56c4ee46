package main

import (
	"fmt"
	"io"
	"slices"
	"sort"
	"strings"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/firedrill/firedrill/drills"
	"github.com/firedrill/firedrill/orchestrator/control"
	"github.com/firedrill/firedrill/web/client"
)

// The finding commands: clients of /api/v1/findings. Who acts is the token's person; the
// server decides whether they may and records what they did.

func (a *app) findingCommand() *cobra.Command {
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "finding",
		Short: "Findings to closure: what drills revealed, who owns it, when it is due",
		Long: `A finding is a problem a drill revealed (a failed step, a missed or unevidenced objective,
a failed rollback, a service failed over without its dependency), created when the run ends,
or one a person adds. It has a severity, an owner, a root cause, a due date and a status:
open, in_progress, fixed, retested (only a later passing drill that covers it sets this) or
risk_accepted (a compliance officer's decision, with a reason).`,
	}
	cmd.PersistentFlags().BoolVar(&asJSON, "json", false, "print the result as JSON")
	printDetail := func(d *control.FindingDetail) error {
		if asJSON {
			return writeJSON(a.stdout, d)
		}
		printFindingDetail(a.stdout, d)
		return nil
	}

	var lp control.FindingListParams
	var statuses []string
	list := &cobra.Command{
		Use:   "list [--status S] [--service S] [--run RUN_ID] [--overdue] [--limit N] [--cursor C]",
		Short: "List findings by number",
		Long: `List findings by number. Filters combine: --status (repeat or comma-separate), --service,
--run, --overdue (past the due date, neither retested nor carried by an accepted risk). When
there are more than --limit (the server's default is 100), the next page's --cursor is
printed on stderr (in the JSON, next_cursor).`,
		Args: cobra.NoArgs,
		RunE: a.withAPI(func(cmd *cobra.Command, _ []string, c *client.Client) error {
			q := lp
			q.Statuses = nil
			for _, s := range statuses {
				if !slices.Contains(drills.FindingStatuses, drills.FindingStatus(s)) {
					return fmt.Errorf("--status: %q is not a finding status (%v)", s, drills.FindingStatuses)
				}
				q.Statuses = append(q.Statuses, drills.FindingStatus(s))
			}
			page, err := c.FindingList(cmd.Context(), &q)
			if err != nil {
				return err
			}
			if asJSON {
				if page.Findings == nil {
					page.Findings = []control.FindingView{}
				}
				return writeJSON(a.stdout, page)
			}
			if len(page.Findings) == 0 {
				fmt.Fprintln(a.stdout, "no finding")
				return nil
			}
			printFindings(a.stdout, page.Findings)
			if page.NextCursor != "" {
				fmt.Fprintf(a.stderr, "more findings: --cursor %s\n", page.NextCursor)
			}
			return nil
		}),
	}
	lf := list.Flags()
	lf.StringSliceVar(&statuses, "status", nil, "only findings in these statuses (repeat or comma-separate)")
	lf.StringVar(&lp.Service, "service", "", "only findings of this service")
	lf.StringVar(&lp.RunID, "run", "", "only findings of this run")
	lf.BoolVar(&lp.Overdue, "overdue", false, "only findings past their due date and not covered")
	lf.IntVar(&lp.Limit, "limit", 0, "at most this many (default: the server's, 100; at most 1000)")
	lf.StringVar(&lp.Cursor, "cursor", "", "the page after the one that printed this cursor")
	cmd.AddCommand(list)

	cmd.AddCommand(&cobra.Command{
		Use:   "show ID",
		Short: "Show a finding with its whole history",
		Args:  cobra.ExactArgs(1),
		RunE: a.withAPI(func(cmd *cobra.Command, args []string, c *client.Client) error {
			d, err := c.FindingGet(cmd.Context(), args[0])
			if err != nil {
				return err
			}
			return printDetail(d)
		}),
	})

	var ap control.FindingAddParams
	add := &cobra.Command{
		Use:   "add --title TEXT --severity S [--service S] [--plan P] [--run RUN_ID] [--owner O] [--root-cause TEXT] [--due DATE] [--description TEXT]",
		Short: "Add a finding by hand",
		Long: `Add a finding by hand: it is open, due at --due (YYYY-MM-DD, the end of that day UTC, or an
RFC 3339 time) or the server's --finding-due from now. A finding of a service is closed by a
later passing drill of that service; one without a service by a passing drill of its plan.`,
		Args: cobra.NoArgs,
		RunE: a.withAPI(func(cmd *cobra.Command, _ []string, c *client.Client) error {
			d, err := c.FindingAdd(cmd.Context(), &ap)
			if err != nil {
				return err
			}
			return printDetail(d)
		}),
	}
	af := add.Flags()
	af.StringVar(&ap.Title, "title", "", "what is wrong, in a line (required)")
	af.StringVar(&ap.Severity, "severity", "", "low, medium, high or critical (required)")
	af.StringVar(&ap.Description, "description", "", "more detail")
	af.StringVar(&ap.Service, "service", "", "the service it concerns")
	af.StringVar(&ap.Plan, "plan", "", "the plan it concerns (default: the run's)")
	af.StringVar(&ap.RunID, "run", "", "the run that revealed it")
	af.StringVar(&ap.Owner, "owner", "", "who fixes it")
	af.StringVar(&ap.RootCause, "root-cause", "", "what caused it, once known")
	af.StringVar(&ap.DueAt, "due", "", "due date: YYYY-MM-DD or RFC 3339 (default: the server's finding_due from now)")
	af.StringVar(&ap.Comment, "comment", "", "recorded in its history")
	cmd.AddCommand(add)

	var up control.FindingUpdateParams
	var title, description, owner, rootCause, due, severity, status string
	update := &cobra.Command{
		Use:   "update ID [--title T] [--owner O] [--root-cause TEXT] [--due DATE] [--severity S] [--status open|in_progress|fixed] [--comment TEXT]",
		Short: "Change a finding: owner, root cause, due date, severity, status",
		Long: `Change a finding; only the flags given change, and what changed is recorded in its history
with who and when. --status takes open, in_progress or fixed (which withdraws an accepted
risk): retested is set only by a later passing drill, risk_accepted by accept-risk. A retested
finding no longer changes.`,
		Args: cobra.ExactArgs(1),
		RunE: a.withAPI(func(cmd *cobra.Command, args []string, c *client.Client) error {
			p := up
			p.ID = args[0]
			for _, f := range []struct {
				flag string
				v    *string
				dst  **string
			}{
				{"title", &title, &p.Title}, {"description", &description, &p.Description}, {"owner", &owner, &p.Owner},
				{"root-cause", &rootCause, &p.RootCause}, {"due", &due, &p.DueAt}, {"severity", &severity, &p.Severity}, {"status", &status, &p.Status},
			} {
				if cmd.Flags().Changed(f.flag) {
					*f.dst = f.v
				}
			}
			d, err := c.FindingUpdate(cmd.Context(), &p)
			if err != nil {
				return err
			}
			return printDetail(d)
		}),
	}
	uf := update.Flags()
	uf.StringVar(&title, "title", "", "a new title")
	uf.StringVar(&description, "description", "", "a new description")
	uf.StringVar(&owner, "owner", "", "who fixes it")
	uf.StringVar(&rootCause, "root-cause", "", "what caused it")
	uf.StringVar(&due, "due", "", "due date: YYYY-MM-DD or RFC 3339")
	uf.StringVar(&severity, "severity", "", "low, medium, high or critical")
	uf.StringVar(&status, "status", "", "open, in_progress or fixed")
	uf.StringVar(&up.Comment, "comment", "", "why, recorded in its history")
	cmd.AddCommand(update)

	var reason string
	accept := &cobra.Command{
		Use:   "accept-risk ID --reason TEXT",
		Short: "Carry a finding by an accepted risk (a compliance decision)",
		Long: `Accept a finding's risk, as the compliance officer your token stands for: who and why are
recorded, and the finding no longer counts against compliance. It stays open to a later
passing drill's retest; setting its status back (finding update --status) withdraws it.`,
		Args: cobra.ExactArgs(1),
		RunE: a.withAPI(func(cmd *cobra.Command, args []string, c *client.Client) error {
			d, err := c.FindingAcceptRisk(cmd.Context(), &control.FindingAcceptRiskParams{ID: args[0], Reason: reason})
			if err != nil {
				return err
			}
			return printDetail(d)
		}),
	}
	accept.Flags().StringVar(&reason, "reason", "", "why the risk is accepted (required)")
	cmd.AddCommand(accept)
	return cmd
}

// printFindings prints findings as a table.
func printFindings(w io.Writer, fs []control.FindingView) {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "  ID\tSEVERITY\tSTATUS\tDUE (UTC)\tSERVICE\tOWNER\tTITLE")
	for _, f := range fs {
		due := "-"
		if f.DueAt != nil {
			due = f.DueAt.UTC().Format("2006-01-02")
		}
		status := string(f.Status)
		if f.Overdue {
			status += " (OVERDUE)"
		}
		fmt.Fprintf(tw, "  %s\t%s\t%s\t%s\t%s\t%s\t%s\n", f.ID, f.Severity, status, due, orDash(f.Service), orDash(f.Owner), f.Title)
	}
	tw.Flush()
}

// printFindingDetail prints a finding and its history.
func printFindingDetail(w io.Writer, d *control.FindingDetail) {
	f := d.Finding
	status := string(f.Status)
	if f.Overdue {
		status += ", OVERDUE"
	}
	fmt.Fprintf(w, "%s  %s\n  %s, %s (%s)\n", f.ID, f.Title, f.Severity, status, f.Kind)
	for _, l := range []struct{ k, v string }{
		{"service", f.Service}, {"plan", f.Plan}, {"run", f.RunID}, {"step", f.StepKey}, {"owner", f.Owner},
		{"root cause", f.RootCause}, {"description", f.Description},
	} {
		if l.v != "" {
			fmt.Fprintf(w, "  %s: %s\n", l.k, l.v)
		}
	}
	if f.DueAt != nil {
		fmt.Fprintf(w, "  due: %s\n", f.DueAt.UTC().Format("2006-01-02 15:04 UTC"))
	}
	if f.RiskAcceptedBy != nil {
		fmt.Fprintf(w, "  risk accepted by %s: %s\n", f.RiskAcceptedBy, f.RiskReason)
	}
	if f.ClosedByRunID != "" {
		fmt.Fprintf(w, "  retested by passing run %s\n", f.ClosedByRunID)
	}
	fmt.Fprintln(w, "History (UTC)")
	for _, h := range d.History {
		keys := make([]string, 0, len(h.Changes))
		for k := range h.Changes {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		var parts []string
		for _, k := range keys {
			ch := h.Changes[k]
			if ch.From == "" {
				parts = append(parts, fmt.Sprintf("%s=%s", k, ch.To))
			} else {
				parts = append(parts, fmt.Sprintf("%s %s -> %s", k, ch.From, orDash(ch.To)))
			}
		}
		line := fmt.Sprintf("  %s  %s", h.At.UTC().Format("2006-01-02 15:04:05"), h.By)
		if len(parts) > 0 {
			line += "  " + strings.Join(parts, ", ")
		}
		if h.Comment != "" {
			line += "  (" + h.Comment + ")"
		}
		fmt.Fprintln(w, line)
	}
}
