package main

import (
	"fmt"
	"slices"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/firedrill/firedrill/drills"
	"github.com/firedrill/firedrill/orchestrator/store"
)

func (a *app) runsCommand() *cobra.Command {
	var databaseURL string
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "runs",
		Short: "List runs and show one as the database recorded it",
	}
	cmd.PersistentFlags().StringVar(&databaseURL, "database-url", defaultDatabaseURL, "postgres://... or sqlite:PATH (env FIREDRILL_DATABASE_URL)")
	cmd.PersistentFlags().BoolVar(&asJSON, "json", false, "print the result as JSON")

	var plan string
	var states []string
	var limit int
	list := &cobra.Command{
		Use:   "list [--plan NAME] [--state STATE]",
		Short: "List runs, newest first",
		Args:  cobra.NoArgs,
		RunE: a.withStore(&databaseURL, func(cmd *cobra.Command, _ []string, st *store.Store) error {
			p := &store.RunListParams{PlanName: plan, Limit: limit}
			for _, s := range states {
				if !slices.Contains(drills.RunStates, drills.RunState(s)) {
					return fmt.Errorf("--state: %q is not a run state (%v)", s, drills.RunStates)
				}
				p.States = append(p.States, drills.RunState(s))
			}
			page, err := st.RunList(cmd.Context(), p)
			if err != nil {
				return err
			}
			runs := page.Runs
			if asJSON {
				type row struct {
					ID          string     `json:"id"`
					Plan        string     `json:"plan"`
					State       string     `json:"state"`
					Reason      string     `json:"reason,omitempty"`
					TriggeredBy string     `json:"triggered_by"`
					Schedule    string     `json:"schedule,omitempty"`
					CreatedAt   time.Time  `json:"created_at"`
					EndedAt     *time.Time `json:"ended_at,omitempty"`
				}
				rows := []row{}
				for _, r := range runs {
					rows = append(rows, row{ID: r.ID, Plan: r.PlanName, State: string(r.State), Reason: r.StateReason,
						TriggeredBy: r.RequestedBy.String(), Schedule: r.ScheduleName, CreatedAt: r.CreatedAt, EndedAt: r.EndedAt})
				}
				return writeJSON(a.stdout, map[string]any{"runs": rows})
			}
			tw := tabwriter.NewWriter(a.stdout, 0, 4, 2, ' ', 0)
			fmt.Fprintln(tw, "RUN\tPLAN\tSTATE\tCREATED (UTC)\tTRIGGERED BY")
			for _, r := range runs {
				fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", r.ID, r.PlanName, r.State, r.CreatedAt.Format("2006-01-02 15:04:05"), r.RequestedBy.String())
			}
			return tw.Flush()
		}),
	}
	list.Flags().StringVar(&plan, "plan", "", "only runs of this plan")
	list.Flags().StringSliceVar(&states, "state", nil, "only runs in these states (repeat or comma-separate)")
	list.Flags().IntVar(&limit, "limit", store.DefaultRunListLimit, "at most this many runs")
	cmd.AddCommand(list)
	cmd.AddCommand(&cobra.Command{
		Use:   "show RUN_ID",
		Short: "Show a run: its timeline, each service's RTO and RPO, the verdict",
		Args:  cobra.ExactArgs(1),
		RunE: a.withStore(&databaseURL, func(cmd *cobra.Command, args []string, st *store.Store) error {
			summary, err := loadRunSummary(cmd.Context(), st, args[0])
			if err != nil {
				return err
			}
			summary.Database = store.RedactURL(databaseURL)
			if asJSON {
				return writeJSON(a.stdout, summary)
			}
			printRunSummary(a.stdout, summary)
			return nil
		}),
	})
	return cmd
}
