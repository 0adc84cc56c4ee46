package main

import (
	"fmt"

	"github.com/spf13/cobra"

	"github.com/firedrill/firedrill/orchestrator/secret"
)

func (a *app) submitCommand() *cobra.Command {
	var configPath, databaseURL, triggeredBy string
	var asJSON, migrate, force bool
	cmd := &cobra.Command{
		Use:   "submit PLAN_FILE",
		Short: "Record a drill run as pending, for a firedrill serve replica to execute",
		Long: `Validate a drill plan against the estate, record the plan, the estate and a pending run,
and print the run's ID. A firedrill serve replica on the same database claims and
executes it; if that replica dies, another one takes the run over.

The estate is --config, else the firedrill.hcl found next to the plan or in a parent
directory.

Exit 0 when the run was recorded, 1 on any error or an invalid plan.`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx := cmd.Context()
			requestedBy := localActor()
			if triggeredBy != "" {
				requestedBy = localPerson(triggeredBy)
			}
			drill, err := a.loadDrill(configPath, args[0], requestedBy, force)
			if err != nil {
				return err
			}
			st, err := a.openStore(ctx, databaseURL, migrate)
			if err != nil {
				return err
			}
			defer st.Close()
			eng, err := a.newEngine(st, &secret.Resolver{})
			if err != nil {
				return err
			}
			defer eng.Close()
			run, err := eng.runner.Submit(ctx, drill)
			if err != nil {
				// An *orchestrator.InvalidPlanError says every problem as file:line:col: message.
				return err
			}
			if asJSON {
				return writeJSON(a.stdout, map[string]any{
					"run_id": run.ID, "plan": run.PlanName, "state": run.State, "triggered_by": run.RequestedBy.String(),
				})
			}
			fmt.Fprintln(a.stdout, run.ID)
			return nil
		},
	}
	f := cmd.Flags()
	f.StringVar(&configPath, "config", "", "estate file (env FIREDRILL_CONFIG); default: firedrill.hcl found next to the plan or above")
	f.StringVar(&databaseURL, "database-url", defaultDatabaseURL, "postgres://... or sqlite:PATH (env FIREDRILL_DATABASE_URL)")
	f.StringVar(&triggeredBy, "triggered-by", "", "who asks for the drill, recorded with the run as a local person (env FIREDRILL_TRIGGERED_BY); default: the OS user")
	f.BoolVar(&migrate, "migrate", false, "apply pending database migrations first (env FIREDRILL_MIGRATE)")
	f.BoolVar(&force, "force", false, "submit a plan that fails services over without their dependencies; recorded with the run")
	f.BoolVar(&asJSON, "json", false, "print the run as JSON")
	return cmd
}
