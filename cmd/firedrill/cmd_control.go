package main

import (
	"fmt"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/firedrill/firedrill/orchestrator/control"
	"github.com/firedrill/firedrill/web/client"
)

// The commands by which people control drills: approvals, the freeze lever and aborts. They
// are clients of the API: the token says who acts, the server's authorization table says
// whether they may, and the server records it.

// approvalCommand builds `approve` and `reject`.
func (a *app) approvalCommand(verb string) *cobra.Command {
	var comment string
	var asJSON bool
	decide := (*client.Client).RunApprove
	if verb == "reject" {
		decide = (*client.Client).RunReject
	}
	cmd := &cobra.Command{
		Use:   verb + " RUN_ID [--comment TEXT]",
		Short: strings.ToUpper(verb[:1]) + verb[1:] + " a run that waits for approval",
		Long: `Approve or reject, as the person your API token stands for, a run waiting in
awaiting_approval (firedrill approvals lists them). Your approval counts for one role of the
run's policy that you hold; the person who asked for the run never approves it. When every
role of the policy has a distinct approver the run becomes pending and a firedrill serve
replica starts it; a rejection ends it blocked (nothing was touched).`,
		Args: cobra.ExactArgs(1),
		RunE: a.withAPI(func(cmd *cobra.Command, args []string, c *client.Client) error {
			out, err := decide(c, cmd.Context(), &control.ApprovalDecideParams{RunID: args[0], Comment: comment})
			if err != nil {
				return err
			}
			if asJSON {
				if out.MissingRoles == nil {
					out.MissingRoles = []string{}
				}
				return writeJSON(a.stdout, out)
			}
			switch {
			case verb == "reject":
				fmt.Fprintf(a.stdout, "run %s rejected: %s\n", out.Run.ID, out.Run.State)
			case out.PolicyMet:
				fmt.Fprintf(a.stdout, "run %s approved: policy met, run is %s\n", out.Run.ID, out.Run.State)
			default:
				fmt.Fprintf(a.stdout, "run %s approved: still needs %s\n", out.Run.ID, strings.Join(out.MissingRoles, ", "))
			}
			return nil
		}),
	}
	cmd.Flags().StringVar(&comment, "comment", "", "why, recorded with the decision")
	cmd.Flags().BoolVar(&asJSON, "json", false, "print the result as JSON")
	return cmd
}

func (a *app) approvalsCommand() *cobra.Command {
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "approvals",
		Short: "List the runs waiting for approval: the missing roles, the deadline, whether you can approve",
		Long: `List the runs waiting in awaiting_approval, those you can approve first: for each, the
plan, who asked for it, the roles its policy still misses, the deadline after which it ends
blocked, and whether you (the person your API token stands for) can approve it: you hold a
missing role, did not ask for the run and have not decided it yet.`,
		Args: cobra.NoArgs,
		RunE: a.withAPI(func(cmd *cobra.Command, _ []string, c *client.Client) error {
			list, err := c.ApprovalsWaiting(cmd.Context())
			if err != nil {
				return err
			}
			if asJSON {
				if list == nil {
					list = []control.ApprovalWaiting{}
				}
				return writeJSON(a.stdout, map[string]any{"approvals": list})
			}
			if len(list) == 0 {
				fmt.Fprintln(a.stdout, "no run waits for approval")
				return nil
			}
			tw := tabwriter.NewWriter(a.stdout, 0, 4, 2, ' ', 0)
			fmt.Fprintln(tw, "RUN\tPLAN\tREQUESTED BY\tMISSING ROLES\tDEADLINE (UTC)\tYOU CAN APPROVE")
			for _, w := range list {
				deadline := "-"
				if w.Deadline != nil {
					deadline = w.Deadline.UTC().Format("2006-01-02 15:04")
				}
				can := "no"
				if w.CanApprove {
					can = "yes"
				}
				fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\n", w.Run.ID, w.Run.Plan, w.Run.RequestedBy, orDash(strings.Join(w.MissingRoles, ", ")), deadline, can)
			}
			return tw.Flush()
		}),
	}
	cmd.Flags().BoolVar(&asJSON, "json", false, "print the result as JSON")
	return cmd
}

