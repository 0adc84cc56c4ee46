package main

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/firedrill/firedrill/drills"
	"github.com/firedrill/firedrill/orchestrator"
)

// defaultConfigName is the estate file that commands look for when --config is not given.
const defaultConfigName = "firedrill.hcl"

// findConfig returns the estate file to use: the explicit one, else firedrill.hcl in the
// directory of the first plan or any of its parents, else in the working directory or its
// parents (as git finds .git).
func findConfig(explicit string, plans []string) (string, error) {
	if explicit != "" {
		return explicit, nil
	}
	var starts []string
	if len(plans) > 0 {
		starts = append(starts, filepath.Dir(plans[0]))
	}
	if wd, err := os.Getwd(); err == nil {
		starts = append(starts, wd)
	}
	for _, start := range starts {
		dir, err := filepath.Abs(start)
		if err != nil {
			continue
		}
		for {
			candidate := filepath.Join(dir, defaultConfigName)
			if _, err := os.Stat(candidate); err == nil {
				return candidate, nil
			}
			parent := filepath.Dir(dir)
			if parent == dir {
				break
			}
			dir = parent
		}
	}
	return "", fmt.Errorf("no %s found next to the plan or in a parent directory: pass --config (env FIREDRILL_CONFIG)", defaultConfigName)
}

// loadEstate reads and parses the estate file.
func loadEstate(path string) (*drills.Estate, []byte, error) {
	src, err := readInput(path, "--config")
	if err != nil {
		return nil, nil, err
	}
	cfg, diags := drills.ParseEstate(src, path)
	if diags.HasErrors() {
		return nil, nil, diags
	}
	return cfg, src, nil
}

// loadPlan reads and parses one plan file (syntax only; ValidatePlan checks it against the estate).
func loadPlan(path string) (*drills.Plan, []byte, error) {
	src, err := readInput(path, "plan")
	if err != nil {
		return nil, nil, err
	}
	p, diags := drills.ParsePlan(src, path)
	if diags.HasErrors() {
		return nil, nil, diags
	}
	return p, src, nil
}

// readInput reads a file the user named, with an error that says which input it was.
func readInput(path, what string) ([]byte, error) {
	b, err := os.ReadFile(path)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return nil, fmt.Errorf("%s: %s does not exist", what, path)
	case err != nil:
		return nil, fmt.Errorf("%s: %w", what, err)
	}
	return b, nil
}

// loadDrill reads the estate and plan a command names and validates the plan against it,
// printing every problem as file:line:col: message.
func (a *app) loadDrill(configPath, planPath string, requestedBy drills.Actor, force bool) (*orchestrator.Drill, error) {
	path, err := findConfig(configPath, []string{planPath})
	if err != nil {
		return nil, err
	}
	estate, estateSrc, err := loadEstate(path)
	if err != nil {
		return nil, err
	}
	plan, planSrc, err := loadPlan(planPath)
	if err != nil {
		return nil, err
	}
	opts := drills.ValidateOptions{AllowUnplannedDependencies: force}
	if diags := drills.ValidatePlanWith(estate, plan, opts); diags.HasErrors() {
		for _, d := range diags {
			fmt.Fprintln(a.stderr, d.String())
		}
		return nil, fmt.Errorf("plan %s is not valid against %s", planPath, path)
	}
	return &orchestrator.Drill{
		Estate: estate, EstateSource: estateSrc, Plan: plan, PlanSource: planSrc, RequestedBy: requestedBy, Force: force,
	}, nil
}
