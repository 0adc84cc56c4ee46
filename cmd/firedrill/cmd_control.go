package main

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/firedrill/firedrill/drills"
	"github.com/firedrill/firedrill/orchestrator/store"
)

// The commands by which people control drills: who may approve, approvals, the freeze lever
// and aborts. The CLI runs on the firedrill hosts, so the person is asserted with --by and
// checked against the users table; the web console will authenticate them.

func (a *app) userCommand() *cobra.Command {
	var databaseURL string
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "user",
		Short: "Manage the people who may approve drills, decide steps and abort runs",
	}
	cmd.PersistentFlags().StringVar(&databaseURL, "database-url", defaultDatabaseURL, "postgres://... or sqlite:PATH (env FIREDRILL_DATABASE_URL)")
	cmd.PersistentFlags().BoolVar(&asJSON, "json", false, "print the result as JSON")
	printUsers := func(users []*store.User) error {
		if asJSON {
			type row struct {
				Name     string   `json:"name"`
				Roles    []string `json:"roles"`
				Disabled bool     `json:"disabled"`
			}
			rows := []row{}
			for _, u := range users {
				rows = append(rows, row{Name: u.Name, Roles: u.Roles, Disabled: u.Disabled})
			}
			return writeJSON(a.stdout, map[string]any{"users": rows})
		}
		tw := tabwriter.NewWriter(a.stdout, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "NAME\tROLES\tSTATUS")
		for _, u := range users {
			status := "enabled"
			if u.Disabled {
				status = "disabled"
			}
			fmt.Fprintf(tw, "%s\t%s\t%s\n", u.Name, strings.Join(u.Roles, ","), status)
		}
		return tw.Flush()
	}
	var roles []string
	add := &cobra.Command{
		Use:   "add NAME --role ROLE [--role ROLE]",
		Short: "Create a user with roles (" + strings.Join(drills.Roles, ", ") + ")",
		Args:  cobra.ExactArgs(1),
		RunE: a.withStore(&databaseURL, func(cmd *cobra.Command, args []string, st *store.Store) error {
			u, err := st.UserCreate(cmd.Context(), &store.UserCreateParams{Name: args[0], Roles: roles, By: localActor()})
			if err != nil {
				return err
			}
			return printUsers([]*store.User{u})
		}),
	}
	add.Flags().StringSliceVar(&roles, "role", nil, "a role to hold; repeat or comma-separate")
	cmd.AddCommand(add)
	cmd.AddCommand(&cobra.Command{
		Use:   "list",
		Short: "List users and their roles",
		Args:  cobra.NoArgs,
		RunE: a.withStore(&databaseURL, func(cmd *cobra.Command, _ []string, st *store.Store) error {
			users, err := st.UserList(cmd.Context())
			if err != nil {
				return err
			}
			return printUsers(users)
		}),
	})
	cmd.AddCommand(&cobra.Command{
		Use:   "disable NAME",
		Short: "Disable a user: they can no longer approve, decide or abort",
		Args:  cobra.ExactArgs(1),
		RunE: a.withStore(&databaseURL, func(cmd *cobra.Command, args []string, st *store.Store) error {
			if _, err := st.UserDisable(cmd.Context(), &store.UserDisableParams{Name: args[0], By: localActor()}); err != nil {
				return err
			}
			fmt.Fprintf(a.stderr, "user %s disabled\n", args[0])
			return nil
		}),
	})
	return cmd
}

