package main

import (
	"fmt"

	"github.com/spf13/cobra"

	"github.com/firedrill/firedrill/orchestrator/store"
)

func (a *app) stepCommand() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "step",
		Short: "Decide a step that waits for a person (manual steps, unknown outcomes)",
		Long: `Decide a step that waits for a person: a manual step ("call the VAN operator") is marked
done or failed; a non-idempotent step whose outcome is unknown after a replica died (the run
is waiting_operator) is marked done (its effect is in place), retry (run it again) or abort
(the run aborts and rolls back). The run, wherever it executes, continues as soon as the
decision is recorded; who decided, when and why are kept with the run.`,
	}
	for _, decision := range []string{store.DecisionDone, store.DecisionFailed, store.DecisionRetry, store.DecisionAbort} {
		var databaseURL, by, comment string
		var asJSON bool
		sub := &cobra.Command{
			Use:   decision + " RUN_ID STEP_KEY",
			Short: "Mark the step " + decision,
			Args:  cobra.ExactArgs(2),
			RunE: a.withStore(&databaseURL, func(cmd *cobra.Command, args []string, st *store.Store) error {
				if by == "" {
					by = currentUser()
				}
				d, err := st.StepDecide(cmd.Context(), &store.StepDecideParams{
					RunID: args[0], StepKey: args[1], Decision: decision, By: localPerson(by), Comment: comment,
				})
				if err != nil {
					return err
				}
				if asJSON {
					return writeJSON(a.stdout, map[string]any{
						"run_id": d.RunID, "step_key": d.StepKey, "decision": d.Decision,
						"decided_by": d.By.Name, "decided_at": d.At, "comment": d.Comment,
					})
				}
				fmt.Fprintf(a.stdout, "step %s of run %s marked %s by %s at %s\n", d.StepKey, d.RunID, d.Decision, d.By.Name, d.At.Format("2006-01-02T15:04:05.000Z07:00"))
				return nil
			}),
		}
		f := sub.Flags()
		f.StringVar(&databaseURL, "database-url", defaultDatabaseURL, "postgres://... or sqlite:PATH (env FIREDRILL_DATABASE_URL)")
		f.StringVar(&by, "by", "", "who decides, recorded with the step (env FIREDRILL_BY); default: the OS user")
		f.StringVar(&comment, "comment", "", "why, recorded with the step")
		f.BoolVar(&asJSON, "json", false, "print the decision as JSON")
		cmd.AddCommand(sub)
	}
	return cmd
}