func (a *app) freezeCommand() *cobra.Command {
	var reason string
	var abortRunning, asJSON bool
	cmd := &cobra.Command{
		Use:   "freeze",
		Short: "The safety lever: while a freeze is on no run starts",
		Long: `A global change freeze, like those around market events: while one is on no run starts
(pre-flight blocks it), and with --abort-running every run not yet ended is asked to abort
(its rollback runs) in the same transaction. Who set or lifted it, when and why, is recorded.`,
	}
	cmd.PersistentFlags().BoolVar(&asJSON, "json", false, "print the result as JSON")
	print := func(f *control.FreezeView) error {
		if asJSON {
			return writeJSON(a.stdout, f)
		}
		switch {
		case f.Active:
			since := ""
			if f.SetAt != nil {
				since = " since " + f.SetAt.UTC().Format(time.RFC3339)
			}
			fmt.Fprintf(a.stdout, "freeze on%s, set by %s: %s\n", since, actorOrDash(f.SetBy), f.Reason)
		case f.LiftedBy != nil:
			fmt.Fprintf(a.stdout, "no freeze is on (the last, set by %s: %s, was lifted by %s)\n", actorOrDash(f.SetBy), f.Reason, f.LiftedBy)
		default:
			fmt.Fprintln(a.stdout, "no freeze is on")
		}
		for _, id := range f.AbortedRuns {
			fmt.Fprintf(a.stdout, "abort requested for run %s\n", id)
		}
		return nil
	}
	on := &cobra.Command{
		Use:   "on --reason TEXT [--abort-running]",
		Short: "Turn the freeze on",
		Args:  cobra.NoArgs,
		RunE: a.withAPI(func(cmd *cobra.Command, _ []string, c *client.Client) error {
			f, err := c.FreezeOn(cmd.Context(), &control.FreezeOnParams{Reason: reason, AbortRunning: abortRunning})
			if err != nil {
				return err
			}
			return print(f)
		}),
	}
	on.Flags().StringVar(&reason, "reason", "", "why (recorded; required)")
	on.Flags().BoolVar(&abortRunning, "abort-running", false, "also abort every run not yet ended")
	cmd.AddCommand(on)
	cmd.AddCommand(&cobra.Command{
		Use:   "off",
		Short: "Lift the freeze",
		Args:  cobra.NoArgs,
		RunE: a.withAPI(func(cmd *cobra.Command, _ []string, c *client.Client) error {
			f, err := c.FreezeOff(cmd.Context())
			if err != nil {
				return err
			}
			return print(f)
		}),
	})
	cmd.AddCommand(&cobra.Command{
		Use:   "status",
		Short: "Say whether a freeze is on",
		Args:  cobra.NoArgs,
		RunE: a.withAPI(func(cmd *cobra.Command, _ []string, c *client.Client) error {
			f, err := c.FreezeGet(cmd.Context())
			if err != nil {
				return err
			}
			return print(f)
		}),
	})
	return cmd
}

func (a *app) abortCommand() *cobra.Command {
	var reason string
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "abort RUN_ID --reason TEXT",
		Short: "Abort a run: its current step stops, the plan's rollback and cleanup run",
		Long: `Ask a run to abort. The replica running it stops the current step, runs the plan's
rollback steps and its cleanup, and ends the run aborted, rolled_back or rollback_failed; a run
not started yet never starts. Who asked (the person your API token stands for) and why is
recorded.`,
		Args: cobra.ExactArgs(1),
		RunE: a.withAPI(func(cmd *cobra.Command, args []string, c *client.Client) error {
			run, err := c.RunAbort(cmd.Context(), &control.RunAbortParams{RunID: args[0], Reason: reason})
			if err != nil {
				return err
			}
			if asJSON {
				return writeJSON(a.stdout, run)
			}
			fmt.Fprintf(a.stdout, "abort of run %s requested by %s (run is %s): %s\n", run.ID, actorOrDash(run.AbortRequestedBy), run.State, run.AbortReason)
			return nil
		}),
	}
	cmd.Flags().StringVar(&reason, "reason", "", "why (recorded; required)")
	cmd.Flags().BoolVar(&asJSON, "json", false, "print the result as JSON")
	return cmd
}