// approvalCommand builds `approve` and `reject`.
func (a *app) approvalCommand(decision string) *cobra.Command {
	var databaseURL, by, comment string
	var asJSON bool
	verb := map[string]string{store.ApprovalApprove: "approve", store.ApprovalReject: "reject"}[decision]
	cmd := &cobra.Command{
		Use:   verb + " RUN_ID --by NAME [--comment TEXT]",
		Short: strings.ToUpper(verb[:1]) + verb[1:] + " a run that waits for approval",
		Long: `Approve or reject a run waiting in awaiting_approval. The approver must be a user
(firedrill user add) holding a role the run's policy needs, and not the person who asked for
the run. When every role of the policy has a distinct approver the run becomes pending and a
firedrill serve replica starts it; a rejection ends it blocked (nothing was touched).`,
		Args: cobra.ExactArgs(1),
		RunE: a.withStore(&databaseURL, func(cmd *cobra.Command, args []string, st *store.Store) error {
			u, err := userOfBy(cmd, st, by)
			if err != nil {
				return err
			}
			run, err := st.RunGet(cmd.Context(), args[0])
			if err != nil {
				return err
			}
			if !slices.ContainsFunc(run.ApprovalRoles, u.HasRole) {
				return fmt.Errorf("--by: %s holds none of the roles the policy needs (%s)", by, strings.Join(run.ApprovalRoles, ", "))
			}
			if run.RequestedBy.IsPerson() && run.RequestedBy.Name == by {
				return fmt.Errorf("--by: %s asked for this run and cannot approve it", by)
			}
			out, err := st.ApprovalDecide(cmd.Context(), &store.ApprovalDecideParams{
				RunID: args[0], By: cliUser(by), Roles: u.Roles, Decision: decision, Comment: comment,
			})
			if err != nil {
				return err
			}
			if asJSON {
				return writeJSON(a.stdout, map[string]any{
					"run_id": out.Run.ID, "state": out.Run.State, "approver": out.Approval.By.Name,
					"decision": out.Approval.Decision, "policy_met": out.Satisfied, "missing_roles": nonNil(out.Missing),
				})
			}
			switch {
			case decision == store.ApprovalReject:
				fmt.Fprintf(a.stdout, "run %s rejected by %s: %s\n", out.Run.ID, by, out.Run.State)
			case out.Satisfied:
				fmt.Fprintf(a.stdout, "run %s approved by %s: policy met, run is %s\n", out.Run.ID, by, out.Run.State)
			default:
				fmt.Fprintf(a.stdout, "run %s approved by %s: still needs %s\n", out.Run.ID, by, strings.Join(out.Missing, ", "))
			}
			return nil
		}),
	}
	f := cmd.Flags()
	f.StringVar(&databaseURL, "database-url", defaultDatabaseURL, "postgres://... or sqlite:PATH (env FIREDRILL_DATABASE_URL)")
	f.StringVar(&by, "by", "", "who decides (a user) (env FIREDRILL_BY)")
	f.StringVar(&comment, "comment", "", "why, recorded with the decision")
	f.BoolVar(&asJSON, "json", false, "print the result as JSON")
	return cmd
}

func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}

func (a *app) freezeCommand() *cobra.Command {
	var databaseURL, by, reason string
	var abortRunning, asJSON bool
	cmd := &cobra.Command{
		Use:   "freeze",
		Short: "The safety lever: while a freeze is on no run starts",
		Long: `A global change freeze, like those around market events: while one is on no run starts
(pre-flight blocks it), and with --abort-running every run in progress is aborted (its
rollback runs) in the same command. Who set or lifted it, when and why, is recorded.`,
	}
	cmd.PersistentFlags().StringVar(&databaseURL, "database-url", defaultDatabaseURL, "postgres://... or sqlite:PATH (env FIREDRILL_DATABASE_URL)")
	cmd.PersistentFlags().StringVar(&by, "by", "", "who (a user with the sre, compliance or admin role) (env FIREDRILL_BY)")
	cmd.PersistentFlags().BoolVar(&asJSON, "json", false, "print the result as JSON")

	freezeJSON := func(f *store.Freeze, aborted []string) error {
		out := map[string]any{"active": f != nil && f.Active()}
		if f != nil {
			out["freeze"] = map[string]any{"id": f.ID, "reason": f.Reason, "set_by": f.SetBy.Name, "set_at": f.SetAt, "lifted_by": f.LiftedBy.Name, "lifted_at": f.LiftedAt}
		}
		if aborted != nil {
			out["aborted_runs"] = aborted
		}
		return writeJSON(a.stdout, out)
	}
	on := &cobra.Command{
		Use:   "on --by NAME --reason TEXT [--abort-running]",
		Short: "Turn the freeze on",
		Args:  cobra.NoArgs,
		RunE: a.withStore(&databaseURL, func(cmd *cobra.Command, _ []string, st *store.Store) error {
			if err := requireRole(cmd, st, by, drills.RoleSRE, drills.RoleCompliance, drills.RoleAdmin); err != nil {
				return err
			}
			var f *store.Freeze
			var aborted []string
			err := st.InTx(cmd.Context(), func(tx *store.Tx) error {
				var err error
				if f, err = st.FreezeSetTx(cmd.Context(), tx, &store.FreezeSetParams{By: cliUser(by), Reason: reason}); err != nil || !abortRunning {
					return err
				}
				aborted, err = st.RunAbortActiveTx(cmd.Context(), tx, &store.RunAbortActiveParams{By: cliUser(by), Reason: "freeze: " + reason})
				return err
			})
			if err != nil {
				return err
			}
			if asJSON {
				return freezeJSON(f, aborted)
			}
			fmt.Fprintf(a.stdout, "freeze on, set by %s: %s\n", f.SetBy.Name, f.Reason)
			for _, id := range aborted {
				fmt.Fprintf(a.stdout, "abort requested for run %s\n", id)
			}
			return nil
		}),
	}
	on.Flags().StringVar(&reason, "reason", "", "why (recorded)")
	on.Flags().BoolVar(&abortRunning, "abort-running", false, "also abort every run not yet ended")
	cmd.AddCommand(on)
	cmd.AddCommand(&cobra.Command{
		Use:   "off --by NAME",
		Short: "Lift the freeze",
		Args:  cobra.NoArgs,
		RunE: a.withStore(&databaseURL, func(cmd *cobra.Command, _ []string, st *store.Store) error {
			if err := requireRole(cmd, st, by, drills.RoleSRE, drills.RoleCompliance, drills.RoleAdmin); err != nil {
				return err
			}
			f, err := st.FreezeLift(cmd.Context(), &store.FreezeLiftParams{By: cliUser(by)})
			if errors.Is(err, store.ErrNotFound) {
				return errors.New("no freeze is on")
			}
			if err != nil {
				return err
			}
			if asJSON {
				return freezeJSON(f, nil)
			}
			fmt.Fprintf(a.stdout, "freeze lifted by %s (it was set by %s: %s)\n", by, f.SetBy.Name, f.Reason)
			return nil
		}),
	})
	cmd.AddCommand(&cobra.Command{
		Use:   "status",
		Short: "Say whether a freeze is on",
		Args:  cobra.NoArgs,
		RunE: a.withStore(&databaseURL, func(cmd *cobra.Command, _ []string, st *store.Store) error {
			f, on, err := st.FreezeActive(cmd.Context())
			if err != nil {
				return err
			}
			if asJSON {
				return freezeJSON(f, nil)
			}
			if !on {
				fmt.Fprintln(a.stdout, "no freeze is on")
				return nil
			}
			fmt.Fprintf(a.stdout, "freeze on since %s, set by %s: %s\n", f.SetAt.Format(time.RFC3339), f.SetBy.Name, f.Reason)
			return nil
		}),
	})
	return cmd
}

