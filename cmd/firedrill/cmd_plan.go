package main

import (
	"encoding/json"
	"errors"
	"fmt"

	"github.com/spf13/cobra"

	"github.com/firedrill/firedrill/drills"
)

func (a *app) planCommand() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "plan",
		Short: "Work with drill plans",
	}
	cmd.AddCommand(a.planValidateCommand())
	return cmd
}

// problemJSON is one diagnostic in --json output.
type problemJSON struct {
	File    string `json:"file"`
	Line    int    `json:"line"`
	Column  int    `json:"column"`
	Message string `json:"message"`
}

func (a *app) planValidateCommand() *cobra.Command {
	var configPath string
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "validate PLAN_FILE...",
		Short: "Check plan files against the estate; print every problem as file:line:col: message",
		Long: `Check plan files against the estate (firedrill.hcl) and print every problem as
file:line:col: message. The estate is --config, else the firedrill.hcl found next to the
first plan or in a parent directory, else in the working directory or a parent.

Exit 0 when every plan is valid, 1 on any problem.`,
		Args: cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			var diags drills.Diagnostics
			var estate *drills.Estate
			path, err := findConfig(configPath, args)
			if err != nil {
				return err
			}
			src, err := readInput(path, "--config")
			if err != nil {
				return err
			}
			estate, cdiags := drills.ParseEstate(src, path)
			diags = append(diags, cdiags...)
			for _, planPath := range args {
				psrc, err := readInput(planPath, "plan")
				if err != nil {
					return err
				}
				plan, pdiags := drills.ParsePlan(psrc, planPath)
				diags = append(diags, pdiags...)
				if plan != nil && !cdiags.HasErrors() {
					diags = append(diags, drills.ValidatePlan(estate, plan)...)
				}
			}
			diags.Sort()
			if asJSON {
				out := struct {
					Config   string        `json:"config"`
					Plans    []string      `json:"plans"`
					Valid    bool          `json:"valid"`
					Problems []problemJSON `json:"problems"`
				}{Config: path, Plans: args, Valid: !diags.HasErrors(), Problems: []problemJSON{}}
				for _, d := range diags {
					out.Problems = append(out.Problems, problemJSON{File: d.Pos.File, Line: d.Pos.Line, Column: d.Pos.Column, Message: d.Msg})
				}
				if err := writeJSON(a.stdout, out); err != nil {
					return err
				}
			} else {
				for _, d := range diags {
					fmt.Fprintln(a.stdout, d.String())
				}
			}
			if diags.HasErrors() {
				return &exitCodeError{code: exitError, err: fmt.Errorf("%d problem(s) found", len(diags))}
			}
			if !asJSON {
				fmt.Fprintf(a.stdout, "%d plan(s) valid against %s\n", len(args), path)
			}
			return nil
		},
	}
	cmd.Flags().StringVar(&configPath, "config", "", "estate file (env FIREDRILL_CONFIG); default: firedrill.hcl found next to the plan or above")
	cmd.Flags().BoolVar(&asJSON, "json", false, "print the result as JSON")
	return cmd
}

func writeJSON(w interface{ Write([]byte) (int, error) }, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	if err := enc.Encode(v); err != nil {
		return errors.New("encode JSON output: " + err.Error())
	}
	return nil
}
