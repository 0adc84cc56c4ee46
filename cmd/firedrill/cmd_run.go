package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/signal"
	"os/user"
	"syscall"

	"github.com/spf13/cobra"

	"github.com/firedrill/firedrill/drills"
	"github.com/firedrill/firedrill/orchestrator"
	"github.com/firedrill/firedrill/orchestrator/secret"
	"github.com/firedrill/firedrill/orchestrator/store"
)

func (a *app) runCommand() *cobra.Command {
	var configPath, databaseURL string
	var asJSON, migrate, force bool
	cmd := &cobra.Command{
		Use:   "run PLAN_FILE",
		Short: "Run a drill plan against the configured sites and record it",
		Long: `Run a drill plan against the sites of the estate and record every step, milestone and
measurement in the database.

The estate is --config, else the firedrill.hcl found next to the plan or in a parent
directory. Nomad tokens are read from the environment variables or files that the estate
names (token_env, token_file); they are never stored.

Exit 0 when the drill ran to the end and met every objective, 2 when it failed or missed
an objective, 1 on any other error.`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx := cmd.Context()
			// Started on the database directly: recorded as the local person, unauthenticated.
			drill, err := a.loadDrill(configPath, args[0], localActor(), force)
			if err != nil {
				return err
			}
			st, err := a.openStore(ctx, databaseURL, migrate)
			if err != nil {
				return err
			}
			defer st.Close()
			return a.runDrill(ctx, st, &secret.Resolver{}, drill, asJSON, databaseURL)
		},
	}
	f := cmd.Flags()
	f.StringVar(&configPath, "config", "", "estate file (env FIREDRILL_CONFIG); default: firedrill.hcl found next to the plan or above")
	f.StringVar(&databaseURL, "database-url", defaultDatabaseURL, "postgres://... or sqlite:PATH (env FIREDRILL_DATABASE_URL)")
	f.BoolVar(&migrate, "migrate", false, "apply pending database migrations first (env FIREDRILL_MIGRATE)")
	f.BoolVar(&force, "force", false, "run a plan that fails services over without their dependencies, to show what it would do; recorded with the run")
	f.BoolVar(&asJSON, "json", false, "print the result as JSON")
	return cmd
}

// runDrill submits and executes a drill, prints what was recorded and maps the outcome to an
// exit code.
func (a *app) runDrill(ctx context.Context, st *store.Store, secrets *secret.Resolver, d *orchestrator.Drill, asJSON bool, databaseURL string) error {
	eng, err := a.newEngine(st, secrets)
	if err != nil {
		return err
	}
	defer eng.Close()
	run, err := eng.runner.SubmitClaimed(ctx, d)
	if err != nil {
		// An *orchestrator.InvalidPlanError says every problem as file:line:col: message.
		return err
	}
	if !asJSON {
		fmt.Fprintf(a.stderr, "run %s of plan %s started (%s -> %s), recorded in %s\n",
			run.ID, d.Plan.Name, d.Plan.From, d.Plan.To, store.RedactURL(databaseURL))
	}
	// Ctrl-C at the console aborts the drill the safe way: the current step stops and the
	// plan's rollback and cleanup run, so no site is left half-failed-over. A second Ctrl-C
	// quits at once (the run is then resumed or decided by a serve replica).
	execCtx, stopExec := context.WithCancel(context.WithoutCancel(ctx))
	defer stopExec()
	go func() {
		select {
		case <-ctx.Done():
			signal.Reset(os.Interrupt, syscall.SIGTERM)
			fmt.Fprintln(a.stderr, "interrupted: aborting the drill; its rollback and cleanup run (interrupt again to quit at once)")
			if _, err := st.RunAbortRequest(execCtx, &store.RunAbortRequestParams{
				RunID: run.ID, By: localActor(), Reason: "interrupted at the console",
			}); err != nil && !errors.Is(err, store.ErrRunTerminal) {
				a.logger.Warn("abort request failed", "run_id", run.ID, "err", err)
			}
		case <-execCtx.Done():
		}
	}()
	outcome, err := eng.runner.ExecuteClaimed(execCtx, run.ID, run.LeaseEpoch, d)
	if err != nil {
		return err
	}
	// Print what the database holds, not what the runner remembers: the record is the truth.
	summary, err := loadRunSummary(context.WithoutCancel(ctx), st, run.ID)
	if err != nil {
		return err
	}
	summary.Database = store.RedactURL(databaseURL)
	if asJSON {
		if err := writeJSON(a.stdout, summary); err != nil {
			return err
		}
	} else {
		printRunSummary(a.stdout, summary)
	}
	if !outcome.Passed() {
		return &exitCodeError{code: exitDrillFailed, err: errors.New("")}
	}
	return nil
}

// localActor is the person at this host, unauthenticated: who a run started on the database
// directly (firedrill run, demo) is recorded as.
func localActor() drills.Actor { return localPerson(currentUser()) }

// localPerson is a person named name at this host, unauthenticated.
func localPerson(name string) drills.Actor {
	return drills.Actor{Kind: drills.ActorLocal, Name: name, Via: drills.ViaCLI}
}

func currentUser() string {
	if u, err := user.Current(); err == nil && u.Username != "" {
		return u.Username
	}
	if v := os.Getenv("USER"); v != "" {
		return v
	}
	return "unknown"
}