func (a *app) abortCommand() *cobra.Command {
	var databaseURL, by, reason string
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "abort RUN_ID --by NAME --reason TEXT",
		Short: "Abort a run: its current step stops, the plan's rollback and cleanup run",
		Long: `Ask a run to abort. The replica running it stops the current step, runs the plan's
rollback steps and its cleanup, and ends the run aborted, rolled_back or rollback_failed; a run
not started yet never starts. Who asked and why is recorded.`,
		Args: cobra.ExactArgs(1),
		RunE: a.withStore(&databaseURL, func(cmd *cobra.Command, args []string, st *store.Store) error {
			if err := requireRole(cmd, st, by, drills.RoleSRE, drills.RoleCompliance, drills.RoleAdmin); err != nil {
				return err
			}
			if reason == "" {
				return errors.New("--reason: say why the run is aborted")
			}
			run, err := st.RunAbortRequest(cmd.Context(), &store.RunAbortRequestParams{RunID: args[0], By: cliUser(by), Reason: reason})
			if err != nil {
				return err
			}
			if asJSON {
				return writeJSON(a.stdout, map[string]any{"run_id": run.ID, "state": run.State, "abort_requested_by": run.AbortRequestedBy.Name, "abort_reason": run.AbortReason, "abort_requested_at": run.AbortRequestedAt})
			}
			fmt.Fprintf(a.stdout, "abort of run %s requested by %s (run is %s): %s\n", run.ID, run.AbortRequestedBy.Name, run.State, run.AbortReason)
			return nil
		}),
	}
	f := cmd.Flags()
	f.StringVar(&databaseURL, "database-url", defaultDatabaseURL, "postgres://... or sqlite:PATH (env FIREDRILL_DATABASE_URL)")
	f.StringVar(&by, "by", "", "who aborts (a user with the sre, compliance or admin role) (env FIREDRILL_BY)")
	f.StringVar(&reason, "reason", "", "why (recorded)")
	f.BoolVar(&asJSON, "json", false, "print the result as JSON")
	return cmd
}

// userOfBy returns the enabled user --by names.
func userOfBy(cmd *cobra.Command, st *store.Store, by string) (*store.User, error) {
	if by == "" {
		return nil, errors.New("--by: say who you are (a user: firedrill user add)")
	}
	u, err := st.UserGet(cmd.Context(), by)
	if errors.Is(err, store.ErrNotFound) {
		return nil, fmt.Errorf("--by: %s is not a known user (firedrill user add)", by)
	}
	if err != nil {
		return nil, err
	}
	if u.Disabled {
		return nil, fmt.Errorf("--by: user %s is disabled", by)
	}
	return u, nil
}

// cliUser is the user --by names, acting through the CLI on the database directly.
func cliUser(by string) drills.Actor {
	return drills.Actor{Kind: drills.ActorUser, Name: by, Via: drills.ViaCLI}
}

// requireRole checks that by names an enabled user holding one of roles.
func requireRole(cmd *cobra.Command, st *store.Store, by string, roles ...string) error {
	u, err := userOfBy(cmd, st, by)
	if err != nil {
		return err
	}
	for _, r := range roles {
		if u.HasRole(r) {
			return nil
		}
	}
	return fmt.Errorf("--by: %s holds none of the roles this needs (%s)", by, strings.Join(roles, ", "))
}
