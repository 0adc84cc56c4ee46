package main

import (
	"fmt"

	"github.com/spf13/cobra"

	"github.com/firedrill/firedrill/orchestrator/control"
	"github.com/firedrill/firedrill/web/client"
)

// Step decisions, as the API names them.
var stepDecisions = []string{"done", "failed", "retry", "abort"}

func (a *app) stepCommand() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "step",
		Short: "Decide a step that waits for a person (manual steps, unknown outcomes)",
		Long: `Decide a step that waits for a person: a manual step ("call the VAN operator") is marked
done or failed; a non-idempotent step whose outcome is unknown after a replica died (the run
is waiting_operator) is marked done (its effect is in place), retry (run it again) or abort
(the run aborts and rolls back). The run, wherever it executes, continues as soon as the
decision is recorded; who decided (the person your API token stands for), when and why are
kept with the run.`,
	}
	for _, decision := range stepDecisions {
		var comment string
		var asJSON bool
		sub := &cobra.Command{
			Use:   decision + " RUN_ID STEP_KEY",
			Short: "Mark the step " + decision,
			Args:  cobra.ExactArgs(2),
			RunE: a.withAPI(func(cmd *cobra.Command, args []string, c *client.Client) error {
				d, err := c.StepDecide(cmd.Context(), &control.StepDecideParams{
					RunID: args[0], StepKey: args[1], Decision: decision, Comment: comment,
				})
				if err != nil {
					return err
				}
				if asJSON {
					return writeJSON(a.stdout, d)
				}
				fmt.Fprintf(a.stdout, "step %s of run %s marked %s by %s at %s\n", d.StepKey, args[0], d.Decision, d.By, d.At.UTC().Format("2006-01-02T15:04:05.000Z07:00"))
				return nil
			}),
		}
		f := sub.Flags()
		f.StringVar(&comment, "comment", "", "why, recorded with the step")
		f.BoolVar(&asJSON, "json", false, "print the decision as JSON")
		cmd.AddCommand(sub)
	}
	return cmd
}
