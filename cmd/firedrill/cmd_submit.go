package main

import (
	"errors"
	"fmt"
	"path/filepath"
	"strings"

	"github.com/spf13/cobra"

	"github.com/firedrill/firedrill/drills"
	"github.com/firedrill/firedrill/orchestrator/control"
	"github.com/firedrill/firedrill/web/client"
)

func (a *app) submitCommand() *cobra.Command {
	var configPath, comment string
	var asJSON, force bool
	cmd := &cobra.Command{
		Use:   "submit PLAN_FILE",
		Short: "Ask the firedrill server for a run of a plan; print the run's ID",
		Long: `Send a drill plan to the firedrill server (--address), which validates it against its
estate and records a run asked for by the person your API token stands for. When an approval
policy applies (the plan's approval block, else the estate's default) the run waits in
awaiting_approval until people of the roles it names approve it, none of them you
(firedrill approvals, firedrill approve); otherwise it is pending. A firedrill serve replica
claims and executes it. The run's ID is printed on stdout.

The server resolves the plan's relative paths (jobspecs) from its estate's directory. The
plan is named to it relative to the directory of the local estate (--config, else the
firedrill.hcl found next to the plan or above) when it lies under it, else by its base name.

Exit 0 when the run was recorded, 1 on any error or an invalid plan (every problem is
printed as file:line:col: message).`,
		Args: cobra.ExactArgs(1),
		RunE: a.withAPI(func(cmd *cobra.Command, args []string, c *client.Client) error {
			path := args[0]
			src, err := readInput(path, "plan")
			if err != nil {
				return err
			}
			name := serverPlanName(configPath, path)
			run, err := c.RunSubmit(cmd.Context(), &control.RunSubmitParams{
				PlanFile: name, PlanSource: string(src), Force: force, Comment: comment,
			})
			if err != nil {
				// The server names the plan as it was sent; point at the file given here.
				for i, d := range client.Diagnostics(err) {
					if d.File == name {
						client.Diagnostics(err)[i].File = path
					}
				}
				return err
			}
			if asJSON {
				return writeJSON(a.stdout, run)
			}
			fmt.Fprintln(a.stdout, run.ID)
			if run.State == drills.RunAwaitingApproval {
				until := ""
				if run.ApprovalDeadline != nil {
					until = " until " + run.ApprovalDeadline.UTC().Format("2006-01-02 15:04 UTC")
				}
				fmt.Fprintf(a.stderr, "run %s of %s awaits approval by %s%s (firedrill approvals)\n",
					run.ID, run.Plan, strings.Join(run.ApprovalRoles, ", "), until)
			}
			return nil
		}),
	}
	f := cmd.Flags()
	f.StringVar(&configPath, "config", "", "local estate file, to name the plan relative to its directory (env FIREDRILL_CONFIG); default: firedrill.hcl found next to the plan or above")
	f.BoolVar(&force, "force", false, "submit a plan that fails services over without their dependencies; recorded with the run, which never counts as passed")
	f.StringVar(&comment, "comment", "", "why the drill is asked for, recorded with the request")
	f.BoolVar(&asJSON, "json", false, "print the run as JSON")
	return cmd
}

// serverPlanName is how a plan file is named to the server: its path relative to the local
// estate's directory when it lies under it (plans/site-loss.hcl), else its base name.
func serverPlanName(configPath, planPath string) string {
	estate, err := findConfig(configPath, []string{planPath})
	if err != nil {
		return filepath.Base(planPath)
	}
	dir, err1 := filepath.Abs(filepath.Dir(estate))
	plan, err2 := filepath.Abs(planPath)
	if err := errors.Join(err1, err2); err != nil {
		return filepath.Base(planPath)
	}
	rel, err := filepath.Rel(dir, plan)
	if err != nil || rel == ".." || strings.HasPrefix(rel, ".."+string(filepath.Separator)) {
		return filepath.Base(planPath)
	}
	return filepath.ToSlash(rel)
}
